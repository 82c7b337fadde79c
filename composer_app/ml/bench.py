"""Model benchmarks, gathered from each model's own bench module."""

from __future__ import annotations

import importlib

BENCHES = []
for _name in ("composer_app.ml.bench_harmonizer", "composer_app.ml.bench_continuer"):
    try:
        BENCHES.extend(importlib.import_module(_name).BENCHES)
    except ModuleNotFoundError as _exc:
        if not (_exc.name and _name.startswith(_exc.name)):
            raise
