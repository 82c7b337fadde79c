"""Engraving a Score: MEI written here, set as SVG by Verovio (imported lazily).

:func:`score_to_mei` writes the piece as MEI with our note ids in ``xml:id`` (``n<id>``)
and the measures as ``m<bar>``, so a click on an engraved note finds its note and the
playhead finds its bar. A chorale (four voices, :func:`~.harmony_check.four_voices`) is
set SATB on two staves (treble: soprano stems up, alto down; bass: tenor up, bass down);
anything else gets one staff per voice with a clef from its range. Key, meter, tempo and
fermatas are written; chord labels (``<harm>`` under the bass staff) and notes to colour
(the checker's findings) can be passed in.

What cannot be set exactly is said in :attr:`Engraving.notes_lost`: lengths off the
1/32 grid (tuplets) are rounded to it; a piece longer than ``max_bars`` is cut; a staff
with more than :data:`MAX_LAYERS` notes sounding at once loses the extra ones.

Pure Python apart from Verovio (no Qt, no music21): the editor runs it off the GUI
thread and the bench runs it in-process.

Over 500 lines on purpose: MEI is one nested document (score definition, sections,
measures, staves, layers, notes, ties, harmony, marks) written in one pass, and the
helper-process protocol that carries it to Verovio and back sits beside the writer whose
ids it maps.
"""

from __future__ import annotations

import atexit
import html
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError
from .score import PPQ, Note, Score
from .theory import Key


def escape(text: str) -> str:
    """&, < and > as XML entities (``html.escape`` without quotes; ``xml.sax.saxutils``
    pulls in urllib and cost the window 20 ms at start-up)."""
    return html.escape(text, quote=False)

__all__ = ["Engraving", "score_to_mei", "render_svg", "engrave", "qt_svg", "MAX_BARS",
           "EngraveError"]

UNIT = PPQ // 8  # a 32nd note: the finest length written
MAX_BARS = 500  # longer pieces are cut (Verovio's layout time grows with the bars)
MAX_LAYERS = 4  # notes sounding at once on one staff beyond these are left out
MAX_STAVES = 12

# (units of a 32nd, MEI @dur, dots), longest first: a greedy split writes any length.
_VALUES = [(48, "1", 1), (32, "1", 0), (24, "2", 1), (16, "2", 0), (12, "4", 1), (8, "4", 0),
           (6, "8", 1), (4, "8", 0), (3, "16", 1), (2, "16", 0), (1, "32", 0)]
_LETTERS = "cdefgab"
_NATURAL = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_SHARP_ORDER, _FLAT_ORDER = "fcgdaeb", "beadgcf"
_ACCID = {-2: "ff", -1: "f", 0: "n", 1: "s", 2: "ss"}


class EngraveError(UserError):
    """Verovio could not set the piece."""


@dataclass
class Engraving:
    """An engraved piece: the MEI, one SVG per page, and what maps back to our notes."""

    mei: str
    svgs: list[str] = field(default_factory=list)
    note_ids: dict[str, int] = field(default_factory=dict)  # "n12" -> note id 12
    bars: list[tuple[str, int, int]] = field(default_factory=list)  # (xml id, start, end)
    chorale: bool = False
    staves: int = 0
    notes_lost: list[str] = field(default_factory=list)  # what the score cannot show


def _keysig_alters(key: Key | None) -> dict[str, int]:
    sharps = key.sharps if key is not None else 0
    if sharps >= 0:
        return {c: 1 for c in _SHARP_ORDER[:sharps]}
    return {c: -1 for c in _FLAT_ORDER[:-sharps]}


