"""Blind listening tests (issue 17): passages, blinding, the sealed key, scoring, the CLI."""

from __future__ import annotations

import json
import math
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from composer_app.audio.soundfont import find_soundfont
from composer_app.cli import main
from composer_app.listening import key as K
from composer_app.listening.kit import ORIGINAL, make_kit
from composer_app.listening.passage import (
    INSTRUMENT,
    TEMPO_BPM,
    VELOCITY,
    PairSpec,
    rendition,
    windows,
)
from composer_app.listening.scoring import binomial_two_sided, score, score_kit
from composer_app.music import Note, Score, TempoChange, TimeSignature, Track, UserError
from composer_app.paths import models_dir

needs_synth = pytest.mark.skipif(find_soundfont() is None, reason="no GM soundfont installed")
BAR = 1920


def chorale_like(bars: int = 4, pickup: bool = True, seed: int = 0, voices: int = 4) -> Score:
    """A four-voice piece of quarter notes (a quarter pickup, then ``bars`` bars)."""
    rng = np.random.default_rng(seed)
    start, end = (3 * 480, BAR * (bars + 1)) if pickup else (0, BAR * bars)
    notes = []
    for v, base in enumerate((72, 65, 57, 48)[:voices]):
        t = start
        while t < end:
            notes.append(Note(int(base + rng.integers(-3, 4)), t, 480, int(rng.integers(40, 120)),
                              v))
            t += 480
    tracks = [Track(n, i, 52) for i, n in enumerate(("Soprano", "Alto", "Tenor", "Bass")[:voices])]
    return Score(notes=notes, tracks=tracks, tempos=[TempoChange(0, 133.0)])


# -- passages ----------------------------------------------------------------------------


def test_windows_are_whole_bars_from_the_pickup_within_the_seconds():
    score = chorale_like(bars=8)
    bar_s = 4 * 60 / TEMPO_BPM  # 3 s at 80 bpm
    ws = windows(score, 7.0)
    assert ws[0].start == 3 * 480  # the pickup
    assert all(w.end % BAR == 0 for w in ws)  # ends on bar lines
    assert all(w.seconds(480) <= 7.0 for w in ws)
    assert ws[0].seconds(480) == pytest.approx(0.75 + 2 * bar_s)  # pickup + 2 bars
    assert ws[1].start == ws[0].end and ws[1].seconds(480) == pytest.approx(2 * bar_s)
    # a window is at least one bar even when a bar is longer than asked
    assert windows(Score(notes=[Note(60, 0, BAR)]), 1.0)[0].end == BAR


def test_rendition_is_one_instrument_tempo_and_velocity_cut_at_the_window():
    score = chorale_like(bars=4)
    score.tracks.append(Track("Drums", 9, 0))
    score.notes.append(Note(36, 3 * 480, 120, 100, 4))
    score.tracks[1].mute = True
    w = windows(score, 7.0)[0]
    r = rendition(score, w)
    assert {t.program for t in r.tracks} == {INSTRUMENT}
    assert [t.channel for t in r.tracks] == [0, 1, 2, 3]  # the drums dropped
    assert not any(t.mute or t.solo for t in r.tracks)
    assert r.tempos == [TempoChange(0, TEMPO_BPM)] and r.key_signatures == []
    assert {n.velocity for n in r.notes} == {VELOCITY}
    assert min(n.start for n in r.notes) == 0 and r.end_tick <= w.end - w.start
    # a note held into a window sounds from the window's start, cut at its end
    held = Score(notes=[Note(60, 0, 3 * BAR), Note(64, BAR, 480)])
    second = windows(held, 3.0)[1]
    assert (second.start, second.end) == (BAR, 2 * BAR)
    assert [(n.pitch, n.start, n.duration) for n in rendition(held, second).notes] == \
        [(60, 0, BAR), (64, 0, 480)]


# -- kits: blinding ----------------------------------------------------------------------


def _pairs(count: int, systems=("alpha", "beta")) -> list[PairSpec]:
    out = []
    for i in range(count):
        original = chorale_like(bars=2, seed=i)
        version = chorale_like(bars=2, seed=100 + i, voices=2 if i % 2 else 4)  # quieter
        w = windows(original, 4.0)[0]
        out.append(PairSpec(f"piece-{i}", (w.first_bar, w.last_bar), systems[i % len(systems)],
                            rendition(original, w), rendition(version, w), w.end - w.start))
    return out


