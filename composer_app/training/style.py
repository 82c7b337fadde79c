"""The style profile of four-voice pieces: how Bach-like a set of harmonizations is.

Voice-leading error counts alone can be met by a rule and still sound wrong, so the
harmonizer is judged against Bach's harmonizations of the same sopranos on what a theory
teacher would look at: cadences at the phrase ends, how each lower voice moves, tendency
tones, chord vocabulary, parallels, and a two-sample classifier on 2-bar windows (50 % =
it cannot tell them apart). Figures are pooled over the pieces (ratios of sums) and the
rules come from :mod:`composer_app.music.voice_leading`, the app checker's rulebook.
Each definition was calibrated so that Bach's 37 test chorales give issue 11's music21
figures (:data:`BACH_ISSUE_11`; ``tests/test_style.py`` checks it).

The *succession* is the chord at every step where a voice starts a note or falls silent;
*beat chords* are the sounds on each beat (the denominator's note value) where all four
voices sound.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from composer_app.ml import grid
from composer_app.music import voice_leading as vl
from composer_app.music.theory import SATB_RANGES, VOICE_NAMES, Key
from composer_app.training.chorales import ChoraleGrid

log = logging.getLogger(__name__)

FUNCTIONS = ("I", "ii", "iii", "IV", "V", "vi", "vii°", "other")

# Bach's figures on the 37 test chorales as issue 11 reports them (music21 analysis).
BACH_ISSUE_11 = {
    "authentic_cadence_pct": 52.0, "onsets_per_beat": 1.18, "bass_step_pct": 63.0,
    "bass_third_pct": 6.0, "bass_repeat_pct": 3.0, "leading_tone_rises_pct": 91.0,
    "seventh_falls_pct": 94.0, "V_pct": 13.0, "parallel_fifths_per_100": 0.2,
    "parallel_octaves_per_100": 0.1, "parallel_unisons_per_100": 0.0,
}


@dataclass
class Piece:
    """A four-voice piece on the grid. ``phrase_ends`` (Bach's fermatas) and ``key`` are
    Bach's also for a generated harmonization of his soprano: the profile asks how the
    lower voices treat the same phrase ends in the same key."""

    name: str  # chorale name: the grouping unit of the classifier's cross-validation
    tokens: np.ndarray  # (4, T) grid tokens S, A, T, B
    pos: np.ndarray  # (T,) sixteenths since the bar line
    phrase_ends: np.ndarray  # (T,) bool
    key: Key
    numerator: int = 4
    denominator: int = 4

    @property
    def beat_steps(self) -> int:
        return max(1, 16 // self.denominator)


# Aarden-Essen key profiles, music21's default for ``Stream.analyze("key")``.
_AE_MAJOR = (17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062,
             0.145624, 8.15494, 0.232998, 4.95122)
_AE_MINOR = (18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161,
             4.56621, 1.93186, 7.37619, 1.75623)


def key_of(tokens: np.ndarray) -> Key:
    """The key of a four-voice grid as music21's ``analyze("key")`` finds it: the
    duration-weighted pitch-class histogram of all voices correlated with the
    Aarden-Essen profiles, best of the 24 keys.

    Detected once from Bach's notes rather than read from the key signature, because
    many chorales carry a modal (Dorian) signature or end on the dominant, so neither
    the signature nor the last bass note names the key reliably.
    """
    s = sounding(tokens)
    hist = np.bincount(s[s >= 0] % 12, minlength=12).astype(float)
    if not hist.any():
        return Key(0, "major")
    best, best_r = Key(0, "major"), -np.inf
    for mode, weights in (("major", _AE_MAJOR), ("minor", _AE_MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(weights, tonic))[0, 1])
            if r > best_r:
                best, best_r = Key(tonic, mode), r
    return best


def piece_from_chorale(c: ChoraleGrid) -> Piece:
    """A chorale as a Piece; its key from its own notes (:func:`key_of`)."""
    return Piece(name=c.name, tokens=np.asarray(c.tokens), pos=np.asarray(c.pos),
                 phrase_ends=np.asarray(c.fermata).astype(bool), key=key_of(c.tokens),
                 numerator=c.numerator, denominator=c.denominator)


def with_tokens(p: Piece, tokens: np.ndarray) -> Piece:
    """The same soprano, phrase ends and key with other lower voices (rows 1-3 of
    ``tokens``); cut or padded with rests to the piece's length."""
    tokens = np.asarray(tokens)
    out = np.array(p.tokens, copy=True)
    n = min(out.shape[1], tokens.shape[1])
    out[1:] = grid.REST
    out[1:, :n] = tokens[1:4, :n]
    return replace(p, tokens=out)


# -- reading the grid -----------------------------------------------------------------------


sounding = grid.sounding  # (V, T) MIDI pitch sounding, -1 for silence


def succession(tokens: np.ndarray) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Steps where the sound changes (a voice starts a note or falls silent) and the
    chord there (S, A, T, B pitches, -1 silent); all-silent steps are left out."""
    s = sounding(tokens)
    change = np.asarray(tokens)[:4] >= grid.FIRST_PITCH
    moved = np.ones(s.shape[1], dtype=bool)
    moved[1:] = (s[:, 1:] != s[:, :-1]).any(axis=0)
    steps = np.flatnonzero((moved | change.any(axis=0)) & (s >= 0).any(axis=0))
    return steps, [tuple(int(x) for x in s[:, t]) for t in steps]


_LABELS: dict[tuple, vl.ChordLabel | None] = {}


def label(chord: tuple[int, ...], key: Key) -> vl.ChordLabel | None:
    """:func:`voice_leading.chord_label`, memoized on (pitch classes, bass, key): the
    profile asks for the same few hundred sounds many thousand times."""
    sounding_ = [p for p in chord if p >= 0]
    if len(sounding_) < 3:
        return None
    bass = min(sounding_) % 12
    pcs = tuple(sorted({p % 12 for p in sounding_}))
    k = (pcs, bass, key.tonic)
    if k not in _LABELS:
        _LABELS[k] = vl.chord_label([bass] + [pc + 12 for pc in pcs], key)
    return _LABELS[k]


# Chord function of (degree of the root above the tonic, quality), per mode. Minor keys
# use the same row names by function (i counts as I, III as iii, VI as vi); the major
# tonic of a minor piece (Picardy third) counts as I, a minor v and the subtonic VII as
# other. music21's romanNumeralFromChord agrees on root and quality (tests).
_FUNC = {
    "major": {0: ("major", "major7"), 2: ("minor", "minor7"), 4: ("minor", "minor7"),
              5: ("major", "major7"), 7: ("major", "dominant7"), 9: ("minor", "minor7"),
              11: ("diminished", "half-diminished7", "diminished7")},
    "minor": {0: ("minor", "minor7", "minor-major7", "major"),
              2: ("diminished", "half-diminished7", "minor", "minor7"),
              3: ("major", "major7", "augmented", "augmented-major7"),
              5: ("minor", "minor7", "major", "dominant7"), 7: ("major", "dominant7"),
              8: ("major", "major7"), 11: ("diminished", "half-diminished7", "diminished7")},
}
_DEGREE_NAME = {0: "I", 2: "ii", 3: "iii", 4: "iii", 5: "IV", 7: "V", 8: "vi", 9: "vi",
                11: "vii°"}


def function_of(lab: vl.ChordLabel | None, key: Key) -> str:
    """The roman numeral (row of :data:`FUNCTIONS`) of a chord in the key: the diatonic
    chord on each degree, any inversion, with or without its seventh; chromatic chords
    (secondary dominants, borrowed chords) and non-chords are "other"."""
    if lab is None:
        return "other"
    degree = (lab.root - key.tonic) % 12
    if lab.quality in _FUNC[key.mode].get(degree, ()):
        return _DEGREE_NAME[degree]
    return "other"


def _notes(row: np.ndarray) -> list[int | None]:
    """A voice's notes in order as pitches, None for a rest (it breaks melodic moves)."""
    out: list[int | None] = []
    for tok in row:
        tok = int(tok)
        if tok >= grid.FIRST_PITCH:
            out.append(grid.token_pitch(tok))
        elif tok != grid.HOLD and (not out or out[-1] is not None):
            out.append(None)
    return out


def _moves(row: np.ndarray) -> list[int]:
    notes = _notes(row)
    return [b - a for a, b in zip(notes, notes[1:]) if a is not None and b is not None]


# -- the profile ------------------------------------------------------------------------------


def _cadence(steps, chords, start: int, key: Key) -> bool:
    """An authentic cadence at the phrase end that begins at step ``start``: the first
    fully sounding chord from there is a major or minor triad in root position and the
    last different full chord before it is a major triad or a dominant seventh (also
    without its fifth) in root position a fifth above. V and I are read relative to the
    chord at the fermata, so cadences in tonicized keys count: that reading reproduces
    Bach's 52 % (in the piece's key he has under 30 %)."""
    full = [i for i, c in enumerate(chords) if min(c) >= 0]
    at = next((i for i in full if steps[i] >= start), None)
    if at is None:
        return False
    before = [i for i in full if i < at and chords[i] != chords[at]]
    if not before:
        return False
    fin, pre = label(chords[at], key), label(chords[before[-1]], key)
    return (fin is not None and pre is not None and fin.quality in ("major", "minor")
            and pre.quality in ("major", "dominant7") and (pre.root - fin.root) % 12 == 7
            and chords[at][3] % 12 == fin.root and chords[before[-1]][3] % 12 == pre.root)


def _count(p: Piece, c: Counter) -> None:
    key, tokens = p.key, np.asarray(p.tokens)
    steps, chords = succession(tokens)
    s = sounding(tokens)
    # cadences at the phrase ends
    ends = np.asarray(p.phrase_ends, dtype=bool)
    for t in np.flatnonzero(ends & ~np.concatenate(([False], ends[:-1]))):
        c["phrase_ends"] += 1
        c["authentic"] += _cadence(steps, chords, int(t), key)
    # rhythm and melodic motion of the lower voices
    c["lower_onsets"] += int((tokens[1:4] >= grid.FIRST_PITCH).sum())
    c["voice_beats"] += 3 * tokens.shape[1] / p.beat_steps
    bass = np.abs(_moves(tokens[3]))
    c["bass_moves"] += len(bass)
    c["bass_step"] += int(((bass >= 1) & (bass <= 2)).sum())
    c["bass_third"] += int(((bass >= 3) & (bass <= 4)).sum())
    c["bass_repeat"] += int((bass == 0).sum())
    for v in (1, 2, 3):
        lo, hi = SATB_RANGES[VOICE_NAMES[v]]
        pitches = [n for n in _notes(tokens[v]) if n is not None]
        c["lower_notes"] += len(pitches)
        c["out_of_range"] += sum(not lo <= n <= hi for n in pitches)
    # tendency tones
    for r in vl.tendency_tones(chords, key):
        if r.tone == "leading tone" and r.voice in (0, 3):
            c["lt"] += 1
            c["lt_ok"] += r.resolved
        elif r.tone == "seventh":
            c["sev"] += 1
            c["sev_ok"] += r.resolved
    # voice leading of the succession
    full = [min(ch) >= 0 for ch in chords]
    c["chords"] += sum(full)
    c["changes"] += sum(a and b and x != y for a, b, x, y in
                        zip(full, full[1:], chords, chords[1:]))
    found = vl.check_chords(chords)
    c.update("f:" + f.kind for f in found)
    c["crossed"] += len({f.index for f in found if f.kind == vl.CROSSING and full[f.index]})
    c["spaced"] += len({f.index for f in found if f.kind == vl.SPACING and full[f.index]})
    # beat chords
    for t in range(tokens.shape[1]):
        if p.pos[t] % p.beat_steps or min(s[:, t]) < 0:
            continue
        chord = tuple(int(x) for x in s[:, t])
        lab = label(chord, key)
        c["beats"] += 1
        c["fn:" + function_of(lab, key)] += 1
        if lab is None:
            continue
        c["triad_or_seventh"] += 1
        if lab.complete and lab.quality in ("major", "minor", "diminished", "augmented"):
            c["triads"] += 1
            third = (lab.root + (4 if lab.quality in ("major", "augmented") else 3)) % 12
            c["doubled_third"] += sum(x % 12 == third for x in chord) >= 2


def _pct(a: float, b: float) -> float:
    return 100.0 * a / b if b else 0.0


def profile(pieces: list[Piece]) -> dict[str, float]:
    """The style figures of a set of pieces, pooled over them.

    - ``authentic_cadence_pct``: phrase ends (Bach's fermatas) that close with a
      root-position V(7)-I in the key of the chord at the fermata (:func:`_cadence`).
    - ``onsets_per_beat``: lower-voice note onsets per beat per voice.
    - ``bass_step_pct`` / ``bass_third_pct`` / ``bass_repeat_pct``: bass note-to-note
      moves of 1-2 / 3-4 / 0 semitones, of all bass moves (a rest breaks the line).
    - ``leading_tone_rises_pct``: soprano and bass leading tones of dominant-to-tonic
      progressions in the piece's key that rise to the tonic; ``seventh_falls_pct``: V7
      sevenths (any voice) of such progressions that fall by step
      (:func:`voice_leading.tendency_tones`).
    - ``parallel_fifths_per_100`` (parallel and antiparallel), ``parallel_octaves_per_100``
      (parallel, antiparallel and octave-unison in contrary motion),
      ``parallel_unisons_per_100`` (similar motion only): voice pairs of the succession
      per 100 changes between two different fully sounding chords
      (:func:`voice_leading.motion_findings`); ``parallels_total_per_100`` all six kinds,
      each motion once. (music21's ``parallelUnison`` also counts contrary motion between
      octaves and unisons; issue 11's unison figures for the model follow that reading.)
    - ``hidden_per_100``: hidden fifths and octaves between soprano and bass, the same way.
    - ``crossings_pct`` / ``spacing_pct``: fully sounding chords of the succession with a
      crossing / with more than an octave between soprano-alto or alto-tenor.
    - ``out_of_range_pct``: lower-voice notes outside their SATB range.
    - ``I_pct`` .. ``other_pct``: beat chords by function in the key (:func:`function_of`);
      ``V_pct`` is the V chord share of beats.
    - ``triad_or_seventh_pct``: beat chords that are a triad or a seventh chord (a seventh
      may lack its fifth); ``doubled_third_pct``: complete triads on beats whose third is
      in two voices.
    """
    c: Counter = Counter()
    for p in pieces:
        _count(p, c)
    octaves = c["f:" + vl.PARALLEL_OCTAVES] + c["f:" + vl.ANTIPARALLEL_OCTAVES] + \
        c["f:" + vl.OCTAVE_UNISON]
    out = {
        "authentic_cadence_pct": _pct(c["authentic"], c["phrase_ends"]),
        "onsets_per_beat": c["lower_onsets"] / c["voice_beats"] if c["voice_beats"] else 0.0,
        "bass_step_pct": _pct(c["bass_step"], c["bass_moves"]),
        "bass_third_pct": _pct(c["bass_third"], c["bass_moves"]),
        "bass_repeat_pct": _pct(c["bass_repeat"], c["bass_moves"]),
        "leading_tone_rises_pct": _pct(c["lt_ok"], c["lt"]),
        "seventh_falls_pct": _pct(c["sev_ok"], c["sev"]),
        "parallel_fifths_per_100": _pct(c["f:" + vl.PARALLEL_FIFTHS]
                                        + c["f:" + vl.ANTIPARALLEL_FIFTHS], c["changes"]),
        "parallel_octaves_per_100": _pct(octaves, c["changes"]),
        "parallel_unisons_per_100": _pct(c["f:" + vl.PARALLEL_UNISONS], c["changes"]),
        "parallels_total_per_100": _pct(sum(c["f:" + k] for k in vl.PARALLEL_KINDS),
                                        c["changes"]),
        "hidden_per_100": _pct(c["f:" + vl.HIDDEN_FIFTHS] + c["f:" + vl.HIDDEN_OCTAVES],
                               c["changes"]),
        "crossings_pct": _pct(c["crossed"], c["chords"]),
        "spacing_pct": _pct(c["spaced"], c["chords"]),
        "out_of_range_pct": _pct(c["out_of_range"], c["lower_notes"]),
    }
    for f in FUNCTIONS:
        out[f"{f}_pct"] = _pct(c["fn:" + f], c["beats"])
    out["triad_or_seventh_pct"] = _pct(c["triad_or_seventh"], c["beats"])
    out["doubled_third_pct"] = _pct(c["doubled_third"], c["triads"])
    return {k: float(v) for k, v in out.items()}


# The two-sample classifier lives in .style_classifier (re-exported here).

# -- the table ---------------------------------------------------------------------------------

ROWS = {  # key -> label, in the order of issue 11's table
    "accuracy_pct": "classifier on 2-bar windows, % (50 = can't tell)",
    "rhythm_pct": "  lower-voice rhythm alone", "intervals_pct": "  melodic intervals alone",
    "chords_pct": "  chord types alone", "motion_pct": "  motion types alone",
    "authentic_cadence_pct": "authentic (V-I) cadences at fermatas, %",
    "onsets_per_beat": "lower-voice onsets per beat per voice",
    "bass_step_pct": "bass by step, %", "bass_third_pct": "bass by third, %",
    "bass_repeat_pct": "bass repeated, %",
    "leading_tone_rises_pct": "leading tone rises (outer voices), %",
    "seventh_falls_pct": "seventh of V7 falls by step, %", "V_pct": "V chord share of beats, %",
    "parallel_fifths_per_100": "parallel 5ths per 100 changes",
    "parallel_octaves_per_100": "  8ves incl. antiparallel & 8ve-unison",
    "parallel_unisons_per_100": "  unisons (similar motion)",
    "parallels_total_per_100": "  all parallels together",
    "hidden_per_100": "hidden 5ths/8ves (outer voices)",
    "crossings_pct": "crossings, % of chords", "spacing_pct": "spacing > 8ve, % of chords",
    "out_of_range_pct": "lower-voice notes out of range, %",
    **{f"{f}_pct": f"{f} share of beats, %" for f in FUNCTIONS if f != "V"},
    "triad_or_seventh_pct": "triad or seventh, % of beats",
    "doubled_third_pct": "doubled third, % of triads",
}


def format_table(columns: dict[str, dict], targets: dict | None = None) -> str:
    """A plain-text table: one row per figure (:data:`ROWS` order, then any other keys),
    one column per system, e.g. ``{"Bach": profile(bach), "model + rules": ...}``.

    ``targets`` maps a figure to a ``(">=" or "<=", value)`` pair or to any text; it
    becomes a last column. Missing figures print as "-".
    """
    keys = [k for k in ROWS if any(k in col for col in columns.values())]
    keys += sorted({k for col in columns.values() for k in col if k not in ROWS
                    and isinstance(col[k], (int, float))})

    def cell(v) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "-"
        return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"

    head = ["measure", *columns] + (["target"] if targets else [])
    body = []
    for k in keys:
        row = [ROWS.get(k, k), *(cell(col.get(k)) for col in columns.values())]
        if targets:
            t = targets.get(k, "")
            row.append(f"{t[0]} {t[1]:g}" if isinstance(t, tuple) else str(t))
        body.append(row)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


from .style_classifier import (  # noqa: E402  (it reads the profile's helpers above)
    FEATURE_GROUPS,
    classifier_accuracy,
    window_features,
)

__all__ = ["Piece", "profile", "format_table", "classifier_accuracy", "window_features",
           "FEATURE_GROUPS", "piece_from_chorale", "with_tokens", "succession", "sounding"]
