"""The renderer under hostile or odd input: limits, long notes, interrupts, broken models, default timbre."""
from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from creative_gan.errors import Terminated
from creative_gan.pipelines.audio.render.limits import RenderLimits
from creative_gan.pipelines.audio.render.render import RenderError, render_midi
from creative_gan.pipelines.audio.render.timbre import default_timbre

try:                                    # works whether or not tests/ is a package
    from .fake_source import FakeNoteSource
except ImportError:
    from fake_source import FakeNoteSource

SR = 16_000


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def one_note(pitch: int = 60, start: float = 0.0, end: float = 1.0) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(100, pitch, start, end)]
    pm.instruments.append(inst)
    return pm


def far_onset_midi(path: Path) -> Path:
    """44 bytes: 1 tick per beat, the slowest tempo, one note at tick 9,999,990 (onset ≈ 1.7e8 s)."""
    mid = mido.MidiFile(type=0, ticks_per_beat=1)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=0xFFFFFF, time=0))
    track.append(mido.Message("note_on", note=60, velocity=100, time=9_999_990))
    track.append(mido.Message("note_off", note=60, velocity=0, time=1))
    mid.tracks.append(track)
    mid.save(str(path))
    return path


@pytest.fixture()
def source():
    return FakeNoteSource()


def test_far_onset_fails_fast_with_one_line_and_no_files(source, tmp_path):
    midi = far_onset_midi(tmp_path / "far.mid")
    assert midi.stat().st_size <= 48
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    started = time.perf_counter()
    with pytest.raises(RenderError, match=r"starts at 1\.\d+e\+08 s, after the 3 h 00 min 00 s limit") as info:
        render_midi(source, midi, out_dir / "far.wav", progress=False)
    assert time.perf_counter() - started < 20
    assert "\n" not in str(info.value) and "--max-duration" in str(info.value)
    assert listing(out_dir) == [] and source.calls == []


@pytest.mark.parametrize("option", ["release", "attack"])
def test_huge_envelope_fails_before_any_work(source, tmp_path, option):
    with pytest.raises(RenderError, match=f"{option} 1e\\+09 s is longer than the limit of 60 s"):
        render_midi(source, one_note(), tmp_path / "x.wav", progress=False, **{option: 1e9})
    assert listing(tmp_path) == [] and source.calls == []


def test_limits_can_be_raised_and_lowered(source, tmp_path):
    pm = one_note(start=0.0, end=12.0)
    with pytest.raises(RenderError, match="ends at 12.3 s, after the 12.2 s limit"):
        render_midi(source, pm, progress=False, limits=RenderLimits(max_duration_s=12.2))
    with pytest.raises(RenderError, match="lasts 12 s, longer than"):
        render_midi(source, one_note(start=0.0, end=12.0), progress=False, release=0.0,
                    limits=RenderLimits(max_duration_s=11.5))
    result = render_midi(source, pm, progress=False, limits=RenderLimits(max_duration_s=13))
    assert len(result.audio) == int(12.3 * SR)
    result = render_midi(source, one_note(), progress=False, release=90.0, limits=RenderLimits(max_envelope_s=120))
    assert len(result.audio) == 91 * SR
    with pytest.raises(RenderError, match="max_duration_s must be a finite number"):
        RenderLimits(max_duration_s=float("inf"))


def _peak_memory_of_held_note(source, folder: Path, seconds: float) -> int:
    out = folder / f"held{int(seconds)}.wav"
    tracemalloc.start()
    try:
        render_midi(source, one_note(57, 0.0, seconds), out, progress=False, timbres="warm")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sf.info(str(out)).frames == int(round((seconds + 0.3) * SR))
    return peak


def test_long_notes_use_memory_flat_in_length(source, tmp_path):
    short = _peak_memory_of_held_note(source, tmp_path, 30.0)
    long = _peak_memory_of_held_note(source, tmp_path, 600.0)            # 38 MB as one float32 array
    assert long < 1.3 * short + 2 ** 20, f"30 s: {short / 2**20:.1f} MiB, 600 s: {long / 2**20:.1f} MiB"
    assert long < 0.25 * 600 * SR * 4


def test_streamed_long_note_equals_the_whole_note(source):
    """A note streamed block by block sounds exactly as the same note made in one piece (within float32)."""
    pm = one_note(57, 0.0, 25.0)
    streamed = render_midi(source, pm, progress=False, timbres="warm", block_seconds=2.0, headroom_db=0).audio
    whole = render_midi(source, pm, progress=False, timbres="warm", block_seconds=60.0, headroom_db=0).audio
    assert len(streamed) == len(whole) == int(25.3 * SR)
    np.testing.assert_allclose(streamed, whole, atol=2e-6)


class InterruptingSource(FakeNoteSource):
    """Raises ``error`` on the second synthesize call: mid-render, after the spool holds audio."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error = error

    def synthesize(self, *args, **kwargs):
        if self.calls:
            raise self.error
        return super().synthesize(*args, **kwargs)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), Terminated(15)], ids=["ctrl-c", "sigterm"])
def test_interrupt_mid_render_leaves_no_hidden_files_and_keeps_the_old_output(tmp_path, error):
    out = tmp_path / "song.wav"
    sf.write(str(out), np.zeros(100, np.float32), SR)
    good = out.read_bytes()
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(100, 40 + i, 0.5 * i, 0.5 * i + 0.4) for i in range(40)]
    pm.instruments.append(inst)
    with pytest.raises(type(error)):
        render_midi(InterruptingSource(error), pm, out, batch_size=8, block_seconds=1.0, progress=False)
    assert listing(tmp_path) == ["song.wav"] and out.read_bytes() == good


class NaNSource(FakeNoteSource):
    def synthesize(self, *args, **kwargs):
        audio = super().synthesize(*args, **kwargs)
        return audio * float("nan")


def test_a_model_that_generates_nan_is_an_error_not_a_silent_file(tmp_path):
    with pytest.raises(RenderError, match="NaN or infinite samples"):
        render_midi(NaNSource(), one_note(), tmp_path / "nan.wav", progress=False)
    assert listing(tmp_path) == []


def test_default_timbre_does_not_depend_on_preset_order():
    a, b = FakeNoteSource(), FakeNoteSource()
    b.presets = dict(reversed(list(b.presets.items())))
    assert list(a.presets) != list(b.presets)
    assert default_timbre(a) == default_timbre(b) == "bright"               # first by sorted name
    pm = one_note()
    audio_a = render_midi(a, pm, progress=False).audio
    audio_b = render_midi(b, pm, progress=False).audio
    np.testing.assert_array_equal(audio_a, audio_b)
    b.default_timbre = "warm"                                               # a release's own choice wins
    assert default_timbre(b) == "warm"
    assert not np.array_equal(render_midi(b, pm, progress=False).audio, audio_a)


def test_spectrogram_of_a_file_reads_only_what_it_draws(tmp_path):
    from creative_gan.pipelines.audio.pictures import log_mel, log_mel_of_file

    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal(SR * 37) * np.sin(np.arange(SR * 37) / 3000)).astype(np.float32)
    sf.write(str(tmp_path / "x.wav"), audio, SR, subtype="FLOAT")
    from_file, rate = log_mel_of_file(tmp_path / "x.wav")
    assert rate == SR and from_file.shape == (128, 1994)
    np.testing.assert_allclose(from_file, log_mel(audio, SR), atol=1e-4)