def spell(pitch: int, key: Key | None) -> tuple[str, int, int]:
    """(MEI pname, alteration in semitones, octave) of a MIDI pitch in ``key``: the key
    signature's notes as written, the raised 6th and 7th of minor as raised degrees,
    other chromatic notes with sharps in sharp keys and C, flats in flat keys."""
    pc = pitch % 12
    sig = _keysig_alters(key)
    sharps = key.sharps if key is not None else 0
    raised = set()
    if key is not None and key.mode == "minor":
        raised = {(key.tonic + 9) % 12, (key.tonic + 11) % 12}
    best = None
    for letter in _LETTERS:
        alter = (pc - _NATURAL[letter] + 6) % 12 - 6
        if abs(alter) > 2:
            continue
        if alter == sig.get(letter, 0):
            rank = 0
        elif pc in raised and alter == sig.get(letter, 0) + 1:
            rank = 1
        elif alter == 0:
            rank = 2
        elif alter == (1 if sharps >= 0 else -1):
            rank = 3
        elif abs(alter) == 1:
            rank = 4
        else:
            rank = 5
        if best is None or rank < best[0]:
            best = (rank, letter, alter)
    _, letter, alter = best
    octave = (pitch - alter - _NATURAL[letter]) // 12 - 1
    return letter, alter, octave


def _split(units: int) -> list[tuple[int, str, int]]:
    out = []
    while units > 0:
        for value in _VALUES:
            if value[0] <= units:
                out.append(value)
                units -= value[0]
                break
    return out


def _q(tick: int) -> int:
    return int(round(tick / UNIT))


@dataclass
class _Event:
    start: int  # in units
    end: int
    notes: list[tuple[int, Note]]  # (our id, note)


def _layers(notes: list[tuple[int, Note]], limit: int, one_line: bool) -> tuple[list[list[_Event]], int]:
    """Notes as events (chords: same start and length) in layers that never overlap;
    ``one_line``: a single layer, each event cut where the next begins (a chorale voice).
    Returns the layers and how many notes found no room."""
    groups: dict[tuple[int, int], list[tuple[int, Note]]] = {}
    for nid, n in notes:
        s, e = _q(n.start), _q(n.end)
        if e <= s:
            e = s + 1
        groups.setdefault((s, e), []).append((nid, n))
    events = [_Event(s, e, sorted(g, key=lambda x: x[1].pitch)) for (s, e), g in sorted(
        groups.items(), key=lambda kv: (kv[0][0], -max(n.pitch for _, n in kv[1])))]
    if one_line:
        line: list[_Event] = []
        for ev in events:
            if line and line[-1].start == ev.start:
                line[-1].notes.extend(ev.notes)  # same onset, other length: one chord
                continue
            if line and line[-1].end > ev.start:
                line[-1].end = ev.start
            line.append(ev)
        return [line], 0
    layers: list[list[_Event]] = []
    lost = 0
    for ev in events:
        for layer in layers:
            if layer[-1].end <= ev.start:
                layer.append(ev)
                break
        else:
            if len(layers) < limit:
                layers.append([ev])
            else:
                lost += len(ev.notes)
    return layers, lost


def _clef(notes: Iterable[Note]) -> tuple[str, str]:
    pitches = [n.pitch for n in notes]
    mean = sum(pitches) / len(pitches) if pitches else 67
    if mean >= 60:
        return 'clef.shape="G" clef.line="2"', "G"
    if mean >= 50:
        return 'clef.shape="G" clef.line="2" clef.dis="8" clef.dis.place="below"', "G8"
    return 'clef.shape="F" clef.line="4"', "F"


def _keysig(key: Key | None) -> str:
    s = key.sharps if key is not None else 0
    return "0" if s == 0 else f"{abs(s)}{'s' if s > 0 else 'f'}"


