"""MIDI output ports through mido's rtmidi backend, listed without ever raising."""

from __future__ import annotations

import logging

__all__ = ["list_output_ports"]

log = logging.getLogger(__name__)


def list_output_ports() -> list[str]:
    """Names of the MIDI output ports, or [] when there are none or MIDI is unavailable.

    On Linux without an ALSA sequencer (no ``/dev/snd/seq``), rtmidi raises
    ``SystemError``; that simply means "no ports".
    """
    from ._native import silence_alsa

    silence_alsa()
    try:
        import mido

        return list(dict.fromkeys(mido.get_output_names()))
    except Exception as exc:  # rtmidi's SystemError, missing backend, …
        log.debug("no MIDI output ports: %s", exc)
        return []
