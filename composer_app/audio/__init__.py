"""Synth backends, transport and offline render. No Qt.

Modules (import the one you need; this package imports nothing heavy):

- ``backends``: ``Output`` and its subclasses ``FluidSynthOutput``, ``MidiPortOutput``,
  ``RecordingOutput``, ``SilentOutput``; ``open_output`` picks one with fallbacks.
- ``soundfont``: ``find_soundfont``, ``resolve_soundfont``, ``SOUNDFONT_HELP``.
- ``ports``: ``list_output_ports`` (never raises).
- ``transport``: ``Transport`` (play, pause, stop, loop, metronome, preview, playhead).
- ``render``: ``render_score`` (int16 stereo array) and ``render_to_wav``.
- ``devices``: ``devices_report`` for ``composer-app devices``.
- ``errors``: ``AudioUnavailable`` (a ``UserError``), ``SoundfontNotFound``, ``PortUnavailable``.
"""
