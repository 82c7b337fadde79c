"""Hostile input: mutated real MIDI and MusicXML files never crash or hang the readers.

Every mutated file either reads into a sane Score or fails with a one-line UserError.
The example counts are small for everyday runs; set COMPOSER_APP_FUZZ_EXAMPLES (e.g.
10000) for the full campaign.
"""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer_app.cli import main
from composer_app.music import Note, Score, Track, UserError, load_score, midi_bytes
from composer_app.music.musicxml import write_musicxml

MIDI_EXAMPLES = int(os.environ.get("COMPOSER_APP_FUZZ_EXAMPLES", "300"))
XML_EXAMPLES = max(20, MIDI_EXAMPLES // 20)


def _chorale_midi() -> bytes:
    from music21 import corpus

    from composer_app.music.musicxml import score_from_music21

    return midi_bytes(score_from_music21(corpus.parse("bach/bwv66.6")))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, bytes]:
    small = Score(notes=[Note(60 + i % 12, i * 240, 240, 80 + i % 20, i % 2) for i in range(40)],
                  tracks=[Track("A", 0, 0), Track("B", 1, 40)])
    folder = tmp_path_factory.mktemp("seed")
    xml = folder / "seed.musicxml"
    write_musicxml(small, xml)
    return {"mid_small": midi_bytes(small), "mid_chorale": _chorale_midi(), "xml": xml.read_bytes()}


@st.composite
def mutated(draw, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "repeat"]))
        if not buf:
            break
        i = draw(st.integers(0, len(buf) - 1))
        if op == "flip":
            buf[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            buf[i] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF, 0x90, 0xFF, 0x2F, 0x51]))
        elif op == "truncate":
            del buf[i:]
        elif op == "insert":
            buf[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del buf[i:i + draw(st.integers(1, 32))]
        elif op == "repeat":
            j = min(len(buf), i + draw(st.integers(1, 64)))
            buf[i:i] = buf[i:j]
    return bytes(buf)


def _check(path) -> None:
    try:
        score = load_score(path)
    except UserError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return
    assert all(0 <= n.pitch <= 127 and n.duration > 0 and n.start >= 0 for n in score.notes)
    assert all(0 <= n.track < len(score.tracks) for n in score.notes)
    assert all(t.bpm > 0 for t in score.tempos)
    assert all(ts.bar_ticks > 0 for ts in score.time_signatures)
    assert score.length_bars >= 0  # bar arithmetic must work on whatever was read


@pytest.mark.parametrize("seed_name,suffix,examples,deadline_ms", [
    ("mid_small", ".mid", MIDI_EXAMPLES, 5000),
    ("mid_chorale", ".mid", MIDI_EXAMPLES, 5000),
    ("xml", ".musicxml", XML_EXAMPLES, 20000),  # music21 parses slowly
])
def test_mutated_files_never_crash(seeds, tmp_path, seed_name, suffix, examples, deadline_ms):
    @settings(max_examples=examples, deadline=deadline_ms, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    @given(mutated(seeds[seed_name]))
    def run(data):
        path = tmp_path / f"fuzz{suffix}"
        path.write_bytes(data)
        _check(path)

    run()


def test_info_on_mutated_files_prints_json_or_one_error_line(seeds, tmp_path):
    @settings(max_examples=max(20, MIDI_EXAMPLES // 10), deadline=5000, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    @given(mutated(seeds["mid_chorale"]))
    def run(data):
        path = tmp_path / "fuzz.mid"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["info", str(path)])
        if code == 0:
            assert json.loads(out.getvalue())["notes"] >= 0
        else:
            assert code == 1
            lines = err.getvalue().strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: ")
            assert "internal error" not in lines[0]

    run()
