"""``composer-app bench``: speed and memory, measured (never asserted in unit tests).

The one benchmarks package: each area's benchmarks are a module here (``BENCH_MODULES``,
in the order they run) with a list ``BENCHES`` of :class:`Benchmark`; a benchmark's
``run(runs)`` returns a :class:`BenchResult`; times are seconds.

Layers: this package sits above the others, like ``cli.py``: it calls ``music/``,
``audio/`` and ``ml/`` through their public calls and imports no torch (the model
benches run torch through ``ml/``) and no Qt (``ui`` runs the app in subprocesses).
"""

from __future__ import annotations

import importlib
import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

BENCH_MODULES = (
    "composer_app.bench.files",
    "composer_app.bench.harmonizer",
    "composer_app.bench.continuer",
    "composer_app.bench.audio",
    "composer_app.listening.bench",
    "composer_app.bench.ui",
)


@dataclass
class BenchResult:
    name: str
    samples: list[float]
    unit: str = "s"
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": statistics.median(self.samples),
            "min": min(self.samples),
            "max": max(self.samples),
            "runs": len(self.samples),
            **({"extra": self.extra} if self.extra else {}),
        }


@dataclass
class Benchmark:
    name: str
    run: Callable[[int], BenchResult]
    default_runs: int = 5
    target: str = ""  # what the issue asks, shown beside the result


def time_calls(name: str, fn: Callable[[], object], runs: int, warmup: int = 1,
               extra: dict | None = None) -> BenchResult:
    """Call ``fn`` ``warmup`` times untimed, then ``runs`` times timed."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return BenchResult(name, samples, extra=dict(extra or {}))


def all_benchmarks() -> list[Benchmark]:
    found: list[Benchmark] = []
    for module_name in BENCH_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that area has no benchmarks yet
            raise
        found.extend(getattr(module, "BENCHES", []))
    return found


def run_benchmarks(only: list[str] | None = None, runs: int | None = None,
                   json_path: str | None = None, out=print) -> list[dict]:
    from composer_app.music import UserError

    benches = all_benchmarks()
    names = [b.name for b in benches]
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise UserError(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(names)})")
        benches = [b for b in benches if b.name in only]
    rows: list[dict] = []
    out(f"{'benchmark':<28} {'median':>10} {'min':>10} {'max':>10} {'runs':>5}  notes")
    for bench in benches:
        result = bench.run(runs or bench.default_runs)
        row = result.as_dict()
        rows.append(row)
        notes = ", ".join(f"{k}={_fmt(v)}" for k, v in result.extra.items())
        if bench.target:
            notes = f"target {bench.target}" + (f"; {notes}" if notes else "")
        out(f"{row['name']:<28} {_fmt_s(row['median']):>10} {_fmt_s(row['min']):>10} "
            f"{_fmt_s(row['max']):>10} {row['runs']:>5}  {notes}")
    if json_path:
        from composer_app.music.atomic import atomic_write_bytes

        atomic_write_bytes(Path(json_path), (json.dumps(rows, indent=2) + "\n").encode())
    return rows


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.3f} s"


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
