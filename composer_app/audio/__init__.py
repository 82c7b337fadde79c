"""Synth backends, transport and offline render. No Qt."""
