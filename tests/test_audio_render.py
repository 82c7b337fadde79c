"""Offline render through FluidSynth (no audio driver), soundfont search, CLI render/devices."""

from __future__ import annotations

import sys
import time
import wave

import numpy as np
import pytest

from composer_app.audio import _native
from composer_app.audio.errors import AudioUnavailable, SoundfontNotFound
from composer_app.audio.soundfont import SOUNDFONT_HELP, find_soundfont, resolve_soundfont
from composer_app.music import Note, Score, TempoChange, Track

SR = 44100
needs_synth = pytest.mark.skipif(find_soundfont() is None, reason="no GM soundfont installed")


def _spectrum(samples: np.ndarray, start_s: float = 0.1, length_s: float = 1.0):
    mono = samples.astype(np.float64).mean(axis=1)
    seg = mono[int(start_s * SR): int((start_s + length_s) * SR)]
    mag = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    return np.fft.rfftfreq(len(seg), 1 / SR), mag


@needs_synth
def test_render_a4_peaks_at_440():
    from composer_app.audio.render import render_score

    audio = render_score(Score(notes=[Note(69, 0, 1440, 100)]))
    assert audio.dtype == np.int16 and audio.ndim == 2 and audio.shape[1] == 2
    freqs, mag = _spectrum(audio)
    assert abs(freqs[np.argmax(mag)] - 440.0) <= 3


@needs_synth
def test_render_c_major_triad_has_three_peaks():
    from composer_app.audio.render import render_score

    notes = [Note(p, 0, 1440, 100) for p in (60, 64, 67)]
    freqs, mag = _spectrum(render_score(Score(notes=notes)))
    top = mag.max()
    for f in (261.63, 329.63, 392.00):
        window = (freqs > f - 4) & (freqs < f + 4)
        local = mag[window].max()
        assert local > 0.1 * top, f"no peak near {f} Hz"
        # a true peak: clearly above the spectrum between the chord tones
    valley = mag[(freqs > 290) & (freqs < 300)].max()
    assert valley < 0.1 * top


@needs_synth
def test_render_length_is_duration_plus_tail_and_gain_is_sensible():
    from composer_app.audio.render import MAX_TAIL_S, render_score

    score = Score(
        notes=[Note(60 + i, i * 480, 480, 90) for i in range(8)],
        tempos=[TempoChange(0, 120.0), TempoChange(1920, 60.0)],  # 2 s + 4 s
    )
    assert score.duration_seconds == pytest.approx(6.0)
    audio = render_score(score)
    seconds = len(audio) / SR
    assert score.duration_seconds <= seconds <= score.duration_seconds + MAX_TAIL_S
    peak = np.abs(audio.astype(np.int32)).max()
    assert 0.5 * 32767 < peak < 32767  # loud enough, not clipped


@needs_synth
def test_render_respects_mute_and_solo():
    from composer_app.audio.render import render_score

    tracks = [Track("a", 0, 0), Track("b", 1, 0, mute=True)]
    score = Score(notes=[Note(69, 0, 960, 100, 0), Note(81, 0, 960, 100, 1)], tracks=tracks)
    freqs, mag = _spectrum(render_score(score), length_s=0.8)
    assert abs(freqs[np.argmax(mag)] - 440.0) <= 3
    assert mag[(freqs > 875) & (freqs < 885)].max() < 0.5 * mag.max()


def test_missing_soundfont_messages(tmp_path, monkeypatch):
    from composer_app.audio import soundfont

    with pytest.raises(SoundfontNotFound, match="soundfont not found: .*nope.sf2"):
        resolve_soundfont(tmp_path / "nope.sf2")
    monkeypatch.delenv(soundfont.ENV_VAR, raising=False)
    monkeypatch.setattr(soundfont, "system_candidates", lambda: [])
    monkeypatch.setattr(soundfont, "resources_dir", lambda: tmp_path / "resources")
    assert find_soundfont() is None
    with pytest.raises(SoundfontNotFound) as err:
        resolve_soundfont()
    assert str(err.value) == SOUNDFONT_HELP
    assert "fluid-soundfont-gm" in SOUNDFONT_HELP and "COMPOSER_APP_SOUNDFONT" in SOUNDFONT_HELP


