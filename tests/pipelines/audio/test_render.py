"""The MIDI renderer (pipelines/audio/render/render.py) with a deterministic additive-synth NoteSource."""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import torch
from PIL import Image

from creative_gan.pipelines.audio.data.midi_notes import move_into_range
from creative_gan.pipelines.audio.pictures import piano_roll_png, spectrogram_png
from creative_gan.pipelines.audio.render.render import RenderError, RenderWarning, render_midi
from creative_gan.layers import slerp

try:                                    # works whether or not tests/ is a package
    from .fake_source import FakeNoteSource
except ImportError:
    from fake_source import FakeNoteSource

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SR = 16_000
HEADROOM = 10 ** (-1.0 / 20)            # default headroom_db = 1 -> peak 0.891


def make_midi(notes, drums=(), program=0) -> pretty_midi.PrettyMIDI:
    """notes: [(pitch, start_s, end_s, velocity)] on one piano track; drums likewise on a drum track."""
    pm = pretty_midi.PrettyMIDI()
    for group, is_drum in ((notes, False), (drums, True)):
        if group:
            inst = pretty_midi.Instrument(program, is_drum=is_drum)
            inst.notes = [pretty_midi.Note(int(v), int(p), float(s), float(max(s, e))) for p, s, e, v in group]
            for note, (_, _, end, _) in zip(inst.notes, group):
                note.end = float(end)       # pretty_midi refuses end < start in Note(); files can have it
            pm.instruments.append(inst)
    return pm


def render(source, midi, out_path=None, **options):
    options.setdefault("progress", False)
    return render_midi(source, midi, out_path, **options)


def peak_frequency(audio: np.ndarray, rate: int = SR) -> float:
    """Frequency (Hz) of the strongest spectral peak, 8x zero-padded FFT + parabolic interpolation."""
    n = 8 * len(audio)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), n))
    k = int(np.argmax(spectrum[1:-1])) + 1
    left, mid, right = np.log(spectrum[k - 1:k + 2] + 1e-12)
    return (k + 0.5 * (left - right) / (left - 2 * mid + right)) * rate / n


def fundamental_timbre(source) -> torch.Tensor:
    """A z whose harmonic amplitudes put ~all energy in the fundamental (so the FFT peak is the pitch)."""
    target = torch.zeros(source.mix.shape[0])
    target[0] = 12.0
    return torch.linalg.lstsq(source.mix, target[:, None]).solution[:, 0]


@pytest.fixture
def source():
    return FakeNoteSource()


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- rendering behaviour

def test_render_examples_to_files(source, tmp_path):
    cases = (("ode_to_joy", 0, 0, "bright"), ("minuet_in_g", 0, 0, "warm"), ("twinkle_chords", 0, 0, "hollow"),
             ("groove_with_drums", 156, 2, "0:bright,10:warm,20:hollow"))
    for name, drums, transposed, morph in cases:
        midi = EXAMPLES / f"{name}.mid"
        with pytest.warns(RenderWarning) if drums else _no_warning():
            result = render(source, midi, tmp_path / f"{name}.wav", morph=morph)
        audio, rate = sf.read(result.path, dtype="int16")
        end = pretty_midi.PrettyMIDI(str(midi)).get_end_time()
        assert rate == SR and abs(len(audio) / SR - (end + 0.3)) < 0.05
        assert 0.85 * 32767 < np.abs(audio.astype(np.int32)).max() < 32767
        summary = result.summary
        assert summary["notes_skipped_drums"] == drums and summary["notes_transposed"] == transposed
        assert summary["notes_rendered"] > 80 and summary["realtime_factor"] > 0
        assert result.audio is None
    assert listing(tmp_path) == ["groove_with_drums.wav", "minuet_in_g.wav", "ode_to_joy.wav",
                                 "twinkle_chords.wav"]
    assert source.notes_generated < 450                          # repeated notes of one timbre are reused


class _no_warning:
    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error", RenderWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


