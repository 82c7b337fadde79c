"""The piece read off the GUI thread: chord labels, the harmony checker, the engraving.

One :class:`Analysis` per window. ``request(source)`` after every change; after
:data:`DEBOUNCE_MS` of quiet the newest source goes to :class:`AnalysisWorker` on its own
thread, which runs :func:`~composer_app.music.harmony_check.chord_labels`,
:func:`~composer_app.music.harmony_check.check_score` and (when the score view is shown)
Verovio, parses and draws the SVG pages and finds where each note and bar was engraved
(those three in a helper process, :mod:`.engrave_helper`: they hold the GIL). One job
runs at a time; a source that arrives meanwhile waits, and a newer one replaces it, so
the GUI never waits for any of it. ``finished`` hands back a :class:`Result`.
"""

from __future__ import annotations

import base64
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRectF, QTimer, Signal
from PySide6.QtGui import QImage

from composer_app.music import Score

if TYPE_CHECKING:  # the checker and the engraver load on the analysis thread, not at start-up
    from composer_app.music.engrave import Engraving
    from composer_app.music.harmony_check import ChordMark, Issue
from composer_app.music.errors import UserError

DEBOUNCE_MS = 300
VIEW_SCALE = 34  # Verovio's scale (percent) in the score view
NOT_FOUR_PART = "the checker reads four-part writing (soprano, alto, tenor, bass)"


@dataclass
class Source:
    """What to read: a Score and our id of each of its notes (negative: a variation's
    notes, which have none in the document)."""

    score: Score
    ids: list[int]
    variation: bool = False


@dataclass
class Result:
    serial: int
    source: Source
    labels: list[ChordMark] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    issue_notes: list[list[int]] = field(default_factory=list)  # our ids, per issue
    four_part: bool = True
    engraving: Engraving | None = None
    images: list[QImage] = field(default_factory=list)  # each page drawn (device pixels)
    page_sizes: list[tuple[float, float]] = field(default_factory=list)  # page pixels
    note_rects: dict[int, tuple[int, QRectF]] = field(default_factory=dict)  # id -> (page, rect)
    bar_rects: list[tuple[int, int, int, QRectF]] = field(default_factory=list)
    engrave_error: str = ""
    engraved: bool = False  # engraving was asked for
    seconds: float = 0.0  # the whole job
    engrave_seconds: float = 0.0


# Findings about a motion involve the chord before as well as the one it arrives at.
_STATIC = {"voice crossing", "spacing", "range", "doubled leading tone"}


def issue_note_ids(issue: Issue, score: Score, ids: list[int]) -> list[int]:
    """Our ids of the notes a finding is about: its voices' notes sounding where it is
    heard, and for a motion the notes it moves from."""
    at = {issue.start}
    if issue.kind not in _STATIC and issue.start > 0:
        at.add(issue.start - 1)
    out = []
    for nid, n in zip(ids, score.notes, strict=True):
        if n.track in issue.tracks and any(n.start <= t < n.end for t in at):
            out.append(nid)
    return out


def analyse(source: Source, serial: int = 0, *, width: int = 0, show_labels: bool = True,
            symbols: bool = False, dpr: float = 1.0) -> Result:
    """The job itself (the worker runs it; tests and the bench may call it directly).
    ``width`` 0: no engraving."""
    from composer_app.music.harmony_check import check_score, chord_labels

    t0 = time.perf_counter()
    res = Result(serial, source)
    score = source.score
    try:
        res.labels = chord_labels(score)
        res.issues = check_score(score)
    except UserError:
        res.four_part = False
    res.issue_notes = [issue_note_ids(i, score, source.ids) for i in res.issues]
    if width:
        res.engraved = True
        t1 = time.perf_counter()
        marked = {nid for ns in res.issue_notes for nid in ns}
        labels = [Label(m.tick, m.symbol if symbols else m.roman) for m in res.labels] \
            if show_labels else []
        try:
            from composer_app.music.engrave import score_to_mei

            from .engrave_helper import engrave_pages

            eng = score_to_mei(score, source.ids, labels=labels, marked=marked)
            got = engrave_pages(eng.mei, width, VIEW_SCALE, eng.note_ids,
                                [xid for xid, _, _ in eng.bars], dpr)
        except UserError as exc:
            res.engrave_error = str(exc)
        except Exception as exc:  # Verovio's own failures: say so, keep the editor going
            res.engrave_error = f"the score view cannot engrave this ({type(exc).__name__}: {exc})"
        else:
            eng.svgs = got["svgs"]
            res.engraving = eng
            _take(res, eng, got, dpr)
        res.engrave_seconds = time.perf_counter() - t1
    res.seconds = time.perf_counter() - t0
    return res


@dataclass(frozen=True)
class Label:
    tick: int
    text: str


