"""Benchmarks of the file layer (music/)."""

from __future__ import annotations

import random

from composer_app.music.midifile import midi_bytes, score_from_bytes
from composer_app.music.score import Note, Score, Track

from . import Benchmark, time_calls


def _score_10k() -> Score:
    rng = random.Random(1)
    notes = [Note(rng.randint(36, 96), i * 120, rng.choice((60, 120, 240, 480)), 90, i % 4)
             for i in range(10_000)]
    return Score(notes=notes, tracks=[Track(f"V{i}", i, 0) for i in range(4)])


def _midi_roundtrip(runs: int):
    score = _score_10k()

    def once():  # what Save and Open do: our encoder, our byte reader (music/smf.py)
        score_from_bytes(midi_bytes(score))

    return time_calls("midi_roundtrip_10k", once, runs)


BENCHES = [Benchmark("midi_roundtrip_10k", _midi_roundtrip, default_runs=5)]