@pytest.mark.parametrize("pitch", [36, 60, 81])
def test_single_note_pitch(source, pitch):
    z = fundamental_timbre(source)
    assert source.harmonic_amplitudes(z[None])[0, 0] > 0.9
    result = render(source, make_midi([(pitch, 0.0, 1.0, 100)]), timbres=z)
    assert result.audio.shape == (int(1.3 * SR),)
    expected = 440.0 * 2 ** ((pitch - 69) / 12)
    assert abs(12 * np.log2(peak_frequency(result.audio[:SR]) / expected)) < 0.05   # cents, not semitones


def test_long_note_sustained_without_gap_or_click(source):
    result = render(source, make_midi([(57, 0.0, 10.0, 100)]), timbres="warm", release=0.3)
    audio = result.audio
    assert len(audio) == int(10.3 * SR)
    frames = audio[: 10 * SR].reshape(-1, 320)                         # 20-ms frames
    rms = np.sqrt((frames ** 2).mean(axis=1))
    reference = rms[int(2.8 * 50)]
    assert rms[1:].min() > 0.5 * reference                              # no gap, no dip at any seam
    assert rms[int(3 * 50):].max() < 1.5 * reference                    # no swelling either
    steps = np.abs(np.diff(audio))
    natural = steps[int(0.1 * SR):int(2.8 * SR)].max()                  # the generated clip itself
    assert steps[int(2.8 * SR):10 * SR].max() < 1.1 * natural           # no click at any loop seam
    assert abs(audio[-1]) < 1e-3                                        # release ends at silence


def test_drums_skipped_counted_and_announced(source):
    pm = make_midi([(60, 0.0, 0.5, 100)], drums=[(36, 0.0, 0.1, 100), (38, 0.5, 0.6, 100)])
    with pytest.warns(RenderWarning, match="skipped 2 drum notes"):
        result = render(source, pm)
    assert result.summary["notes_skipped_drums"] == 2 and result.summary["notes_rendered"] == 1
    assert [t["is_drum"] for t in result.summary["tracks"]] == [False, True]
    assert result.summary["tracks"][1]["timbre"] is None


def test_out_of_range_pitches_transposed_by_octaves(source):
    pm = make_midi([(0, 0.0, 0.3, 90), (127, 0.2, 0.5, 90), (20, 0.4, 0.7, 90), (90, 0.6, 0.9, 90),
                    (60, 0.8, 1.0, 90)])
    with pytest.warns(RenderWarning, match="transposed 4 notes"):
        result = render(source, pm)
    assert result.summary["notes_transposed"] == 4 and result.summary["notes_rendered"] == 5
    generated = sorted(p for call in source.calls for p in call["pitches"])
    assert generated == [24, 32, 60, 78, 79]
    assert list(move_into_range(np.array([0, 127, 20, 90, 24, 84]), 24, 84)) == [24, 79, 32, 78, 24, 84]
    narrow = move_into_range(np.arange(128), 60, 64)               # narrower than an octave: clamped
    assert narrow.min() == 60 and narrow.max() == 64


def test_tempo_change_respected(source, tmp_path):
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))        # 120 bpm: beat = 0.5 s
    track.append(mido.Message("note_on", note=60, velocity=100, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=240))
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=1680))   # at beat 4 (2 s): 60 bpm
    track.append(mido.Message("note_on", note=67, velocity=100, time=960))    # beat 6 -> 2 s + 2 s = 4 s
    track.append(mido.Message("note_off", note=67, velocity=0, time=480))
    path = tmp_path / "tempo.mid"
    midi.save(path)
    result = render(source, path, release=0.05)
    audio = np.abs(result.audio)
    onset = np.argmax(audio[int(1.0 * SR):] > 0.05) / SR + 1.0
    assert abs(onset - 4.0) < 0.01
    assert abs(len(audio) / SR - 5.05) < 0.01              # one beat at 60 bpm = 1 s, plus 0.05-s release


