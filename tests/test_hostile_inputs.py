"""Every input has a defined outcome: a table of bad and odd inputs across every verb and the Python API.

Each row runs ``creative_gan.cli.main(argv)`` in-process in a fresh folder that already holds a
precious ``existing.wav``, and asserts: exit code 2, exactly one line on stderr (``creative-gan:
error: …`` naming the problem), no traceback, and the folder byte-for-byte as it was (nothing
written, nothing left behind, hidden temp files included). A second table holds the documented
forms that must work; the last tests send SIGTERM/SIGHUP to real processes mid-render and
mid-training.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import string
import subprocess
import sys
import time
from pathlib import Path

import mido
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import creative_gan
from creative_gan.cli import main
from creative_gan.errors import CreativeGANError
from tests.core.test_checkpoints import _zip_bomb

ROOT = Path(__file__).resolve().parents[1]
ODE = ROOT / "examples" / "ode_to_joy.mid"
ASSETS = ROOT / "creative_gan" / "assets"


# ----------------------------------------------------------------------------- fixture files
def _far_onset(path: Path) -> None:
    """44 bytes: 1 tick per beat, the slowest tempo, one note at tick 9,999,990 (onset ≈ 1.7e8 s)."""
    mid = mido.MidiFile(type=0, ticks_per_beat=1)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=0xFFFFFF, time=0),
                                      mido.Message("note_on", note=60, velocity=100, time=9_999_990),
                                      mido.Message("note_off", note=60, velocity=0, time=1)]))
    mid.save(str(path))


def _two_hour_note(path: Path) -> None:
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=100, time=0),
                                      mido.Message("note_off", note=60, velocity=0, time=480 * 2 * 60 * 120)]))
    mid.save(str(path))


def _model_copy(path: Path, shipped: str, config=None, poison: bool = False) -> None:
    shutil.copytree(ASSETS / shipped, path)
    if config is not None:
        cfg = json.loads((path / "config.json").read_text())
        cfg.update(config)
        (path / "config.json").write_text(json.dumps(cfg))
    if poison:
        tensors = load_file(str(path / "model.safetensors"))
        name = next(k for k, v in sorted(tensors.items()) if v.is_floating_point() and v.numel() > 1)
        tensors[name] = tensors[name].clone()
        tensors[name].view(-1)[0] = float("nan")
        save_file(tensors, str(path / "model.safetensors"))


def _pickle(path: Path) -> None:
    torch.save({"step": 1, "generator": os.system}, path)  # a real pickle of a callable: never loaded


def _corrupt_run(path: Path) -> None:
    """A run folder whose resume checkpoint is garbage."""
    (path / "checkpoints").mkdir(parents=True)
    (path / "options.json").write_text("{}")
    (path / "checkpoints" / "state.pt").write_bytes(b"PK\x03\x04" + os.urandom(3000))


def _tiny_corpus(path: Path) -> None:
    from creative_gan.pipelines.audio.data.nsynth import CorpusWriter

    t = np.arange(64_000) / 16_000
    with CorpusWriter(path) as writer:
        for i in range(3):
            wave = 0.3 * np.sin(2 * np.pi * 261.6 * 2 ** (i / 12) * t) * np.exp(-t)
            writer.add(wave.astype(np.float32), pitch=60 + i, velocity=100, instrument=0, family="keyboard",
                       source="synthetic")


def _tiny_run(path: Path) -> None:
    """A finished 4-step digits run (preset tiny) to resume from."""
    assert main(["train", "digits", "--preset", "tiny", "--no-progress", "--out", str(path)]) == 0


FIXTURES = {
    "ode": lambda p: p.write_bytes(ODE.read_bytes()),
    "noise": lambda p: p.write_bytes(np.random.default_rng(0).bytes(2000)),
    "truncated": lambda p: p.write_bytes(ODE.read_bytes()[:40]),
    "text": lambda p: p.write_text("MThd? no, a shopping list\n"),
    "far": _far_onset,
    "long_note": _two_hour_note,
    "folder": lambda p: p.mkdir(),
    "empty_folder": lambda p: p.mkdir(),
    "pickle": _pickle,
    "bomb": lambda p: _zip_bomb(p, (ASSETS / "digits-default" / "config.json").read_bytes()),
    "nan_audio": lambda p: _model_copy(p, "audio-default", poison=True),
    "nan_digits": lambda p: _model_copy(p, "digits-default", poison=True),
    "version_abc": lambda p: _model_copy(p, "digits-default", config={"format_version": "abc"}),
    "version_null": lambda p: _model_copy(p, "digits-default", config={"format_version": None}),
    "corrupt_run": _corrupt_run,
    "tiny_corpus": _tiny_corpus,
    "tiny_run": _tiny_run,
}


def materialise(template: list[str], folder: Path) -> list[str]:
    """Replace ``{name}`` by the path of fixture ``name`` (built on demand) and ``{dir}`` by the folder."""
    argv = []
    for item in template:
        names = {f for _, f, _, _ in string.Formatter().parse(item) if f}
        paths = {"dir": str(folder)}
        for name in names - {"dir"}:
            path = folder / name
            if not path.exists() and name in FIXTURES:
                FIXTURES[name](path)
            paths[name] = str(path)
        argv.append(item.format(**paths))
    return argv


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (hidden ones too) → content hash ('dir' for folders)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture()
def workspace(tmp_path):
    """A folder with one precious, existing output file in it."""
    (tmp_path / "existing.wav").write_bytes(b"RIFF-precious-take-do-not-touch" * 10)
    return tmp_path


def assert_one_line_error(code: int, err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("creative-gan: error: "), err
    assert needle.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in err


R = ["render", "{ode}", "-o", "{dir}/out.wav", "--no-progress"]     # a valid render, before the bad part
T = ["train", "digits", "--preset", "tiny", "--no-progress", "--out", "{dir}/run"]
S = ["sample", "digits", "--seeds", "0-3"]
E = ["evaluate", "audio", "--model", "audio-default"]

HOSTILE = [
    # ---- render: files
    ("render missing midi", ["render", "{dir}/nope.mid", "-o", "{dir}/out.wav"], "not found"),
    ("render random bytes", ["render", "{noise}", "-o", "{dir}/out.wav"], "not a MIDI file"),
    ("render text file", ["render", "{text}", "-o", "{dir}/out.wav"], "truncated or corrupt"),
    ("render truncated midi", ["render", "{truncated}", "-o", "{dir}/out.wav"], "truncated or corrupt"),
    ("render 44-byte huge onset", ["render", "{far}", "-o", "{dir}/out.wav"], "limit"),
    ("render 2-hour note, 1-hour limit", ["render", "{long_note}", "-o", "{dir}/out.wav", "--max-duration", "3600"],
     "limit"),
    ("render midi is a folder", ["render", "{folder}", "-o", "{dir}/out.wav"], "not found"),
    # ---- render: options
    ("render --release 1e9", [*R, "--release", "1e9"], "release"),
    ("render --release -1", [*R, "--release", "-1"], "release"),
    ("render --attack nan", [*R, "--attack", "nan"], "attack"),
    ("render --morph overflow", [*R, "--morph", "0:99999999999999999999999"], "seed"),
    ("render --morph garbage", [*R, "--morph", "::,,"], "morph"),
    ("render unknown timbre", [*R, "--timbre", "kazoo"], "kazoo"),
    ("render --track-timbre x=7", [*R, "--track-timbre", "x=7"], "track number"),
    ("render --sample-rate 7", [*R, "--sample-rate", "7"], "sample_rate"),
    ("render --max-duration 0", [*R, "--max-duration", "0"], "--max-duration"),
    ("render --device cuda", [*R, "--device", "cuda"], "cuda"),
    ("render --device nonsense", [*R, "--device", "nonsense"], "nonsense"),
    # ---- render: outputs
    ("render -o existing folder", ["render", "{ode}", "-o", "{folder}"], "folder"),
    ("render -o in missing folder", ["render", "{ode}", "-o", "{dir}/no/out.wav"], "does not exist"),
    ("render -o the midi itself", ["render", "{ode}", "-o", "{ode}"], "{ode}"),
    ("render --json = -o (existing)", ["render", "{ode}", "-o", "{dir}/existing.wav", "--json", "{dir}/existing.wav"],
     "already writes that file"),
    ("render --spectrogram missing folder", [*R, "--spectrogram", "{dir}/no/s.png"], "does not exist"),
    ("render --piano-roll existing folder", [*R, "--piano-roll", "{folder}"], "folder"),
    # ---- render: models
    ("render NaN model", [*R, "--model", "{nan_audio}"], "NaN/inf"),
    ("render zip bomb model", [*R, "--model", "{bomb}"], "more than a release may hold"),
    ("render pickle as model", [*R, "--model", "{pickle}"], "pickles are never loaded"),
    ("render digits model", [*R, "--model", "digits-default"], "not an audio model"),
    # ---- train
    ("train --set steps=abc", [*T, "--set", "steps=abc"], "steps must be a whole number"),
    ("train --set steps=1.5", [*T, "--set", "steps=1.5"], "steps must be a whole number"),
    ("train --set lr_g=-1", [*T, "--set", "lr_g=-1"], "lr_g"),
    ("train --set snapshot_every=0", [*T, "--set", "snapshot_every=0"], "snapshot_every"),
    ("train --set betas_g=5", [*T, "--set", "betas_g=5"], "betas_g"),
    ("train --set seed=1e30", [*T, "--set", "seed=1e30"], "seed"),
    ("train --set model.latent_dim=0", [*T, "--set", "model.latent_dim=0"], "latent_dim must be"),
    ("train --set unknown", [*T, "--set", "learning_rate=1"], "unknown training option"),
    ("train --device cuda", [*T, "--device", "cuda"], "cuda"),
    ("train --device nonsense", [*T, "--device", "nonsense"], "nonsense"),
    ("train --out is a file", [*T[:-1], "{dir}/existing.wav"], "not a folder"),
    ("train --resume corrupt checkpoint", [*T[:-1], "{corrupt_run}", "--resume"], "corrupt"),
    ("train --resume another preset", ["train", "digits", "--preset", "quick", "--no-progress", "--resume",
                                        "--out", "{tiny_run}"], "was trained with preset 'tiny'"),
    ("train --resume other model options", [*T[:-1], "{tiny_run}", "--resume", "--set", "model.latent_dim=12"],
     "does not fit"),
    ("train into an earlier run", [*T[:-1], "{tiny_run}"], "already holds a training run"),
    ("train --init-from missing", [*T, "--init-from", "{dir}/no-run"], "no such checkpoint"),
    ("train --init-from corrupt checkpoint", [*T, "--init-from", "{corrupt_run}"], "corrupt"),
    ("train --init-from a pickle", [*T, "--init-from", "{pickle}"], "pickled code"),
    ("train --init-from another preset", ["train", "digits", "--preset", "quick", "--no-progress",
                                          "--out", "{dir}/run", "--init-from", "{tiny_run}"], "does not fit"),
    ("train --init-from with --resume", [*T[:-1], "{tiny_run}", "--resume", "--init-from", "{tiny_run}"],
     "cannot be combined with --resume"),
    ("train digits --data", [*T, "--data", "{folder}"], "no --data"),
    ("train audio without --data", ["train", "audio", "--out", "{dir}/run"], "--data"),
    ("train audio empty corpus", ["train", "audio", "--out", "{dir}/run", "--data", "{empty_folder}"],
     "{empty_folder}"),
    # ---- sample
    ("sample pickle model", [*S, "--model", "{pickle}", "-o", "{dir}/g.png"], "pickles are never loaded"),
    ("sample zip bomb", [*S, "--model", "{bomb}", "-o", "{dir}/g.png"], "more than a release may hold"),
    ("sample format_version abc", [*S, "--model", "{version_abc}", "-o", "{dir}/g.png"], "format_version"),
    ("sample format_version null", [*S, "--model", "{version_null}", "-o", "{dir}/g.png"], "format_version"),
    ("sample NaN weights", [*S, "--model", "{nan_digits}", "-o", "{dir}/g.png"], "NaN/inf"),
    ("sample wrong pipeline", [*S, "--model", "audio-default", "-o", "{dir}/g.png"], "not 'digits'"),
    ("sample --seeds 5-1", ["sample", "digits", "--model", "digits-default", "--seeds", "5-1", "-o", "{dir}/g.png"],
     "--seeds"),
    ("sample -o missing folder", [*S, "--model", "digits-default", "-o", "{dir}/no/g.png"], "does not exist"),
    ("sample -o is a file (folder wanted)", [*S, "--model", "digits-default", "-o", "{ode}"], "not a folder"),
    ("sample --upscale 100000", [*S, "--model", "digits-default", "-o", "{dir}/g.png", "--upscale", "100000"], ""),
    ("sample --device nonsense", [*S, "--model", "digits-default", "-o", "{dir}/g.png", "--device", "nonsense"],
     "nonsense"),
    # ---- evaluate
    ("evaluate audio tiny corpus", [*E, "--data", "{tiny_corpus}", "--pitch-step", "12"], "at least"),
    ("evaluate audio missing corpus", [*E, "--data", "{dir}/nope"], "nope"),
    ("evaluate --json is a folder", [*E, "--json", "{folder}"], "folder"),
    ("evaluate --json missing folder", [*E, "--json", "{dir}/no/m.json"], "does not exist"),
    ("evaluate digits corrupt model", ["evaluate", "digits", "--model", "{noise}"], "not a release"),
    # ---- data
    ("data inspect missing", ["data", "audio", "--inspect", "{dir}/nope"], "nope"),
    ("data inspect a file", ["data", "audio", "--inspect", "{noise}"], "noise"),
    ("data --out is a file", ["data", "audio", "--out", "{dir}/existing.wav"], "existing.wav"),
    ("data --workers 0", ["data", "audio", "--out", "{dir}/c", "--workers", "0"], "--workers"),
    ("data bad soundfont", ["data", "audio", "--out", "{dir}/c", "--soundfont", "{noise}", "--programs", "0",
                            "--pitches", "60"], "noise"),
    # ---- the verb line itself
    ("unknown verb", ["frobnicate"], "unknown verb"),
    ("unknown pipeline", ["train", "kazoo"], "unknown pipeline"),
]


@pytest.mark.parametrize("template, needle", [r[1:] for r in HOSTILE], ids=[r[0] for r in HOSTILE])
def test_hostile_input_is_one_line_and_harmless(capsys, workspace, template, needle):
    argv = materialise(template, workspace)
    needle = materialise([needle], workspace)[0]
    before = snapshot(workspace)
    capsys.readouterr()  # whatever building the fixtures printed
    code = main(argv)
    out, err = capsys.readouterr()
    assert_one_line_error(code, err, needle)
    assert snapshot(workspace) == before, "files were written, changed or left behind"


def test_the_table_is_big_and_covers_every_verb():
    verbs = {r[1][0] for r in HOSTILE}
    assert len(HOSTILE) + len(API) >= 40
    assert {"render", "train", "sample", "evaluate", "data"} <= verbs


# ----------------------------------------------------------------------------- Python API
API = [
    ("pickle", "{pickle}", {}, "pickles are never loaded"),
    ("zip bomb", "{bomb}", {}, "more than a release may hold"),
    ("format_version abc", "{version_abc}", {}, "format_version"),
    ("format_version null", "{version_null}", {}, "format_version"),
    ("NaN weights", "{nan_digits}", {}, "NaN/inf"),
    ("missing", "{dir}/nope", {}, "no such file"),
    ("random bytes", "{noise}", {}, "not a release"),
    ("bad device", "digits-default", {"device": "nonsense"}, "nonsense"),
]


@pytest.mark.parametrize("template, kwargs, needle", [r[1:] for r in API], ids=[r[0] for r in API])
def test_load_refuses_in_one_line(workspace, template, kwargs, needle):
    path = materialise([template], workspace)[0]
    before = snapshot(workspace)
    with pytest.raises(CreativeGANError) as info:
        creative_gan.load(path, **kwargs)
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert snapshot(workspace) == before


# ----------------------------------------------------------------------------- works as documented
DOCUMENTED = [
    ("render --timbre 7 (a bare seed)", [*R, "--timbre", "7"], ["out.wav"]),
    ("render --timbre seed:7", [*R, "--timbre", "seed:7"], ["out.wav"]),
    ("render --track-timbre 0=7", [*R, "--track-timbre", "0=7"], ["out.wav"]),
    ("render --morph with a seed", [*R, "--morph", "0:seed:3,10:seed:7"], ["out.wav"]),
    ("render with json + pictures", [*R, "--json", "{dir}/s.json", "--spectrogram", "{dir}/s.png",
                                     "--piano-roll", "{dir}/r.png"], ["out.wav", "r.png", "s.json", "s.png"]),
]


@pytest.mark.parametrize("template, written", [r[1:] for r in DOCUMENTED], ids=[r[0] for r in DOCUMENTED])
def test_documented_forms_work(capsys, workspace, template, written):
    argv = materialise(template, workspace)
    before = snapshot(workspace)
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 0, err
    now = snapshot(workspace)
    new = sorted(set(now) - set(before))
    assert new == sorted(written), new  # exactly the outputs: no temp file left
    assert all(now[k] == v for k, v in before.items())
    mode = (workspace / "out.wav").stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask(), oct(mode)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("argv, needles", [
    (["render", "--help"], ["acoustic-grand-piano", "--timbre"]),
    (["train", "--help"], ["--preset", "digits"]),
    (["sample", "--help"], ["--seeds", "digits"]),
])
def test_help_is_help(capsys, argv, needles):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own --help exits 0
        code = exit_.code
    out, err = capsys.readouterr()
    assert code == 0 and "error" not in err
    for needle in needles:
        assert needle in out


# ----------------------------------------------------------------------------- signals, real processes
def _long_midi(path: Path, minutes: int = 20) -> None:
    """Dense 8-note chords every half beat for ``minutes`` of music: a render that takes seconds."""
    mid = mido.MidiFile(type=0, ticks_per_beat=96)
    track = mido.MidiTrack()
    for beat in range(minutes * 240):
        pitches = sorted({36 + (beat * k * 7 + k * 5) % 48 for k in range(1, 9)})
        for p in pitches:
            track.append(mido.Message("note_on", note=p, velocity=40 + (beat * 13) % 80, time=0))
        for i, p in enumerate(pitches):
            track.append(mido.Message("note_off", note=p, velocity=0, time=48 if i == 0 else 0))
    mid.tracks.append(track)
    mid.save(str(path))


def _cli(args: list[str], cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "creative_gan", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"process ended early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the process never reached the state to interrupt")
        time.sleep(0.01)


def _signal_now(proc: subprocess.Popen, sig: int) -> None:
    """Deliver ``sig`` to a process caught mid-work: frozen first, so it cannot finish in between."""
    proc.send_signal(signal.SIGSTOP)
    assert proc.poll() is None, "the process finished before it could be interrupted"
    proc.send_signal(sig)
    proc.send_signal(signal.SIGCONT)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_during_render_leaves_no_spool_or_partial(tmp_path, sig, code):
    _long_midi(tmp_path / "long.mid")
    (tmp_path / "out.wav").write_bytes(b"RIFF-an-earlier-take" * 10)
    before = (tmp_path / "out.wav").read_bytes()
    proc = _cli(["render", "long.mid", "-o", "out.wav", "--no-progress"], tmp_path)
    _wait_for(lambda: _hidden(tmp_path), proc)  # the spool exists: rendering has begun
    _signal_now(proc, sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == f"creative-gan: stopped by {signal.Signals(sig).name}"
    assert "Traceback" not in err
    assert _hidden(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["long.mid", "out.wav"]
    assert (tmp_path / "out.wav").read_bytes() == before


def test_sigterm_during_training_saves_resume_state(tmp_path):
    run = tmp_path / "run"
    proc = _cli(["train", "digits", "--preset", "tiny", "--steps", "1000000", "--no-progress",
                 "--set", "checkpoint_every=0", "--set", "preview_every=0", "--out", str(run)], tmp_path)
    _wait_for(lambda: (run / "metrics.jsonl").is_file() and (run / "metrics.jsonl").stat().st_size > 0, proc)
    _signal_now(proc, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "creative-gan: stopped by SIGTERM" and "Traceback" not in err
    from creative_gan.checkpoint import load_state

    state = load_state(run / "checkpoints" / "state.pt")
    assert state["step"] >= 1
    assert _hidden(run) == []


# ----------------------------------------------------------------------------- test hygiene
def test_a_test_run_leaves_no_numba_folders_in_tmp(tmp_path):
    """conftest.py gives each test process its own numba cache folder and removes it at the end."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "CREATIVE_GAN_TEST_NUMBA_CACHE")}
    env.update(TMPDIR=str(scratch), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/core/test_cli.py::test_seed_parsing"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not [p.name for p in scratch.iterdir() if p.name.startswith("numba-")]
