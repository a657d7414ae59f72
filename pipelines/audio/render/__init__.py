"""MIDI to audio: timbre specs and morph curves, note shaping and block mixing, limits, the renderer, preset bank."""
