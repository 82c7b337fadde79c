"""What notation files say besides notes (issue 13 item 3): lyrics, dynamics, chord
symbols, tempo words, repeats, voices on one staff and grace notes are read, kept in the
project file and written back to MusicXML."""

from __future__ import annotations

import pytest

pytest.importorskip("music21")

from composer_app.music import load_score, read_musicxml, save_score, write_musicxml  # noqa: E402
from composer_app.music.project import read_project, write_project  # noqa: E402

# One staff, two voices: "Hal-lo" under voice 1, a grace note, p then ff, chord symbols
# C and G7, "Allegro" at the tempo mark, bars 1-2 repeated.
HAND = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
  <part-list><score-part id="P1"><part-name>Flute</part-name></score-part></part-list>
  <part id="P1">
    <measure number="1">
      <attributes><divisions>2</divisions><key><fifths>0</fifths></key>
        <time><beats>4</beats><beat-type>4</beat-type></time></attributes>
      <barline location="left"><bar-style>heavy-light</bar-style><repeat direction="forward"/></barline>
      <direction placement="above"><direction-type><words>Allegro</words></direction-type>
        <direction-type><metronome><beat-unit>quarter</beat-unit><per-minute>132</per-minute></metronome></direction-type>
        <sound tempo="132"/></direction>
      <direction placement="below"><direction-type><dynamics><p/></dynamics></direction-type></direction>
      <harmony><root><root-step>C</root-step></root><kind>major</kind></harmony>
      <note><pitch><step>C</step><octave>5</octave></pitch><duration>4</duration><voice>1</voice><type>half</type>
        <lyric number="1"><syllabic>begin</syllabic><text>Hal</text></lyric></note>
      <note><grace slash="yes"/><pitch><step>D</step><octave>5</octave></pitch><voice>1</voice><type>eighth</type></note>
      <note><pitch><step>E</step><octave>5</octave></pitch><duration>4</duration><voice>1</voice><type>half</type>
        <lyric number="1"><syllabic>end</syllabic><text>lo</text></lyric></note>
      <backup><duration>8</duration></backup>
      <note><pitch><step>A</step><octave>4</octave></pitch><duration>8</duration><voice>2</voice><type>whole</type></note>
    </measure>
    <measure number="2">
      <direction placement="below"><direction-type><dynamics><ff/></dynamics></direction-type></direction>
      <harmony><root><root-step>G</root-step></root><kind>dominant</kind></harmony>
      <note><pitch><step>G</step><octave>5</octave></pitch><duration>8</duration><voice>1</voice><type>whole</type></note>
      <backup><duration>8</duration></backup>
      <note><pitch><step>B</step><octave>4</octave></pitch><duration>4</duration><voice>2</voice><type>half</type></note>
      <note><pitch><step>D</step><octave>5</octave></pitch><duration>4</duration><voice>2</voice><type>half</type></note>
      <barline location="right"><bar-style>light-heavy</bar-style><repeat direction="backward"/></barline>
    </measure>
    <measure number="3">
      <note><pitch><step>C</step><octave>5</octave></pitch><duration>8</duration><voice>1</voice><type>whole</type></note>
    </measure>
  </part>
