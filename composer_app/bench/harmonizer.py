"""Benchmarks of the harmonizer: 8 and 32 bars of 4/4 melody, one variation and the
editor's three, model loaded; and the machine's single-thread float32 matmul rate, so
each model bench also reports its achieved GFLOP/s as a share of what this CPU can do
(machines here differ 2-3x in speed)."""

from __future__ import annotations

from composer_app.music import Key, KeySignature, Note, Score, Track

from . import Benchmark, BenchResult, time_calls

# "Old Hundredth"-like tune in G major, quarter notes, eight bars of 4/4.
_TUNE = (67, 67, 66, 64, 62, 67, 69, 71, 71, 71, 71, 69, 67, 72, 71, 69,
         67, 69, 71, 69, 67, 64, 66, 67, 69, 71, 72, 71, 69, 67, 66, 67)


def eight_bar_melody(repeats: int = 1) -> Score:
    notes = [Note(p, i * 480, 480, 80, 0)
             for i, p in enumerate(_TUNE * repeats)]
    return Score(notes=notes, tracks=[Track("Melody")],
                 key_signatures=[KeySignature(0, Key(7, "major"))], title="bench")


def harmonize_flops(steps: int, window: int, variations: int = 1) -> float:
    """Multiply-add FLOPs of one harmonize call: the draft over ``steps`` free steps
    (backward LSTM over the ``window`` once, three heads and one forward-LSTM step per
    step) plus each refinement and repair pass over the whole window."""
    from composer_app.ml.harmonizer import HarmonizerConfig, Schedule, load_model

    c: HarmonizerConfig = load_model(device="cpu").config
    h, d_in, v = c.hidden, 4 * c.token_dim + c.meta_dim, c.vocab_size
    lstm = 2 * c.layers * 4 * h * 2 * h  # one step of a stack
    inp, centre, join, heads = 2 * d_in * h, 2 * d_in * h + 2 * h * h, 6 * h * h, 6 * h * v
    full = window * (inp + 2 * lstm + centre + join + heads)
    draft = window * (inp + lstm) + steps * (3 * (centre + join + heads) + inp + lstm)
    sched = Schedule()
    return variations * (draft + (sched.refine + sched.rules.repair) * full)


def _bench(name: str, repeats: int, variations: int):
    def run(runs: int) -> BenchResult:
        from composer_app.ml.device import matmul_gflops
        from composer_app.ml.harmonizer import harmonize
        from composer_app.ml.runtime import Runtime

        melody = eight_bar_melody(repeats)
        runtime = Runtime("cpu")
        runtime.harmonizer()  # loaded once, as in the app; loading is not what is measured
        threads = runtime.apply_threads()
        calls = iter(range(10**9))
        result = time_calls(name, lambda: harmonize(melody, seed=next(calls), runtime=runtime,
                                                    variations=variations), runs)
        steps = 128 * repeats
        flops = harmonize_flops(steps, steps, variations)  # the span is the whole piece
        best = min(result.samples)
        peak = matmul_gflops()  # in ml/: torch stays there
        result.extra.update({"threads": threads, "steps": steps, "variations": variations,
                             "gflops": round(flops / best / 1e9, 2),
                             "matmul_1t_gflops": round(peak, 1),
                             "share_of_matmul": round(flops / best / 1e9 / peak, 3)})
        return result

    return run


BENCHES = [
    Benchmark("harmonize_8_bars", _bench("harmonize_8_bars", 1, 1), default_runs=5,
              target="≤ 0.5 s"),
    Benchmark("harmonize_32_bars", _bench("harmonize_32_bars", 4, 1), default_runs=3,
              target="≤ 1.5 s"),
    Benchmark("harmonize_8_bars_x3", _bench("harmonize_8_bars_x3", 1, 3), default_runs=5,
              target="≤ 1 s (the editor's three variations)"),
]