def test_peak_normalised_on_absolute_peak(tmp_path):
    class NegativeSource(FakeNoteSource):      # all-negative output: a signed-max normaliser would blow up
        def synthesize(self, *args, **kwargs):
            return -super().synthesize(*args, **kwargs) ** 2

    pm = make_midi([(60, 0.0, 1.0, 127), (64, 0.5, 1.5, 60)])
    result = render(NegativeSource(), pm, headroom_db=1.0)
    assert result.audio.max() <= 0.0
    assert abs(np.abs(result.audio).max() - HEADROOM) < 1e-4
    written = render(NegativeSource(), pm, tmp_path / "neg.wav", headroom_db=0.1)
    pcm, _ = sf.read(written.path, dtype="int16")
    assert pcm.max() <= 0 and abs(-int(pcm.min()) / 32767 - 10 ** (-0.1 / 20)) < 1e-3   # near full scale


def test_resample_to_44100(source, tmp_path):
    pm = make_midi([(69, 0.0, 1.7, 100)])
    native = render(source, pm)
    result = render(source, pm, tmp_path / "hi.wav", sample_rate=44_100)
    audio, rate = sf.read(result.path)
    assert rate == 44_100 and result.summary["sample_rate"] == 44_100
    assert abs(len(audio) - len(native.audio) * 44_100 / SR) <= 1
    spectrum = np.abs(np.fft.rfft(audio[:44_100] * np.hanning(44_100)))
    freqs = np.fft.rfftfreq(44_100, 1 / 44_100)
    peaks = freqs[np.argsort(spectrum)[-3:]]
    assert np.all(np.abs(peaks / 440.0 - np.round(peaks / 440.0)) < 0.01)   # harmonics of A4 survive
    assert np.abs(audio).max() <= 1.0


def test_morph_gives_each_note_the_slerp_at_its_onset(source):
    pm = make_midi([(48, 0.0, 0.5, 100), (50, 10.0, 10.5, 100), (52, 5.0, 5.5, 100), (53, 25.0, 25.5, 100)])
    render(source, pm, morph="0:bright,20:warm")
    z_by_pitch = {p: z for call in source.calls for p, z in zip(call["pitches"], call["z"])}
    bright, warm = source.presets["bright"], source.presets["warm"]
    assert torch.allclose(z_by_pitch[48], bright)
    assert torch.allclose(z_by_pitch[50], slerp(bright, warm, 0.5), atol=1e-6)
    assert torch.allclose(z_by_pitch[52], slerp(bright, warm, 0.25), atol=1e-6)
    assert torch.allclose(z_by_pitch[53], warm)


@pytest.mark.parametrize("morph", ["0:bright", "bright", "bright,warm,hollow", "0:bright,3:warm",
                                   [(0, "seed:3"), (2, 7)]])
def test_short_clips_and_single_anchor_morphs(source, morph):
    pm = make_midi([(60, 0.0, 1.0, 100), (64, 1.0, 2.0, 100), (67, 2.0, 4.0, 100)])   # 4 s, far below 12 s
    result = render(source, pm, morph=morph)
    assert len(result.audio) == int(4.3 * SR) and np.isfinite(result.audio).all()


def test_identical_notes_generated_once(source):
    repeated = [(60, 0.6 * i, 0.6 * i + 0.2, 100 if i % 2 else 50) for i in range(40)]   # no overlaps
    result = render(source, make_midi(repeated), timbres="bright")
    assert source.notes_generated == 1 and len(source.calls) == 1
    assert result.summary["unique_notes_generated"] == 1 and result.summary["notes_reused"] == 39
    loud, soft = (np.abs(result.audio[int(t * SR):int((t + 0.5) * SR)]).max() for t in (0.6, 1.2))
    assert abs(loud / soft - (100 / 50) ** 2) < 0.05                    # velocity gain (v/127)**2
    conditioned = FakeNoteSource(has_velocity=True)
    result = render(conditioned, make_midi(repeated), timbres="bright")
    assert conditioned.notes_generated == 2
    assert sorted(v for call in conditioned.calls for v in call["velocities"]) == [50, 100]
    # a velocity-conditioned source makes its own loudness: no second velocity gain on top (this fake source
    # ignores velocity, so both notes come out equally loud)
    loud, soft = (np.abs(result.audio[int(t * SR):int((t + 0.5) * SR)]).max() for t in (0.6, 1.2))
    assert abs(loud / soft - 1.0) < 0.02
    result = render(FakeNoteSource(has_velocity=True), make_midi(repeated), timbres="bright", velocity_exponent=2)
    loud, soft = (np.abs(result.audio[int(t * SR):int((t + 0.5) * SR)]).max() for t in (0.6, 1.2))
    assert abs(loud / soft - (100 / 50) ** 2) < 0.05


