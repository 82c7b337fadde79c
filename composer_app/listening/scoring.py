"""Unblinding listeners' answers: ratings per system, identification of the original,
per-listener consistency.

- **Ratings**: mean ± sd (sample sd) of every rating given to the clips of each system,
  and of the originals.
- **Which one is the original?**: per system, the share of its pairs where a listener
  picked the original, with an exact two-sided binomial test against 50 % (chance: the
  listeners could not tell). Near 50 % is good for the system; well above it means the
  system's clips are told apart.
- **Consistency**: each listener's Pearson correlation with the mean of the other
  listeners over the clips both rated (leave-one-out), when there are two listeners or
  more; a listener near 0 or below rated unlike the group. With pairs heard twice
  (``make --repeats``), also how far apart a listener's two ratings of the same clip
  were, and how often they picked the same clip as the original; those second hearings
  count for nothing else.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from pathlib import Path

from composer_app.music import UserError

from .kit import ORIGINAL
from .page import RESULTS_FORMAT


def binomial_two_sided(k: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided binomial p-value of ``k`` successes in ``n`` trials: the
    probability of every outcome no more likely than ``k`` (as scipy's binomtest)."""
    if n == 0:
        return 1.0
    pmf = [math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(n + 1)]
    limit = pmf[k] * (1 + 1e-7)
    return min(1.0, math.fsum(q for q in pmf if q <= limit))


