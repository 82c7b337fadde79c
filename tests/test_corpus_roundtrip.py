"""Real files through read → write MIDI → read, compared exactly (issue 13, item 6).

A varied handful of music21's bundled corpus (nothing downloaded): a chorale with a
pickup and fermatas, percussion, atonal piano, a lead
sheet and an aria with lyrics. Each is read as MusicXML, and also as the MIDI file music21
itself writes of it (with its lyrics, programs and key signatures: events we did not
write), and each goes through our MIDI writer and reader unchanged.
"""

from __future__ import annotations

import io
import warnings

import pytest

from composer_app.music import read_midi, read_musicxml, write_midi
from composer_app.music.midifile import midi_bytes, score_from_midifile

CORPUS = [
    "bach/bwv66.6",
    "demos/drum_sample.xml",
    "schoenberg/opus19/movement2",
    "leadSheet/fosterBrownHair",
    "handel/rinaldo/lascia_chio_pianga",
]


def _path(work: str):
    from music21 import corpus

    path = corpus.getWork(work)
    return path[0] if isinstance(path, list) else path


@pytest.fixture(scope="module", params=CORPUS)
def piece(request):
    """(our Score of the MusicXML, the MIDI bytes music21 writes of the same file)."""
    from music21 import converter
    from music21.midi import translate

    path = _path(request.param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # music21's notes on overfull measures
        score = read_musicxml(path)
        m21_midi = translate.streamToMidiFile(converter.parse(str(path))).writestr()
    return request.param, score, m21_midi


def _notes(score):
    return sorted((n.pitch, n.start, n.duration, n.velocity, n.track) for n in score.notes)


def test_musicxml_score_survives_our_midi(piece, tmp_path):
    work, score, _ = piece
    assert score.notes, work
    path = tmp_path / "piece.mid"
    said = write_midi(score, path)
    back = read_midi(path)
    assert _notes(back) == _notes(score)
    assert [(t.name, t.channel, t.program) for t in back.tracks] == [
        (t.name, t.channel, t.program) for t in score.tracks]
    # MIDI holds a tempo in microseconds a quarter: 72 bpm comes back as 72.00003.
    assert [(t.tick, round(t.bpm, 3)) for t in back.tempos] == [
        (t.tick, round(t.bpm, 3)) for t in score.tempos]
    assert back.time_signatures == score.time_signatures
    assert [k.key for k in back.key_signatures] == [k.key for k in score.key_signatures]
    assert back.channel_events == score.channel_events
    plain = lambda events: [(t.tick, t.kind, t.text, t.track) for t in events]  # noqa: E731
    assert plain(back.text_events) == plain(score.text_events)
    # A verse 2 where a note has no verse 1 reads back from MIDI as verse 1: said.
    renumbered = sum(a.verse != b.verse for a, b in zip(back.text_events, score.text_events))
    assert (f"{renumbered:,} lyric verse numbers" in said[-1]) if renumbered else \
        not any("verse" in line for line in said)


def test_music21s_midi_survives_ours_exactly(piece):
    work, _, m21_midi = piece
    import mido

    first = score_from_midifile(mido.MidiFile(file=io.BytesIO(m21_midi)))
    assert first.notes, work
    again = score_from_midifile(mido.MidiFile(file=io.BytesIO(midi_bytes(first))))
    assert again == first  # notes, tracks, maps, controllers, programs, lyrics, text
    if work.startswith(("leadSheet", "handel")):
        assert any(t.kind == "lyrics" for t in first.text_events), work
