"""Keys, scales, bars and beats."""

from __future__ import annotations

import pytest

from composer_app.music import Key, Note, Score, TimeSignature, detect_key, in_scale, parse_key
from composer_app.music.theory import KeyError_, key_from_sharps, transpose


@pytest.mark.parametrize("text,tonic,mode,name", [
    ("C", 0, "major", "C"), ("Db", 1, "major", "Db"), ("F#m", 6, "minor", "F#m"),
    ("f# minor", 6, "minor", "F#m"), ("Bb major", 10, "major", "Bb"), ("a", 9, "minor", "Am"),
    ("Ebm", 3, "minor", "Ebm"), ("C#", 1, "major", "Db"), ("G minor", 7, "minor", "Gm"),
])
def test_parse_key(text, tonic, mode, name):
    key = parse_key(text)
    assert (key.tonic, key.mode, key.name) == (tonic, mode, name)


@pytest.mark.parametrize("bad", ["H", "", "C##m", "Q minor", "major"])
def test_parse_key_rejects_nonsense(bad):
    with pytest.raises(KeyError_, match="unknown key"):
        parse_key(bad)


def test_key_signatures_and_scales():
    assert parse_key("Db").sharps == -5
    assert parse_key("F#m").sharps == 3
    assert key_from_sharps(-3, minor=True) == parse_key("Cm")
    assert in_scale(70, parse_key("F"))  # Bb
    assert not in_scale(71, parse_key("F"))
    # harmonic/melodic minor: raised 6th and 7th count as in the key
    assert in_scale(68, parse_key("Am")) and in_scale(66, parse_key("Am"))


def test_transpose_refuses_leaving_midi_range():
    assert transpose([60, 64], 12) == [72, 76]
    with pytest.raises(ValueError):
        transpose([120], 12)


def test_detect_key_from_melody():
    # D minor scale with C# leading tone
    pcs = [62, 64, 65, 67, 69, 70, 61, 62, 69, 65, 62]
    assert detect_key([(p, 480) for p in pcs]) == Key(2, "minor")
    assert detect_key([(p, 480) for p in (60, 62, 64, 65, 67, 69, 71, 72, 67, 60)]) == Key(0, "major")


def test_bars_and_beats_follow_meter_changes():
    score = Score(time_signatures=[TimeSignature(0, 4, 4), TimeSignature(3840, 3, 4),
                                   TimeSignature(5280, 6, 8)])
    assert score.bar_start(1) == 1920
    assert score.bar_start(2) == 3840  # first 3/4 bar
    assert score.bar_start(3) == 3840 + 1440
    assert score.bar_start(4) == 5280 + 1440  # 6/8 bar is 6 eighths
    assert score.tick_to_bar_beat(3840 + 480) == (3, 2, 0)
    assert score.tick_to_bar_beat(5280 + 240 * 3) == (4, 4, 0)  # beats are eighths in 6/8
    for tick in (0, 100, 1920, 4000, 5300, 9000):
        bar, beat, rest = score.tick_to_bar_beat(tick)
        assert score.bar_beat_to_tick(bar, beat, rest) == tick


def test_length_in_bars_and_next_bar_line():
    score = Score(notes=[Note(60, 0, 1920), Note(62, 1920, 10)])
    assert score.length_bars == 2
    assert score.next_bar_line(1930) == 3840
    assert score.next_bar_line(1920) == 1920


def test_tempo_map_seconds():
    from composer_app.music import TempoChange

    score = Score(tempos=[TempoChange(0, 120.0), TempoChange(960, 60.0)])
    assert score.tick_to_seconds(960) == pytest.approx(1.0)
    assert score.tick_to_seconds(1440) == pytest.approx(2.0)
    assert score.seconds_to_tick(2.0) == pytest.approx(1440)
    assert score.seconds_to_tick(0.5) == pytest.approx(480)