def score_to_mei(score: Score, ids: Iterable[int] | None = None, *, labels=(),
                 marked: Iterable[int] = (), max_bars: int = MAX_BARS,
                 chorale: bool | None = None) -> Engraving:
    """MEI of ``score``; ``ids``: our id of each of ``score.notes`` (default: its index).

    ``labels``: :class:`~.harmony_check.ChordMark` (or anything with ``tick`` and
    ``roman``) written as ``<harm>`` under the lowest staff; ``marked``: ids of notes
    drawn in red (the checker's findings)."""
    from .harmony_check import four_voices

    ids = list(range(len(score.notes))) if ids is None else list(ids)
    pairs = list(zip(ids, score.notes, strict=True))
    marked = set(marked)
    lost: list[str] = []
    off_grid = sum(1 for _, n in pairs if n.start % UNIT or n.duration % UNIT)
    if off_grid:
        lost.append(f"{off_grid} note(s) off the 1/32 grid (tuplets?) shown rounded")

    voices = None
    if chorale is not False:
        try:
            voices = four_voices(score)
        except UserError:
            voices = None
        if voices is not None and chorale is None:
            names = [score.tracks[t].name.strip().lower() for t in voices]
            if names != ["soprano", "alto", "tenor", "bass"] and len(score.tracks_with_notes()) != 4:
                voices = None
    by_track: dict[int, list[tuple[int, Note]]] = {}
    for nid, n in pairs:
        by_track.setdefault(n.track, []).append((nid, n))

    # staves: (clef attributes, [(layer notes, stem direction or "", one line)], label)
    staves: list[tuple[str, list, str]] = []
    if voices is not None:
        s, a, t, b = (by_track.get(v, []) for v in voices)
        staves.append(('clef.shape="G" clef.line="2"', [(s, "up"), (a, "down")], "S A"))
        staves.append(('clef.shape="F" clef.line="4"', [(t, "up"), (b, "down")], "T B"))
    else:
        tracks = score.tracks_with_notes() or [0]
        if len(tracks) > MAX_STAVES:
            lost.append(f"{len(tracks) - MAX_STAVES} voice(s) beyond {MAX_STAVES} not shown")
            tracks = tracks[:MAX_STAVES]
        for t in tracks:
            notes = by_track.get(t, [])
            clef, _ = _clef(n for _, n in notes)
            name = score.tracks[t].name if t < len(score.tracks) else f"Voice {t + 1}"
            staves.append((clef, [(notes, "")], name))

    bars = score.length_bars or 1
    if bars > max_bars:
        lost.append(f"{bars} bars: only the first {max_bars} shown")
        bars = max_bars
    starts = [score.bar_start(b) for b in range(bars + 1)]
    end_units = _q(starts[-1])

    # Each staff's layers as events, cut at bar lines (ties) below.
    staff_layers: list[list[tuple[list[_Event], str]]] = []
    overflow = 0
    for _, parts, _ in staves:
        layers = []
        for notes, stem in parts:
            notes = [(i, n) for i, n in notes if _q(n.start) < end_units]
            if stem:
                got, _ = _layers(notes, 1, one_line=True)
                layers.append((got[0], stem))
            else:
                got, extra = _layers(notes, MAX_LAYERS, one_line=False)
                overflow += extra
                many = len(got) > 1
                for k, layer in enumerate(got):
                    layers.append((layer, ("up" if k % 2 == 0 else "down") if many else ""))
        staff_layers.append(layers)
    if overflow:
        lost.append(f"{overflow} note(s) beyond {MAX_LAYERS} at once on a staff not shown")

    label_at: dict[int, list[str]] = {}
    for m in labels:
        label_at.setdefault(m.tick, []).append(getattr(m, "text", None) or m.roman)

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<mei xmlns="http://www.music-encoding.org/ns/mei" meiversion="5.0">',
           '<meiHead><fileDesc><titleStmt><title>' + escape(score.title or "") +
           '</title></titleStmt><pubStmt/></fileDesc></meiHead>',
           '<music><body><mdiv><score>']
    key0 = score.key_at(0)
    sig0 = score.time_signature_at(0)

    def score_def(sig, key, with_staves: bool) -> str:
        head = (f'<scoreDef meter.count="{sig.numerator}" meter.unit="{sig.denominator}" '
                f'keysig="{_keysig(key)}"')
        if not with_staves:
            return head + "/>"
        grp = ['<staffGrp symbol="brace" bar.thru="true">' if len(staves) == 2 and voices
               is not None else '<staffGrp symbol="bracket" bar.thru="false">']
        for k, (clef, _, label) in enumerate(staves):
            lab = f"<label>{escape(label)}</label>" if voices is None and len(staves) > 1 else ""
            grp.append(f'<staffDef n="{k + 1}" lines="5" {clef}>{lab}</staffDef>')
        grp.append("</staffGrp>")
        return head + ">" + "".join(grp) + "</scoreDef>"

    out.append(score_def(sig0, key0, True))
    out.append("<section>")
    note_ids: dict[str, int] = {}
    bar_ids: list[tuple[str, int, int]] = []
    cursors = [[0] * len(layers) for layers in staff_layers]
    tempos = {t.tick: t.bpm for t in score.tempos}
    prev_sig, prev_key = sig0, key0
    for bar in range(bars):
        t0, t1 = starts[bar], starts[bar + 1]
        u0, u1 = _q(t0), _q(t1)
        sig, key = score.time_signature_at(t0), score.key_at(t0)
        if bar and ((sig.numerator, sig.denominator) != (prev_sig.numerator, prev_sig.denominator)
                    or key != prev_key):
            out.append(score_def(sig, key, False))
        prev_sig, prev_key = sig, key
        mid = f"m{bar + 1}"
        bar_ids.append((mid, t0, t1))
        body: list[str] = []
        controls: list[str] = []
        sig_alters = _keysig_alters(key)
        for k, layers in enumerate(staff_layers):
            body.append(f'<staff n="{k + 1}">')
            state: dict[tuple[str, int], int] = {}  # accidentals in force in this bar
            any_layer = False
            for li, (events, stem) in enumerate(layers):
                at = cursors[k][li]
                while at < len(events) and events[at].end <= u0:
                    at += 1
                cursors[k][li] = at
                pos = u0
                items: list[str] = []
                j = at
                while j < len(events) and events[j].start < u1:
                    ev = events[j]
                    s, e = max(ev.start, u0), min(ev.end, u1)
                    if s > pos:
                        items.extend(_rests(s - pos))
                    tied_in, tied_out = ev.start < u0, ev.end > u1
                    items.extend(_chord(ev, s, e, stem, key, sig_alters, state, tied_in,
                                        tied_out, marked, note_ids, controls, li))
                    pos = e
                    j += 1
                if items:
                    if pos < u1:
                        items.extend(_rests(u1 - pos))
                    any_layer = True
                    body.append(f'<layer n="{li + 1}">' + "".join(items) + "</layer>")
            if not any_layer:
                body.append('<layer n="1"><mRest/></layer>')
            body.append("</staff>")
        for tick, bpm in sorted(tempos.items()):
            if t0 <= tick < t1:
                tstamp = 1 + (tick - t0) / sig.beat_ticks
                controls.append(f'<tempo tstamp="{tstamp:g}" staff="1" place="above" '
                                f'midi.bpm="{bpm:g}">\u2669 = {bpm:g}</tempo>')
        for tick, texts in sorted(label_at.items()):
            if t0 <= tick < t1:
                tstamp = 1 + (tick - t0) / sig.beat_ticks
                controls.append(f'<harm tstamp="{tstamp:g}" staff="{len(staves)}" '
                                f'place="below">{escape(" ".join(texts))}</harm>')
        right = ' right="end"' if bar == bars - 1 else ""
        out.append(f'<measure n="{bar + 1}" xml:id="{mid}"{right}>' + "".join(body)
                   + "".join(controls) + "</measure>")
    out.append("</section></score></mdiv></body></music></mei>")
    return Engraving("\n".join(out), note_ids=note_ids, bars=bar_ids, chorale=voices is not None,
                     staves=len(staves), notes_lost=lost)


