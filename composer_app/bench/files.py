"""Benchmarks of the file layer (music/).

- ``midi_roundtrip_10k``: what Save and Open do to a 10,000-note score (our encoder,
  our byte reader ``music/smf.py``), timed side by side with mido's own parse + save of
  the same bytes in the same run (``extra``: mido's median and the ratio; the target is
  ≤ 1.5× mido).
- ``musicxml_open_17k``: ``read_musicxml`` of Beethoven's op. 132 from music21's corpus
  (17,138 notes, four parts), what Open does off the GUI thread.
- ``musicxml_export_17k``: ``write_musicxml`` of the same piece.
"""

from __future__ import annotations

import io
import random
import statistics
import time
from pathlib import Path

from composer_app.music.midifile import midi_bytes, score_from_bytes
from composer_app.music.score import Note, Score, Track

from . import Benchmark, BenchResult, time_calls


def _score_10k() -> Score:
    rng = random.Random(1)
    notes = [Note(rng.randint(36, 96), i * 120, rng.choice((60, 120, 240, 480)), 90, i % 4)
             for i in range(10_000)]
    return Score(notes=notes, tracks=[Track(f"V{i}", i, 0) for i in range(4)])


def _midi_roundtrip(runs: int):
    import mido

    score = _score_10k()
    data = midi_bytes(score)

    def ours():  # what Save and Open do: our encoder, our byte reader (music/smf.py)
        score_from_bytes(midi_bytes(score))

    def theirs():  # mido's parse + save of the same file
        mido.MidiFile(file=io.BytesIO(data)).save(file=io.BytesIO())

    ours(), theirs()
    samples, mido_samples = [], []
    for _ in range(runs):  # interleaved: the machine's load falls on both alike
        for fn, into in ((ours, samples), (theirs, mido_samples)):
            t0 = time.perf_counter()
            fn()
            into.append(time.perf_counter() - t0)
    mido_median = statistics.median(mido_samples)
    return BenchResult("midi_roundtrip_10k", samples, extra={
        "mido_median_s": mido_median,
        "vs_mido": statistics.median(samples) / mido_median})


def _op132() -> Path | None:
    """The file in music21's corpus, found without importing music21 (the bench layer
    does not; the reader does)."""
    import importlib.util

    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "corpus" / "beethoven" / "opus132.mxl"
    return path if path.exists() else None


def _musicxml_open(runs: int):
    from composer_app.music.musicxml import read_musicxml

    path = _op132()
    if path is None:
        return BenchResult("musicxml_open_17k", [float("nan")], extra={"skipped": "no corpus"})
    read = {}

    def once():
        read["score"] = read_musicxml(path)

    result = time_calls("musicxml_open_17k", once, runs, warmup=0)
    result.extra["notes"] = len(read["score"].notes)
    return result


def _musicxml_export(runs: int):
    import tempfile

    from composer_app.music.musicxml import read_musicxml, write_musicxml

    path = _op132()
    if path is None:
        return BenchResult("musicxml_export_17k", [float("nan")], extra={"skipped": "no corpus"})
    score = read_musicxml(path)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "op132.musicxml"
        result = time_calls("musicxml_export_17k", lambda: write_musicxml(score, out), runs,
                            warmup=0)
        result.extra["bytes"] = out.stat().st_size
    return result


BENCHES = [
    Benchmark("midi_roundtrip_10k", _midi_roundtrip, default_runs=5, target="≤ 1.5× mido"),
    Benchmark("musicxml_open_17k", _musicxml_open, default_runs=1, target="≤ 20 s"),
    Benchmark("musicxml_export_17k", _musicxml_export, default_runs=1),
]
