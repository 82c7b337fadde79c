"""Hostile input: mutated real MIDI, MusicXML and project files never crash or hang the
readers.

Every mutated file either reads into a sane Score or fails with a one-line UserError.
The example counts are small for everyday runs; set COMPOSER_APP_FUZZ_EXAMPLES (e.g.
10000) for the full campaign.
"""

from __future__ import annotations

import copy
import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer_app.cli import main
from composer_app.music import (
    KeySignature,
    Note,
    Score,
    TempoChange,
    TimeSignature,
    Track,
    UserError,
    load_score,
    midi_bytes,
    parse_key,
)
from composer_app.music.musicxml import write_musicxml
from composer_app.music.project import project_bytes
from composer_app.music.validate import score_problem

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
    project = Score(
        notes=[Note(60 + i % 12, i * 240, 240, 80 + i % 20, i % 2, locked=i % 7 == 0,
                    fermata=i % 8 == 7) for i in range(40)],
        tracks=[Track("A", 0, 0, mute=True), Track("B", 1, 40, solo=True)],
        tempos=[TempoChange(0, 90.0), TempoChange(1920, 132.5)],
        time_signatures=[TimeSignature(0, 3, 4), TimeSignature(2880, 6, 8)],
        key_signatures=[KeySignature(0, parse_key("Ebm"))], title="seed")
    return {"mid_small": midi_bytes(small), "mid_chorale": _chorale_midi(), "xml": xml.read_bytes(),
            "project": project_bytes(project)}


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
    assert score.duration_seconds >= 0
    assert score_problem(score) is None  # every reader ends with the one validation


@pytest.mark.parametrize("seed_name,suffix,examples,deadline_ms", [
    ("mid_small", ".mid", MIDI_EXAMPLES, 5000),
    ("mid_chorale", ".mid", MIDI_EXAMPLES, 5000),
    ("xml", ".musicxml", XML_EXAMPLES, 20000),  # music21 parses slowly
    ("project", ".composer.json", MIDI_EXAMPLES, 5000),
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


# Byte mutations of JSON mostly break the syntax; these keep it and damage the values.
_ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.text(max_size=4),
    st.sampled_from([0, -1, 1, 3, 4, 7, 9, 15, 16, 127, 128, 480, -480, 2**31, 10**30,
                     0.5, -0.0, 1e308, float("inf"), float("-inf"), float("nan")]),
    st.integers(-(2**40), 2**40), st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(-10, 200), max_size=8), st.dictionaries(st.text(max_size=3),
                                                                  st.integers(), max_size=2),
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@st.composite
def damaged_project(draw, data: bytes) -> bytes:
    doc = copy.deepcopy(json.loads(data))
    for _ in range(draw(st.integers(1, 4))):
        spots = [p for p in _paths(doc) if p]
        if not spots:
            break
        where = draw(st.sampled_from(spots))
        parent = doc
        for k in where[:-1]:
            parent = parent[k]
        op = draw(st.sampled_from(["set", "set", "delete", "append"]))
        if op == "set":
            parent[where[-1]] = draw(_ODD_VALUES)
        elif op == "delete":
            del parent[where[-1]]
        elif isinstance(parent[where[-1]], list):
            parent[where[-1]].append(draw(_ODD_VALUES))
    return json.dumps(doc).encode()


def test_damaged_project_values_never_crash(seeds, tmp_path):
    @settings(max_examples=MIDI_EXAMPLES, deadline=5000, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    @given(damaged_project(seeds["project"]))
    def run(data):
        path = tmp_path / "fuzz.composer.json"
        path.write_bytes(data)
        _check(path)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["info", str(path)])
        assert code in (0, 1)
        if code == 1:
            lines = err.getvalue().strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: ")
            assert "internal error" not in lines[0], lines[0]

    run()
