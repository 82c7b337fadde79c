"""Errors of the audio layer: each is a :class:`UserError` whose text says what to do."""

from composer_app.music.errors import UserError


class AudioUnavailable(UserError):
    """No sound from this backend: missing library, soundfont or audio driver.

    The app keeps working without sound (or through MIDI out) and shows the message.
    """


class SoundfontNotFound(AudioUnavailable):
    """No SoundFont was found, or the named one is missing or unreadable."""


class PortUnavailable(AudioUnavailable):
    """A MIDI output port that is absent, could not be opened, or disappeared."""
