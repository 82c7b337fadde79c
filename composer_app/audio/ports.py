"""MIDI ports through mido's rtmidi backend, listed without ever raising."""

from __future__ import annotations

import logging

__all__ = ["list_output_ports", "list_input_ports"]

log = logging.getLogger(__name__)


def _names(kind: str) -> list[str]:
    from ._native import silence_alsa

    silence_alsa()
    try:
        import mido

        names = mido.get_output_names() if kind == "output" else mido.get_input_names()
        return list(dict.fromkeys(names))
    except Exception as exc:  # rtmidi's SystemError, missing backend, …
        log.debug("no MIDI %s ports: %s", kind, exc)
        return []


def list_output_ports() -> list[str]:
    """Names of the MIDI output ports, or [] when there are none or MIDI is unavailable.

    On Linux without an ALSA sequencer (no ``/dev/snd/seq``), rtmidi raises
    ``SystemError``; that simply means "no ports".
    """
    return _names("output")


def list_input_ports() -> list[str]:
    """Names of the MIDI input ports (keyboards), or [] as :func:`list_output_ports`."""
    return _names("input")
