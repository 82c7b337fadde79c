"""The shared voice-leading checks against music21's own VoiceLeadingQuartet definitions,
on constructed quartets, and the tendency-tone checks on constructed progressions."""

from __future__ import annotations

import random

import pytest

from composer_app.music import Key, parse_key
from composer_app.music import voice_leading as vl

voiceLeading = pytest.importorskip("music21.voiceLeading")
from music21 import note, pitch  # noqa: E402

WHITE = (0, 2, 4, 5, 7, 9, 11)


def white(index: int) -> int:
    """MIDI pitch of the white key ``index`` diatonic steps above C0."""
    return 12 * (index // 7 + 1) + WHITE[index % 7]


def m21(a1, a2, b1, b2):
    def n(x):
        return note.Note(x) if isinstance(x, str) else note.Note(pitch.Pitch(midi=x))
    return voiceLeading.VoiceLeadingQuartet(n(a1), n(a2), n(b1), n(b2))


def midi(x) -> int:
    return x if isinstance(x, int) else pitch.Pitch(x).midi


def ours(a1, a2, b1, b2) -> set[str]:
    return set(vl.motion_findings(midi(a1), midi(a2), midi(b1), midi(b2), hidden=True))


def assert_agrees(a1, a2, b1, b2) -> None:
    q, found = m21(a1, a2, b1, b2), ours(a1, a2, b1, b2)
    case = (a1, a2, b1, b2, sorted(found))
    assert q.parallelFifth() == bool(found & {vl.PARALLEL_FIFTHS, vl.ANTIPARALLEL_FIFTHS}), case
    assert q.parallelOctave() == bool(found & {vl.PARALLEL_OCTAVES, vl.ANTIPARALLEL_OCTAVES,
                                               vl.OCTAVE_UNISON}), case
    # music21's parallelUnison is also true for contrary motion between octave classes
    assert q.parallelUnison() == bool(found & {vl.PARALLEL_UNISONS, vl.ANTIPARALLEL_OCTAVES,
                                               vl.OCTAVE_UNISON}), case
    assert q.antiParallelMotion("P5") == (vl.ANTIPARALLEL_FIFTHS in found), case
    assert q.hiddenFifth() == (vl.HIDDEN_FIFTHS in found), case
    assert q.hiddenOctave() == (vl.HIDDEN_OCTAVES in found), case
    kind = {"Parallel": "similar", "Similar": "similar", "Contrary": "contrary",
            "Oblique": "oblique", "No Motion": "none"}[q.motionType().value]
    assert vl.motion(midi(a1), midi(a2), midi(b1), midi(b2)) == kind, case
    # crossing and overlap, through the whole check on a two-voice succession
    chords = [(midi(a1), midi(b1), -1, -1), (midi(a2), midi(b2), -1, -1)]
    kinds = {f.kind for f in vl.check_chords(chords)}
    assert q.voiceCrossing() == (vl.CROSSING in kinds), case
    assert q.voiceOverlap() == (vl.OVERLAP in kinds), case


EDGE_CASES = [
    # (v1n1, v1n2, v2n1, v2n2), v1 nominally the upper voice
    ("G4", "A4", "C4", "D4"),  # parallel fifths
    ("G4", "A5", "C4", "D4"),  # fifth to twelfth, similar: parallel fifths
    ("D6", "E6", "G4", "A4"),  # twelfths: compound parallel fifths
    ("G4", "A4", "C4", "D3"),  # antiparallel fifths (fifth to twelfth, contrary)
    ("C5", "D5", "C4", "D4"),  # parallel octaves
    ("C6", "D6", "C4", "D4"),  # parallel double octaves
    ("C5", "D6", "C4", "D4"),  # octave to double octave, similar
    ("C5", "D5", "C4", "D3"),  # antiparallel octaves
    ("C6", "D5", "C4", "D4"),  # double octave to octave, contrary
    ("C4", "C5", "C4", "C3"),  # unison to octave, contrary
    ("C5", "D4", "C4", "D4"),  # octave to unison, contrary
    ("C4", "D4", "C4", "D4"),  # parallel unisons
    ("C4", "D5", "C4", "D4"),  # unison to octave, similar: hidden octave
    ("E5", "D4", "E4", "D4"),  # octave to unison, similar: hidden octave
    ("E4", "G4", "B3", "C4"),  # fourth to fifth, similar: hidden fifth
    ("A4", "C5", "C4", "F4"),  # sixth to fifth, similar: hidden fifth
    ("E4", "D5", "B3", "D4"),  # similar into an octave: hidden octave
    ("G4", "G4", "C4", "D4"),  # oblique: nothing
    ("C5", "C5", "F4", "C4"),  # oblique into an octave: nothing
    ("C5", "C5", "C4", "C4"),  # no motion
    ("G4", "A4", "C#4", "D4"),  # diminished fifth to fifth: not parallel, not hidden
    ("C#5", "D5", "F#4", "G4"),  # parallel fifths spelled with sharps
    ("B-4", "C5", "E-4", "F4"),  # parallel fifths spelled with flats
    ("F#4", "G4", "B3", "C4"),  # hidden fifth with a sharp
    ("A4", "F4", "G4", "G4"),  # crossing at the second chord
    ("A4", "C4", "F4", "B-4"),  # overlap both ways, crossing
    ("A4", "B4", "F4", "A4"),  # moving to the same note: no overlap
    ("C4", "E4", "C5", "G4"),  # crossed, octave to third in contrary motion: nothing
    ("C4", "D4", "G4", "A4"),  # crossed voices in parallel fifths
    ("G3", "A3", "C4", "D4"),  # crossed voices in parallel fourths: nothing
]


@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases_agree_with_music21(case):
    assert_agrees(*case)


def test_constructed_quartets_agree_with_music21():
    """Quartets on white keys (every interval spelled as its semitones say, except the
    tritone, which music21 spells d5 or A4 by context: left out), biased towards the
    intervals that matter: unisons, fifths, octaves and their compounds."""
    rng = random.Random(11)
    wanted = (0, 4, 7, 11, 14, -4, -7, 2, 5)  # diatonic steps: 1, 5, 8, 12, 15 and others
    seen: set[str] = set()
    tested = 0
    while tested < 400:
        b1, b2 = rng.randint(14, 30), rng.randint(14, 30)
        a1, a2 = b1 + rng.choice(wanted), b2 + rng.choice(wanted)
        if rng.random() < 0.2:
            a2 = a1  # oblique motion now and then
        p = [white(x) for x in (a1, a2, b1, b2)]
        if abs(p[0] - p[2]) % 12 == 6 or abs(p[1] - p[3]) % 12 == 6:
            continue
        assert_agrees(*p)
        seen.update(ours(*p))
        tested += 1
    assert seen >= set(vl.MOTION_KINDS), set(vl.MOTION_KINDS) - seen


def test_augmented_fourth_to_fifth_is_a_documented_difference():
    """music21 calls B3 over F3 an augmented fourth, so moving to D4 over G3 is a hidden
    fifth there; here a tritone is taken as a diminished fifth (unequal fifths), as
    music21 itself takes C#-G: neither parallel nor hidden."""
    assert m21("B3", "D4", "F3", "G3").hiddenFifth()
    assert ours("B3", "D4", "F3", "G3") == set()
    assert not m21("G4", "A4", "C#4", "D4").hiddenFifth()


def test_hidden_intervals_only_between_outer_voices_and_optionally_only_on_a_leap():
    contrary = [(71, 67, 62, 55), (72, 67, 64, 48)]  # S B4->C5, B G3->C3: nothing hidden
    assert not [f for f in vl.check_chords(contrary) if f.kind == vl.HIDDEN_OCTAVES]
    into_octave = [(67, 64, 55, 52), (72, 67, 64, 60)]  # S G4->C5 leap, B E3->C4 up
    found = vl.check_chords(into_octave)
    assert vl.Finding(vl.HIDDEN_OCTAVES, (0, 3), 1) in found
    step = [(71, 64, 55, 55), (72, 67, 64, 60)]  # S B4->C5 by step, B G3->C4 up
    assert vl.Finding(vl.HIDDEN_OCTAVES, (0, 3), 1) in vl.check_chords(step)
    assert vl.Finding(vl.HIDDEN_OCTAVES, (0, 3), 1) not in \
        vl.check_chords(step, hidden_needs_leap=True)
    inner = [(79, 64, 55, 48), (81, 69, 57, 53)]  # A E4->A4 against T G3->A3: into an 8ve
    assert not [f for f in vl.check_chords(inner) if f.kind == vl.HIDDEN_OCTAVES
                and f.voices != (0, 3)]


def test_chord_findings_spacing_range_positions():
    chords = [(72, 64, 55, 48), (84, 67, 52, 43), (76, 60, 43, 31)]
    found = vl.check_chords(chords)
    assert vl.Finding(vl.SPACING, (0, 1), 1) in found  # C6 over G4
    assert vl.Finding(vl.SPACING, (1, 2), 2) in found  # C4 over G2
    assert vl.Finding(vl.RANGE, (3,), 2) in found  # G1 in the bass
    assert vl.Finding(vl.RANGE, (2,), 2) in found  # G2 in the tenor
    assert [f.index for f in found] == sorted(f.index for f in found)
    assert found[0].describe().startswith("chord 2: spacing (Soprano-Alto)")
    assert vl.check_chords([(72, 67, 64, 48), (-1, 67, 64, 48)]) == []  # silence is fine


@pytest.mark.parametrize("pitches,key,root,quality,complete", [
    ((72, 67, 64, 48), "C", 0, "major", True),
    ((72, 67, 63, 48), "C", 0, "minor", True),
    ((71, 65, 62, 55), "C", 7, "dominant7", True),  # B F D G
    ((71, 65, 55, 43), "C", 7, "dominant7", False),  # V7 without its fifth
    ((74, 65, 59, 56), "Am", 8, "diminished7", True),  # G#-B-D-F: root G#, the leading tone
    ((74, 65, 59, 56), "Cm", 11, "diminished7", True),  # same sound in C minor: B
    ((69, 65, 60, 50), "C", 2, "minor7", True),  # ii7
    ((71, 69, 65, 50), "C", 11, "half-diminished7", True),  # viiø7 over D
    ((67, 64, 60, 52), "C", 0, "major", True),  # I6
])
def test_chord_label(pitches, key, root, quality, complete):
    lab = vl.chord_label(pitches, parse_key(key))
    assert (lab.root, lab.quality, lab.complete) == (root, quality, complete)


def test_chord_label_refuses_non_chords():
    assert vl.chord_label((72, 72, 60, 48), Key(0)) is None  # octaves only
    assert vl.chord_label((72, 65, 67, 48), Key(0)) is None  # C-F-G: a suspension sound
    assert vl.chord_label((72, 62, -1, -1), Key(0)) is None


C = Key(0, "major")
V7 = (71, 65, 62, 55)  # S B4, A F4, T D4, B G3
TONIC = (72, 64, 55, 48)  # S C5, A E4, T G3, B C3


def tones(chords, key=C):
    return [(r.tone, r.voice, r.index, r.resolved) for r in vl.tendency_tones(chords, key)]


def test_v7_to_i_resolves():
    assert tones([V7, TONIC]) == [("leading tone", 0, 0, True), ("seventh", 1, 0, True)]
    assert not [f for f in vl.check_chords([V7, TONIC], key=C)
                if f.kind in (vl.UNRESOLVED_LEADING_TONE, vl.UNRESOLVED_SEVENTH)]


def test_unresolved_leading_tone_and_seventh():
    wrong = (67, 67, 64, 48)  # S B4 -> G4 (leap down), A F4 -> G4 (up)
    assert tones([V7, wrong]) == [("leading tone", 0, 0, False), ("seventh", 1, 0, False)]
    found = vl.check_chords([V7, wrong], key=C)
    assert vl.Finding(vl.UNRESOLVED_LEADING_TONE, (0,), 0) in found
    assert vl.Finding(vl.UNRESOLVED_SEVENTH, (1,), 0) in found
    assert vl.check_chords([V7, wrong]) == [f for f in found if f.kind not in
                                            (vl.UNRESOLVED_LEADING_TONE, vl.UNRESOLVED_SEVENTH)]


def test_held_tones_are_judged_where_they_go_next():
    """A seventh held into the tonic (a suspension sound, no chord) then falling, and a
    leading tone held as a retardation then rising, are resolved; a seventh that stays
    and then rises is not."""
    suspended = (72, 65, 60, 48)  # C F C C: no triad, skipped when finding the target
    assert tones([V7, suspended, TONIC]) == [("leading tone", 0, 0, True), ("seventh", 1, 0, True)]
    assert tones([V7, suspended, (72, 67, 64, 48)]) == [("leading tone", 0, 0, True),
                                                        ("seventh", 1, 0, False)]
    retard = (71, 64, 60, 48)  # B4 held over C-E-C, then C5
    assert tones([V7, retard, TONIC]) == [("leading tone", 0, 0, True), ("seventh", 1, 0, True)]


def test_only_dominant_to_tonic_progressions_are_judged():
    vi = (72, 64, 60, 45)  # V7 -> vi, deceptive: not judged
    assert tones([V7, vi]) == []
    iii = (71, 67, 64, 52)  # iii -> vi: B is no leading tone of a dominant
    assert tones([iii, vi]) == []
    V = (71, 67, 62, 55)
    assert tones([V, V7, TONIC]) == [("leading tone", 0, 1, True), ("seventh", 1, 1, True)]
    assert tones([V7]) == []  # nothing follows


def test_minor_key_and_leading_tone_chords():
    a = Key(9, "minor")
    E7 = (74, 68, 59, 52)  # S D5, A G#4, T B3, B E3
    i = (72, 69, 64, 45)  # S C5, A A4, T E4, B A2
    assert tones([E7, i], a) == [("seventh", 0, 0, True), ("leading tone", 1, 0, True)]
    vii7 = (65, 62, 59, 56)  # F4 D4 B3 G#3: vii°7, bass leading tone
    assert tones([vii7, (64, 60, 57, 57)], a) == [("leading tone", 3, 0, True)]
    natural_v = (67, 62, 59, 52)  # E minor chord (G natural): no leading tone
    assert tones([natural_v, i], a) == []


def test_inner_voice_frustrated_leading_tone_is_reported_with_its_voice():
    V7_alto = (74, 71, 65, 55)  # S D5, A B4, T F4, B G3
    I_open = (72, 67, 64, 48)  # A B4 -> G4: the frustrated leading tone
    found = [f for f in vl.check_chords([V7_alto, I_open], key=C)
             if f.kind == vl.UNRESOLVED_LEADING_TONE]
    assert found == [vl.Finding(vl.UNRESOLVED_LEADING_TONE, (1,), 0)]
