"""Benchmark of the harmonizer: eight bars of 4/4 melody, one variation, model loaded."""

from __future__ import annotations

from composer_app.bench import Benchmark, BenchResult, time_calls
from composer_app.music import Key, KeySignature, Note, Score, Track

# "Old Hundredth"-like tune in G major, quarter notes, eight bars of 4/4.
_TUNE = (67, 67, 66, 64, 62, 67, 69, 71, 71, 71, 71, 69, 67, 72, 71, 69,
         67, 69, 71, 69, 67, 64, 66, 67, 69, 71, 72, 71, 69, 67, 66, 67)


def eight_bar_melody() -> Score:
    notes = [Note(p, i * 480, 480, 80, 0)
             for i, p in enumerate(_TUNE)]
    return Score(notes=notes, tracks=[Track("Melody")],
                 key_signatures=[KeySignature(0, Key(7, "major"))], title="bench")


def _harmonize_8_bars(runs: int) -> BenchResult:
    from composer_app.ml.device import cap_threads
    from composer_app.ml.harmonizer import harmonize, load_model

    melody = eight_bar_melody()
    load_model(device="cpu")  # loading is not what is measured
    threads = cap_threads()
    calls = iter(range(10**9))
    return time_calls("harmonize_8_bars",
                      lambda: harmonize(melody, seed=next(calls), device="cpu"), runs,
                      extra={"threads": threads, "steps": 128})


BENCHES = [Benchmark("harmonize_8_bars", _harmonize_8_bars, default_runs=5, target="≤ 0.5 s")]
