"""Audio verbs under bad or odd input: exit code 2, one line on stderr, no traceback, nothing left behind."""
from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
import torch

from creative_gan.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ODE = EXAMPLES / "ode_to_joy.mid"


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def far_onset_midi(path: Path) -> Path:
    """44 bytes: 1 tick per beat, the slowest tempo, one note at tick 9,999,990 (onset ≈ 1.7e8 s)."""
    mid = mido.MidiFile(type=0, ticks_per_beat=1)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=0xFFFFFF, time=0),
                            mido.Message("note_on", note=60, velocity=100, time=9_999_990),
                            mido.Message("note_off", note=60, velocity=0, time=1)])
    mid.tracks.append(track)
    mid.save(str(path))
    return path


def run_failing(capsys, argv: list[str], match: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("creative-gan: error: "), err
    assert "Traceback" not in err and match in lines[0], lines[0]
    return lines[0]


@pytest.fixture()
def work(tmp_path):
    """A folder holding a MIDI input and an existing, precious song.wav."""
    (tmp_path / "song.mid").write_bytes(ODE.read_bytes())
    sf.write(str(tmp_path / "song.wav"), np.full(1600, 0.25, np.float32), 16_000)
    return tmp_path


RENDER_CASES = [
    (["--release", "1e9"], "release 1e+09 s is longer than the limit of 60 s"),
    (["--attack", "1e9"], "attack 1e+09 s is longer"),
    (["--morph", "0:99999999999999999999999"], "seed must be between 0 and 2^63-1"),
    (["--timbre", "kazoo"], "available presets: accordion, acoustic-bass, acoustic-grand-piano"),
    (["--track-timbre", "0=kazoo"], "unknown timbre 'kazoo'"),
    (["--track-timbre", "x=7"], "N must be a track number"),
    (["--max-duration", "5"], "after the 5 s limit"),
    (["--max-duration", "0"], "--max-duration must be a finite number of seconds > 0"),
    (["--max-envelope", "nan"], "--max-envelope must be a finite number"),
    (["--json", "{out}"], "--json"),                                     # the WAV itself
    (["--spectrogram", "{out}"], "--spectrogram"),
    (["--piano-roll", "{midi}"], "--piano-roll"),                        # the MIDI input
    (["--json", "{dir}/no/such/summary.json"], "does not exist"),
    (["--spectrogram", "{dir}"], "is a folder"),
    (["--piano-roll", "{dir}/roll.jpg"], "pictures are PNG files"),
    (["--json", "{dir}/a.json", "--spectrogram", "{dir}/a.json"], "already writes that file"),
    (["--device", "nonsense"], "unknown device"),
    (["--sample-rate", "10"], "sample_rate must be between"),
]


@pytest.mark.parametrize("extra, match", RENDER_CASES, ids=[" ".join(c[0]) for c in RENDER_CASES])
def test_render_bad_options(capsys, work, extra, match):
    before = (work / "song.wav").read_bytes()
    names = {"out": str(work / "song.wav"), "midi": str(work / "song.mid"), "dir": str(work)}
    argv = ["render", names["midi"], "-o", names["out"], "--no-progress", *[e.format(**names) for e in extra]]
    run_failing(capsys, argv, match)
    assert (work / "song.wav").read_bytes() == before
    assert listing(work) == ["song.mid", "song.wav"]


def test_render_on_cuda_without_cuda_says_so(capsys, work):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    line = run_failing(capsys, ["render", str(work / "song.mid"), "-o", str(work / "x.wav"), "--device", "cuda"],
                       "CUDA is not available")
    assert "does not fit" not in line and listing(work) == ["song.mid", "song.wav"]


def test_far_onset_midi_fails_fast(capsys, tmp_path):
    midi = far_onset_midi(tmp_path / "far.mid")
    run_failing(capsys, ["render", str(midi), "-o", str(tmp_path / "far.wav"), "--no-progress"],
                "after the 3 h 00 min 00 s limit on a render's length")
    assert listing(tmp_path) == ["far.mid"]


@pytest.mark.parametrize("extra", [["--timbre", "7"], ["--timbre", "seed:7"], ["--track-timbre", "0=7"]])
def test_bare_seed_timbres_render(capsys, tmp_path, extra):
    out = tmp_path / "seven.wav"
    assert main(["render", str(ODE), "-o", str(out), "--no-progress", *extra]) == 0
    audio, rate = sf.read(str(out))
    assert rate == 16_000 and np.abs(audio).max() > 0.1


def test_render_default_timbre_is_fixed_and_outputs_checked_files(capsys, tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.wav"
        assert main(["render", str(ODE), "-o", str(out), "--no-progress", "--json", str(tmp_path / f"{name}.json"),
                     "--piano-roll", str(tmp_path / f"{name}.png"),
                     "--spectrogram", str(tmp_path / f"{name}-spec.png")]) == 0
        outs.append(out.read_bytes())
    summary = json.loads((tmp_path / "a.json").read_text())
    assert summary["tracks"][0]["timbre"] == "acoustic-grand-piano"
    assert outs[0] == outs[1]
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert (tmp_path / "a-spec.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "a.wav").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_render_help_lists_the_presets(capsys):
    with pytest.raises(SystemExit) as info:
        main(["render", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "acoustic-grand-piano" in out and "violin" in out and "seed:7" in out


def test_data_help_names_every_option_and_the_extra(capsys):
    with pytest.raises(SystemExit):
        main(["data", "audio", "--help"])
    out = capsys.readouterr().out
    assert "fluidsynth" in out
    for option in ("--pitches", "--velocities", "--source", "--workers", "--out", "--programs"):
        assert option in out
    assert "MIDI pitches" in out and "MIDI velocities" in out and "NSynth source label" in out


def _tiny_corpus(folder: Path, notes: int) -> Path:
    from creative_gan.pipelines.audio.data.nsynth import CorpusWriter

    t = np.arange(64_000) / 16_000
    with CorpusWriter(folder) as writer:
        for i in range(notes):
            pitch = 60 + i
            wave = 0.3 * np.sin(2 * np.pi * 440 * 2 ** ((pitch - 69) / 12) * t) * np.exp(-t)
            writer.add(wave.astype(np.float32), pitch=pitch, velocity=100, instrument=0, family="keyboard",
                       source="synthetic")
    return folder


def test_evaluate_on_a_corpus_too_small_is_one_line(capsys, tmp_path):
    corpus = _tiny_corpus(tmp_path / "tiny", 3)
    run_failing(capsys, ["evaluate", "audio", "--model", "audio-default", "--data", str(corpus),
                         "--pitch-step", "12"], "need at least 8")


@pytest.mark.parametrize("extra, match", [(["--notes-per-pitch", "1"], "--notes-per-pitch must be between"),
                                          (["--pitch-step", "0"], "--pitch-step must be at least 1")])
def test_evaluate_bad_options(capsys, extra, match):
    run_failing(capsys, ["evaluate", "audio", "--model", "audio-default", *extra], match)


def test_sample_with_unknown_timbre_writes_nothing(capsys, tmp_path):
    out = tmp_path / "notes"
    run_failing(capsys, ["sample", "audio", "--model", "audio-default", "--timbre", "kazoo", "-o", str(out)],
                "unknown timbre 'kazoo'")
    assert not out.exists()


def test_data_with_bad_workers_is_one_line(capsys, tmp_path):
    run_failing(capsys, ["data", "audio", "--out", str(tmp_path / "c"), "--workers", "0"], "--workers must be")
    assert listing(tmp_path) == []


def test_data_into_a_corpus_of_unknown_origin_is_refused(capsys, tmp_path):
    pytest.importorskip("fluidsynth")
    from creative_gan.pipelines.audio.data import soundfont

    if not any(Path(p).is_file() for p in soundfont.SOUNDFONT_PATHS):
        pytest.skip("FluidR3_GM.sf2 not installed")
    corpus = _tiny_corpus(tmp_path / "old", 2)
    before = (corpus / "examples.json").read_bytes()
    run_failing(capsys, ["data", "audio", "--out", str(corpus), "--programs", "0", "--pitches", "60"],
                "does not record how it was made")
    assert (corpus / "examples.json").read_bytes() == before
