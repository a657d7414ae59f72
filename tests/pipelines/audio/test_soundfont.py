"""SoundFont corpus builder on the real FluidR3 GM SoundFont, plus the General MIDI family table."""

import builtins
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from creative_gan.pipelines.audio.data import gm, soundfont
from creative_gan.pipelines.audio.constants import NOTE_SAMPLES, SAMPLE_RATE
from creative_gan.pipelines.audio.data.nsynth import read_corpus

FLUIDR3 = next((Path(p) for p in soundfont.SOUNDFONT_PATHS if Path(p).is_file()), None)
needs_fluidr3 = pytest.mark.skipif(FLUIDR3 is None, reason="FluidR3_GM.sf2 not installed (apt-get install fluid-soundfont-gm)")
PROGRAMS, PITCHES = (0, 73), (48, 60, 72)     # piano (decays by itself) and flute (sustains until note-off)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if FLUIDR3 is None:
        pytest.skip("FluidR3_GM.sf2 not installed")
    pytest.importorskip("fluidsynth")
    out = tmp_path_factory.mktemp("fluidr3") / "corpus"
    summary = soundfont.build_corpus(FLUIDR3, out, programs=PROGRAMS, pitches=PITCHES, workers=2, progress=False)
    return out, summary


@pytest.fixture(scope="module")
def renderer():
    if FLUIDR3 is None:
        pytest.skip("FluidR3_GM.sf2 not installed")
    pytest.importorskip("fluidsynth")
    with soundfont.SoundFontRenderer(FLUIDR3) as r:
        yield r


@needs_fluidr3
def test_build_writes_nsynth_notes(built):
    out, summary = built
    assert summary["notes_written"] == 6 and summary["notes_existing"] == 0 and summary["notes_silent"] == 0
    corpus = read_corpus(out)
    assert [r.note_str for r in corpus][:3] == ["flute_synthetic_073-048-100", "flute_synthetic_073-060-100",
                                                 "flute_synthetic_073-072-100"]
    for record in corpus:
        info = sf.info(str(record.audio_path))
        assert (info.samplerate, info.channels, info.frames) == (SAMPLE_RATE, 1, NOTE_SAMPLES)
        assert record.instrument in PROGRAMS and record.instrument_source_str == "synthetic"
        assert record.instrument_family_str == gm.gm_family(record.instrument)


