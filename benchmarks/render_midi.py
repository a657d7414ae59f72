"""Benchmark: our MIDI renderer (learned timbres) against FluidSynth (FluidR3_GM SoundFont) on one MIDI file.

    python benchmarks/render_midi.py --synthetic                 # test additive-synth source, no model needed
    python benchmarks/render_midi.py --model audio-default       # a release model via creative_gan.load

It writes a deterministic 2,000-note, 4-track, 150-s MIDI file, renders it with each renderer in its own
subprocess (so peak RSS is that renderer's alone) to a 16-bit WAV at the same sample rate, and prints
real-time factor (audio seconds per wall second, higher is faster), their ratio, and memory.
Ours renders with a 4-anchor timbre morph. Start-up costs (model load, SoundFont load) are reported
separately and are not part of the render time; both render times include writing the WAV.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
DEFAULT_MORPH = "0:seed:11,50:seed:22,100:seed:33,150:seed:44"


def build_midi(path: Path, notes: int = 2000, seconds: float = 150.0, seed: int = 0) -> Path:
    """Write a 4-track piece (melody, counter-melody, chords, bass) with exactly `notes` notes over `seconds`.

    Split: 30 % melody (eighths), 25 % counter-melody, 30 % chords (triads), 15 % bass; pitches follow a
    I-vi-IV-V progression in C with a seeded random walk, so the file is the same on every run.
    """
    import pretty_midi

    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    progression = [(0, 4, 7), (9, 12, 16), (5, 9, 12), (7, 11, 14)]       # C, Am, F, G (semitones from C)
    scale = np.array([0, 2, 4, 5, 7, 9, 11])
    melody_n, counter_n = int(notes * 0.30), int(notes * 0.25)
    bass_n = int(notes * 0.15)
    chord_n = (notes - melody_n - counter_n - bass_n) // 3
    bass_n = notes - melody_n - counter_n - 3 * chord_n                    # exact total

    def chord_at(t: float):
        return progression[int(t / (seconds / 16)) % len(progression)]     # 16 chord changes per piece

    def walk(inst, count, low, high, legato):
        step, degree = seconds / count, 14
        for i in range(count):
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 3 * len(scale) - 1))
            pitch = low + 12 * (degree // len(scale)) + scale[degree % len(scale)]
            start = i * step
            inst.notes.append(pretty_midi.Note(int(rng.integers(60, 110)), int(min(pitch, high)), start,
                                               start + step * legato))

    melody = pretty_midi.Instrument(73, name="melody")
    counter = pretty_midi.Instrument(40, name="counter-melody")
    chords = pretty_midi.Instrument(0, name="chords")
    bass = pretty_midi.Instrument(32, name="bass")
    walk(melody, melody_n, 60, 96, 0.9)
    walk(counter, counter_n, 48, 79, 1.3)                                   # overlapping, legato line
    for i in range(chord_n):
        start = i * seconds / chord_n
        for interval in chord_at(start):
            chords.notes.append(pretty_midi.Note(70, 48 + interval, start, start + seconds / chord_n * 0.95))
    for i in range(bass_n):
        start = i * seconds / bass_n
        root = chord_at(start)[0]
        bass.notes.append(pretty_midi.Note(95, 36 + root - (12 if i % 4 == 3 else 0), start,
                                           start + seconds / bass_n * 0.8))
    pm.instruments += [melody, counter, chords, bass]
    pm.write(str(path))
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024        # Linux: kilobytes


def load_fake_source():
    """The deterministic additive-synth NoteSource from the test suite (no model weights needed)."""
    spec = importlib.util.spec_from_file_location("fake_source", ROOT / "tests/pipelines/audio/fake_source.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FakeNoteSource()


def load_model_source(name: str):
    """creative_gan.load(name) -> a NoteSource (the loaded pipeline, or its `note_source` attribute)."""
    import creative_gan                                                     # lazily: only for --model
    pipe = creative_gan.load(name)
    return getattr(pipe, "note_source", pipe)


def worker_ours(args) -> dict:
    from creative_gan.pipelines.audio.render.render import render_midi
    from creative_gan.threads import configure_threads

    configure_threads(inference=True)          # the thread policy `creative-gan render` uses

    started = time.perf_counter()
    source = load_fake_source() if args.synthetic else load_model_source(args.model)
    load_s = time.perf_counter() - started
    rss_before = peak_rss_mb()
    result = render_midi(source, args.midi, args.wav, morph=args.morph, sample_rate=args.sample_rate,
                         progress=False)
    summary = result.summary
    return {"renderer": "creative_gan" + (" (synthetic source)" if args.synthetic else f" ({args.model})"),
            "load_s": load_s, "render_s": summary["render_s"], "audio_s": summary["duration_s"],
            "notes": summary["notes_rendered"], "unique_notes_generated": summary["unique_notes_generated"],
            "generate_calls": summary["generate_calls"], "generate_s": summary["generate_s"],
            "rss_before_mb": rss_before,
            "rss_peak_mb": peak_rss_mb()}


def worker_fluidsynth(args) -> dict:
    import fluidsynth
    import pretty_midi
    import soundfile as sf

    started = time.perf_counter()
    synth = fluidsynth.Synth(samplerate=float(args.sample_rate))            # SoundFont loaded once, reused
    sfid = synth.sfload(args.soundfont)
    load_s = time.perf_counter() - started
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    pm = pretty_midi.PrettyMIDI(args.midi)
    audio = pm.fluidsynth(fs=args.sample_rate, synthesizer=synth, sfid=sfid)
    audio = audio / max(np.abs(audio).max(), 1e-9) * 10 ** (-1 / 20)      # same -1 dBFS peak as ours
    sf.write(args.wav, audio.astype(np.float32), args.sample_rate, subtype="PCM_16")
    render_s = time.perf_counter() - started
    synth.delete()
    return {"renderer": "FluidSynth (FluidR3_GM)", "load_s": load_s, "render_s": render_s,
            "audio_s": len(audio) / args.sample_rate, "notes": sum(len(i.notes) for i in pm.instruments),
            "rss_before_mb": rss_before, "rss_peak_mb": peak_rss_mb()}


def run_worker(kind: str, args, midi: Path, out_dir: Path) -> dict:
    command = [sys.executable, __file__, "--worker", kind, "--midi", str(midi),
               "--wav", str(out_dir / f"{kind}.wav"), "--sample-rate", str(args.sample_rate),
               "--morph", args.morph, "--soundfont", args.soundfont]
    command += ["--synthetic"] if args.synthetic else ["--model", args.model]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), *sys.path])))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{kind} renderer failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="release model name or path for creative_gan.load")
    parser.add_argument("--synthetic", action="store_true", help="use the test suite's additive-synth source")
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--morph", default=DEFAULT_MORPH, help="4-anchor morph for our renderer")
    parser.add_argument("--soundfont", default=SOUNDFONT)
    parser.add_argument("--out", help="folder for the MIDI, WAVs and results.json (default: a temp folder)")
    parser.add_argument("--worker", choices=["ours", "fluidsynth"], help=argparse.SUPPRESS)
    parser.add_argument("--midi", help=argparse.SUPPRESS)
    parser.add_argument("--wav", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps((worker_ours if args.worker == "ours" else worker_fluidsynth)(args)))
        return 0
    if not args.synthetic and not args.model:
        parser.error("give --model NAME_OR_PATH or --synthetic")
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="render_bench_"))
    out_dir.mkdir(parents=True, exist_ok=True)
    midi = build_midi(out_dir / f"bench_{args.notes}.mid", args.notes, args.seconds)
    results = [run_worker("ours", args, midi, out_dir), run_worker("fluidsynth", args, midi, out_dir)]
    for row in results:
        row["realtime_factor"] = row["audio_s"] / row["render_s"]
        row["rss_render_mb"] = row["rss_peak_mb"] - row["rss_before_mb"]
    ours, fluid = results
    print(f"MIDI: {midi.name}: {args.notes} notes, 4 tracks, {args.seconds:g} s; {args.sample_rate} Hz; "
          f"morph {args.morph}")
    print(f"{'renderer':38s} {'load s':>7s} {'render s':>9s} {'audio s':>8s} {'x realtime':>10s} "
          f"{'peak RSS MB':>11s} {'+ during render':>15s}")
    for row in results:
        print(f"{row['renderer']:38s} {row['load_s']:7.2f} {row['render_s']:9.2f} {row['audio_s']:8.1f} "
              f"{row['realtime_factor']:10.1f} {row['rss_peak_mb']:11.0f} {row['rss_render_mb']:15.1f}")
    ratio = ours["realtime_factor"] / fluid["realtime_factor"]
    print(f"ratio (ours / FluidSynth real-time factor): {ratio:.3f}  "
          f"({1 / ratio:.1f}x slower)" if ratio < 1 else f"ratio: {ratio:.3f}")
    overhead_s = ours["render_s"] - ours["generate_s"]
    print(f"ours: {ours['unique_notes_generated']} notes generated in {ours['generate_calls']} batched calls, "
          f"{ours['generate_s']:.2f} s inside source.synthesize; the renderer itself (parse, shape, loop, mix, "
          f"normalise, write) took {overhead_s:.2f} s = {ours['audio_s'] / overhead_s:.1f}x realtime")
    (out_dir / "results.json").write_text(json.dumps({"results": results, "ratio": ratio}, indent=2))
    print(f"files in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