def _rests(units: int) -> list[str]:
    return [f'<rest dur="{d}"' + (f' dots="{dots}"' if dots else "") + "/>"
            for _, d, dots in _split(units)]


def _chord(ev: _Event, s: int, e: int, stem: str, key, sig_alters, state, tied_in: bool,
           tied_out: bool, marked, note_ids: dict, controls: list, layer: int) -> list[str]:
    """The event's part in this bar: its lengths in written values, tied together."""
    pieces = _split(e - s)
    out = []
    fermata = any(n.fermata for _, n in ev.notes) and not tied_out
    for p, (_, dur, dots) in enumerate(pieces):
        first, last = p == 0, p == len(pieces) - 1
        attrs = f' dur="{dur}"' + (f' dots="{dots}"' if dots else "")
        if stem:
            attrs += f' stem.dir="{stem}"'
        notes = []
        for nid, n in ev.notes:
            pname, alter, octave = spell(n.pitch, key)
            xid = f"n{nid}" if first and not tied_in else f"n{nid}x{s}x{p}"
            note_ids[xid] = nid
            accid = ""
            continuing = tied_in or not first
            if continuing:
                accid = f' accid.ges="{_ACCID[alter]}"' if alter else ""
            else:
                cur = state.get((pname, octave), sig_alters.get(pname, 0))
                if alter != cur:
                    accid = f' accid="{_ACCID[alter]}"'
                    state[(pname, octave)] = alter
                elif alter:
                    accid = f' accid.ges="{_ACCID[alter]}"'
            tie = ""
            out_ = tied_out or not last
            if continuing or out_:
                tie = ' tie="' + ("m" if continuing and out_ else "t" if continuing else "i") + '"'
            color = ' color="#d0302a"' if nid in marked else ""
            notes.append(f'<note xml:id="{xid}" pname="{pname}" oct="{octave}"{accid}{tie}'
                         f'{color}/>')
        ferm = ""
        if fermata and last:
            ferm = f' fermata="{"below" if layer % 2 else "above"}"'
        if len(notes) == 1:
            out.append(notes[0].replace("<note ", f"<note{attrs}{ferm} ", 1))
        else:
            out.append(f"<chord{attrs}{ferm}>" + "".join(notes) + "</chord>")
    return out