def test_batched_generation_asks_only_for_needed_samples(source):
    notes = [(24 + i % 61, 0.1 * i, 0.1 * i + 0.3, 100) for i in range(150)]
    result = render(source, make_midi(notes), morph="0:bright,15:warm", batch_size=64)
    assert all(call["n"] <= 64 for call in source.calls)
    assert {call["num_samples"] for call in source.calls} == {12_000}  # 0.3 s + 0.3 s release -> 0.75 s
    assert result.summary["unique_notes_generated"] == source.notes_generated == 150


def test_track_timbres_and_timbre_lists(source):
    pm = make_midi([(60, 0.0, 0.5, 100)])
    second = pretty_midi.Instrument(0)
    second.notes = [pretty_midi.Note(100, 62, 0.0, 0.5)]
    pm.instruments.append(second)
    result = render(source, pm, timbres="bright", track_timbres={"1": "warm"})
    assert [t["notes_rendered"] for t in result.summary["tracks"]] == [1, 1]
    z = {p: z for call in source.calls for p, z in zip(call["pitches"], call["z"])}
    assert torch.equal(z[60], source.presets["bright"]) and torch.equal(z[62], source.presets["warm"])
    result = render(source, pm, timbres=["hollow", 5])
    assert [t["timbre"] for t in result.summary["tracks"]] == ["hollow", "5"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_renders_on_the_source_device():
    pm = make_midi([(60, 0.0, 1.0, 100), (64, 0.5, 4.5, 90)])
    gpu = render(FakeNoteSource(device="cuda"), pm, morph="0:bright,4:warm").audio
    cpu = render(FakeNoteSource(), pm, morph="0:bright,4:warm").audio
    assert np.allclose(gpu, cpu, atol=1e-3)


def test_pictures(tmp_path):
    roll = piano_roll_png(EXAMPLES / "groove_with_drums.mid", tmp_path / "roll.png", width=600, height=200)
    pixels = np.asarray(Image.open(roll))
    assert pixels.shape == (200, 600, 3) and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 5
    t = np.arange(2 * SR) / SR
    chirp = np.sin(2 * np.pi * (200 + 1000 * t) * t).astype(np.float32)
    spec = np.asarray(Image.open(spectrogram_png(chirp, SR, tmp_path / "spec.png", width=300, height=128)))
    assert spec.shape == (128, 300, 3)
    brightest_row = spec.sum(axis=2).argmax(axis=0)                   # rising chirp: bright row moves up
    assert brightest_row[-20:].mean() < brightest_row[:20].mean()


# ---------------------------------------------------------------- bad input

def _good_file(path: Path) -> bytes:
    path.write_bytes(b"GOOD OLD RENDER")
    return path.read_bytes()


@pytest.mark.parametrize("case, match", [
    ("not_midi", "not a MIDI file"), ("truncated", "truncated or corrupt"), ("empty", "no notes"),
    ("drums_only", "no pitched notes"), ("all_zero_length", "positive length"), ("missing", "not found")])
def test_bad_midi_is_one_clear_error_and_leaves_output_alone(source, tmp_path, case, match):
    midi = tmp_path / "in.mid"
    if case == "not_midi":
        midi.write_text("title: not a midi file\n")
    elif case == "truncated":
        midi.write_bytes((EXAMPLES / "ode_to_joy.mid").read_bytes()[:300])
    elif case == "empty":
        pretty_midi.PrettyMIDI().write(str(midi))
    elif case == "drums_only":
        make_midi([], drums=[(36, 0.0, 0.1, 100)]).write(str(midi))
    elif case == "all_zero_length":
        midi = make_midi([(60, 1.0, 1.0, 100), (62, 2.0, 1.5, 100)])
    out = tmp_path / "out.wav"
    good = _good_file(out)
    before = listing(tmp_path)
    with pytest.raises(RenderError, match=match) as info:
        render(source, midi, out)
    assert "\n" not in str(info.value)
    assert out.read_bytes() == good and listing(tmp_path) == before
    assert source.calls == []


def test_zero_length_notes_skipped_with_warning(source):
    pm = make_midi([(60, 0.0, 0.5, 100), (62, 1.0, 1.0, 100), (64, 2.0, 1.9, 100)])
    with pytest.warns(RenderWarning, match="skipped 2 notes of zero or negative length"):
        result = render(source, pm)
    assert result.summary["notes_skipped_empty"] == 2 and result.summary["notes_rendered"] == 1


@pytest.mark.parametrize("options, match", [
    ({"morph": "0:bright,10:violin"}, "unknown timbre 'violin'.*bright, hollow, warm"),
    ({"timbres": "violin"}, "available presets"),
    ({"timbres": "bright", "morph": "bright"}, "either timbres or morph"),
    ({"track_timbres": {3: "warm"}}, "pitched instruments are: 0"),
    ({"morph": "0:a,0:b"}, "two anchors"),
    ({"sample_rate": 10}, "sample_rate"), ({"release": -1.0}, "release"),
    ({"loop_region": (2.0, 1.0)}, "loop_region")])
def test_bad_options(source, tmp_path, options, match):
    out = tmp_path / "out.wav"
    with pytest.raises(RenderError, match=match):
        render(source, make_midi([(60, 0.0, 0.5, 100)]), out, **options)
    assert listing(tmp_path) == []


def test_output_in_missing_folder_fails_before_any_work(source, tmp_path):
    with pytest.raises(RenderError, match="output folder does not exist"):
        render(source, tmp_path / "also_missing.mid", tmp_path / "no" / "such" / "out.wav")
    with pytest.raises(RenderError, match="unsupported format"):
        render(source, EXAMPLES / "ode_to_joy.mid", tmp_path / "out.mp3")
    assert source.calls == [] and listing(tmp_path) == []


def test_failure_mid_render_keeps_existing_file_and_leaves_no_temp(tmp_path):
    class BrokenSource(FakeNoteSource):
        def synthesize(self, *args, **kwargs):
            if self.calls:
                raise RuntimeError("GPU fell over")
            return super().synthesize(*args, **kwargs)

    out = tmp_path / "song.wav"
    good = _good_file(out)
    notes = [(40 + i, 0.5 * i, 0.5 * i + 0.4, 100) for i in range(40)]
    with pytest.raises(RuntimeError, match="GPU fell over"):
        render(BrokenSource(), make_midi(notes), out, batch_size=8)
    assert out.read_bytes() == good and listing(tmp_path) == ["song.wav"]
    render(FakeNoteSource(), make_midi(notes), out)                     # success replaces it atomically
    assert sf.info(str(out)).frames > 0 and listing(tmp_path) == ["song.wav"]


def test_100k_notes_render_with_flat_memory(tmp_path):
    source = FakeNoteSource()
    rng = np.random.default_rng(0)
    count, notes_per_second = 100_000, 100
    starts = np.sort(rng.uniform(0, count / notes_per_second, count))
    pm = pretty_midi.PrettyMIDI()
    for track in range(2):
        inst = pretty_midi.Instrument(0)
        pitches = rng.choice([48, 55, 60, 64, 67, 72], size=count // 2)
        inst.notes = [pretty_midi.Note(90, int(p), float(s), float(s) + 0.05)
                      for p, s in zip(pitches, starts[track::2])]
        pm.instruments.append(inst)
    tracemalloc.start()
    try:
        result = render(source, pm, tmp_path / "long.wav", release=0.05, timbres=["bright", "warm"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    summary = result.summary
    assert summary["notes_rendered"] == count and summary["unique_notes_generated"] == 12
    full_audio_bytes = summary["duration_s"] * SR * 4                   # the whole piece as float32: 64 MB
    assert peak < 0.35 * full_audio_bytes, f"peak {peak / 2**20:.1f} MiB"   # ~ note arrays (~130 B/note)
    assert sf.info(str(result.path)).duration == pytest.approx(summary["duration_s"])
    assert listing(tmp_path) == ["long.wav"]
