"""Fixed facts of the NSynth note format that every audio module shares."""

SAMPLE_RATE = 16_000          # Hz
NOTE_SECONDS = 4.0            # seconds rendered per note
NOTE_SAMPLES = 64_000         # SAMPLE_RATE * NOTE_SECONDS
NOTE_OFF_SECONDS = 3.0        # note-off time inside the 4-s clip (NSynth protocol)
PITCH_MIN = 24                # default model pitch range (MIDI, inclusive)
PITCH_MAX = 84

FAMILIES = (
    "bass", "brass", "flute", "guitar", "keyboard", "mallet",
    "organ", "reed", "string", "synth_lead", "vocal",
)
SOURCES = ("acoustic", "electronic", "synthetic")
QUALITIES = (
    "bright", "dark", "distortion", "fast_decay", "long_release",
    "multiphonic", "nonlinear_env", "percussive", "reverb", "tempo-synced",
)
