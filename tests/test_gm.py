"""General MIDI facts live in music/gm.py; every user takes them from there."""

from __future__ import annotations

from composer_app.music import gm


def test_program_names_and_the_percussion_channel():
    assert len(gm.PROGRAM_NAMES) == 128
    assert gm.PROGRAM_NAMES[0] == "Acoustic Grand Piano"
    assert gm.PROGRAM_NAMES[gm.CHOIR_AAHS] == "Choir Aahs"
    assert gm.DRUM_CHANNEL == 9 and gm.DRUM_CHANNEL not in gm.MELODIC_CHANNELS
    assert len(gm.MELODIC_CHANNELS) == 15


def test_free_melodic_channel_skips_the_drums():
    assert gm.free_melodic_channel({0, 1, 2, 3, 4, 5, 6, 7, 8}, 0) == 10
    assert gm.free_melodic_channel(gm.MELODIC_CHANNELS, 15) == 15


def test_musicxml_parts_never_take_the_drum_channel():
    """Parts take channels in turn past the percussion channel; the 25th part got channel
    10 (the drums) before, because the count wrapped without skipping it again."""
    from music21 import note, stream

    from composer_app.music.musicxml import score_from_music21

    m21 = stream.Score()
    for _ in range(26):
        part = stream.Part()
        part.append(note.Note(60))
        m21.insert(0, part)
    channels = [t.channel for t in score_from_music21(m21).tracks]
    assert gm.DRUM_CHANNEL not in channels
    assert channels[:16] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 0]  # as before


def test_the_metronome_clicks_on_the_percussion_channel():
    from composer_app.audio import events

    assert events.METRONOME_CHANNEL == gm.DRUM_CHANNEL
    assert (events.CLICK_ACCENT, events.CLICK_BEAT) == (gm.HI_WOOD_BLOCK, gm.LOW_WOOD_BLOCK)