def _wav(path: Path) -> tuple[tuple, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        params = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32767
    return params, data


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    if find_soundfont() is None:
        pytest.skip("no GM soundfont installed")
    out = tmp_path_factory.mktemp("kits") / "kit1"
    sealed = make_kit(out, _pairs(12), {"seed": 0})
    return out, sealed


def _rms_db(x):
    return 20 * math.log10(math.sqrt(float(np.mean(x ** 2))))


@needs_synth
def test_kit_files_carry_no_label_in_names_sizes_headers_or_times(kit):
    out, sealed = kit
    assert sorted(p.name for p in out.iterdir()) == ["answer-key.json", "kit"]
    assert sorted(p.name for p in (out / "kit").iterdir()) == ["clips", "index.html"]
    clips = sorted((out / "kit" / "clips").iterdir())
    assert len(clips) == 24
    assert all(re.fullmatch(r"[0-9a-f]{16}\.wav", p.name) for p in clips)
    assert len({p.stat().st_mtime for p in clips}) == 1
    params = set()
    for pair in sealed["content"]["pairs"]:
        files = [out / "kit" / "clips" / c["file"] for c in pair["clips"].values()]
        a, b = (f.read_bytes() for f in files)
        assert len(a) == len(b)
        assert a[:44] == b[:44]  # the whole header: same format, same length
        assert a[:4] == b"RIFF" and a[36:40] == b"data"  # nothing but fmt and data chunks
        (pa, da), (pb, db) = _wav(files[0]), _wav(files[1])
        params |= {pa, pb}
        assert abs(_rms_db(da) - _rms_db(db)) < 1.0  # loudness within 1 dB
        assert max(np.abs(da).max(), np.abs(db).max()) < 1.0
    assert params == {(1, 2, 44100)}


@needs_synth
def test_page_holds_only_the_kit_id_and_clip_names(kit, tmp_path):
    out, sealed = kit
    page = (out / "kit" / "index.html").read_text()
    for word in ("alpha", "beta", "piece-", "rms_dbfs", "\"system", "passage", "bars"):
        assert word not in page.lower()
    data = json.loads(re.search(r'id="kit-data">(.*?)</script>', page).group(1))
    assert set(data) == {"format", "kit_id", "pairs", "scale"}
    assert data["kit_id"] == sealed["kit_id"]
    assert data["pairs"] == [[p["clips"]["A"]["file"], p["clips"]["B"]["file"]]
                             for p in sealed["content"]["pairs"]]
    # Another kit with other music and labels gives the same page but for ids and names.
    other = make_kit(tmp_path / "kit2", _pairs(12, systems=("gamma",)), {"seed": 1})
    other_page = (tmp_path / "kit2" / "kit" / "index.html").read_text()

    def blank(text, key):
        text = text.replace(key["kit_id"], "KIT").replace(key["kit_id"][:8], "KIT")
        return re.sub(r"[0-9a-f]{16}\.wav", "CLIP", text)

    assert blank(page, sealed) == blank(other_page, other)
    # Which clip is the original is drawn per pair (24 pairs: both places occur).
    places = [p["clips"]["A"]["label"] == ORIGINAL
              for k in (sealed, other) for p in k["content"]["pairs"]]
    assert any(places) and not all(places)


@needs_synth
def test_kit_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "answer-key.json").write_text("{}")
    with pytest.raises(UserError, match="not empty"):
        make_kit(tmp_path / "old", _pairs(1), {})


# -- the key -----------------------------------------------------------------------------


def test_a_tampered_key_is_refused(tmp_path):
    content = {"salt": K.new_salt(), "pairs": [{"pair": 1, "system": "x", "clips": {
        "A": {"file": "a.wav", "label": "original"}, "B": {"file": "b.wav", "label": "x"}}}]}
    path = tmp_path / "answer-key.json"
    sealed = K.write_key(path, content)
    assert K.read_key(path)["kit_id"] == sealed["kit_id"] == K.digest(content)[:K.ID_CHARS]
    swapped = json.loads(path.read_text())
    swapped["content"]["pairs"][0]["clips"]["A"]["label"] = "x"
    swapped["content"]["pairs"][0]["clips"]["B"]["label"] = "original"
    path.write_text(json.dumps(swapped))
    with pytest.raises(UserError, match="has been altered"):
        K.read_key(path)
    resealed = K.seal(swapped["content"])  # sealed again: another kit id
    assert resealed["kit_id"] != sealed["kit_id"]
    path.write_text("{broken")
    with pytest.raises(UserError, match="cannot read the answer key"):
        K.read_key(path)


# -- scoring -----------------------------------------------------------------------------


def _key(pairs: int, systems=("alpha", "beta")) -> dict:
    content = {"salt": "s", "pairs": [
        {"pair": i + 1, "system": systems[i % len(systems)], "clips": {
            "A": {"file": f"o{i}.wav", "label": ORIGINAL},
            "B": {"file": f"s{i}.wav", "label": systems[i % len(systems)]}}}
        for i in range(pairs)]}
    return K.seal(content)


