"""Signal processing shared by networks and tools: the additive harmonic-plus-noise synth, mag+IF spectrograms."""
