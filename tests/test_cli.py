"""The `composer-app` command line: export, info, bench, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from composer_app.cli import main
from composer_app.music import Note, Score, TimeSignature, read_midi, read_project, write_midi


@pytest.fixture
def melody(tmp_path):
    score = Score(notes=[Note(60 + i % 5, i * 480, 480) for i in range(10)],
                  time_signatures=[TimeSignature(0, 3, 4)])
    path = tmp_path / "melody.mid"
    write_midi(score, path)
    return path


def test_export_between_formats_keeps_notes(melody, tmp_path, capsys):
    project = tmp_path / "m.composer.json"
    xml = tmp_path / "m.musicxml"
    back = tmp_path / "back.mid"
    assert main(["export", str(melody), "-o", str(project)]) == 0
    assert main(["export", str(project), "-o", str(xml)]) == 0
    assert main(["export", str(xml), "-o", str(back)]) == 0
    original = [(n.pitch, n.start, n.duration) for n in read_midi(melody).notes]
    assert [(n.pitch, n.start, n.duration) for n in read_project(project).notes] == original
    assert [(n.pitch, n.start, n.duration) for n in read_midi(back).notes] == original


def test_info_prints_json_summary(melody, capsys):
    assert main(["info", str(melody)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["notes"] == 10
    assert info["meter"] == "3/4"
    assert info["length_bars"] == 4  # 10 beats of 3/4
    assert info["tracks"][0]["notes"] == 10
    assert info["tempo_bpm"] == 120.0


@pytest.mark.parametrize("content,name,needle", [
    (b"", "empty.mid", "not a readable MIDI file"),
    (b"\x00garbage\xff" * 50, "random.mid", "not a readable MIDI file"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02", "truncated.mid", "not a readable MIDI file"),
    (b"hello", "notes.txt", "unknown file type"),
])
def test_bad_input_is_one_error_line_and_exit_1(tmp_path, capsys, content, name, needle):
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out.mid"
    assert main(["export", str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]
    assert name in err[0]
    assert not out.exists()


def test_midi_with_no_notes_is_reported(tmp_path, capsys):
    path = tmp_path / "silent.mid"
    write_midi(Score(), path)
    assert main(["info", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == 0


def test_unwritable_output_leaves_nothing(melody, tmp_path, capsys):
    out = tmp_path / "no-such-folder" / "x.mid"
    assert main(["export", str(melody), "-o", str(out)]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert not out.exists()
    assert main(["export", str(melody), "-o", str(tmp_path / "x.wav")]) == 1
    assert "cannot write this file type" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["export"])
    assert exc.value.code == 2


def test_bench_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "midi_roundtrip_10k", "--runs", "2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert rows[0]["name"] == "midi_roundtrip_10k"
    assert rows[0]["unit"] == "s" and rows[0]["runs"] == 2
    assert 0 < rows[0]["min"] <= rows[0]["median"] <= rows[0]["max"]
    assert "midi_roundtrip_10k" in capsys.readouterr().out


def test_unknown_benchmark_is_a_user_error(capsys):
    assert main(["bench", "--only", "nope"]) == 1
    assert "unknown benchmark nope" in capsys.readouterr().err


def test_console_script_and_module_report_version():
    out = subprocess.run([sys.executable, "-m", "composer_app", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("composer-app ")


@pytest.mark.parametrize("argv,needle", [
    (["harmonize", "{mel}", "-o", "{tmp}/h.txt"], "cannot write this file type"),
    (["continue", "{mel}", "-o", "{tmp}/c.wav", "--bars", "1"], "cannot write this file type"),
    (["render", "{mel}", "-o", "{tmp}/r.mid"], "use .wav"),
    (["export", "{mel}", "-o", "{tmp}"], "cannot write this file type"),
    (["bench", "--json", "{tmp}/missing/b.json"], "does not exist"),
])
def test_bad_outputs_are_refused_before_any_work(melody, tmp_path, capsys, argv, needle):
    argv = [a.format(mel=melody, tmp=tmp_path) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["melody.mid"]


@pytest.mark.parametrize("argv", [
    ["harmonize", "x.mid", "-o", "y.mid", "--seed", "99999999999999999999999"],
    ["continue", "x.mid", "-o", "y.mid", "--bars", "1", "--seed", "-1"],
    ["train", "harmonizer", "--epochs", "0"],
    ["bench", "--runs", "0"],
])
def test_out_of_range_numbers_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_output_into_a_closed_pipe_is_not_an_error(melody):
    """`composer-app info x | head -1`: the reader stops early; no 'internal error'."""
    proc = subprocess.Popen([sys.executable, "-m", "composer_app", "info", str(melody)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # as `head` does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "error" not in err.lower()
