"""The LilyPond MusicXML test suite (bundled with music21) through the app's reader ->
MusicXML writer -> reader, as ``composer-app convert`` and ``info`` do it (issue 13).

Not a test (too slow to run every time): ``python -m tests.lilypond_suite [NAME ...]``
prints one line per file that raises or does not come back the same, then the figures.
An internal error (anything but a UserError) is a bug; a mismatch names the fields
that differ.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
import warnings
from pathlib import Path

from composer_app.music import load_score, save_score
from composer_app.music.errors import UserError


def suite_dir() -> Path:
    import music21

    return Path(music21.__file__).parent / "musicxml" / "lilypondTestSuite"


def fields(score) -> dict:
    """What a round trip must keep, field by field."""
    return {
        "notes": sorted((n.pitch, n.start, n.duration, n.velocity, n.track, n.fermata,
                         n.articulations) for n in score.notes),
        "tracks": [(t.name, t.channel, t.program) for t in score.tracks],
        "tempos": [(t.tick, round(t.bpm, 3)) for t in score.tempos],
        "meters": [(t.tick, t.numerator, t.denominator) for t in score.time_signatures],
        "keys": [(k.tick, k.key, k.fifths) for k in score.key_signatures],
        "text": sorted((t.tick, t.kind, t.text, t.track, t.verse) for t in score.text_events),
    }


def check(path: Path) -> tuple[str, str]:
    """("ok" | "same" | "differs" | "refused" | "refused-write" | "ERROR", detail)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            said: list[str] = []
            score = load_score(path, notes=said)
        except UserError as exc:
            return "refused", str(exc)
        except Exception as exc:  # an internal error: a bug
            return "ERROR", f"read: {type(exc).__name__}: {exc} " + _where(exc)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.musicxml"
            try:
                save_score(score, out)
            except UserError as exc:
                return "refused-write", str(exc)
            except Exception as exc:
                return "ERROR", f"write: {type(exc).__name__}: {exc} " + _where(exc)
            try:
                back = load_score(out)
            except Exception as exc:
                return "ERROR", f"reread: {type(exc).__name__}: {exc} " + _where(exc)
            parts = (_parts(path), _parts(out))  # a staff's voices stay one part
    a, b = fields(score), fields(back)
    a["parts"], b["parts"] = [parts[0]], [parts[1]]
    differ = [name for name in a if a[name] != b[name]]
    if not differ:
        return "same", ""
    detail = []
    for name in differ:
        only_a = [x for x in a[name] if x not in b[name]][:3]
        only_b = [x for x in b[name] if x not in a[name]][:3]
        detail.append(f"{name}: read {only_a} / back {only_b}")
    return "differs", "; ".join(detail)


def _parts(path: Path) -> int:
    import xml.etree.ElementTree as ET

    from composer_app.music.musicxml_input import xml_bytes

    root = ET.fromstring(xml_bytes(path))
    listed = {sp.get("id") for sp in root.iter("score-part")}
    return sum(1 for part in root.findall("part") if part.get("id") in listed | {None})


def _where(exc: Exception) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    return f"at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""


def main(argv: list[str]) -> int:
    paths = sorted(p for p in suite_dir().iterdir() if p.suffix in (".xml", ".mxl"))
    if argv:
        paths = [p for p in paths if any(a in p.name for a in argv)]
    counts: dict[str, int] = {}
    for path in paths:
        status, detail = check(path)
        counts[status] = counts.get(status, 0) + 1
        if status != "same":
            print(f"{status:13} {path.name}: {detail[:400]}", flush=True)
    print(f"{len(paths)} files: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 1 if counts.get("ERROR") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
