"""``composer-app``: no subcommand (or a file) opens the GUI; subcommands are headless.

Exit codes: 0 done, 2 usage, 1 a problem the user can fix, printed as one line
``error: …`` on stderr (never a traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from composer_app import __version__
from composer_app.ml import STYLES
from composer_app.music import UserError

log = logging.getLogger("composer_app")

SCORE_OUTPUTS = ("midi", "musicxml", "project")

STYLE_CHOICES = STYLES
STYLE_HELP = ("the style to continue in: folk (the folk-tune corpus, default) or chorale "
              "(Bach's chorale sopranos)")
TUNE_HELP = "ABC books: the tune to read, by its X: number (default the first)"
UNFOLD_HELP = "MusicXML: keep repeats written once (default: played out, as they sound)"

SUBCOMMANDS = (
    "export", "info", "harmonize", "continue", "song", "render", "devices", "train", "evaluate",
    "bench", "listening-test", "check",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors: exit 2, one line
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"a seed is a whole number from 0 to 2**63-1, not {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="composer-app", description="Composing assistant: piano roll, Continue, Reharmonize (Bach).")
    p.add_argument("--version", action="version", version=f"composer-app {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log more (and show tracebacks)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("export", help="convert between MIDI, MusicXML and project files")
    s.add_argument("input", help=".mid/.midi/.musicxml/.xml/.mxl/.abc/.composer.json")
    s.add_argument("--no-unfold", action="store_true", help=UNFOLD_HELP)
    s.add_argument("--tune", type=_positive, help=TUNE_HELP)
    s.add_argument("-o", "--output", required=True, help="output: .mid, .musicxml or .composer.json")
    s.add_argument("--grid", type=int, default=16, choices=(4, 8, 16, 32),
                   help="MusicXML: the note value unquantized music is notated on "
                        "(default 16: sixteenths; the piece itself is not changed)")
    s.add_argument("--straight", action="store_true",
                   help="MusicXML: quantize to the straight grid only (no triplets)")

    s = sub.add_parser("info", help="print a JSON summary of a file")
    s.add_argument("input")
    s.add_argument("--no-unfold", action="store_true", help=UNFOLD_HELP)
    s.add_argument("--tune", type=_positive, help=TUNE_HELP)

    s = sub.add_parser("check", help="check the voice leading of four-part writing")
    s.add_argument("input")
    s.add_argument("--no-unfold", action="store_true", help=UNFOLD_HELP)
    s.add_argument("--key", help="the key to judge tendency tones in (default: the file's, "
                                 "else detected from the soprano)")
    s.add_argument("--labels", action="store_true",
                   help="also print the roman numeral and chord symbol of every beat")
    s.add_argument("--json", help="also write the findings (and labels) to this JSON file")

    s = sub.add_parser("harmonize", help="write alto, tenor and bass under a melody (Bach style)")
    s.add_argument("input")
    s.add_argument("--no-unfold", action="store_true", help=UNFOLD_HELP)
    s.add_argument("--tune", type=_positive, help=TUNE_HELP)
    s.add_argument("-o", "--output", required=True, help="output .mid (OUT-1.mid … with --variations)")
    s.add_argument("--track", type=int, help="melody track number (1-based, as `info` lists them)")
    s.add_argument("--variations", type=int, default=1)
    s.add_argument("--seed", type=_seed)
    s.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    s.add_argument("--key", help="key of the melody, e.g. C, Db, F#m (detected when omitted)")

    s = sub.add_parser("continue", help="continue a melody by some bars")
    s.add_argument("input")
    s.add_argument("--no-unfold", action="store_true", help=UNFOLD_HELP)
    s.add_argument("--tune", type=_positive, help=TUNE_HELP)
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--bars", type=int, required=True)
    s.add_argument("--variations", type=int, default=1)
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--top-p", type=float, default=0.95)
    s.add_argument("--seed", type=_seed)
    s.add_argument("--device", default="auto")
    s.add_argument("--style", choices=STYLE_CHOICES, default="folk", help=STYLE_HELP)

    s = sub.add_parser("song", help="a whole song in a form (ABCBDB, AABA…) from a sketch")
    s.add_argument("input", help="the sketch: section A")
    s.add_argument("--no-unfold", action="store_true", help=UNFOLD_HELP)
    s.add_argument("--tune", type=_positive, help=TUNE_HELP)
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--form", required=True,
                   help="letters, one per section (ABCBDB, AABA, ABAB, IABABO …)")
    s.add_argument("--section-bars", type=int, default=8, help="bars per section (default 8)")
    s.add_argument("--relate", help="letters seeded by a relative, e.g. C=A (a second verse)")
    s.add_argument("--vary", action="store_true",
                   help="a repeated section keeps its first half and continues the rest anew")
    s.add_argument("--reharmonize", action="store_true", help="then alto, tenor and bass")
    s.add_argument("--seed", type=_seed)
    s.add_argument("--device", default="auto")
    s.add_argument("--style", choices=STYLE_CHOICES, default="folk", help=STYLE_HELP)

    s = sub.add_parser("render", help="render to a WAV file through FluidSynth")
    s.add_argument("input")
    s.add_argument("--no-unfold", action="store_true", help=UNFOLD_HELP)
    s.add_argument("--tune", type=_positive, help=TUNE_HELP)
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--soundfont")
    s.add_argument("--sample-rate", type=int, default=44100)

    sub.add_parser("devices", help="list synths, soundfonts, MIDI ports and the compute device")

    s = sub.add_parser("train", help="train a model from music21's bundled corpus")
    s.add_argument("model", choices=["harmonizer", "continuer"])
    s.add_argument("--epochs", type=_positive)
    s.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    s.add_argument("--out", help="run folder (checkpoints); default under the user data folder")
    s.add_argument("--device", default="auto")
    s.add_argument("--hidden", type=_positive, help="harmonizer: LSTM width (default 192)")
    s.add_argument("--init-from", help="continuer: fine-tune these weights (a checkpoint "
                                       "without a style input gets one)")
    s.add_argument("--lr", type=float, help="continuer: the peak learning rate (default 3e-3)")
    s.add_argument("--chorale-repeats", type=_positive,
                   help="continuer: each chorale soprano this many times per epoch (default 1)")

    s = sub.add_parser("evaluate", help="evaluate a model on the held-out test split")
    s.add_argument("model", choices=["harmonizer", "continuer"])
    s.add_argument("--checkpoint", help="weights to evaluate (default: the shipped ones)")
    s.add_argument("--limit", type=int, help="evaluate on at most this many test pieces")
    s.add_argument("--seeds", type=_positive, help="seeds per piece (harmonizer: default 2; continuer: default 3)")
    s.add_argument("--split", choices=["test", "valid"],
                   help="the split to measure (valid for decisions; default test)")
    s.add_argument("--ablate", action="store_true",
                   help="harmonizer: also measure each rule switched off (validation split)")
    s.add_argument("--card", help="harmonizer: write the model card (JSON) here")
    s.add_argument("--history", help="harmonizer: the training run's history.json, for the card")
    s.add_argument("--bench", help="harmonizer: a `composer-app bench --json` file, for the card")
    s.add_argument("--json", help="also write the metrics to this JSON file")

    s = sub.add_parser("bench", help="measure speed and memory")
    s.add_argument("--only", help="comma-separated benchmark names")
    s.add_argument("--runs", type=_positive, help="timed runs per benchmark")
    s.add_argument("--json", help="write results as a JSON list to this path")

    s = sub.add_parser("listening-test", help="blind listening test: make a kit, score answers")
    lt = s.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    m = lt.add_parser("make", help="write a kit of blinded clips, its page and its sealed key")
    m.add_argument("out_dir", metavar="OUT_DIR", help="a new (or empty) folder")
    m.add_argument("--pairs", type=int, help="pairs (passages), default 12")
    m.add_argument("--seconds", type=float, help="longest clip in seconds, default 12")
    m.add_argument("--source", nargs="+", metavar="test-chorales|FILE",
                   help="test-chorales (default) or files holding a melody with its harmony")
    m.add_argument("--systems", help="comma-separated: shipped,network-alone (default both)")
    m.add_argument("--repeats", type=int, help="pairs heard a second time (consistency), default 0")
    m.add_argument("--seed", type=_seed, help="picks the passages and harmonizations")
    m.add_argument("--soundfont")
    m.add_argument("--sample-rate", type=int)
    m = lt.add_parser("score", help="unblind listeners' answers and report")
    m.add_argument("out_dir", metavar="OUT_DIR", help="the folder `make` wrote")
    m.add_argument("results", metavar="RESULTS.json", nargs="+")
    m.add_argument("--json", help="also write the report to this JSON file")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `composer-app FILE` (or nothing) opens the GUI.
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        return _open_gui(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s")
    if args.command is None:
        return _open_gui([])
    handler = globals()[f"_cmd_{args.command.replace('-', '_')}"]
    try:
        return handler(args) or 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `composer-app info x | head`: the reader has had enough
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit's flush cannot fail again
        return 0
    except Exception as exc:  # a bug: still one line, traceback with --verbose
        if args.verbose:
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}); rerun with -v for details",
              file=sys.stderr)
        return 1


def _open_gui(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: composer-app [FILE] | composer-app COMMAND ...", file=sys.stderr)
        return 2
    try:
        from composer_app.ui.app import run_app
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("composer_app.ui"):
            print("error: the desktop app is not built yet; use a subcommand (see --help)",
                  file=sys.stderr)
            return 2
        print(f"error: cannot start the desktop app: missing {exc.name} "
              "(run `make run` to install it)", file=sys.stderr)
        return 1
    return run_app(argv[0] if argv else None)


# -- foundation commands --------------------------------------------------------------


def _cmd_export(args) -> int:
    from composer_app.music import save_score

    _check_output(args.output, SCORE_OUTPUTS)
    score = _load(args)
    _tell(save_score(score, args.output, grid=args.grid, triplets=not args.straight))
    return 0


def _cmd_check(args) -> int:
    from composer_app.music import load_score, parse_key
    from composer_app.music.atomic import atomic_write_bytes
    from composer_app.music.harmony_check import check_score, chord_labels

    said: list[str] = []
    score = load_score(args.input, notes=said, unfold=not args.no_unfold)
    _tell(said)
    key = parse_key(args.key) if args.key else None
    issues = check_score(score, key)
    for issue in issues:
        print(issue.describe())
    kinds = sorted({i.kind for i in issues})
    print(f"{len(issues)} finding{'s' * (len(issues) != 1)}"
          + (f" ({', '.join(f'{sum(i.kind == k for i in issues)} {k}' for k in kinds)})"
             if issues else ""))
    labels = chord_labels(score, key) if args.labels or args.json else []
    if args.labels:
        bar = None
        line: list[str] = []
        for m in labels:
            if m.bar != bar and line:
                print(f"bar {bar}: {'  '.join(line)}")
                line = []
            bar = m.bar
            line.append(f"{m.roman} ({m.symbol})")
        if line:
            print(f"bar {bar}: {'  '.join(line)}")
    if args.json:
        data = {"findings": [i.as_dict() for i in issues],
                "labels": [{"tick": m.tick, "bar": m.bar, "beat": m.beat, "roman": m.roman,
                            "symbol": m.symbol} for m in labels]}
        atomic_write_bytes(args.json, json.dumps(data, indent=1).encode())
    return 0


def _tell(notes: list[str]) -> None:
    """What a read or a save says the user should know (a damaged file's repairs,
    quantized notation, what a format drops)."""
    for line in notes:
        print(f"note: {line}", file=sys.stderr)


def _cmd_info(args) -> int:
    score = _load(args)
    print(json.dumps(score_summary(score), indent=2))
    return 0


def _load(args):
    """The input file's score; an ABC book without ``--tune`` gives its first tune, and
    says so."""
    from composer_app.music import load_score
    from composer_app.music.files import file_kind

    tune = getattr(args, "tune", None)
    if tune is None and file_kind(args.input) == "abc":
        from composer_app.music.abc import abc_tunes

        tunes = abc_tunes(args.input)
        if len(tunes) > 1:
            print(f"note: {args.input} holds {len(tunes)} tunes; reading X:{tunes[0].number} "
                  f"({tunes[0].title or 'untitled'}); choose another with --tune",
                  file=sys.stderr)
    said: list[str] = []
    score = load_score(args.input, tune=tune, notes=said,
                       unfold=not getattr(args, "no_unfold", False))
    _tell(said)
    return score


def score_summary(score) -> dict:
    counts = {}
    for n in score.notes:
        counts[n.track] = counts.get(n.track, 0) + 1
    key = score.key
    return {
        "title": score.title,
        "ppq": score.ppq,
        "tracks": [
            {"number": i + 1, "name": t.name, "channel": t.channel + 1, "program": t.program,
             "notes": counts.get(i, 0)}
            for i, t in enumerate(score.tracks)
        ],
        "notes": len(score.notes),
        "tempo_bpm": round(score.tempos[0].bpm, 3) if score.tempos else 120.0,
        "tempo_changes": len(score.tempos),
        "meter": str(score.time_signatures[0]) if score.time_signatures else "4/4",
        "meter_changes": len(score.time_signatures),
        "key": key.name if key else None,
        "length_bars": score.length_bars,
        "length_seconds": round(score.duration_seconds, 3),
    }


def _variation_paths(output: str, count: int) -> list[Path]:
    """OUT-1.mid … OUT-N.mid (the whole suffix kept: OUT-1.composer.json)."""
    out = Path(output)
    if count <= 1:
        return [out]
    suffix = ".composer.json" if out.name.lower().endswith(".composer.json") else out.suffix
    stem = out.name[: -len(suffix)] if suffix else out.name
    return [out.with_name(f"{stem}-{i}{suffix or '.mid'}") for i in range(1, count + 1)]


def _check_output(output: str, kinds: tuple[str, ...]) -> None:
    """Refuse, before any work, an output whose type or folder cannot be written."""
    from composer_app.music.files import file_kind

    suffix = Path(output).suffix.lower()
    kind = file_kind(output) or {".wav": "wav", ".json": "json"}.get(suffix, "")
    if kind not in kinds or suffix == ".mxl":
        names = {"midi": ".mid", "musicxml": ".musicxml", "project": ".composer.json",
                 "json": ".json", "wav": ".wav"}
        raise UserError(f"{output}: cannot write this file type here "
                        f"(use {' or '.join(names[k] for k in kinds)})")
    if Path(output).is_dir():
        raise UserError(f"{output}: is a folder; give a file name")
    _check_output_folder(output)


def _check_output_folder(output: str) -> None:
    folder = Path(output).resolve().parent
    if not folder.is_dir():
        raise UserError(f"{output}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{output}: folder {folder} is not writable")


# -- model commands -------------------------------------------------------------------


def _cmd_harmonize(args) -> int:
    from composer_app.music import save_score

    _check_output(args.output, SCORE_OUTPUTS)
    if args.variations < 1 or args.variations > 16:
        raise UserError("--variations must be between 1 and 16")
    score = _load(args)
    from composer_app.ml import harmonize_melody
    from composer_app.ml.runtime import Runtime

    results = harmonize_melody(score, track=args.track, key=args.key,
                               variations=args.variations, seed=args.seed,
                               runtime=Runtime(args.device),
                               progress=_progress_printer("harmonize"))
    for result, path in zip(results, _variation_paths(args.output, len(results))):
        _tell(save_score(result, path))
        print(path)
    return 0


def _cmd_continue(args) -> int:
    from composer_app.music import save_score

    _check_output(args.output, SCORE_OUTPUTS)
    if args.variations < 1 or args.variations > 16:
        raise UserError("--variations must be between 1 and 16")
    score = _load(args)
    from composer_app.ml import continue_melody
    from composer_app.ml.runtime import Runtime

    results = continue_melody(score, args.bars, variations=args.variations,
                              temperature=args.temperature, top_p=args.top_p, seed=args.seed,
                              runtime=Runtime(args.device), style=args.style,
                              progress=_progress_printer("continue"))
    for result, path in zip(results, _variation_paths(args.output, len(results))):
        _tell(save_score(result, path))
        print(path)
    return 0


def _cmd_song(args) -> int:
    from composer_app.music import save_score

    _check_output(args.output, SCORE_OUTPUTS)
    from composer_app.music.form import check_form, parse_related

    letters = check_form(args.form, args.section_bars)  # before reading anything
    related = parse_related(args.relate or "", letters)
    score = _load(args)
    from composer_app.ml.runtime import Runtime
    from composer_app.ml.song import song_form

    result = song_form(score, args.form, args.section_bars, seed=args.seed, related=related,
                       vary=args.vary, reharmonize=args.reharmonize, style=args.style,
                       runtime=Runtime(args.device), progress=_progress_printer("song"))
    save_score(result, args.output)
    for mk in result.markers:
        bar = result.bar_of(mk.tick) + 1
        print(f"{mk.text}: bars {bar}-{bar + args.section_bars - 1}", file=sys.stderr)
    print(args.output)
    return 0


def _cmd_render(args) -> int:
    _check_output(args.output, ("wav",))
    score = _load(args)
    from composer_app.audio.render import render_to_wav

    info = render_to_wav(score, args.output, soundfont=args.soundfont, sample_rate=args.sample_rate)
    print(info)
    return 0


def _cmd_devices(args) -> int:
    from composer_app.audio.devices import devices_report
    from composer_app.ml.device import describe_device

    print(devices_report())
    print(f"torch device:    {describe_device()}")
    return 0


def _cmd_train(args) -> int:
    if args.model == "harmonizer":
        from composer_app.training.harmonizer import train_cli
    else:
        from composer_app.training.continuer import train_cli
    return train_cli(args)


def _cmd_evaluate(args) -> int:
    if args.json:
        _check_output(args.json, ("json",))
    if getattr(args, "card", None):
        _check_output(args.card, ("json",))
    if args.model == "harmonizer":
        from composer_app.training.harmonizer import evaluate_cli
    else:
        from composer_app.training.continuer_eval import evaluate_cli
    return evaluate_cli(args)


def _cmd_bench(args) -> int:
    from composer_app.bench import run_benchmarks

    if args.json:
        _check_output(args.json, ("json",))
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    run_benchmarks(only=only, runs=args.runs, json_path=args.json)
    return 0


def _cmd_listening_test(args) -> int:
    from composer_app.listening import commands

    if args.action == "make":
        from composer_app.training.listening import SYSTEMS, make_pairs

        return commands.make_cli(args, make_pairs, SYSTEMS)
    return commands.score_cli(args)


def _progress_printer(label: str):
    """A progress callback printing percent to stderr when it is a terminal."""
    if not sys.stderr.isatty():
        return None

    def report(percent: int) -> None:
        print(f"\r{label}: {percent:3d}%", end="" if percent < 100 else "\n", file=sys.stderr,
              flush=True)

    return report
