"""General MIDI facts in one place: the percussion channel, program and drum-note names.

Channels and programs are 0-based here, as MIDI sends them (the UI shows channel + 1 and
program + 1).
"""

from __future__ import annotations

__all__ = [
    "DRUM_CHANNEL", "MELODIC_CHANNELS", "PROGRAM_NAMES", "CHOIR_AAHS",
    "HI_WOOD_BLOCK", "LOW_WOOD_BLOCK", "DRUM_NAMES", "drum_name", "free_melodic_channel",
    "melodic_channel",
]

DRUM_CHANNEL = 9  # channel 10 as musicians count: General MIDI percussion
MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)

CHOIR_AAHS = 52  # program of the harmonizer's four voices
# Percussion notes (on DRUM_CHANNEL) the app itself plays: the metronome's click.
HI_WOOD_BLOCK, LOW_WOOD_BLOCK = 76, 77


def melodic_channel(index: int) -> int:
    """The channel of the ``index``-th voice when voices take channels in turn, skipping
    the percussion channel (voice 9 gets channel 10, voice 15 channel 0 again)."""
    return MELODIC_CHANNELS[index % len(MELODIC_CHANNELS)]


def free_melodic_channel(used, default: int) -> int:
    """The lowest channel not in ``used`` and not the percussion channel, else ``default``."""
    used = set(used)
    return next((c for c in MELODIC_CHANNELS if c not in used), default)


PROGRAM_NAMES = [
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel",
    "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion",
    "Harmonica", "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)", "Electric Guitar (clean)", "Electric Guitar (muted)",
    "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics", "Acoustic Bass",
    "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani", "String Ensemble 1",
    "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
    "Synth Voice", "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2", "Soprano Sax", "Alto Sax",
    "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet", "Piccolo",
    "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)",
    "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)", "FX 1 (rain)", "FX 2 (soundtrack)",
    "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)", "FX 6 (goblins)",
    "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba",
    "Bagpipe", "Fiddle", "Shanai", "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal", "Guitar Fret Noise",
    "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
]
assert len(PROGRAM_NAMES) == 128


# General MIDI percussion key map (notes on DRUM_CHANNEL), 35-81.
DRUM_NAMES = dict(enumerate([
    "Acoustic Bass Drum", "Bass Drum 1", "Side Stick", "Acoustic Snare", "Hand Clap",
    "Electric Snare", "Low Floor Tom", "Closed Hi-Hat", "High Floor Tom", "Pedal Hi-Hat",
    "Low Tom", "Open Hi-Hat", "Low-Mid Tom", "Hi-Mid Tom", "Crash Cymbal 1", "High Tom",
    "Ride Cymbal 1", "Chinese Cymbal", "Ride Bell", "Tambourine", "Splash Cymbal", "Cowbell",
    "Crash Cymbal 2", "Vibraslap", "Ride Cymbal 2", "Hi Bongo", "Low Bongo", "Mute Hi Conga",
    "Open Hi Conga", "Low Conga", "High Timbale", "Low Timbale", "High Agogo", "Low Agogo",
    "Cabasa", "Maracas", "Short Whistle", "Long Whistle", "Short Guiro", "Long Guiro",
    "Claves", "Hi Wood Block", "Low Wood Block", "Mute Cuica", "Open Cuica", "Mute Triangle",
    "Open Triangle",
], start=35))
assert DRUM_NAMES[HI_WOOD_BLOCK] == "Hi Wood Block" and DRUM_NAMES[81] == "Open Triangle"


def drum_name(note: int) -> str:
    """The General MIDI name of percussion note ``note`` ("Drum 90" off the map)."""
    return DRUM_NAMES.get(note, f"Drum {note}")