def _results(key, ratings_o, ratings_s, picks_original, listener="L"):
    answers = []
    for i, (ro, rs, ok) in enumerate(zip(ratings_o, ratings_s, picks_original)):
        answers.append({"pair": i + 1, "ratings": {f"o{i}.wav": ro, f"s{i}.wav": rs},
                        "original": None if ok is None else (f"o{i}.wav" if ok else f"s{i}.wav")})
    return {"format": "composer-app listening-test results", "version": 1,
            "kit_id": key["kit_id"], "listener": listener, "answers": answers, "notes": ""}


def test_binomial_matches_the_exact_test():
    scipy_stats = pytest.importorskip("scipy.stats")
    for k, n in ((0, 0), (5, 10), (9, 10), (10, 10), (0, 7), (17, 24), (3, 30), (60, 100)):
        expected = scipy_stats.binomtest(k, n, 0.5).pvalue if n else 1.0
        assert binomial_two_sided(k, n) == pytest.approx(expected, rel=1e-9)
    assert binomial_two_sided(10, 10) == pytest.approx(2 / 1024)
    assert binomial_two_sided(5, 10) == 1.0


def _write(tmp_path, key, *results):
    out = tmp_path / "kit"
    out.mkdir()
    (out / K.KEY_NAME).write_text(json.dumps(key))
    paths = []
    for i, r in enumerate(results):
        p = tmp_path / f"r{i}.json"
        p.write_text(json.dumps(r))
        paths.append(p)
    return out, paths


def test_scoring_constructed_results(tmp_path):
    key = _key(8)  # pairs 1,3,5,7 alpha; 2,4,6,8 beta
    o1 = [9, 8, 9, 8, 9, 8, 9, 8]
    s1 = [3, 6, 4, 7, 5, 6, 2, 7]
    r1 = _results(key, o1, s1, [True] * 8, "ann")  # always right
    r2 = _results(key, [x - 1 for x in o1], [x - 1 for x in s1],
                  [True, False, True, False, True, False, True, None], "bob")
    out, paths = _write(tmp_path, key, r1, r2)
    rep = score_kit(out, paths)
    alpha, beta, orig = rep["systems"]["alpha"], rep["systems"]["beta"], rep["systems"][ORIGINAL]
    alpha_ratings = [3, 4, 5, 2, 2, 3, 4, 1]
    assert alpha["rating"]["n"] == 8
    assert alpha["rating"]["mean"] == pytest.approx(np.mean(alpha_ratings))
    assert alpha["rating"]["sd"] == pytest.approx(np.std(alpha_ratings, ddof=1))
    assert orig["rating"]["mean"] == pytest.approx(np.mean(o1 + [x - 1 for x in o1]))
    # alpha: 4 + 4 right of 8; beta: 4 right (ann), 0 of 3 (bob) = 4 of 7
    assert alpha["identification"] == {"correct": 8, "trials": 8, "share": 1.0,
                                       "p_value": pytest.approx(2 / 256)}
    assert beta["identification"]["correct"] == 4 and beta["identification"]["trials"] == 7
    assert beta["identification"]["p_value"] == pytest.approx(binomial_two_sided(4, 7))
    assert alpha["rated_above_original"]["share"] == 0.0
    # bob rated exactly one lower everywhere: each correlates perfectly with the other
    corr = [r["correlation_with_others"] for r in rep["per_listener"]]
    assert corr == [pytest.approx(1.0), pytest.approx(1.0)]
    assert [r["picked_original"] for r in rep["per_listener"]] == [8, 4]


def test_scoring_refuses_other_kits_duplicates_and_bad_ratings(tmp_path):
    key = _key(2)
    other = K.seal(dict(key["content"], salt="t"))  # the same pairs, another kit
    good = _results(key, [5, 6], [4, 3], [True, False])
    out, paths = _write(tmp_path, key, good, _results(other, [5, 6], [4, 3], [True, True]),
                        good, dict(good, answers=[{"pair": 1, "ratings": {"o0.wav": 11},
                                                   "original": None}]),
                        dict(good, answers=[{"pair": 1, "ratings": {"zz.wav": 5},
                                             "original": None}]), {"hello": 1},
                        dict(good, answers=good["answers"] + good["answers"][:1]))
    assert score_kit(out, [paths[0]])["listeners"] == 1
    with pytest.raises(UserError, match="results of another kit"):
        score_kit(out, [paths[1]])
    with pytest.raises(UserError, match="same answers"):
        score_kit(out, [paths[0], paths[2]])
    with pytest.raises(UserError, match="not 1-10"):
        score_kit(out, [paths[3]])
    with pytest.raises(UserError, match="does not have"):
        score_kit(out, [paths[4]])
    with pytest.raises(UserError, match="not a results file"):
        score_kit(out, [paths[5]])
    with pytest.raises(UserError, match="pair 1 answered twice"):
        score_kit(out, [paths[6]])


