"""Write the small example MIDI files in this folder (public-domain melodies, encoded by hand with pretty_midi).

    python examples/make_examples.py            # rewrites examples/*.mid
    creative-gan render audio examples/ode_to_joy.mid --morph "0:bright,20:warm"

Files: ode_to_joy.mid (melody + bass), minuet_in_g.mid (two voices, Minuet in G, BWV Anh. 114),
twinkle_chords.mid (melody + block chords), groove_with_drums.mid (4 tracks incl. drums, which the
renderer skips and counts; one very low and one very high note it moves by octaves; a long final pad chord
that needs the sustain loop). Each is 15-40 s long and a few hundred bytes.
"""
from __future__ import annotations

from pathlib import Path

import pretty_midi

HERE = Path(__file__).resolve().parent


def add_line(inst: pretty_midi.Instrument, line, bpm: float, velocity: int = 90, start_beat: float = 0.0,
             legato: float = 0.92) -> float:
    """Append notes [(name or names or None for a rest, beats)] to `inst`; returns the beat after the line."""
    beat = start_beat
    seconds_per_beat = 60.0 / bpm
    for names, beats in line:
        if names is not None:
            for name in ([names] if isinstance(names, str) else names):
                pitch = pretty_midi.note_name_to_number(name)
                inst.notes.append(pretty_midi.Note(velocity, pitch, beat * seconds_per_beat,
                                                   (beat + beats * legato) * seconds_per_beat))
        beat += beats
    return beat


def quarters(names: str, beats: float = 1.0):
    return [(name, beats) for name in names.split()]


def ode_to_joy() -> pretty_midi.PrettyMIDI:
    bpm = 100
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    melody = pretty_midi.Instrument(program=73, name="melody")     # flute
    bass = pretty_midi.Instrument(program=32, name="bass")         # acoustic bass
    a = quarters("E5 E5 F5 G5 G5 F5 E5 D5 C5 C5 D5 E5")
    phrase_a = a + [("E5", 1.5), ("D5", 0.5), ("D5", 2)]
    phrase_a2 = a + [("D5", 1.5), ("C5", 0.5), ("C5", 2)]
    phrase_b = (quarters("D5 D5 E5 C5 D5") + [("E5", 0.5), ("F5", 0.5)] + quarters("E5 C5 D5")
                + [("E5", 0.5), ("F5", 0.5)] + quarters("E5 D5 C5 D5") + [("G4", 2)])
    add_line(melody, phrase_a + phrase_a2 + phrase_b + phrase_a2, bpm)
    tonic, dominant = [("C3", 2), ("G2", 2)], [("G2", 2), ("D3", 2)]
    cadence = [("G2", 2), ("C3", 2)]
    section_a = tonic + dominant + tonic + dominant
    section_a2 = tonic + dominant + tonic + cadence
    section_b = dominant + tonic + dominant + [("C3", 2), ("G2", 2)]
    add_line(bass, section_a + section_a2 + section_b + section_a2, bpm, velocity=75)
    pm.instruments += [melody, bass]
    return pm


def minuet_in_g() -> pretty_midi.PrettyMIDI:
    bpm = 110
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    right = pretty_midi.Instrument(program=6, name="right hand")    # harpsichord
    left = pretty_midi.Instrument(program=6, name="left hand")
    e = 0.5
    bars_1_6 = ([("D5", 1), ("G4", e), ("A4", e), ("B4", e), ("C5", e), ("D5", 1), ("G4", 1), ("G4", 1),
                 ("E5", 1), ("C5", e), ("D5", e), ("E5", e), ("F#5", e), ("G5", 1), ("G4", 1), ("G4", 1),
                 ("C5", 1), ("D5", e), ("C5", e), ("B4", e), ("A4", e),
                 ("B4", 1), ("C5", e), ("B4", e), ("A4", e), ("G4", e)])
    first_ending = [("F#4", 1), ("G4", e), ("A4", e), ("B4", e), ("G4", e), ("A4", 3)]
    second_ending = [("A4", 1), ("B4", e), ("A4", e), ("G4", e), ("F#4", e), ("G4", 3)]
    add_line(right, bars_1_6 + first_ending + bars_1_6 + second_ending, bpm)
    left_1_6 = [("G3", 2), ("A3", 1), ("B3", 3), ("C4", 3), ("B3", 3), ("A3", 3), ("G3", 3)]
    add_line(left, left_1_6 + [("D4", 2), ("B3", 1), ("D4", 1), ("D3", 1), ("C4", 1)]
             + left_1_6 + [("B3", 1), ("D4", 1), ("D3", 1), ("G3", 2), ("G2", 1)], bpm, velocity=70)
    pm.instruments += [right, left]
    return pm


