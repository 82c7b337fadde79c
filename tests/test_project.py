"""Project files: versioned JSON, atomic save."""

from __future__ import annotations

import json
import os

import pytest

from composer_app.music import (
    FileFormatError,
    KeySignature,
    Note,
    Score,
    TempoChange,
    TimeSignature,
    Track,
    atomic,
    parse_key,
    read_project,
    write_project,
)


def sample() -> Score:
    return Score(
        notes=[Note(60, 0, 480, 90, 0), Note(64, 480, 240, 70, 1, locked=True)],
        tracks=[Track("Melody", 0, 73, mute=True), Track("Bass", 1, 32, solo=True)],
        tempos=[TempoChange(0, 88.5), TempoChange(960, 100.0)],
        time_signatures=[TimeSignature(0, 6, 8)],
        key_signatures=[KeySignature(0, parse_key("Ebm"))],
        title="sketch",
    )


def test_project_round_trip_is_exact(tmp_path):
    path = tmp_path / "a.composer.json"
    write_project(sample(), path)
    assert read_project(path) == sample()


def test_newer_version_is_refused_clearly(tmp_path):
    path = tmp_path / "new.composer.json"
    write_project(sample(), path)
    data = json.loads(path.read_text())
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match="newer composer_app"):
        read_project(path)


def test_damaged_project_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.composer.json"
    path.write_text('{"format": "composer-app-project", "version": 1, "notes": [[1]]}')
    with pytest.raises(FileFormatError, match="damaged"):
        read_project(path)
    path.write_text("{not json")
    with pytest.raises(FileFormatError):
        read_project(path)


def test_failure_mid_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "keep.composer.json"
    write_project(sample(), path)
    before = path.read_bytes()

    def exploding_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", exploding_fsync)
    changed = sample()
    changed.notes.append(Note(72, 960, 480))
    with pytest.raises(Exception, match="disk is full"):
        write_project(changed, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.composer.json"]  # no temp left


def test_read_only_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(Exception, match="cannot write"):
            write_project(sample(), folder / "x.composer.json")
    finally:
        folder.chmod(0o700)


def test_saved_files_get_the_usual_permissions(tmp_path):
    """Atomic saves must not leave files private to their owner (mkstemp's 0600)."""
    old = os.umask(0o022)
    try:
        path = tmp_path / "shared.composer.json"
        write_project(sample(), path)
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o664)  # a file the user made group-writable keeps that on save
        write_project(sample(), path)
        assert path.stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)


def test_impossible_channel_or_program_is_refused(tmp_path):
    path = tmp_path / "ch.composer.json"
    write_project(sample(), path)
    data = json.loads(path.read_text())
    data["tracks"][0]["channel"] = 20
    path.write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match="channel 20"):
        read_project(path)
