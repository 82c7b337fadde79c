"""Benchmark of the melody continuer: an 8-bar melody continued by 4 bars, 4 variations."""

from __future__ import annotations

from composer_app.music import Key, KeySignature, Note, Score

from . import Benchmark, time_calls


def eight_bar_melody() -> Score:
    """A fixed 8-bar 4/4 melody in G major (quarters, eighths, a half, a rest)."""
    bar = [  # (pitch, start in eighths, length in eighths) per bar pattern
        [(67, 0, 2), (71, 2, 2), (74, 4, 3), (72, 7, 1)],
        [(71, 0, 2), (69, 2, 1), (67, 3, 1), (69, 4, 4)],
        [(71, 0, 1), (72, 1, 1), (74, 2, 2), (76, 4, 2), (74, 6, 2)],
        [(72, 0, 2), (71, 2, 2), (69, 4, 2)],
    ]
    notes = []
    for b in range(8):
        for pitch, start, length in bar[b % 4]:
            notes.append(Note(pitch - (5 if b >= 4 and start == 0 else 0),
                              b * 1920 + start * 240, length * 240))
    return Score(notes=notes, key_signatures=[KeySignature(0, Key(7, "major"))],
                 title="bench melody")


def _continue_4_bars_x4(runs: int):
    from composer_app.ml.continuer import continue_melody
    from composer_app.ml.runtime import Runtime

    runtime = Runtime("cpu")
    runtime.continuer()  # loaded once, as in the app
    score = eight_bar_melody()
    seeds = iter(range(10_000))
    return time_calls("continue_4_bars_x4",
                      lambda: continue_melody(score, 4, variations=4, seed=next(seeds),
                                              runtime=runtime), runs, warmup=2)


def _song_form_48_bars(runs: int):
    """ABCBDB, 8 bars a section (the sketch is A; B, C and D generated), on the CPU."""
    from composer_app.ml.runtime import Runtime
    from composer_app.ml.song import song_form

    runtime = Runtime("cpu")
    runtime.continuer()
    score = eight_bar_melody()
    seeds = iter(range(10_000))
    return time_calls("song_form_48_bars",
                      lambda: song_form(score, "ABCBDB", 8, seed=next(seeds), runtime=runtime),
                      runs, warmup=1)


BENCHES = [Benchmark("continue_4_bars_x4", _continue_4_bars_x4, default_runs=5,
                     target="≤ 0.1 s"),
           Benchmark("song_form_48_bars", _song_form_48_bars, default_runs=5,
                     target="≤ 2 s")]