def test_score_of_one_listener_has_no_correlation():
    key = _key(4)
    rep = score(key, [{"listener": "x", "path": "x", "notes": "", "answers": _results(
        key, [5] * 4, [5] * 4, [None] * 4)["answers"]}])
    assert rep["per_listener"][0]["correlation_with_others"] is None
    assert rep["systems"]["alpha"]["identification"]["share"] is None


# -- the command line ----------------------------------------------------------------------


def _one_error_line(capsys, needle):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert needle in err[0], err[0]
    assert "Traceback" not in err[0]


def test_cli_score_reports_and_refuses_bad_input(tmp_path, capsys):
    key = _key(4)
    r = _results(key, [8, 9, 8, 9], [4, 5, 4, 5], [True, True, False, True])
    out, paths = _write(tmp_path, key, r)
    assert main(["listening-test", "score", str(out), str(paths[0]), "--json",
                 str(tmp_path / "rep.json")]) == 0
    text = capsys.readouterr().out
    assert "alpha" in text and "original picked in 2/2" in text and "± " in text
    assert json.loads((tmp_path / "rep.json").read_text())["pairs"] == 4
    other = K.seal(dict(key["content"], salt="other"))
    (tmp_path / "other.json").write_text(json.dumps(_results(other, [1], [1], [True])))
    assert main(["listening-test", "score", str(out), str(tmp_path / "other.json")]) == 1
    _one_error_line(capsys, "results of another kit")
    data = json.loads((out / K.KEY_NAME).read_text())
    data["content"]["pairs"][0]["clips"]["A"]["label"] = "alpha"
    (out / K.KEY_NAME).write_text(json.dumps(data))
    assert main(["listening-test", "score", str(out), str(paths[0])]) == 1
    _one_error_line(capsys, "has been altered")
    assert main(["listening-test", "score", str(tmp_path / "nope"), str(paths[0])]) == 1
    _one_error_line(capsys, "no such kit folder")


def _four_part_file(tmp_path, name="piece.mid", bars=4):
    from composer_app.music import save_score

    path = tmp_path / name
    s = chorale_like(bars=bars, pickup=False)
    s.time_signatures = [TimeSignature(0, 4, 4)]
    save_score(s, path)
    return path


def test_cli_make_refuses_too_few_passages_and_a_missing_soundfont(tmp_path, capsys,
                                                                   monkeypatch):
    from composer_app.audio import soundfont

    piece = _four_part_file(tmp_path)
    if find_soundfont() is not None:
        assert main(["listening-test", "make", str(tmp_path / "k1"), "--source", str(piece),
                     "--pairs", "5", "--seconds", "6"]) == 1
        _one_error_line(capsys, "only 2 passages of about 6 s in the source for 5 pairs")
    melody = tmp_path / "melody.mid"
    from composer_app.music import save_score
    save_score(Score(notes=[Note(60, 0, 480)]), melody)
    if find_soundfont() is not None:
        assert main(["listening-test", "make", str(tmp_path / "k2"), "--source",
                     str(melody)]) == 1
        _one_error_line(capsys, "one voice only")
    assert main(["listening-test", "make", str(tmp_path / "k3"), "--soundfont",
                 str(tmp_path / "none.sf2")]) == 1
    _one_error_line(capsys, "soundfont not found")
    assert main(["listening-test", "make", str(tmp_path / "k6"), "--pairs", "2",
                 "--repeats", "3"]) == 1
    _one_error_line(capsys, "--repeats must be between 0 and --pairs (2)")
    assert main(["listening-test", "make", str(tmp_path / "k5"), "--systems", "bach"]) == 1
    _one_error_line(capsys, "unknown system bach; known: shipped, network-alone")
    monkeypatch.setattr(soundfont, "find_soundfont", lambda *a: None)
    assert main(["listening-test", "make", str(tmp_path / "k4")]) == 1
    _one_error_line(capsys, "fluid-soundfont-gm")
    assert not any((tmp_path / k).exists() for k in ("k1", "k2", "k3", "k4", "k5", "k6"))


@needs_synth
@pytest.mark.skipif(not (models_dir() / "harmonizer.pt").is_file(),
                    reason="harmonizer weights not present")
