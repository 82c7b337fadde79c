"""Song form (issue 15): sections on bar lines, repeats note for note, seeds, bad input."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from composer_app.bench.continuer import eight_bar_melody  # noqa: E402
from composer_app.cli import main  # noqa: E402
from composer_app.ml import continuer as C  # noqa: E402
from composer_app.ml.runtime import Runtime  # noqa: E402
from composer_app.ml.song import check_form, regenerate_section, song_form  # noqa: E402
from composer_app.music import Score, UserError, load_score, read_musicxml  # noqa: E402

pytestmark = pytest.mark.skipif(not C.default_checkpoint().exists(),
                                reason="shipped continuer missing")
BAR = 1920


def four_bars() -> Score:
    s = eight_bar_melody()
    return s.replace_notes(n for n in s.notes if n.start < 4 * BAR)


def section(score: Score, k: int, bars: int) -> list[tuple]:
    lo, hi = k * bars * BAR, (k + 1) * bars * BAR
    return [(n.pitch, n.start - lo, n.duration) for n in score.notes if lo <= n.start < hi]


@pytest.fixture(scope="module")
def runtime():
    return Runtime("cpu")


def test_repeated_letters_are_note_identical_and_sections_lie_on_bar_lines(runtime):
    sketch = four_bars()
    song = song_form(sketch, "ABCBDB", 4, seed=3, runtime=runtime)
    assert [(m.tick, m.text) for m in song.markers] == [(k * 4 * BAR, x)
                                                        for k, x in enumerate("ABCBDB")]
    assert section(song, 1, 4) == section(song, 3, 4) == section(song, 5, 4)
    assert section(song, 1, 4) and section(song, 1, 4) != section(song, 2, 4)
    assert section(song, 0, 4) == [(n.pitch, n.start, n.duration) for n in sketch.notes]
    for n in song.notes:  # nothing sounds across a section's end
        assert n.end <= (n.start // (4 * BAR) + 1) * 4 * BAR
    assert song.notes[-1].end <= 24 * BAR
    again = song_form(sketch, "ABCBDB", 4, seed=3, runtime=runtime)
    assert again.notes == song.notes
    other = song_form(sketch, "ABCBDB", 4, seed=4, runtime=runtime)
    assert other.notes != song.notes


def test_a_short_sketch_is_continued_to_a_section_and_vary_keeps_half(runtime):
    sketch = four_bars()
    song = song_form(sketch, "AAB", 8, seed=1, vary=True, runtime=runtime)
    a, a2 = section(song, 0, 8), section(song, 1, 8)
    assert len(a) > len(sketch.notes)  # A continued from 4 to 8 bars
    half = [n for n in a if n[1] < 4 * BAR]
    assert [n for n in a2 if n[1] < 4 * BAR] == [(p, s, min(d, 4 * BAR - s)) for p, s, d in half]


def test_a_related_letter_is_seeded_by_its_relative(runtime):
    song = song_form(four_bars(), "ABC", 4, seed=2, related={"C": "A"}, runtime=runtime)
    assert section(song, 2, 4)
    with pytest.raises(UserError, match="relative must come first"):
        song_form(four_bars(), "ABC", 4, related={"A": "C"}, runtime=runtime)


@pytest.mark.parametrize("form, bars, message", [
    ("", 8, "form is empty"), ("AB1", 8, "string of letters"), ("A-B", 8, "string of letters"),
    ("AB", 0, "1 to 64 bars"), ("AB", 500, "1 to 64 bars"), ("A" * 27, 8, "at most 26"),
])
def test_bad_forms_are_clear_errors(form, bars, message):
    with pytest.raises(UserError, match=message):
        check_form(form, bars)


def test_empty_and_too_long_sketches_are_refused(runtime):
    with pytest.raises(UserError, match="sketch is empty"):
        song_form(Score(), "AB", 8, runtime=runtime)
    with pytest.raises(UserError, match="longer than a section"):
        song_form(eight_bar_melody(), "AB", 4, runtime=runtime)


def test_cli_song_writes_the_sections(tmp_path, capsys):
    sketch = tmp_path / "a.mid"
    from composer_app.music import write_midi

    write_midi(four_bars(), sketch)
    out = tmp_path / "song.musicxml"
    assert main(["song", str(sketch), "-o", str(out), "--form", "AABA",
                 "--section-bars", "4", "--seed", "1"]) == 0
    assert [m.text for m in read_musicxml(out).markers] == list("AABA")
    assert "B: bars 9-12" in capsys.readouterr().err
    assert main(["song", str(sketch), "-o", str(out), "--form", "AB", "--section-bars",
                 "0"]) == 1
    assert "1 to 64 bars" in capsys.readouterr().err
    assert load_score(sketch).notes == four_bars().notes  # the sketch untouched


def test_the_sections_travel_in_midi_and_project_files(runtime, tmp_path):
    from composer_app.music import save_score

    song = song_form(four_bars(), "AABA", 4, seed=1, runtime=runtime)
    for name in ("song.mid", "song.composer.json"):
        save_score(song, tmp_path / name)
        back = load_score(tmp_path / name)
        assert [(m.tick, m.text) for m in back.markers] == [(k * 4 * BAR, x)
                                                            for k, x in enumerate("AABA")]


def test_regenerate_section_changes_only_that_section(runtime):
    song = song_form(four_bars(), "ABCB", 4, seed=3, runtime=runtime)
    lo, hi = 2 * 4 * BAR, 3 * 4 * BAR  # section C
    [again] = regenerate_section(song, lo, hi, seed=11, runtime=runtime)
    assert section(again, 2, 4) and section(again, 2, 4) != section(song, 2, 4)
    for k in (0, 1, 3):  # the other sections note for note, markers as they were
        assert section(again, k, 4) == section(song, k, 4)
    assert [n for n in again.notes if not lo <= n.start < hi] == \
        [n for n in song.notes if not lo <= n.start < hi]
    assert all(n.end <= hi for n in again.notes if lo <= n.start < hi)
    assert again.markers == song.markers
    assert regenerate_section(song, lo, hi, seed=11, runtime=runtime)[0].notes == again.notes
    two = regenerate_section(song, lo, hi, variations=2, seed=5, runtime=runtime)
    assert len(two) == 2 and section(two[0], 2, 4) != section(two[1], 2, 4)
    with pytest.raises(UserError, match="no music before this section"):
        regenerate_section(song, 0, 4 * BAR, runtime=runtime)
    with pytest.raises(UserError, match="on bar lines"):
        regenerate_section(song, lo + 480, hi, runtime=runtime)


def test_cli_song_reharmonize_gives_four_voices_over_the_songs_melody(tmp_path):
    from composer_app.music import write_midi

    sketch = tmp_path / "a.mid"
    write_midi(four_bars(), sketch)
    plain, four = tmp_path / "plain.mid", tmp_path / "four.mid"
    args = ["--form", "ABA", "--section-bars", "4", "--seed", "2", "--device", "cpu"]
    assert main(["song", str(sketch), "-o", str(plain), *args]) == 0
    assert main(["song", str(sketch), "-o", str(four), *args, "--reharmonize"]) == 0
    melody, satb = load_score(plain), load_score(four)
    assert [t.name for t in satb.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert all(satb.track_notes(t) for t in range(4))
    assert [(n.pitch, n.start, n.duration) for n in satb.track_notes(0)] == \
        [(n.pitch, n.start, n.duration) for n in melody.notes]
    assert [(m.tick, m.text) for m in satb.markers] == [(0, "A"), (4 * BAR, "B"),
                                                         (8 * BAR, "A")]
    assert max(n.end for n in satb.notes) <= 12 * BAR
