"""Melody continuer: tokens, sampling contract, checkpoints, CLI (uses the shipped model)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from composer_app.ml import continuer as C  # noqa: E402
from composer_app.music import (  # noqa: E402
    Key,
    KeySignature,
    Note,
    Score,
    TimeSignature,
    UserError,
    in_scale,
    load_score,
    write_midi,
)

SHIPPED = C.default_checkpoint()
needs_model = pytest.mark.skipif(not SHIPPED.exists(),
                                 reason=f"{SHIPPED.name} not trained yet (models/)")


def sketch(num: int = 4, den: int = 4, bars: int = 4, key: Key = Key(2, "major"),
           cut: int = 0) -> Score:
    """A scale-wise melody in ``key`` filling ``bars`` bars (``cut`` ticks short)."""
    sig = TimeSignature(0, num, den)
    pcs = sorted((key.tonic + s) % 12 for s in ((0, 2, 4, 5, 7, 9, 11) if key.mode == "major"
                                                else (0, 2, 3, 5, 7, 8, 10)))
    scale = [60 + pc for pc in pcs] + [72 + pc for pc in pcs]
    lengths = [480, 240, 240, 720, 240, 960] if den == 4 else [360, 120, 240, 720, 240, 480]
    notes, t, i = [], 0, 0
    end = bars * sig.bar_ticks - cut
    while t < end:
        d = min(lengths[i % len(lengths)], end - t)
        notes.append(Note(scale[(i * 3) % 10 + 2], t, d, velocity=90))
        t += d
        i += 1
    return Score(notes=notes, time_signatures=[sig], key_signatures=[KeySignature(0, key)])


# -- tokens -------------------------------------------------------------------------------


def _real_melodies(count: int = 12) -> list[dict]:
    from composer_app.training.melodies import _parse_tune, corpus_tunes

    tunes = corpus_tunes(("oneills",))[:40]
    mels = [m for m in (_parse_tune(t) for t in tunes) if m]
    on_grid = [m for m in mels if all(s % C.STEP == 0 and d % C.STEP == 0
                                      for _, s, d in m["notes"])]
    assert len(on_grid) >= count
    return on_grid[:count]


def test_token_round_trip_of_real_melodies():
    for mel in _real_melodies():
        notes = [tuple(n) for n in mel["notes"]]
        if not all(C.MIN_PITCH <= p <= C.MAX_PITCH for p, _, _ in notes):
            continue
        end = max(s + d for _, s, d in notes)
        tokens = C.encode_melody(notes, 0, end)
        assert len(tokens) == end // C.STEP
        assert C.decode_tokens(tokens, 0) == notes, mel["id"]


def test_tokens_keep_rests_and_snap_off_grid_onsets():
    notes = [(60, 0, 240), (62, 480, 120), (64, 610, 230)]  # a rest, then an off-grid note
    tokens = C.encode_melody(notes, 0, 960)
    assert tokens[:4] == [C.pitch_token(60), C.HOLD, C.REST, C.REST]
    assert C.decode_tokens(tokens, 0) == [(60, 0, 240), (62, 480, 120), (64, 600, 240)]


# -- continuing ---------------------------------------------------------------------------


@needs_model
def test_seed_gives_identical_output_and_seeds_differ():
    score = sketch()
    a = C.continue_melody(score, 4, variations=3, seed=7)
    b = C.continue_melody(score, 4, variations=3, seed=7)
    c = C.continue_melody(score, 4, variations=3, seed=8)
    assert [r.notes for r in a] == [r.notes for r in b]
    assert [r.notes for r in a] != [r.notes for r in c]
    assert len({tuple(r.notes) for r in a}) > 1  # variations differ from each other


@needs_model
def test_prefix_kept_exactly():
    score = sketch(cut=240)
    for res in C.continue_melody(score, 2, variations=4, seed=1):
        assert res.notes[: len(score.notes)] == sorted(score.notes, key=lambda n: (
            n.start, n.track, n.pitch, n.duration))
        new = res.notes[len(score.notes):]
        assert new and all(n.start >= score.end_tick for n in new)
        assert res.time_signatures == score.time_signatures
        assert res.key_signatures == score.key_signatures


@needs_model
@pytest.mark.parametrize("num,den", [(4, 4), (3, 4), (6, 8)])
@pytest.mark.parametrize("cut", [0, 120, 600])
def test_whole_bars_added_on_bar_lines(num, den, cut):
    score = sketch(num, den, bars=4, cut=cut)
    bar = score.time_signatures[0].bar_ticks
    end = score.end_tick
    target = score.next_bar_line(end) + 3 * bar
    for res in C.continue_melody(score, 3, variations=4, seed=cut + num):
        new = res.notes[len(score.notes):]
        assert min(n.start for n in new) >= end
        assert max(n.end for n in new) <= target
        # the bar the sketch ends in is filled, then exactly three whole bars follow
        assert target % bar == 0 and res.bar_of(target - 1) == score.bar_of(end - 1) + 3
        # something sounds in the last added bar
        assert any(n.end > target - bar for n in new)


@needs_model
@pytest.mark.parametrize("key", [Key(2, "major"), Key(9, "minor"), Key(5, "major")])
def test_continuation_is_in_key_with_rests_and_varied_lengths(key):
    score = sketch(bars=8, key=key)
    results = C.continue_melody(score, 4, variations=8, seed=3)
    new = [n for r in results for n in r.notes[len(score.notes):]]
    assert sum(in_scale(n.pitch, key) for n in new) >= 0.9 * len(new)
    lengths = [len({n.duration for n in r.notes[len(score.notes):]}) for r in results]
    assert sorted(lengths)[len(lengths) // 2] >= 3
    target = score.next_bar_line(score.end_tick) + 4 * 1920
    with_rest = 0
    for r in results:
        sounding = sum(n.duration for n in r.notes[len(score.notes):])
        with_rest += sounding < target - score.end_tick
    assert with_rest >= 1


@needs_model
def test_progress_and_cancel():
    seen = []
    C.continue_melody(sketch(), 2, progress=seen.append, seed=1)
    assert seen and seen[-1] == 100 and seen == sorted(seen)
    calls = iter(range(1000))
    with pytest.raises(C.ContinuationCancelled):
        C.continue_melody(sketch(), 2, seed=1, cancel=lambda: next(calls) > 5)


@pytest.mark.parametrize("kwargs,match", [
    ({"bars": 0}, "bars must be between 1 and 64"),
    ({"bars": 65}, "bars must be between 1 and 64"),
    ({"bars": 2, "temperature": 0.0}, "temperature must be above 0"),
    ({"bars": 2, "temperature": -1.0}, "temperature must be above 0"),
])
def test_bad_arguments_are_user_errors(kwargs, match):
    bars = kwargs.pop("bars")
    with pytest.raises(UserError, match=match):
        C.continue_melody(sketch(), bars, **kwargs)


def test_empty_sketch_is_a_user_error():
    with pytest.raises(UserError, match="empty"):
        C.continue_melody(Score(), 4)


# -- checkpoints --------------------------------------------------------------------------


def test_wrong_checkpoints_fail_naming_the_file(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file at all")
    with pytest.raises(UserError, match="garbage.pt"):
        C.load_continuer(garbage, device="cpu")

    other = tmp_path / "other.pt"
    torch.save({"format": "something else", "state_dict": {}}, other)
    with pytest.raises(UserError, match="other.pt.*not a melody-continuer"):
        C.load_continuer(other, device="cpu")

    mismatched = tmp_path / "mismatched.pt"
    data = C.checkpoint_dict(C.ContinuerModel(C.ContinuerConfig(hidden=32, layers=1)))
    data["config"]["hidden"] = 64  # weights no longer fit the config
    torch.save(data, mismatched)
    with pytest.raises(UserError, match="mismatched.pt.*does not fit"):
        C.load_continuer(mismatched, device="cpu")

    newer = tmp_path / "newer.pt"
    data = C.checkpoint_dict(C.ContinuerModel(C.ContinuerConfig(hidden=32, layers=1)))
    data["format_version"] = 99
    torch.save(data, newer)
    with pytest.raises(UserError, match="newer.pt.*version 99"):
        C.load_continuer(newer, device="cpu")

    with pytest.raises(UserError, match="missing.pt.*not found"):
        C.load_continuer(tmp_path / "missing.pt", device="cpu")


def test_checkpoint_round_trip_loads_with_weights_only(tmp_path):
    model = C.ContinuerModel(C.ContinuerConfig(hidden=32, layers=1))
    path = tmp_path / "small.pt"
    torch.save(C.checkpoint_dict(model), path)
    loaded = C.load_continuer(path, device="cpu")
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.model.state_dict()[k])


@needs_model
def test_shipped_checkpoint_is_small_and_self_describing():
    assert SHIPPED.stat().st_size < 8 * 1024 * 1024
    raw = torch.load(SHIPPED, map_location="cpu", weights_only=True)
    # the current layout since the style fine-tune (issue 15); version 1 still reads
    # (tests/test_checkpoint.py)
    assert raw["format"] == C.FORMAT and raw["format_version"] == C.FORMAT_VERSION == 2
    data = C.read_checkpoint(SHIPPED)  # read as the current one
    assert data["vocabulary"]["step_ticks"] == C.STEP and data["vocabulary"] == C.vocabulary()
    assert data["sampling"]["rest_logit_bias"] == C.REST_LOGIT_BIAS and "config" in data
    assert SHIPPED.with_suffix(".json").exists()


# -- command line -------------------------------------------------------------------------


@needs_model
def test_cli_continue_end_to_end(tmp_path, capsys):
    from composer_app.cli import main

    src = tmp_path / "sketch.mid"
    score = sketch(3, 4, bars=4)
    write_midi(score, src)
    out = tmp_path / "cont.mid"
    rc = main(["continue", str(src), "-o", str(out), "--bars", "2", "--variations", "2",
               "--seed", "5", "--temperature", "0.9", "--top-p", "0.9"])
    assert rc == 0
    paths = [tmp_path / "cont-1.mid", tmp_path / "cont-2.mid"]
    assert capsys.readouterr().out.split() == [str(p) for p in paths]
    orig = load_score(src)
    for p in paths:
        res = load_score(p)
        assert [(n.pitch, n.start, n.duration) for n in res.notes[: len(orig.notes)]] == [
            (n.pitch, n.start, n.duration) for n in orig.notes]
        assert len(res.notes) > len(orig.notes)
        assert res.end_tick <= 6 * 1440


@pytest.mark.parametrize("args,message", [
    (["--bars", "0"], "error: bars must be between 1 and 64"),
    (["--bars", "2", "--temperature", "0"], "error: temperature must be above 0"),
])
def test_cli_bad_input_prints_one_error_line(tmp_path, capsys, args, message):
    from composer_app.cli import main

    src = tmp_path / "sketch.mid"
    write_midi(sketch(), src)
    rc = main(["continue", str(src), "-o", str(tmp_path / "o.mid"), *args])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.startswith(message) and "\n" not in err


# -- chorale sketches (four voices) -------------------------------------------------------


def _chorale_sketch() -> Score:
    from composer_app.music import Track

    chords = [(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 67, 64, 48),
              (76, 67, 60, 48), (74, 69, 65, 50), (74, 67, 59, 43), (72, 67, 64, 48)]
    notes = [Note(p, i * 480, 480, track=v) for i, chord in enumerate(chords)
             for v, p in enumerate(chord)]
    tracks = [Track(name, ch, 52) for ch, name in enumerate(("Soprano", "Alto", "Tenor", "Bass"))]
    return Score(notes=notes, tracks=tracks, key_signatures=[KeySignature(0, Key(0, "major"))])


@needs_model
def test_chorale_sketch_gets_all_four_voices_continued():
    from composer_app import paths

    if not (paths.models_dir() / "harmonizer.pt").exists():
        pytest.skip("models/harmonizer.pt not trained yet: four-voice continuation needs it")
    score = _chorale_sketch()
    results = C.continue_melody(score, 2, variations=2, seed=3)
    assert len(results) == 2
    end, target = score.end_tick, score.end_tick + 2 * 1920
    for res in results:
        new = [n for n in res.notes if n.start >= end]
        assert sorted(res.notes[: len(score.notes)], key=repr) == sorted(score.notes, key=repr)
        assert len(res.notes) == len(score.notes) + len(new)
        assert {n.track for n in new} == {0, 1, 2, 3}
        assert max(n.end for n in new) <= target
        assert res.tracks == score.tracks


@needs_model
def test_off_grid_sketch_and_untitled_key():
    """Triplets at the end and no key signature: still aligned, key detected."""
    score = sketch(bars=2)
    score.key_signatures = []
    last = score.notes[-1]
    score.notes[-1] = last.moved(duration=160)  # ends off the sixteenth grid
    end = score.end_tick
    target = score.next_bar_line(end) + 2 * 1920
    for res in C.continue_melody(score, 2, variations=3, seed=2):
        new = res.notes[len(score.notes):]
        assert new and min(n.start for n in new) >= end and max(n.end for n in new) <= target
        assert res.notes[: len(score.notes)] == score.notes


@needs_model
def test_continues_in_the_meter_and_key_in_force_where_the_sketch_ends():
    """4/4 in C for two bars, then 3/4 in G: the new bars are 3/4 bars, and the
    continuation is the one of the same tune written in G throughout."""
    g = Key(7, "major")
    pcs = [7, 9, 11, 0, 2, 4, 6]
    notes, t, i = [], 0, 0
    while t < 2 * 1920 + 2 * 1440:
        d = 480 if i % 3 else 240
        notes.append(Note(67 + (pcs[(i * 2) % 7] - 7) % 12, t, d, velocity=90))
        t += d
        i += 1
    meters = [TimeSignature(0, 4, 4), TimeSignature(2 * 1920, 3, 4)]
    changed = Score(notes=notes, time_signatures=meters,
                    key_signatures=[KeySignature(0, Key(0, "major")), KeySignature(2 * 1920, g)])
    in_g = Score(notes=notes, time_signatures=meters, key_signatures=[KeySignature(0, g)])
    in_c = Score(notes=notes, time_signatures=meters,
                 key_signatures=[KeySignature(0, Key(0, "major"))])
    end = changed.end_tick
    target = end + 2 * 1440
    res = C.continue_melody(changed, 2, variations=2, seed=5)
    for r in res:
        new = r.notes[len(notes):]
        assert new and min(n.start for n in new) >= end and max(n.end for n in new) <= target
        assert any(n.end > target - 1440 for n in new)
        assert r.time_signatures == meters and r.key_signatures == changed.key_signatures
    assert [r.notes for r in res] == [r.notes for r in C.continue_melody(in_g, 2, variations=2,
                                                                         seed=5)]
    assert [r.notes for r in res] != [r.notes for r in C.continue_melody(in_c, 2, variations=2,
                                                                         seed=5)]