def _take(res: Result, eng: Engraving, got: dict, dpr: float) -> None:
    """The helper's answer into the result: the pages' images and the note and bar
    rectangles by our ids and ticks."""
    for info in got["pages"]:
        img = info.get("image")
        if img is None:
            img = QImage.fromData(base64.b64decode(info["png"]), "PNG")
        img.setDevicePixelRatio(dpr)
        res.images.append(img)
        res.page_sizes.append((info["w"], info["h"]))
    for xid, (page, x, y, w, h) in got["notes"].items():
        nid = eng.note_ids[xid]
        if nid not in res.note_rects:
            res.note_rects[nid] = (page, QRectF(x, y, w, h))
    ticks = {xid: (a, b) for xid, a, b in eng.bars}
    for xid, (page, x, y, w, h) in got["bars"].items():
        a, b = ticks[xid]
        res.bar_rects.append((a, b, page, QRectF(x, y, w, h)))


@dataclass
class _Job:
    serial: int
    source: Source
    width: int
    show_labels: bool
    symbols: bool
    dpr: float


def _run(job: _Job) -> Result:
    try:
        return analyse(job.source, job.serial, width=job.width, show_labels=job.show_labels,
                       symbols=job.symbols, dpr=job.dpr)
    except Exception as exc:  # never let a reading kill the thread or the editor
        return Result(job.serial, job.source, four_part=False, engraved=bool(job.width),
                      engrave_error=f"cannot read this piece ({type(exc).__name__}: {exc})")


class Analysis(QObject):
    """Debounces sources and runs them on the worker thread (a daemon thread, so a
    window closed without :meth:`shutdown` leaves nothing running), newest first."""

    finished = Signal(object)  # Result
    _done_signal = Signal(object)  # from the worker thread (queued to this one)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.width = 0  # 0: engraving off (the score view hidden)
        self.show_labels = True
        self.symbols = False
        self.dpr = 1.0  # the score view's device pixel ratio
        self.last: Result | None = None
        self._serial = 0
        self._busy = False
        self._waiting: _Job | None = None
        self._source: Source | None = None
        self.timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self.timer.timeout.connect(self._request)
        self._jobs: queue.Queue = queue.Queue()
        self._done_signal.connect(self._done)
        self.thread = threading.Thread(target=self._loop, name="analysis", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            res = _run(job)
            try:
                self._done_signal.emit(res)
            except RuntimeError:  # the window has gone
                return

    def shutdown(self) -> None:
        self.timer.stop()
        self._jobs.put(None)
        self.thread.join(10)

    def request(self, source: Source, now: bool = False) -> None:
        self._source = source
        if now:
            self.timer.stop()
            self._request()
        else:
            self.timer.start()

    def again(self, now: bool = False) -> None:
        """The same source once more (the width or the options changed)."""
        if self._source is not None:
            self.request(self._source, now)

    @property
    def busy(self) -> bool:
        return self._busy or self.timer.isActive() or self._waiting is not None

    def _request(self) -> None:
        if self._source is None:
            return
        self._serial += 1
        job = _Job(self._serial, self._source, self.width, self.show_labels, self.symbols,
                   self.dpr)
        if self._busy:
            self._waiting = job  # the newest replaces any that waits
        else:
            self._start(job)

    def _start(self, job: _Job) -> None:
        self._busy = True
        self._jobs.put(job)

    def _done(self, res: Result) -> None:
        self._busy = False
        if self._waiting is not None:
            job, self._waiting = self._waiting, None
            self._start(job)
            return  # a newer reading is on its way; this one is already old
        self.last = res
        self.finished.emit(res)


def document_source(doc, proposal=None) -> Source:
    """The document's notes with their ids; with a variation on show (``proposal``), the
    piece as accepting it would make it (its new notes with ids -1, -2, ...)."""
    from composer_app.music import Track

    items = sorted(doc.notes.items(), key=lambda kv: (kv[1].start, kv[1].track, kv[1].pitch))
    score = doc.base.copy()
    if proposal is not None:
        gone = set(proposal.remove_ids)
        items = [(i, n) for i, n in items if i not in gone]
        items += [(-(k + 1), n) for k, n in enumerate(proposal.add)]
        items.sort(key=lambda kv: (kv[1].start, kv[1].track, kv[1].pitch))
        score.tracks = score.tracks + [Track(t.name, t.channel, t.program)
                                       for t in proposal.new_tracks]
    score.notes = [n for _, n in items]
    top = max((n.track for n in score.notes), default=-1)
    while len(score.tracks) <= top:
        score.tracks.append(Track(f"Voice {len(score.tracks) + 1}", len(score.tracks) % 16))
    return Source(score, [i for i, _ in items], variation=proposal is not None)