# -- Verovio -------------------------------------------------------------------------------

def _toolkit(width_px: int, scale: int, page_height_px: int | None):
    try:
        import verovio
    except ImportError as exc:  # pragma: no cover - a dependency
        raise EngraveError(f"the score view needs Verovio ({exc})") from None
    verovio.enableLog(verovio.LOG_OFF)
    tk = verovio.toolkit(False)
    tk.setResourcePath(os.path.join(os.path.dirname(verovio.__file__), "data"))
    height = 60000 if page_height_px is None else int(page_height_px * 100 / scale)
    tk.setOptions({"pageWidth": max(600, int(width_px * 100 / scale)), "scale": scale,
                   "adjustPageHeight": page_height_px is None, "pageHeight": height,
                   "breaks": "auto", "header": "none", "footer": "none",
                   "pageMarginTop": 60, "pageMarginBottom": 60, "pageMarginLeft": 50,
                   "pageMarginRight": 50})
    return tk


_TOOLKITS: dict = {}


def render_svg_here(mei: str, width_px: int = 1000, scale: int = 40,
                    page_height_px: int | None = None) -> list[str]:
    """Verovio in this process. Its Python binding holds the GIL for a whole call (a
    16-bar chorale: ~100 ms), so a GUI must use :func:`render_svg` (a helper process)."""
    key = (width_px, scale, page_height_px, threading.get_ident())
    tk = _TOOLKITS.get(key)
    if tk is None:  # a toolkit per layout and thread, kept (its fonts load once)
        if len(_TOOLKITS) > 8:
            _TOOLKITS.clear()
        tk = _TOOLKITS[key] = _toolkit(width_px, scale, page_height_px)
    if not tk.loadData(mei):
        raise EngraveError("Verovio could not read the score it was given")
    pages = tk.getPageCount()
    if pages <= 0:
        raise EngraveError("Verovio set no page")
    return [tk.renderToSVG(p) for p in range(1, pages + 1)]


class Helper:
    """``python -m MODULE``: a job in a process of its own, fed one JSON line per job on
    stdin, answering one JSON line on stdout (``{"error": ...}`` when it failed); started
    on first use, started again if it dies. Waiting for it releases the GIL."""

    def __init__(self, module: str, env: dict | None = None):
        self.module = module
        self.extra_env = dict(env or {})
        self.proc = None
        self.lock = threading.Lock()

    def _start(self):
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.update(self.extra_env)
        self.proc = subprocess.Popen([sys.executable, "-m", self.module],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, text=True,
                                     encoding="utf-8")

    def call(self, job: dict) -> dict:
        with self.lock:
            for attempt in range(2):
                if self.proc is None or self.proc.poll() is not None:
                    self._start()
                try:
                    self.proc.stdin.write(json.dumps(job) + "\n")
                    self.proc.stdin.flush()
                    line = self.proc.stdout.readline()
                except (OSError, ValueError):
                    line = ""
                if line:
                    answer = json.loads(line)
                    if "error" in answer:
                        raise EngraveError(answer["error"])
                    return answer
                self.close()
                if attempt:
                    raise EngraveError("Verovio stopped while engraving this score")
        return {}

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(2)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
            self.proc = None


