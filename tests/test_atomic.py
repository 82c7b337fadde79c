"""One atomic write (music/atomic.py) for every file the app must not leave half-written."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from composer_app.music import UserError, atomic

PACKAGE = Path(__file__).resolve().parent.parent / "composer_app"

# Writers of their own that remain, each with the owner who is to move it onto
# music/atomic.py; the list only shrinks.
OWN_WRITERS: set[str] = set()  # none left: every writer goes through music/atomic.py

_OWN_WRITE = re.compile(
    r"\bos\.(replace|rename)\(|mkstemp\(|NamedTemporaryFile\(|"
    r"with_(suffix|name)\([^)]*\.(tmp|part)\b|\.write_(text|bytes)\(")


def test_no_module_writes_files_its_own_way():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "music/atomic.py" or rel in OWN_WRITERS:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _OWN_WRITE.search(line.split("#")[0]):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert not found, "write through music/atomic.py instead:\n" + "\n".join(found)


@pytest.fixture
def fsyncs(monkeypatch):
    """What was fsynced: "file" or "folder" per call."""
    seen = []
    real = os.fsync

    def spy(fd):
        seen.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(atomic.os, "fsync", spy)
    return seen


def test_atomic_write_streams_fsyncs_file_and_folder_and_keeps_the_mode(tmp_path, fsyncs):
    path = tmp_path / "out.bin"
    old = os.umask(0o022)
    try:
        atomic.atomic_write(path, lambda fh: (fh.write(b"ab"), fh.write(b"cd")))
        assert path.read_bytes() == b"abcd" and path.stat().st_mode & 0o777 == 0o644
        assert fsyncs == ["file", "folder"]
        path.chmod(0o640)
        atomic.atomic_write_bytes(path, b"new")
        assert path.read_bytes() == b"new" and path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_a_failing_writer_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "keep.bin"
    path.write_bytes(b"old")

    def half(fh):
        fh.write(b"half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic.atomic_write(path, half)

    def full_disk(fh):
        raise OSError(28, "No space left on device")

    with pytest.raises(UserError, match="disk is full"):
        atomic.atomic_write(path, full_disk)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.bin"]


def test_wav_render_is_written_atomically(tmp_path, fsyncs, monkeypatch):
    """write_wav wrote a .part file and renamed it without fsync: a crash could leave an
    empty WAV; now it is the one atomic write."""
    import wave

    from composer_app.audio.render import write_wav

    path = tmp_path / "take.wav"
    samples = np.zeros((441, 2), dtype=np.int16)
    write_wav(path, samples, 44100)
    assert fsyncs == ["file", "folder"]
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (2, 44100, 441)
    before = path.read_bytes()

    def broken(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(wave.Wave_write, "writeframes", broken)
    with pytest.raises(UserError, match="take.wav: cannot write"):
        write_wav(path, samples, 44100)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]


def test_training_checkpoints_go_through_the_atomic_write(tmp_path, fsyncs):
    import torch

    from composer_app.ml.checkpoint import save

    path = tmp_path / "best.pt"
    save({"w": torch.ones(3)}, path)  # checkpoints; training/loop.py's last.pt the same way
    assert fsyncs == ["file", "folder"]
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]
