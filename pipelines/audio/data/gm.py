"""General MIDI programs: names, the 16 GM groups, and the nearest NSynth instrument family.

General MIDI numbers melodic programs 0-127 in 16 groups of 8 (piano, chromatic percussion, organ, ...).
NSynth has 11 instrument families (``constants.FAMILIES``). A SoundFont-rendered corpus needs a family for
every program so that its notes carry NSynth metadata; this module is that table.

The mapping is by group (``GROUP_FAMILY``) with per-program overrides (``_FAMILY_OVERRIDES``) where an
instrument clearly belongs elsewhere by how it makes sound: voices → ``vocal``, free reeds (accordion,
harmonica) and bagpipe/shanai → ``reed``, plucked ethnic strings → ``guitar``, timpani → ``mallet``.
NSynth has no pad, effect or drum family; pads and effects map to ``synth_lead`` and pitched percussion to
``mallet`` (the nearest sustained / struck family respectively).
"""

from __future__ import annotations

from ..constants import FAMILIES

#: The 128 General MIDI Level 1 program names, index = program number (0-based).
GM_PROGRAM_NAMES: tuple[str, ...] = (
    # 0-7 piano
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
    # 8-15 chromatic percussion
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    # 16-23 organ
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion",
    "Harmonica", "Tango Accordion",
    # 24-31 guitar
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)", "Electric Guitar (clean)",
    "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics",
    # 32-39 bass
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    # 40-47 strings
    "Violin", "Viola", "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp",
    "Timpani",
    # 48-55 ensemble
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs",
    "Voice Oohs", "Synth Voice", "Orchestra Hit",
    # 56-63 brass
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section", "Synth Brass 1",
    "Synth Brass 2",
    # 64-71 reed
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet",
    # 72-79 pipe
    "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    # 80-87 synth lead
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
    "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    # 88-95 synth pad
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)",
    "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    # 96-103 synth effects
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)",
    "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    # 104-111 ethnic
    "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    # 112-119 percussive
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum",
    "Reverse Cymbal",
    # 120-127 sound effects
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter",
    "Applause", "Gunshot",
)

#: The 16 GM groups of 8 programs each, in program order.
GM_GROUPS: tuple[str, ...] = (
    "piano", "chromatic_percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
    "reed", "pipe", "synth_lead", "synth_pad", "synth_effects", "ethnic", "percussive", "sound_effects",
)

#: Nearest NSynth family for each GM group (before per-program overrides).
GROUP_FAMILY: dict[str, str] = {
    "piano": "keyboard",
    "chromatic_percussion": "mallet",
    "organ": "organ",
    "guitar": "guitar",
    "bass": "bass",
    "strings": "string",
    "ensemble": "string",
    "brass": "brass",
    "reed": "reed",
    "pipe": "flute",
    "synth_lead": "synth_lead",
    "synth_pad": "synth_lead",       # NSynth has no pad family; pads are sustained synth tones
    "synth_effects": "synth_lead",
    "ethnic": "guitar",              # most of the group are plucked strings; the rest are overridden
    "percussive": "mallet",          # pitched struck sounds; NSynth has no drum family
    "sound_effects": "synth_lead",
}

# Programs whose sound-production differs from their group's default family.
_FAMILY_OVERRIDES: dict[int, str] = {
    21: "reed", 22: "reed", 23: "reed",          # accordion, harmonica, tango accordion: free reeds
    47: "mallet",                                 # timpani: struck
    52: "vocal", 53: "vocal", 54: "vocal",        # choir aahs, voice oohs, synth voice
    55: "brass",                                  # orchestra hit: a brass-led stab
    91: "vocal",                                  # pad 4 (choir)
    108: "mallet",                                # kalimba: struck tines
    109: "reed", 111: "reed",                     # bagpipe, shanai
    110: "string",                                # fiddle: bowed
    120: "guitar",                                # guitar fret noise
    121: "flute",                                 # breath noise
}

assert len(GM_PROGRAM_NAMES) == 128 and len(GM_GROUPS) == 16
assert all(f in FAMILIES for f in GROUP_FAMILY.values()) and all(f in FAMILIES for f in _FAMILY_OVERRIDES.values())


#: the default corpus: two GM programs from each of the 15 pitched GM families (the 16th, sound effects, is
#: unpitched) — the instruments the shipped audio-default was trained on
DEFAULT_PROGRAMS = (0, 4, 11, 12, 16, 21, 24, 27, 32, 33, 40, 42, 48, 52, 56, 60, 65, 71, 73, 75, 80, 81, 88, 89,
                    98, 99, 104, 105, 112, 114)
#: programs kept out of the default corpus, for the hold-out fit: harpsichord, viola, tenor sax, recorder
HELDOUT_PROGRAMS = (6, 41, 66, 74)
#: velocity layers of the default corpus
DEFAULT_VELOCITIES = (40, 80, 120)


def _check_program(program: int) -> int:
    if isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127:
        raise ValueError(f"GM program must be an integer 0-127, got {program!r}")
    return program


def gm_group(program: int) -> str:
    """GM group name of a 0-based program number (e.g. 40 → ``"strings"``)."""
    return GM_GROUPS[_check_program(program) // 8]


def gm_family(program: int) -> str:
    """Nearest NSynth family name of a 0-based GM program (e.g. 0 → ``"keyboard"``, 52 → ``"vocal"``)."""
    program = _check_program(program)
    return _FAMILY_OVERRIDES.get(program, GROUP_FAMILY[GM_GROUPS[program // 8]])


def gm_name(program: int) -> str:
    """GM Level 1 name of a 0-based program (e.g. 73 → ``"Flute"``)."""
    return GM_PROGRAM_NAMES[_check_program(program)]


def program_number(name_or_number: int | str) -> int:
    """Resolve a program given as 0-127, a digit string, or a (case-insensitive) GM name or unique prefix.

    ``program_number("violin") == 40``, ``program_number("alto") == 65``. Raises ``ValueError`` with one
    line when the name is unknown or ambiguous.
    """
    if isinstance(name_or_number, int) and not isinstance(name_or_number, bool):
        return _check_program(name_or_number)
    text = str(name_or_number).strip().lower()
    if text.isdigit():
        return _check_program(int(text))
    names = [n.lower() for n in GM_PROGRAM_NAMES]
    if text in names:
        return names.index(text)
    hits = [i for i, n in enumerate(names) if n.startswith(text) or f" {text}" in f" {n}"]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise ValueError(f"unknown General MIDI program name {name_or_number!r}")
    listed = ", ".join(f"{i} {GM_PROGRAM_NAMES[i]}" for i in hits[:6])
    raise ValueError(f"ambiguous General MIDI program name {name_or_number!r}: matches {listed}")