def test_cli_make_from_files_harmonizes_renders_and_seals(tmp_path, capsys):
    a = _four_part_file(tmp_path, "a.mid")
    b = _four_part_file(tmp_path, "b.mid")
    out = tmp_path / "kit"
    assert main(["listening-test", "make", str(out), "--source", str(a), str(b),
                 "--pairs", "3", "--seconds", "6", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert "send the folder" in text and "made in" in text
    key = K.read_key(out / K.KEY_NAME)
    pairs = key["content"]["pairs"]
    assert len(pairs) == 3 and {p["passage"] for p in pairs} == {"a.mid", "b.mid"}
    assert {p["system"] for p in pairs} <= {"shipped", "network-alone"}
    assert len(list((out / "kit" / "clips").iterdir())) == 6


# -- pairs heard twice -------------------------------------------------------------------


@needs_synth
def test_repeated_pairs_are_the_same_audio_under_new_names(tmp_path):
    sealed = make_kit(tmp_path / "k", _pairs(3), {}, repeats=2)
    entries = sealed["content"]["pairs"]
    assert [e["pair"] for e in entries] == [1, 2, 3, 4, 5]
    again = [e for e in entries if "repeat_of" in e]
    assert len(again) == 2
    clips = tmp_path / "k" / "kit" / "clips"
    assert len(list(clips.iterdir())) == 10
    by_number = {e["pair"]: e for e in entries}
    for e in again:
        first = by_number[e["repeat_of"]]
        assert "repeat_of" not in first and first["passage"] == e["passage"]
        for c in e["clips"].values():
            twin = next(d for d in first["clips"].values() if d["label"] == c["label"])
            assert twin["file"] != c["file"]
            assert (clips / twin["file"]).read_bytes() == (clips / c["file"]).read_bytes()
    page = (tmp_path / "k" / "kit" / "index.html").read_text()
    assert "repeat" not in page
    with pytest.raises(UserError, match="repeats must be between"):
        make_kit(tmp_path / "k2", _pairs(2), {}, repeats=3)


def test_scoring_uses_repeats_for_consistency_only():
    content = _key(3)["content"]
    content["pairs"].append({"pair": 4, "system": "alpha", "repeat_of": 1, "clips": {
        "A": {"file": "r-s.wav", "label": "alpha"}, "B": {"file": "r-o.wav", "label": ORIGINAL}}})
    key = K.seal(content)
    answers = _results(key, [8, 8, 8], [4, 4, 4], [True, True, True])["answers"]
    answers.append({"pair": 4, "ratings": {"r-s.wav": 7, "r-o.wav": 9}, "original": "r-o.wav"})
    rep = score(key, [{"listener": "x", "path": "x", "notes": "", "answers": answers}])
    assert rep["pairs"] == 3 and rep["repeats"] == 1
    assert rep["systems"]["alpha"]["rating"]["n"] == 2  # the second hearing not counted
    assert rep["systems"]["alpha"]["identification"]["trials"] == 2
    r = rep["per_listener"][0]["repeats"]
    assert r == {"rating_difference": pytest.approx(2.0), "clips": 2, "same_pick": 1,
                 "picks": 1}
    from composer_app.listening.scoring import format_report

    assert "pairs heard twice: ratings 2.00 apart on average, same pick 1/1" in \
        format_report(rep)


def _chorale_cache_present() -> bool:
    from composer_app.training.chorales import _cache_path

    return _cache_path().is_file()


@pytest.mark.skipif(not (models_dir() / "harmonizer.pt").is_file(),
                    reason="harmonizer weights not present")
def test_test_chorale_pairs_share_bachs_soprano(monkeypatch):
    if not _chorale_cache_present():
        pytest.skip("the chorale grid cache is not built (composer-app evaluate harmonizer)")
    from composer_app.training.listening import make_pairs

    specs = make_pairs(["test-chorales"], 3, 8.0, ["shipped", "network-alone"], seed=5)
    assert len(specs) == 3 and len({s.passage for s in specs}) == 3
    assert sorted(s.system for s in specs).count("shipped") in (1, 2)
    from composer_app.training.chorales import load_split

    test = set(load_split()["test"])
    for s in specs:
        assert s.passage in test
        sop = [[(n.pitch, n.start, n.duration) for n in sc.notes if n.track == 0]
               for sc in (s.original, s.version)]
        assert sop[0] == sop[1] and sop[0]  # the same soprano, note for note
        assert len(s.original.tracks) == len(s.version.tracks) == 4
        assert max(n.end for n in s.original.notes + s.version.notes) <= s.length
        assert s.original.tick_to_seconds(s.length) <= 8.0