@needs_fluidr3
def test_notes_stop_after_note_off(built):
    corpus = read_corpus(built[0])
    audio = corpus.load_all()
    first_second = (audio[:, :SAMPLE_RATE] ** 2).mean(1)
    held = (audio[:, 2 * SAMPLE_RATE:3 * SAMPLE_RATE] ** 2).mean(1)
    last_half = (audio[:, -SAMPLE_RATE // 2:] ** 2).mean(1)
    assert (last_half < 1e-3 * first_second).all(), last_half / first_second
    flutes = [i for i, r in enumerate(corpus) if r.instrument == 73]
    assert (held[flutes] > 0.1 * first_second[flutes]).all()    # the flute really sustains until note-off at 3 s


def _f0_autocorrelation(audio: np.ndarray, fmin: float = 50.0, fmax: float = 2000.0) -> float:
    """Fundamental (Hz) as the shortest lag whose autocorrelation is within 10 % of the best (avoids octave
    errors towards long lags), refined by a parabola through the peak."""
    x = audio - audio.mean()
    spectrum = np.fft.rfft(x, 2 * len(x))
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[:len(x)]
    lo, hi = int(SAMPLE_RATE / fmax), int(SAMPLE_RATE / fmin)
    seg = acf[lo:hi]
    peaks = [i for i in range(1, len(seg) - 1) if seg[i] >= seg[i - 1] and seg[i] > seg[i + 1]]
    best = max(seg[i] for i in peaks)
    i = next(i for i in peaks if seg[i] >= 0.9 * best)
    shift = 0.5 * (seg[i - 1] - seg[i + 1]) / (seg[i - 1] - 2 * seg[i] + seg[i + 1])
    return SAMPLE_RATE / (lo + i + shift)


@needs_fluidr3
def test_rendered_pitch_is_right(built):
    corpus = read_corpus(built[0])
    for i, record in enumerate(corpus):
        f0 = _f0_autocorrelation(corpus.load_audio(i)[4000:20000])      # 0.25-1.25 s: past the attack
        midi = 69 + 12 * np.log2(f0 / 440.0)
        assert abs(midi - record.pitch) < 0.3, (record.note_str, midi)


@needs_fluidr3
def test_resume_skips_existing_notes(built):
    out, _ = built
    before = {p.name: p.stat().st_mtime_ns for p in (out / "audio").iterdir()}
    summary = soundfont.build_corpus(FLUIDR3, out, programs=PROGRAMS, pitches=(*PITCHES, 84), workers=1, progress=False)
    assert summary["notes_existing"] == 6 and summary["notes_written"] == 2 and summary["notes_in_corpus"] == 8
    after = {p.name: p.stat().st_mtime_ns for p in (out / "audio").iterdir()}
    assert all(after[name] == mtime for name, mtime in before.items())   # untouched
    again = soundfont.build_corpus(FLUIDR3, out, programs=PROGRAMS, pitches=(*PITCHES, 84), workers=2, progress=False)
    assert again["notes_written"] == 0 and again["workers"] == 0


@needs_fluidr3
def test_corpus_records_its_soundfont_and_refuses_another_recipe(built, tmp_path):
    from creative_gan.pipelines.audio.data.nsynth import CorpusError
    from creative_gan.pipelines.audio.data.recipe import describe_corpus, read_recipe

    out, _ = built
    recipe = read_recipe(out)
    assert recipe["soundfont"]["name"] == FLUIDR3.name and recipe["soundfont"]["bytes"] == FLUIDR3.stat().st_size
    assert len(recipe["soundfont"]["sha256"]) == 64 and recipe["programs"] == sorted(PROGRAMS)
    assert str(FLUIDR3.parent) not in (out / "corpus.json").read_text()          # no machine path
    assert describe_corpus(out, 6, (48, 72)).startswith("FluidR3_GM.sf2, programs 0,73, MIDI 48-72")
    before = (out / "examples.json").read_bytes()
    with pytest.raises(CorpusError, match="programs \\[0, 73\\], not \\[40\\]"):
        soundfont.build_corpus(FLUIDR3, out, programs=(40,), pitches=PITCHES, workers=1, progress=False)
    other = tmp_path / "Other.sf2"                       # a different SoundFont file (same header)
    other.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")
    with pytest.raises(CorpusError, match="built with soundfont FluidR3_GM.sf2 .* not Other.sf2"):
        soundfont.build_corpus(other, out, programs=PROGRAMS, pitches=PITCHES, workers=1, progress=False)
    assert (out / "examples.json").read_bytes() == before


@needs_fluidr3
def test_renders_are_independent_of_order(renderer):
    # a long organ release and a loud sax before a note must not change a single sample of it
    piano = renderer.render(0, 60, 100)
    renderer.render(19, 80, 127)
    renderer.render(65, 45, 127)
    assert np.array_equal(renderer.render(0, 60, 100), piano)
    assert piano.dtype == np.float32 and piano.shape == (NOTE_SAMPLES,) and 0.01 < np.abs(piano).max() < 1


@needs_fluidr3
def test_silent_notes_are_skipped_and_counted(tmp_path, renderer):
    assert np.abs(renderer.render(58, 84)).max() < soundfont.SILENCE_PEAK     # FluidR3's tuba stops below C6
    summary = soundfont.build_corpus(FLUIDR3, tmp_path, programs=["tuba"], pitches=(60, 84), workers=1, progress=False)
    assert summary["notes_silent"] == 1 and summary["silent"] == ["brass_synthetic_058-084-100"]
    assert [r.pitch for r in read_corpus(tmp_path)] == [60]


def test_missing_or_invalid_soundfont(tmp_path):
    pytest.importorskip("fluidsynth")
    with pytest.raises(soundfont.SoundFontError, match="nowhere.sf2: SoundFont file does not exist"):
        soundfont.build_corpus(tmp_path / "nowhere.sf2", tmp_path / "out", progress=False)
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt nothing")
    with pytest.raises(soundfont.SoundFontError, match="not a SoundFont 2 file") as info:
        soundfont.SoundFontRenderer(fake)
    assert "\n" not in str(info.value)


def test_default_soundfont(monkeypatch, tmp_path):
    if FLUIDR3 is not None:
        assert soundfont.default_soundfont() == FLUIDR3
    monkeypatch.setattr(soundfont, "SOUNDFONT_PATHS", (str(tmp_path / "none.sf2"),))
    with pytest.raises(soundfont.SoundFontError, match="apt-get install fluid-soundfont-gm"):
        soundfont.default_soundfont()


def test_missing_fluidsynth_names_the_fix(monkeypatch):
    real_import = builtins.__import__

    def no_fluidsynth(name, *args, **kwargs):
        if name == "fluidsynth":
            raise ImportError("Couldn't find the FluidSynth library.")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_fluidsynth)
    with pytest.raises(soundfont.FluidSynthUnavailable) as info:
        soundfont.SoundFontRenderer()
    message = str(info.value)
    assert 'pip install "creative-gan[fluidsynth]"' in message and "apt-get install libfluidsynth3" in message
    assert "\n" not in message


def test_general_midi_table():
    assert len(gm.GM_PROGRAM_NAMES) == 128 and gm.gm_name(73) == "Flute" and gm.gm_group(40) == "strings"
    expected = {0: "keyboard", 11: "mallet", 40: "string", 56: "brass", 65: "reed", 73: "flute", 24: "guitar",
                81: "synth_lead", 33: "bass", 19: "organ", 52: "vocal", 21: "reed", 47: "mallet", 110: "string"}
    assert {p: gm.gm_family(p) for p in expected} == expected
    assert gm.program_number("violin") == 40 and gm.program_number("Alto Sax") == 65 and gm.program_number("7") == 7
    with pytest.raises(ValueError, match="ambiguous"):
        gm.program_number("piano")
    with pytest.raises(ValueError, match="0-127"):
        gm.gm_family(128)