def test_soundfont_search_order(tmp_path, monkeypatch):
    from composer_app.audio import soundfont

    user, env, shipped = (tmp_path / n for n in ("user.sf2", "env.sf2", "res"))
    user.write_bytes(b"x")
    env.write_bytes(b"x")
    (shipped / "soundfonts").mkdir(parents=True)
    (shipped / "soundfonts" / "GeneralUser.sf2").write_bytes(b"x")
    monkeypatch.setattr(soundfont, "resources_dir", lambda: shipped)
    monkeypatch.setenv(soundfont.ENV_VAR, str(env))
    assert find_soundfont(str(user)) == user
    assert find_soundfont(str(tmp_path / "gone.sf2")) == env  # a stale setting falls through
    monkeypatch.delenv(soundfont.ENV_VAR)
    assert find_soundfont() == shipped / "soundfonts" / "GeneralUser.sf2"


def test_missing_libfluidsynth_says_what_to_install(tmp_path, monkeypatch):
    fake = tmp_path / "fluidsynth.py"
    fake.write_text("raise ImportError(\"Couldn't find the FluidSynth library.\")\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fluidsynth", raising=False)
    monkeypatch.setattr(_native, "_fluidsynth", None)
    monkeypatch.setattr(_native, "_load_error", None)
    from composer_app.audio.backends import FluidSynthOutput, SilentOutput, open_output

    with pytest.raises(AudioUnavailable, match="FluidSynth library was not found; install"):
        FluidSynthOutput()
    output, note = open_output()
    assert isinstance(output, SilentOutput) and "install FluidSynth" in note
    from composer_app.audio import devices

    assert "FluidSynth:      not available" in devices.devices_report()


def test_unknown_audio_driver_is_reported():
    pytest.importorskip("fluidsynth")
    from composer_app.audio.backends import FluidSynthOutput

    if find_soundfont() is None:
        pytest.skip("no soundfont")
    with pytest.raises(AudioUnavailable, match="no audio output could be opened .*tried nosuch"):
        FluidSynthOutput(driver="nosuch")


def _midi(tmp_path):
    from composer_app.music.midifile import write_midi

    path = tmp_path / "in.mid"
    write_midi(Score(notes=[Note(69, 0, 960, 100), Note(72, 960, 960, 100)]), path)
    return path


@needs_synth
def test_cli_render_writes_wav(tmp_path, capsys):
    from composer_app.cli import main

    out = tmp_path / "out.wav"
    assert main(["render", str(_midi(tmp_path)), "-o", str(out), "--sample-rate", "22050"]) == 0
    assert "wrote" in capsys.readouterr().out
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 22050)
        assert 2.0 <= w.getnframes() / 22050 <= 2.0 + 4.0


def test_cli_render_missing_soundfont_is_one_line_error(tmp_path, capsys):
    from composer_app.cli import main

    rc = main(["render", str(_midi(tmp_path)), "-o", str(tmp_path / "o.wav"),
               "--soundfont", str(tmp_path / "missing.sf2")])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error: soundfont not found") and "Traceback" not in err
    assert not (tmp_path / "o.wav").exists()


def test_cli_devices_runs(capsys):
    from composer_app.cli import main

    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    for label in ("FluidSynth", "soundfont:", "MIDI out ports:", "MIDI in ports:", "torch device:"):
        assert label in out
    assert "Traceback" not in out


def test_junk_soundfont_is_rejected_before_fluidsynth(tmp_path):
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"not a soundfont at all")
    with pytest.raises(SoundfontNotFound, match="is not a SoundFont"):
        resolve_soundfont(junk)


@needs_synth
def test_fluidsynth_output_plays_through_an_audio_driver(tmp_path):
    """The live path (Output → FluidSynth → driver), using FluidSynth's file driver."""
    fluidsynth = pytest.importorskip("fluidsynth")
    from composer_app.audio._native import compiled_audio_drivers
    from composer_app.audio.backends import FluidSynthOutput
    from composer_app.audio.transport import Transport

    settings = fluidsynth.new_fluid_settings()
    drivers = compiled_audio_drivers(settings)
    fluidsynth.delete_fluid_settings(settings)
    if "file" not in drivers:
        pytest.skip("this FluidSynth has no file driver")
    wav_path = tmp_path / "live.wav"
    out = FluidSynthOutput(driver="file", settings={"audio.file.name": str(wav_path)})
    assert out.driver == "file" and "FluidSynth" in out.description
    assert out.latency_s < 0.02
    transport = Transport(out)
    transport.preview_note(69, duration_s=0.3)
    time.sleep(0.5)
    transport.close()
    out.close()
    with wave.open(str(wav_path)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, 2)
    freqs, mag = _spectrum(audio, start_s=0.0, length_s=0.4)
    assert abs(freqs[np.argmax(mag)] - 440.0) <= 3