def twinkle_chords() -> pretty_midi.PrettyMIDI:
    bpm = 100
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    melody = pretty_midi.Instrument(program=0, name="melody")       # piano
    chords = pretty_midi.Instrument(program=0, name="chords")
    line_1 = quarters("C5 C5 G5 G5 A5 A5") + [("G5", 2)]
    line_2 = quarters("F5 F5 E5 E5 D5 D5") + [("C5", 2)]
    line_3 = quarters("G5 G5 F5 F5 E5 E5") + [("D5", 2)]
    add_line(melody, line_1 + line_2 + line_3 + line_3 + line_1 + line_2, bpm)
    c, f, g = ("C4", "E4", "G4"), ("F3", "A3", "C4"), ("G3", "B3", "D4")
    chords_1, chords_2, chords_3 = [c, c, f, c], [f, c, g, c], [c, f, c, g]
    progression = chords_1 + chords_2 + chords_3 + chords_3 + chords_1 + chords_2
    add_line(chords, [(chord, 2) for chord in progression], bpm, velocity=60)
    pm.instruments += [melody, chords]
    return pm


def groove_with_drums() -> pretty_midi.PrettyMIDI:
    bpm = 110
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    bass = pretty_midi.Instrument(program=33, name="bass")
    pad = pretty_midi.Instrument(program=89, name="pad")
    lead = pretty_midi.Instrument(program=81, name="lead")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    roots = ["A1", "F1", "C2", "G1"] * 3
    triads = {"A1": ("A3", "C4", "E4"), "F1": ("F3", "A3", "C4"), "C2": ("G3", "C4", "E4"),
              "G1": ("G3", "B3", "D4")}
    for bar, root in enumerate(roots):
        octave_up = root[0] + str(int(root[1]) + 1)
        add_line(bass, [(root, 1), (root, 0.5), (octave_up, 0.5), (root, 1), (None, 0.5), (root, 0.5)],
                 bpm, velocity=100, start_beat=bar * 4, legato=0.8)
        add_line(pad, [(triads[root], 4)], bpm, velocity=55, start_beat=bar * 4, legato=0.98)
        chord = triads[root]
        arpeggio = [chord[0], chord[1], chord[2], chord[1]] * 2
        up = [name[:-1] + str(int(name[-1]) + 1) for name in arpeggio]
        add_line(lead, [(name, 0.5) for name in up], bpm, velocity=80 if bar % 2 else 95,
                 start_beat=bar * 4, legato=0.6)
        for beat in range(8):
            hits = ["F#2"] + (["C2"] if beat in (0, 3, 4) else []) + (["D2"] if beat in (2, 6) else [])
            add_line(drums, [(hits, 0.5)], bpm, velocity=100 if beat % 2 == 0 else 70,
                     start_beat=bar * 4 + beat * 0.5, legato=0.3)
    end = len(roots) * 4
    add_line(pad, [(("A3", "C4", "E4"), 12)], bpm, velocity=60, start_beat=end)     # ~6.5 s held chord
    add_line(bass, [("A0", 8)], bpm, velocity=90, start_beat=end)                   # pitch 21: below 24
    add_line(lead, [("C7", 2)], bpm, velocity=70, start_beat=end + 2)               # pitch 96: above 84
    pm.instruments += [bass, pad, lead, drums]
    return pm


EXAMPLES = {
    "ode_to_joy.mid": ode_to_joy,
    "minuet_in_g.mid": minuet_in_g,
    "twinkle_chords.mid": twinkle_chords,
    "groove_with_drums.mid": groove_with_drums,
}


def main(folder: Path = HERE) -> list[Path]:
    written = []
    for name, build in EXAMPLES.items():
        pm = build()
        path = folder / name
        pm.write(str(path))
        written.append(path)
        print(f"{name}: {pm.get_end_time():.1f} s, {sum(len(i.notes) for i in pm.instruments)} notes, "
              f"{path.stat().st_size} bytes")
    return written


if __name__ == "__main__":
    main()
