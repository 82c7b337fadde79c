"""``composer-app listening-test make|score``: the commands, for cli.py.

``make`` is given the function that makes the pairs (``training.listening.make_pairs``,
which harmonizes), so this package stays below ml/ and training/.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from composer_app.music import UserError
from composer_app.music.atomic import atomic_write_bytes

DEFAULT_PAIRS = 12
DEFAULT_SECONDS = 12.0


def _say(done: int, total: int, label: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{label}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr,
              flush=True)


def make_cli(args, make_pairs, known_systems: tuple[str, ...]) -> int:
    from composer_app.audio._native import load_fluidsynth
    from composer_app.audio.soundfont import resolve_soundfont

    from .kit import SAMPLE_RATE, make_kit, prepare_out_dir

    t0 = time.perf_counter()
    pairs = DEFAULT_PAIRS if args.pairs is None else args.pairs
    seconds = DEFAULT_SECONDS if args.seconds is None else args.seconds
    if not 1 <= pairs <= 200:
        raise UserError("--pairs must be between 1 and 200")
    if not 2.0 <= seconds <= 120.0:
        raise UserError("--seconds must be between 2 and 120")
    systems = list(dict.fromkeys(s.strip() for s in (args.systems or ",".join(known_systems))
                                 .split(",") if s.strip()))
    unknown = [s for s in systems if s not in known_systems]
    if unknown or not systems:
        raise UserError(f"unknown system {', '.join(unknown) or '(none)'}; "
                        f"known: {', '.join(known_systems)}")
    seed = 0 if args.seed is None else args.seed
    repeats = args.repeats or 0
    if not 0 <= repeats <= pairs:
        raise UserError(f"--repeats must be between 0 and --pairs ({pairs})")
    source = args.source or ["test-chorales"]
    prepare_out_dir(args.out_dir)  # refused before any work, as is a missing soundfont
    soundfont = resolve_soundfont(args.soundfont)
    load_fluidsynth()
    specs = make_pairs(source, pairs, seconds, systems, seed,
                       progress=lambda d, n: _say(d, n, "harmonizing"))
    t1 = time.perf_counter()
    settings = {"source": "test-chorales" if source == ["test-chorales"]
                else [Path(s).name for s in source],
                "pairs": pairs, "seconds": seconds,
                "systems": list(dict.fromkeys(s.system for s in specs)), "seed": seed,
                "repeats": repeats}
    sealed = make_kit(args.out_dir, specs, settings, soundfont=soundfont,
                      sample_rate=args.sample_rate or SAMPLE_RATE,
                      progress=lambda d, n: _say(d, n, "rendering"), repeats=repeats)
    total = time.perf_counter() - t0
    out = Path(args.out_dir)
    names = [s.system for s in specs]
    counts = ", ".join(f"{names.count(s)} {s}" for s in dict.fromkeys(names))
    twice = f", {repeats} of them heard twice" if repeats else ""
    print(f"kit {sealed['kit_id']}: {pairs} pairs ({counts}), each against the original, "
          f"{seconds:g} s or less{twice}")
    print(f"send the folder {out / 'kit'} to the listeners (they open index.html and send "
          f"back the answers file); keep {out / 'answer-key.json'} to yourself")
    print(f"made in {total:.1f} s (harmonizing {t1 - t0:.1f} s, rendering and writing "
          f"{sealed['render_s']:.1f} s)")
    return 0


def score_cli(args) -> int:
    from .scoring import format_report, score_kit

    if args.json:
        out = Path(args.json)
        if out.suffix.lower() != ".json" or not out.resolve().parent.is_dir():
            raise UserError(f"{args.json}: give a .json file in an existing folder")
    report = score_kit(args.out_dir, args.results)
    print(format_report(report))
    if args.json:
        atomic_write_bytes(Path(args.json), (json.dumps(report, indent=2) + "\n").encode())
    return 0