def pearson(x: list[float], y: list[float]) -> float | None:
    if len(x) < 3:
        return None
    mx, my = statistics.fmean(x), statistics.fmean(y)
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = math.fsum((a - mx) ** 2 for a in x)
    syy = math.fsum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def read_results(path: str | Path, key: dict) -> dict:
    """One listener's results file, checked against ``key``; UserError when it is not a
    results file, belongs to another kit or names clips the kit does not have."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such results file") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the results ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT \
            or not isinstance(data.get("answers"), list):
        raise UserError(f"{path}: not a results file saved by a listening-test page")
    if data.get("kit_id") != key["kit_id"]:
        raise UserError(f"{path}: results of another kit ({data.get('kit_id')}); this kit is "
                        f"{key['kit_id']}")
    pairs = {p["pair"]: p for p in key["content"]["pairs"]}
    answers = []
    for a in data["answers"]:
        pair = pairs.get(a.get("pair")) if isinstance(a, dict) else None
        if pair is None:
            raise UserError(f"{path}: an answer for a pair this kit does not have")
        files = {c["file"] for c in pair["clips"].values()}
        ratings = a.get("ratings") or {}
        if not isinstance(ratings, dict) or not set(ratings) <= files \
                or (a.get("original") not in files and a.get("original") is not None):
            raise UserError(f"{path}: pair {pair['pair']} names clips this kit does not have")
        for r in ratings.values():
            if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r <= 10:
                raise UserError(f"{path}: pair {pair['pair']}: rating {r!r} is not 1-10")
        if any(b["pair"] == pair["pair"] for b in answers):
            raise UserError(f"{path}: pair {pair['pair']} answered twice (edited by hand?)")
        answers.append({"pair": pair["pair"], "ratings": dict(ratings),
                        "original": a.get("original")})
    order = data.get("order")
    order = order if isinstance(order, list) and all(isinstance(i, int) for i in order) \
        else [a["pair"] for a in answers]
    return {"path": str(path), "listener": str(data.get("listener") or "").strip()
            or path.stem, "answers": answers, "notes": str(data.get("notes") or ""),
            "order": order, "digest": hashlib.sha256(raw).hexdigest()}


def _repeats(pairs: dict, label: dict, answers: list[dict]) -> dict | None:
    """How a listener answered the pairs heard twice: the mean absolute difference of
    the two ratings of the same clip, and how often the same clip was picked."""
    by_pair = {a["pair"]: a for a in answers}
    diffs, same, both = [], 0, 0
    for number, pair in pairs.items():
        first, again = by_pair.get(pair.get("repeat_of")), by_pair.get(number)
        if first is None or again is None:
            continue
        r1 = {label[f]: v for f, v in first["ratings"].items()}
        r2 = {label[f]: v for f, v in again["ratings"].items()}
        diffs += [abs(r1[k] - r2[k]) for k in r1.keys() & r2.keys()]
        if first["original"] and again["original"]:
            both += 1
            same += label[first["original"]] == label[again["original"]]
    if not diffs and not both:
        return None
    return {"rating_difference": statistics.fmean(diffs) if diffs else None,
            "clips": len(diffs), "same_pick": same, "picks": both}


def _stats(values: list[int]) -> dict:
    if not values:
        return {"n": 0, "mean": None, "sd": None}
    return {"n": len(values), "mean": statistics.fmean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def score(key: dict, listeners: list[dict]) -> dict:
    """The report as a dict (see the module's docstring)."""
    pairs = {p["pair"]: p for p in key["content"]["pairs"]}
    label = {c["file"]: c["label"] for p in pairs.values() for c in p["clips"].values()}
    systems = list(dict.fromkeys(p["system"] for p in key["content"]["pairs"]))
    ratings = {s: [] for s in [ORIGINAL] + systems}
    picks = {s: [0, 0] for s in systems}  # correct, trials
    preferred = {s: [0.0, 0] for s in systems}  # system rated above the original, pairs
    by_clip: dict[str, dict[int, int]] = {}
    per_listener = []
    for li, lst in enumerate(listeners):
        correct = trials = 0
        mine = []
        for a in lst["answers"]:
            pair = pairs[a["pair"]]
            if "repeat_of" in pair:  # heard a second time: for consistency only
                continue
            mine += a["ratings"].values()
            for file, r in a["ratings"].items():
                ratings[label[file]].append(r)
                by_clip.setdefault(file, {})[li] = r
            if a["original"] is not None:
                ok = label[a["original"]] == ORIGINAL
                picks[pair["system"]][0] += ok
                picks[pair["system"]][1] += 1
                correct += ok
                trials += 1
            if len(a["ratings"]) == 2:
                r = {label[f]: v for f, v in a["ratings"].items()}
                diff = r[pair["system"]] - r[ORIGINAL]
                preferred[pair["system"]][0] += 1.0 if diff > 0 else 0.5 if diff == 0 else 0.0
                preferred[pair["system"]][1] += 1
        per_listener.append({"listener": lst["listener"], "file": lst["path"],
                             "ratings": len(mine),
                             "mean_rating": statistics.fmean(mine) if mine else None,
                             "picked_original": correct, "picks": trials,
                             "correlation_with_others": None,
                             "repeats": _repeats(pairs, label, lst["answers"])})
    if len(listeners) >= 2:
        for li, row in enumerate(per_listener):
            x, y = [], []
            for votes in by_clip.values():
                others = [v for lj, v in votes.items() if lj != li]
                if li in votes and others:
                    x.append(votes[li])
                    y.append(statistics.fmean(others))
            row["correlation_with_others"] = pearson(x, y)
    rows = {}
    for s in [ORIGINAL] + systems:
        row = {"rating": _stats(ratings[s])}
        if s != ORIGINAL:
            k, n = picks[s]
            row["identification"] = {"correct": k, "trials": n,
                                     "share": k / n if n else None,
                                     "p_value": binomial_two_sided(k, n)}
            won, n = preferred[s]
            row["rated_above_original"] = {"share": won / n if n else None, "pairs": n}
        rows[s] = row
    correlations = [r["correlation_with_others"] for r in per_listener
                    if r["correlation_with_others"] is not None]
    return {"kit_id": key["kit_id"], "listeners": len(listeners),
            "pairs": sum("repeat_of" not in p for p in pairs.values()),
            "repeats": sum("repeat_of" in p for p in pairs.values()), "systems": rows, "per_listener": per_listener,
            "mean_correlation_with_others": statistics.fmean(correlations)
            if correlations else None,
            "notes": {lst["listener"]: {"text": lst["notes"], "order": lst.get("order", [])}
                      for lst in listeners if lst["notes"]}}


def _f(v, spec=".2f", none="–") -> str:
    return none if v is None else format(v, spec)


def format_report(report: dict) -> str:
    twice = f" (+{report['repeats']} heard twice)" if report.get("repeats") else ""
    lines = [f"kit {report['kit_id']}: {report['pairs']} pairs{twice}, {report['listeners']} "
             f"listener{'s' if report['listeners'] != 1 else ''}", "",
             "ratings (1 completely random noise, 5 musically plausible, 10 composed by a "
             "novice composer):"]
    for name, row in report["systems"].items():
        r = row["rating"]
        lines.append(f"  {name:<16} {_f(r['mean'])} ± {_f(r['sd'])}  (n = {r['n']})")
    lines += ["", "which one is the original? (50 % = listeners could not tell; two-sided "
              "binomial test against 50 %):"]
    for name, row in report["systems"].items():
        if name == ORIGINAL:
            continue
        i = row["identification"]
        share = _f(None if i["share"] is None else 100 * i["share"], ".0f")
        above = row["rated_above_original"]["share"]
        lines.append(f"  {name:<16} original picked in {i['correct']}/{i['trials']} = "
                     f"{share} %, p = {_f(i['p_value'], '.3g')}; rated above the original "
                     f"in {_f(None if above is None else 100 * above, '.0f')} % of pairs")
    lines += ["", "listeners (correlation: with the mean of the others over the clips both "
              "rated):"]
    for row in report["per_listener"]:
        rep = row["repeats"]
        again = "" if rep is None else (
            f"; pairs heard twice: ratings {_f(rep['rating_difference'])} apart on average, "
            f"same pick {rep['same_pick']}/{rep['picks']}")
        lines.append(f"  {row['listener']:<16} {row['ratings']} ratings, mean "
                     f"{_f(row['mean_rating'])}; original picked {row['picked_original']}/"
                     f"{row['picks']}; correlation {_f(row['correlation_with_others'])}"
                     + again)
    if report["mean_correlation_with_others"] is not None:
        lines.append(f"  mean correlation {report['mean_correlation_with_others']:.2f}")
    for who, note in report["notes"].items():
        order = " ".join(map(str, note["order"]))
        lines.append(f"  notes from {who}: {' '.join(note['text'].split())}")
        lines.append(f"    ({who}'s pairs 1, 2, … were the kit's pairs {order})")
    return "\n".join(lines)


def score_kit(out_dir: str | Path, results: list[str | Path]) -> dict:
    """Read the kit's key and the results files (each checked), and score them."""
    from .key import KEY_NAME, read_key

    out = Path(out_dir)
    if not out.is_dir():
        raise UserError(f"{out}: no such kit folder")
    key = read_key(out / KEY_NAME)
    listeners, seen = [], {}
    for path in results:
        lst = read_results(path, key)
        if lst["digest"] in seen:
            raise UserError(f"{path}: the same answers as {seen[lst['digest']]} (given twice?)")
        seen[lst["digest"]] = path
        listeners.append(lst)
    if not listeners:
        raise UserError("give at least one results file")
    return score(key, listeners)