_HELPER = Helper("composer_app.music.engrave")
atexit.register(_HELPER.close)


def render_svg(mei: str, width_px: int = 1000, scale: int = 40,
               page_height_px: int | None = None) -> list[str]:
    """The MEI set by Verovio, one SVG per page, ``width_px`` wide at ``scale`` percent;
    pages as tall as the music (one, up to Verovio's limit) unless ``page_height_px``.
    Runs in the helper process (in this one when frozen by PyInstaller)."""
    if getattr(sys, "frozen", False):
        return render_svg_here(mei, width_px, scale, page_height_px)
    return _HELPER.call(_job(mei, width_px, scale, page_height_px))["svgs"]


def _job(mei, width_px, scale, page_height_px) -> dict:
    return {"mei": mei, "width_px": width_px, "scale": scale, "page_height_px": page_height_px}


def _svgs_of(job: dict) -> dict:
    return {"svgs": render_svg_here(job["mei"], job["width_px"], job["scale"],
                                    job["page_height_px"])}


def serve(answer=_svgs_of) -> None:
    """A helper's loop: a JSON job per line in, ``answer(job)`` as a JSON line out."""
    for line in sys.stdin:
        try:
            out = answer(json.loads(line))
        except Exception as exc:  # one bad score must not end the helper
            out = {"error": str(exc) or type(exc).__name__}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


def engrave(score: Score, ids: Iterable[int] | None = None, *, width_px: int = 1000,
            labels=(), marked: Iterable[int] = (), max_bars: int = MAX_BARS,
            page_height_px: int | None = None, scale: int = 40) -> Engraving:
    """MEI then SVG pages: :func:`score_to_mei` and :func:`render_svg`."""
    eng = score_to_mei(score, ids, labels=labels, marked=marked, max_bars=max_bars)
    eng.svgs = render_svg(eng.mei, width_px, scale, page_height_px=page_height_px)
    return eng


def qt_svg(svg: str) -> str:
    """Verovio's SVG as Qt's SVG module reads it (SVG Tiny: no nested ``<svg>``): the
    inner ``definition-scale`` svg's viewBox moves to the root and the svg becomes a g."""
    head_end = svg.index(">", svg.index("<svg")) + 1
    inner = svg.find('<svg class="definition-scale"')
    if inner < 0:
        return svg
    inner_end = svg.index(">", inner) + 1
    tag = svg[inner:inner_end]
    vb_at = tag.find('viewBox="')
    viewbox = tag[vb_at + 9:tag.index('"', vb_at + 9)] if vb_at >= 0 else ""
    root = svg[:head_end]
    if viewbox and "viewBox" not in root:
        root = root[:-1] + f' viewBox="{viewbox}">'
    group = "<g" + tag[len("<svg"):].replace(f' viewBox="{viewbox}"', "")
    body = svg[inner_end:]
    close = body.rfind("</svg>")
    close = body.rfind("</svg>", 0, close)
    body = body[:close] + "</g>" + body[close + len("</svg>"):]
    return _flat_text(root + svg[head_end:inner] + group + body)


_NESTED_TSPAN = re.compile(r'<tspan([^>]*)>\s*<tspan([^>]*)>([^<]*)</tspan>\s*</tspan>')


def _flat_text(svg: str) -> str:
    """SVG Tiny has no tspan in a tspan (Qt drops them, and the text with them)."""
    svg = svg.replace(' font-size="0px"', "")
    while True:
        flat = _NESTED_TSPAN.sub(r"<tspan\1\2>\3</tspan>", svg)
        if flat == svg:
            return svg
        svg = flat


if __name__ == "__main__":
    serve()
