"""The score view's helper process: Verovio, then Qt's SVG parse and drawing, away from
the app's GIL (``python -m composer_app.ui.engrave_helper``, Qt offscreen).

Verovio's Python binding, ``QSvgRenderer``'s parse and its ``render`` each hold the GIL
for the whole call (a 16-bar chorale: ~100, ~30 and ~30 ms), which in the app's process
would stall the GUI thread that long. Here they run in their own process; the analysis
thread only waits for the answer: each page's SVG, its drawing (a lightly compressed
PNG), and where each note and bar was engraved.
"""

from __future__ import annotations

import base64
import sys

from composer_app.music.engrave import Helper, qt_svg, render_svg_here, serve

HELPER = Helper("composer_app.ui.engrave_helper", env={"QT_QPA_PLATFORM": "offscreen"})


def draw_pages(svgs: list[str], note_ids, bar_ids, dpr: float, encode: bool) -> dict:
    """Parse and draw each page; rectangles in page pixels: ``notes`` {xml id: [page, x,
    y, w, h]}, ``bars`` {xml id: [page, x, y, w, h]}; ``pages`` [{w, h, png}] with
    ``png`` the drawing as base64 PNG (``encode``; else ``image``, the QImage itself)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    notes, bars, pages = {}, {}, []
    for page, svg in enumerate(svgs):
        r = QSvgRenderer(QByteArray(qt_svg(svg).encode()))
        vb, size = r.viewBoxF(), r.defaultSize()
        sx = size.width() / vb.width() if vb.width() else 1.0
        sy = size.height() / vb.height() if vb.height() else 1.0

        def place(xid, r=r, sx=sx, sy=sy, page=page):
            rect = r.transformForElement(xid).mapRect(r.boundsOnElement(xid))
            return [page, rect.x() * sx, rect.y() * sy, rect.width() * sx, rect.height() * sy]

        for xid in note_ids:
            if xid not in notes and r.elementExists(xid):
                notes[xid] = place(xid)
        for xid in bar_ids:
            if xid not in bars and r.elementExists(xid):
                bars[xid] = place(xid)
        img = QImage(max(1, round(size.width() * dpr)), max(1, round(size.height() * dpr)),
                     QImage.Format_ARGB32_Premultiplied)
        img.fill(QColor("white"))
        painter = QPainter(img)
        painter.setRenderHint(QPainter.Antialiasing)
        r.render(painter)
        painter.end()
        info = {"w": size.width(), "h": size.height()}
        if not encode:
            info["image"] = img
        else:
            buf = QBuffer()
            buf.open(QIODevice.WriteOnly)
            img.save(buf, "PNG", 90)  # light compression: fast, and mostly white paper
            info["png"] = base64.b64encode(bytes(buf.data())).decode("ascii")
        pages.append(info)
    return {"notes": notes, "bars": bars, "pages": pages}


def _answer(job: dict) -> dict:
    svgs = render_svg_here(job["mei"], job["width_px"], job["scale"], job["page_height_px"])
    out = draw_pages(svgs, job["note_ids"], job["bar_ids"], job["dpr"], True)
    out["svgs"] = svgs
    return out


def engrave_pages(mei: str, width_px: int, scale: int, note_ids, bar_ids,
                  dpr: float) -> dict:
    """Verovio and the drawing, in the helper (in this process when frozen)."""
    job = {"mei": mei, "width_px": width_px, "scale": scale, "page_height_px": None,
           "note_ids": list(note_ids), "bar_ids": list(bar_ids), "dpr": dpr}
    if getattr(sys, "frozen", False):
        svgs = render_svg_here(mei, width_px, scale, None)
        return {**draw_pages(svgs, note_ids, bar_ids, dpr, False), "svgs": svgs}
    return HELPER.call(job)


if __name__ == "__main__":
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication([sys.argv[0]])  # fonts for the SVG's text
    serve(_answer)