</score-partwise>
"""

BAR = 1920


@pytest.fixture
def hand(tmp_path):
    path = tmp_path / "hand.musicxml"
    path.write_text(HAND, encoding="utf-8")
    return path


def _texts(score, kind):
    return [(t.tick, t.text, t.track) for t in score.text_events if t.kind == kind]


def _notes(score, track):
    return [(n.pitch, n.start, n.duration) for n in score.track_notes(track)]


def test_a_chorales_lyrics_are_read_kept_in_the_project_and_written_back(tmp_path):
    from music21 import converter, corpus

    path = corpus.getWork("bach/bwv324")
    score = read_musicxml(path)
    soprano = [t.name for t in score.tracks].index("Soprano")
    expected = [(int(round(n.offset * 480)), ly.rawText)
                for n in corpus.parse("bach/bwv324").parts[0].flatten().notes for ly in n.lyrics]
    assert len(expected) > 15
    lyrics = [(tick, text) for tick, text, track in _texts(score, "lyrics")]
    assert lyrics == expected
    assert {track for _t, _x, track in _texts(score, "lyrics")} == {soprano}

    write_project(score, tmp_path / "chorale.composer.json")
    reopened = read_project(tmp_path / "chorale.composer.json")
    assert _texts(reopened, "lyrics") == _texts(score, "lyrics")

    notes = write_musicxml(reopened, tmp_path / "chorale.musicxml")
    assert not any("lyric" in line for line in notes)
    back = converter.parse(str(tmp_path / "chorale.musicxml"))
    written = [(int(round(n.offset * 480)), ly.rawText)
               for n in back.parts[soprano].flatten().notes for ly in n.lyrics]
    assert written == expected


def test_a_dynamic_mark_sets_velocities_and_survives_a_musicxml_round_trip(hand, tmp_path):
    score = read_musicxml(hand, unfold=False)
    assert _texts(score, "dynamic") == [(0, "p", 0), (BAR, "ff", 0)]
    # Every note after p (both voices) plays piano, every note after ff fortissimo.
    assert {n.velocity for n in score.notes if n.start < BAR} == {49}
    assert {n.velocity for n in score.notes if n.start >= BAR} == {112}

    write_musicxml(score, tmp_path / "out.musicxml")
    text = (tmp_path / "out.musicxml").read_text(encoding="utf-8")
    assert "<p />" in text.replace("<p/>", "<p />") and "<ff" in text
    back = read_musicxml(tmp_path / "out.musicxml", unfold=False)
    assert _texts(back, "dynamic") == _texts(score, "dynamic")
    key = lambda n: (n.start, n.track, n.pitch)  # noqa: E731
    assert [n.velocity for n in sorted(back.notes, key=key)] == \
        [n.velocity for n in sorted(score.notes, key=key)]


def test_chord_symbols_and_tempo_words_survive(hand, tmp_path):
    score = read_musicxml(hand, unfold=False)
    assert _texts(score, "chord") == [(0, "C", 0), (BAR, "G7", 0)]
    assert _texts(score, "tempo") == [(0, "Allegro", -1)]
    assert score.tempos[0].bpm == 132

    write_project(score, tmp_path / "p.composer.json")
    write_musicxml(read_project(tmp_path / "p.composer.json"), tmp_path / "out.musicxml")
    assert "<harmony" in (tmp_path / "out.musicxml").read_text(encoding="utf-8")
    back = read_musicxml(tmp_path / "out.musicxml", unfold=False)
    assert _texts(back, "chord") == _texts(score, "chord")
    assert _texts(back, "tempo") == _texts(score, "tempo")
    assert back.tempos[0].bpm == 132


def test_repeats_are_unfolded_by_default_and_said(hand):
    said: list[str] = []
    score = read_musicxml(hand, said)
    # bars 1, 2, 1, 2, 3
    assert _notes(score, 1) == [(69, 0, BAR), (71, BAR, 960), (74, BAR + 960, 960),
                                (69, 2 * BAR, BAR), (71, 3 * BAR, 960), (74, 3 * BAR + 960, 960)]
    assert [n.start for n in score.track_notes(0)][-1] == 4 * BAR
    assert any("repeats unfolded: 3 bars written, 5 played" in line for line in said)
    assert not _texts(score, "repeat")


def test_repeats_are_kept_written_once_when_asked_and_written_back(hand, tmp_path):
    said: list[str] = []
    score = load_score(hand, notes=said, unfold=False)
    assert max(n.end for n in score.notes) == 3 * BAR
    assert _texts(score, "repeat") == [(0, "|:", -1), (2 * BAR, ":|", -1)]
    assert any("repeats kept written once" in line for line in said)

    save_score(score, tmp_path / "once.musicxml")
    text = (tmp_path / "once.musicxml").read_text(encoding="utf-8")
    assert 'direction="forward"' in text and 'direction="backward"' in text
    # The repeat is really there again: unfolded, the written-back file plays 5 bars.
    assert max(n.end for n in read_musicxml(tmp_path / "once.musicxml").notes) == 5 * BAR
    assert _texts(read_musicxml(tmp_path / "once.musicxml", unfold=False), "repeat") == \
        _texts(score, "repeat")


def test_the_cli_keeps_repeats_with_no_unfold(hand, capsys):
    import json

    from composer_app.cli import main

    assert main(["info", str(hand), "--no-unfold"]) == 0
    out = capsys.readouterr()
    assert "repeats kept written once" in out.err
    once = json.loads(out.out)
    assert main(["info", str(hand)]) == 0
    out = capsys.readouterr()
    assert "repeats unfolded" in out.err
    assert json.loads(out.out) != once


def test_two_voices_on_one_staff_become_two_voices(hand, tmp_path):
    score = read_musicxml(hand, unfold=False)
    assert [t.name for t in score.tracks] == ["Flute", "Flute voice 2"]
    assert _notes(score, 1) == [(69, 0, BAR), (71, BAR, 960), (74, BAR + 960, 960)]
    assert [p for p, _s, _d in _notes(score, 0)] == [72, 74, 76, 79, 72]
    # the lyrics belong to the voice that sings them
    assert _texts(score, "lyrics") == [(0, "Hal-", 0), (960, "-lo", 0)]


def test_two_voices_on_one_staff_are_written_as_voices_of_one_part(hand, tmp_path):
    from music21 import converter

    score = read_musicxml(hand, unfold=False)
    write_musicxml(score, tmp_path / "out.musicxml")
    written = converter.parse(str(tmp_path / "out.musicxml"))
    assert len(written.parts) == 1  # one staff, as it was read
    assert written.parts[0].partName == "Flute"
    assert all(len(m.voices) == 2 for m in written.parts[0].getElementsByClass("Measure"))
    back = read_musicxml(tmp_path / "out.musicxml", unfold=False)
    assert [t.name for t in back.tracks] == ["Flute", "Flute voice 2"]
    assert _notes(back, 0) == _notes(score, 0) and _notes(back, 1) == _notes(score, 1)
    assert _texts(back, "lyrics") == _texts(score, "lyrics")
    assert _texts(back, "dynamic") == _texts(score, "dynamic")


def test_tracks_that_only_look_like_voices_stay_parts(tmp_path):
    from music21 import converter

    from composer_app.music.score import Note, Score, Track

    # "Flute voice 2" after an Oboe, or of another instrument, is a part of its own.
    score = Score(notes=[Note(72, 0, 1920, track=0), Note(65, 0, 1920, track=1),
                         Note(60, 0, 1920, track=2)],
                  tracks=[Track("Flute", 0, 73), Track("Flute voice 2", 1, 68),
                          Track("Oboe voice 2", 2, 68)])
    write_musicxml(score, tmp_path / "out.musicxml")
    assert len(converter.parse(str(tmp_path / "out.musicxml")).parts) == 3


def test_a_piano_part_of_two_staves_is_written_back_as_one_part(tmp_path):
    from pathlib import Path

    import music21
    from music21 import converter

    path = Path(music21.__file__).parent / "musicxml" / "lilypondTestSuite" / \
        "43e-Multistaff-ClefDynamics.xml"
    score = read_musicxml(path)
    assert [t.name for t in score.tracks] == ["MusicXML Part", "MusicXML Part staff 2"]
    write_musicxml(score, tmp_path / "out.musicxml")
    text = (tmp_path / "out.musicxml").read_text(encoding="utf-8")
    assert text.count("<part id") == 1 and "<staves>2</staves>" in text
    assert [p.partName for p in converter.parse(str(tmp_path / "out.musicxml")).parts] == \
        ["MusicXML Part"] * 2  # music21's two staves of the one part
    back = read_musicxml(tmp_path / "out.musicxml")
    assert [t.name for t in back.tracks] == ["MusicXML Part", "MusicXML Part staff 2"]
    assert _notes(back, 0) == _notes(score, 0) and _notes(back, 1) == _notes(score, 1)
    assert _texts(back, "dynamic") == _texts(score, "dynamic")


def test_grace_notes_are_kept_as_short_notes_and_said(hand):
    said: list[str] = []
    score = read_musicxml(hand, said, unfold=False)
    # The grace D takes a 32nd from the E it leads to.
    assert _notes(score, 0)[:3] == [(72, 0, 960), (74, 960, 60), (76, 1020, 900)]
    assert any("grace notes kept as 32nd notes" in line for line in said)


# LilyPond test suite files and what each says besides notes.
SUITE = {
    "42a-MultiVoice-TwoVoicesOnStaff-Lyrics.xml": lambda score, said: (
        [t.name for t in score.tracks] == ["MusicXML Part", "MusicXML Part voice 2"]
        and {t.track for t in score.text_events if t.kind == "lyrics"} == {0, 1}),
    "24a-GraceNotes.xml": lambda score, said: any("15 times" in line and "grace notes kept"
                                                  in line for line in said),
    "61b-MultipleLyrics.xml": lambda score, said: len(_texts(score, "lyrics")) == 18,
    "71g-MultipleChordnames.xml": lambda score, said: len(_texts(score, "chord")) == 4,
    "45b-RepeatWithAlternatives.xml": lambda score, said: any(
        "4 bars written, 5 played" in line for line in said),
}


@pytest.mark.parametrize("name", sorted(SUITE))
def test_lilypond_suite_files_say_what_they_hold_and_write_it_back(name, tmp_path):
    from pathlib import Path

    import music21

    path = Path(music21.__file__).parent / "musicxml" / "lilypondTestSuite" / name
    said: list[str] = []
    score = read_musicxml(path, said)
    assert SUITE[name](score, said)
    write_musicxml(score, tmp_path / "out.musicxml")
    back = read_musicxml(tmp_path / "out.musicxml")
    key = lambda n: (n.start, n.pitch)  # noqa: E731
    assert [(n.pitch, n.start, n.duration) for n in sorted(back.notes, key=key)] == \
        [(n.pitch, n.start, n.duration) for n in sorted(score.notes, key=key)]
    kinds = ("lyrics", "chord", "dynamic")
    assert sorted((t.tick, t.kind, t.text) for t in back.text_events if t.kind in kinds) == \
        sorted((t.tick, t.kind, t.text) for t in score.text_events if t.kind in kinds)


def test_notation_marks_survive_midi(hand, tmp_path):
    from composer_app.music import read_midi, write_midi

    score = read_musicxml(hand, unfold=False)
    write_midi(score, tmp_path / "marks.mid")
    back = read_midi(tmp_path / "marks.mid")
    kinds = ("lyrics", "dynamic", "chord", "tempo", "repeat")
    assert [t for t in back.text_events if t.kind in kinds] == \
        [t for t in score.text_events if t.kind in kinds]


def test_the_unfold_preference_decides_how_the_app_opens_repeats(make_window, hand):
    pytest.importorskip("PySide6")
    from composer_app.ui.preferences import PreferencesDialog

    w = make_window(size=(1200, 800))
    assert w.files.open_path(str(hand), ask=False)
    assert w.doc.score().end_tick == 5 * BAR  # unfolded by default
    dlg = PreferencesDialog(w.settings, w)
    assert dlg.unfold.isChecked()
    dlg.unfold.setChecked(False)
    dlg.save()
    assert w.files.open_path(str(hand), ask=False)
    score = w.doc.score()
    assert score.end_tick == 3 * BAR
    assert _texts(score, "repeat") == [(0, "|:", -1), (2 * BAR, ":|", -1)]
    assert not w.warnings


def test_what_musicxml_cannot_hold_is_named(tmp_path):
    from composer_app.music.score import Note, Score, TextEvent

    score = Score(notes=[Note(60, 0, 960), Note(62, 960, 960)], text_events=[
        TextEvent(0, "lyrics", "la", 0), TextEvent(480, "lyrics", "mid", 0),  # no note starts
        TextEvent(960, "chord", "Xqz#9", 0),  # no chord symbol music21 can spell
        TextEvent(960, "dynamic", "mf", 0)])
    notes = write_musicxml(score, tmp_path / "x.musicxml")
    assert len(notes) == 1
    assert "not written 1 lyric, 1 chord symbol events" in notes[0]
    back = read_musicxml(tmp_path / "x.musicxml")
    assert _texts(back, "lyrics") == [(0, "la", 0)]
    assert _texts(back, "dynamic") == [(960, "mf", 0)]


def test_an_unfolded_repeat_does_not_restate_tempo_meter_and_key(hand):
    score = read_musicxml(hand)
    assert [(t.tick, t.bpm) for t in score.tempos] == [(0, 132)]
    assert [(t.tick, t.numerator) for t in score.time_signatures] == [(0, 4)]
    assert [k.tick for k in score.key_signatures] == [0]
    assert _texts(score, "tempo") == [(0, "Allegro", -1)]
    assert [tick for tick, _t, _v in _texts(score, "chord")] == [0, BAR, 2 * BAR, 3 * BAR]


def test_first_and_second_time_endings_that_are_not_kept_are_named():
    from tests.lilypond_suite import suite_dir

    path = suite_dir() / "45d-Repeats-Nested-Alternatives.xml"
    if not path.exists():
        pytest.skip("music21's LilyPond test suite is not installed")
    said: list[str] = []
    load_score(path, notes=said)  # music21 cannot unfold these: kept written once
    assert any("5 first/second-time ending brackets not kept" in line for line in said)
