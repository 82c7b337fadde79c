"""``composer-app devices``: what the app can play through (the CLI adds the torch device).

Every probe is guarded: on a machine with no sound hardware the report says so, never
raises.
"""

from __future__ import annotations

import logging
import sys

from ._native import compiled_audio_drivers, fluidsynth_version, library_path, load_fluidsynth
from .backends import FluidSynthOutput, driver_candidates
from .errors import AudioUnavailable
from .ports import list_input_ports, list_output_ports
from .soundfont import ENV_VAR, find_soundfont

__all__ = ["devices_report"]

log = logging.getLogger(__name__)


def _fluidsynth_lines(probe_driver: bool) -> list[str]:
    try:
        fs = load_fluidsynth()
        version = fluidsynth_version()
    except AudioUnavailable as exc:
        return [f"FluidSynth:      not available ({exc})"]
    lines = [f"FluidSynth:      {version} ({library_path()})"]
    settings = fs.new_fluid_settings()
    try:
        compiled = compiled_audio_drivers(settings)
    finally:
        fs.delete_fluid_settings(settings)
    lines.append(f"audio drivers:   {', '.join(compiled) if compiled else 'unknown'}"
                 f" (tried in order: {', '.join(driver_candidates())})")
    buffer_ms = FluidSynthOutput.PERIOD_SIZE * FluidSynthOutput.PERIODS / 44.1
    lines.append(f"driver buffer:   {buffer_ms:.1f} ms at 44.1 kHz "
                 f"({FluidSynthOutput.PERIOD_SIZE} frames × {FluidSynthOutput.PERIODS} periods)")
    if probe_driver:
        try:
            out = FluidSynthOutput()
        except AudioUnavailable as exc:
            lines.append(f"audio output:    none ({exc})")
        else:
            try:
                lines.append(f"audio output:    {out.driver}, buffer latency "
                             f"{out.latency_s * 1000:.1f} ms")
            finally:
                out.close()
    return lines


def devices_report(probe_driver: bool = True) -> str:
    """A multi-line report for ``composer-app devices``; never raises."""
    lines: list[str] = [f"platform:        {sys.platform}"]
    try:
        lines += _fluidsynth_lines(probe_driver)
    except Exception as exc:
        log.debug("fluidsynth probe failed", exc_info=True)
        lines.append(f"FluidSynth:      probe failed ({exc})")
    try:
        sf = find_soundfont()
        lines.append(f"soundfont:       {sf if sf else f'none found (set {ENV_VAR})'}")
    except Exception as exc:
        lines.append(f"soundfont:       probe failed ({exc})")
    ports = list_output_ports()
    lines.append(f"MIDI out ports:  {', '.join(ports) if ports else 'none'}")
    ports = list_input_ports()
    lines.append(f"MIDI in ports:   {', '.join(ports) if ports else 'none'}")
    return "\n".join(lines)
