"""Benchmarks of the audio layer: offline render speed and scheduling lateness."""

from __future__ import annotations

import statistics
import time

from composer_app.music import Note, Score, TempoChange, Track

from . import Benchmark, BenchResult, time_calls

RENDER_SECONDS = 60.0
JITTER_SECONDS = 10.0

# A I-IV-V-I progression voiced for SATB, repeated (pitches: soprano, alto, tenor, bass).
_CHORDS = [(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 67, 64, 48),
           (69, 64, 60, 57), (74, 65, 62, 50), (71, 67, 62, 43), (72, 64, 55, 48)]


def chorale(seconds: float, bpm: float = 90.0, subdivision: int = 1) -> Score:
    """A four-voice chorale-like score ``seconds`` long (``subdivision`` notes per beat)."""
    step = 480 // subdivision
    steps = int(round(seconds * bpm / 60.0 * subdivision))
    tracks = [Track(name, ch, 52) for ch, name in enumerate(("Soprano", "Alto", "Tenor", "Bass"))]
    notes = []
    for i in range(steps):
        chord = _CHORDS[i % len(_CHORDS)]
        for voice, pitch in enumerate(chord):
            notes.append(Note(pitch + (i // len(_CHORDS)) % 3 - 1, i * step, step, 80, voice))
    return Score(notes=notes, tracks=tracks, tempos=[TempoChange(0, bpm)])


def _render_60s(runs: int) -> BenchResult:
    from composer_app.audio.render import render_score
    from composer_app.audio.soundfont import find_soundfont

    if find_soundfont() is None:
        return BenchResult("render_60s", [float("nan")], extra={"skipped": "no soundfont"})
    score = chorale(RENDER_SECONDS)
    result = time_calls("render_60s", lambda: render_score(score), runs, warmup=1)
    median = statistics.median(result.samples)
    result.extra = {"realtime_factor": RENDER_SECONDS / median,
                    "audio_seconds": round(score.duration_seconds, 2)}
    return result


def _schedule_jitter(runs: int) -> BenchResult:
    """Lateness of every note event of a 10 s, four-voice sixteenth-note passage."""
    from composer_app.audio.backends import RecordingOutput
    from composer_app.audio.events import METRONOME_CHANNEL
    from composer_app.audio.transport import Transport

    score = chorale(JITTER_SECONDS, bpm=120.0, subdivision=4)
    lateness: list[float] = []
    for _ in range(max(1, runs)):
        out = RecordingOutput()
        transport = Transport(out)
        try:
            transport.play(score)
            origin = transport._anchor_mono - transport._anchor_pos
            while transport.is_playing:
                time.sleep(0.05)
            expected = [e[0] for e in transport._events if e[2] != METRONOME_CHANNEL]
        finally:
            transport.close()
        sent = [t for t, msg in out.messages if msg.type in ("note_on", "note_off")]
        if len(sent) != len(expected):
            raise RuntimeError(f"sent {len(sent)} note events, expected {len(expected)}")
        lateness += [s - (origin + e) for s, e in zip(sent, expected, strict=True)]
    ordered = sorted(lateness)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return BenchResult("schedule_jitter", lateness, extra={
        "median_ms": statistics.median(lateness) * 1000, "p99_ms": p99 * 1000,
        "max_ms": ordered[-1] * 1000, "events": len(lateness)})


BENCHES = [
    Benchmark("render_60s", _render_60s, default_runs=3,
              target="≥ 50× realtime (60 s in ≤ 1.2 s)"),
    Benchmark("schedule_jitter", _schedule_jitter, default_runs=1,
              target="p99 lateness ≤ 5 ms"),
]
