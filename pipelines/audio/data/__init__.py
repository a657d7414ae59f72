"""Data in: NSynth-format note corpora (read, write, build from a SoundFont), General MIDI names, MIDI files."""
