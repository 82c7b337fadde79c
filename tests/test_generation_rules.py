"""Rules both the models and the editor ask for, each decided once in the Score (issue 14):
the key in force (tests/test_ui_generate.py), the span Continue fills, the voice mapping."""

from __future__ import annotations

import pytest

from composer_app.music import Note, Score, TimeSignature, Track

BAR = 1920


def test_the_continued_span_follows_a_meter_change():
    score = Score(notes=[Note(60, 0, BAR + 480)],
                  time_signatures=[TimeSignature(0, 4, 4), TimeSignature(2 * BAR, 3, 4)])
    # the sketch ends in bar 2 (4/4); two 3/4 bars follow it
    assert score.bars_after(score.end_tick, 2) == 2 * BAR + 2 * 1440
    assert score.bars_after(2 * BAR, 1) == 2 * BAR + 1440  # on a bar line: whole bars only


def test_the_continuer_fills_exactly_the_span_the_editor_asks_for():
    C = pytest.importorskip("composer_app.ml.continuer")
    from composer_app.ml.runtime import Runtime
    from composer_app.paths import models_dir

    if not (models_dir() / "continuer.pt").is_file():
        pytest.skip("continuer weights missing")
    notes = [Note(p, i * 480, 480) for i, p in enumerate([67, 69, 71, 72, 74, 72, 71, 69, 67])]
    score = Score(notes=notes, tracks=[Track("Melody")],
                  time_signatures=[TimeSignature(0, 4, 4), TimeSignature(3 * BAR, 3, 4)])
    out = C.continue_melody(score, 2, seed=3, runtime=Runtime("cpu"))[0]
    target = score.bars_after(score.end_tick, 2)
    assert target == 3 * BAR + 2 * 1440
    new = [n for n in out.notes if n.start >= score.end_tick]
    assert new and max(n.end for n in new) <= target


def test_voice_tracks_skip_the_melodys_own_track():
    names = ["Alto", "Soprano", "Alto", "Tenor", "Bass"]
    score = Score(tracks=[Track(n, i) for i, n in enumerate(names)])
    assert score.voice_tracks(melody_track=0) == {"Alto": 2, "Soprano": 1, "Tenor": 3, "Bass": 4}
    assert score.voice_tracks() == {"Alto": 0, "Soprano": 1, "Tenor": 3, "Bass": 4}
    from composer_app.ml.harmonizer import api

    assert api._lower_voice_tracks(score, 0) == [2, 3, 4]  # the harmonizer asks the same


def test_a_harmonization_keeps_the_melodys_pedal_lyrics_and_markers():
    pytest.importorskip("torch")
    from composer_app.ml.harmonizer import harmonize
    from composer_app.ml.runtime import Runtime
    from composer_app.music.score import CONDUCTOR, ChannelEvent, TextEvent

    notes = [Note(p, i * 480, 480, 80, 1) for i, p in enumerate([67, 69, 71, 72, 71, 69, 67, 67])]
    score = Score(notes=notes, tracks=[Track("Piano", 0), Track("Soprano", 1)],
                  channel_events=[ChannelEvent(0, 1, "control", 64, 127),
                                  ChannelEvent(960, 1, "control", 64, 0),
                                  ChannelEvent(0, 0, "control", 7, 90)],
                  text_events=[TextEvent(0, "lyric", "Hal", 1), TextEvent(0, "marker", "Verse",
                                                                         CONDUCTOR)])
    out = harmonize(score, melody_track=1, seed=1, runtime=Runtime("cpu"))[0]
    assert [(e.tick, e.track, e.number, e.value) for e in out.channel_events] == \
        [(0, 0, 64, 127), (960, 0, 64, 0)]  # the soprano's pedal, not the piano's volume
    assert {(e.kind, e.text, e.track) for e in out.text_events} == \
        {("lyric", "Hal", 0), ("marker", "Verse", CONDUCTOR)}
