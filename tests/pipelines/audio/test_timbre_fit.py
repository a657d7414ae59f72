"""Timbre by inversion: fitting z to notes, recorded notes (read, pitch), `timbre add` and `render --timbre-from`."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import creative_gan
from creative_gan.cli import main
from creative_gan.errors import UsageError
from creative_gan.pipelines.audio.dsp.features import logmel_db, logmel_l1_db
from creative_gan.pipelines.audio.networks.harmonic import HarmonicGenerator, HarmonicGeneratorConfig
from creative_gan.pipelines.audio.pipeline import AudioPipeline
from creative_gan.pipelines.audio.render.invert import (anchor_pitches, estimate_velocity, fit_timbre,
                                                        fit_timbre_loss)
from creative_gan.pipelines.audio.render.recording import detect_pitch, parse_note_spec, read_note
from creative_gan.release import ASSETS, save

ODE = Path(__file__).resolve().parents[3] / "examples" / "ode_to_joy.mid"
SR = 16_000
FIT_PITCHES = [40, 55, 70]


def tiny_pipe(seed: int = 0, **overrides) -> AudioPipeline:
    """An untrained tiny harmonic model: its init already makes different z clearly different notes."""
    torch.manual_seed(seed)
    cfg = HarmonicGeneratorConfig.tiny(latent_dim=16, **overrides)
    return AudioPipeline("harmonic", dataclasses.asdict(cfg), HarmonicGenerator(cfg),
                         presets={"warm": torch.randn(16), "bright": torch.randn(16)})


def distance_db(pipe, z, target: np.ndarray) -> float:
    """Mean log-mel L1 (dB) between the model's notes for z at FIT_PITCHES and ``target`` [3, T]."""
    notes = pipe.generate(FIT_PITCHES, z=z, num_samples=target.shape[1], as_tensor=True)
    return float(logmel_l1_db(logmel_db(notes), logmel_db(torch.from_numpy(target))).mean())


def tone(midi: int, seconds: float = 2.0, sr: int = SR, lead_in: float = 0.0) -> np.ndarray:
    """A harmonic tone (8 partials, 1/k roll-off, gentle decay) at MIDI ``midi``, after ``lead_in`` s of silence."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    k = np.arange(1, 9)[:, None]
    note = (np.sin(2 * np.pi * f0 * k * t) / k * (k * f0 < sr / 2)).sum(0) * np.exp(-t / 1.5)
    note = 0.3 * note / np.abs(note).max() * np.minimum(t / 0.01, 1.0)
    return np.concatenate([np.zeros(int(lead_in * sr)), note]).astype(np.float32)


# ----------------------------------------------------------------------------------------------- the fit itself
def test_fit_recovers_a_known_timbre_of_the_model():
    # the eval-mode noise pattern is keyed to z[0] (quantised), so no z but z* itself hears the same noise: a
    # quiet noise floor keeps that mismatch from hiding how well the harmonic timbre was recovered
    pipe = tiny_pipe(max_noise_ratio=1e-3)
    z_star = pipe.latent_for_seed(123)
    target = pipe.generate(FIT_PITCHES, z=z_star, num_samples=SR)
    random_db = np.median([distance_db(pipe, pipe.latent_for_seed(s), target) for s in range(1000, 1008)])
    fit = fit_timbre_loss(pipe, list(target), FIT_PITCHES, steps=100, restarts=8, seed=5, clip_seconds=1.0,
                          use_presets=False)
    fitted_db = distance_db(pipe, fit.z, target)
    assert fitted_db < 1.5 and fitted_db < 0.3 * random_db, (fitted_db, random_db)
    assert fit.loss_db == pytest.approx(fitted_db, abs=1e-3)       # the reported loss is the notes' distance
    assert fit.z.shape == (16,) and fit.z.dtype == torch.float32
    assert float(fit.z.norm()) == pytest.approx(4.0, rel=1e-4)     # √D, a randn z's scale


def test_fit_is_deterministic_and_leaves_the_generator_as_it_was():
    pipe = tiny_pipe()
    target = pipe.generate(FIT_PITCHES, seed=9, num_samples=SR // 2)
    generator = pipe.generator.train().requires_grad_(True)
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    first = fit_timbre(pipe, target, FIT_PITCHES, steps=4, restarts=3, seed=1)
    again = fit_timbre(pipe, target, FIT_PITCHES, steps=4, restarts=3, seed=1)
    other = fit_timbre(pipe, target, FIT_PITCHES, steps=0, restarts=3, seed=2, use_presets=False)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert generator.training and all(p.requires_grad and p.grad is None for p in generator.parameters())
    assert all(torch.equal(v, generator.state_dict()[k]) for k, v in before.items())


def test_fit_starts_from_the_presets_and_init():
    pipe = tiny_pipe()
    target = pipe.generate(FIT_PITCHES, timbre="warm", num_samples=SR // 2)
    warm = pipe.presets["warm"] / pipe.presets["warm"].norm()
    z, loss_db = fit_timbre(pipe, target, FIT_PITCHES, steps=0, restarts=0, return_loss=True)
    assert torch.allclose(z / z.norm(), warm)        # the preset (rescaled to norm √D; only its noise differs)
    assert loss_db < 0.5 * distance_db(pipe, pipe.latent_for_seed(1), target)
    z = fit_timbre(pipe, target, FIT_PITCHES, steps=0, restarts=0, use_presets=False, init=3 * warm[None])
    assert torch.allclose(z / z.norm(), warm)


def test_level_modes_for_recordings_of_any_gain():
    pipe = tiny_pipe()
    target = pipe.generate(FIT_PITCHES, seed=9, num_samples=SR // 2)

    def fit(gain, level):
        return fit_timbre(pipe, gain * target, FIT_PITCHES, steps=3, restarts=3, level=level, return_loss=True)

    # float rounding differs with the gain, and Adam's normalised steps carry it a little way
    loud, soft = fit(8, "shape"), fit(1, "shape")                                 # loudness ignored
    assert torch.allclose(loud.z, soft.z, atol=0.02) and abs(loud.loss_db - soft.loss_db) < 0.02
    quiet, quieter = fit(1e-3, "nearest"), fit(1e-4, "nearest")                   # both below every start's level:
    assert torch.allclose(quiet.z, quieter.z, atol=0.02)                          # taken at the quietest one's
    assert quiet.loss_db < 0.5 * fit(1e-3, "exact").loss_db
    with pytest.raises(UsageError, match="level must be one of"):
        fit(1, "loud")


def test_fit_uses_the_given_velocities():
    pipe = tiny_pipe(use_velocity=True)
    velocities = [30, 70, 120]
    target = torch.from_numpy(pipe.generate(FIT_PITCHES, seed=4, velocities=velocities, num_samples=SR // 2))
    z, loss_db = fit_timbre(pipe, target, FIT_PITCHES, velocities, steps=2, restarts=4, return_loss=True)

    def distance(velocity):
        notes = pipe.generate(FIT_PITCHES, z=z, velocities=velocity, num_samples=SR // 2, as_tensor=True)
        return float(logmel_l1_db(logmel_db(notes), logmel_db(target)).mean())

    assert loss_db == pytest.approx(distance(velocities), abs=1e-3)
    assert abs(distance([100] * 3) - distance(velocities)) > 0.01       # so the line above tells them apart
    with pytest.raises(UsageError, match="one per note"):
        fit_timbre(pipe, target, FIT_PITCHES, [30, 70], steps=0, restarts=1)


# ----------------------------------------------------------------------------------- one note: anchors, velocity
def test_anchor_pitches_keep_clear_of_the_given_notes():
    assert anchor_pitches([60], (24, 84)) == [41, 50, 70, 79]
    assert anchor_pitches([30], (24, 84)) == [40, 49]                 # inside the model's range only
    assert anchor_pitches([40, 52, 64, 76], (24, 84)) == [30, 33, 45, 57, 59, 71, 83]
    assert anchor_pitches(range(24, 85, 4), (24, 84)) == []           # notes all over the range: no anchors


def test_an_anchored_one_note_fit_keeps_its_start_away_from_the_note():
    pipe = tiny_pipe()
    note = pipe.generate([55], seed=9, num_samples=SR // 2)           # another timbre, one note
    far = anchor_pitches([55], pipe.pitch_range)
    start = fit_timbre_loss(pipe, note, [55], steps=0, restarts=0, keep=1)     # the preset the descent starts at

    def fit(anchor):
        return fit_timbre_loss(pipe, note, [55], steps=40, restarts=0, keep=1, anchor=anchor, lr=0.1)

    def change(z):      # log-mel L1 (dB) of z's notes at the anchors to the start's
        a = pipe.generate(far, z=z, num_samples=SR // 2, as_tensor=True)
        b = pipe.generate(far, z=start.z, num_samples=SR // 2, as_tensor=True)
        return float(logmel_l1_db(logmel_db(a), logmel_db(b)).mean())

    free, anchored, heavy = fit(0.0), fit(0.6), fit(2.0)
    assert free.loss_db < 0.6 * start.loss_db and anchored.loss_db < 0.6 * start.loss_db    # both fit the note
    assert change(anchored.z) < 0.9 * change(free.z), (change(anchored.z), change(free.z))  # and it moved less
    # a heavy anchor: no move explains the note by more than it changes the instrument, so the start is kept
    assert torch.allclose(heavy.z, start.z) and heavy.loss_db == pytest.approx(start.loss_db, abs=1e-4)
    with pytest.raises(UsageError, match="anchor must be"):
        fit(-1.0)


def test_auto_velocity_reads_the_velocity_from_the_recording_level():
    # ≈ +19 dB from velocity 40 to 120; a quiet noise floor, as in the first test (noise is keyed to z)
    pipe = tiny_pipe(use_velocity=True, velocity_mode="split", max_noise_ratio=1e-3)
    z = pipe.latent_for_seed(3)
    z = z * 4.0 / z.norm()                                            # the scale the fit hands the generator
    for velocity in (50, 110):
        note = torch.from_numpy(pipe.generate([60], z=z, velocities=[velocity], num_samples=SR // 2))
        assert estimate_velocity(pipe, note, torch.tensor([60]), z[None]) == velocity
        fit = fit_timbre_loss(pipe, note, [60], "auto", steps=0, restarts=0, init=z[None], use_presets=False)
        assumed = fit_timbre_loss(pipe, note, [60], None, steps=0, restarts=0, init=z[None], use_presets=False)
        assert fit.loss_db < 0.01 < assumed.loss_db                   # at the read velocity, z* plays the note
    with pytest.raises(UsageError, match="or 'auto'"):
        fit_timbre(pipe, note, [60], "loud", steps=0, restarts=1)


@pytest.mark.parametrize("notes, pitches, match", [
    ([np.zeros(8000, np.float32)] * 2, [60], "2 notes but 1 pitches"),
    ([np.zeros(8000, np.float32)], [100], "outside this model's range"),
    ([np.zeros(100, np.float32)], [60], "at least 0.25 s"),
    ([np.full(8000, np.nan, np.float32)], [60], "NaN"),
])
def test_fit_refuses_bad_notes(notes, pitches, match):
    with pytest.raises(UsageError, match=match):
        fit_timbre(tiny_pipe(), notes, pitches, steps=0, restarts=1)


# ----------------------------------------------------------------------------------------------- recorded notes
def test_detect_pitch_of_a_harmonic_tone():
    assert detect_pitch(tone(57), SR) == 57


def test_read_note_resamples_mixes_and_trims(tmp_path):
    mono = tone(57, sr=44_100, lead_in=0.4)
    sf.write(str(tmp_path / "a.wav"), np.stack([mono, 0.5 * mono], 1), 44_100, subtype="PCM_24")
    audio = read_note(tmp_path / "a.wav")
    assert audio.dtype == np.float32 and abs(len(audio) - 2.005 * SR) < 0.02 * SR   # 0.4 s lead-in gone
    assert detect_pitch(audio, SR) == 57
    with pytest.raises(UsageError, match="no steady pitch found; give the pitch as x.wav:60"):
        detect_pitch(np.random.default_rng(0).normal(0, 0.1, 2 * SR).astype(np.float32), SR, "x.wav")


def test_parse_note_spec(tmp_path):
    assert parse_note_spec("cello.wav:48") == ("cello.wav", 48)
    assert parse_note_spec("cello.wav") == ("cello.wav", None)
    odd = tmp_path / "take:2.wav"
    odd.write_bytes(b"")
    assert parse_note_spec(str(odd)) == (str(odd), None)         # an existing path wins
    (tmp_path / "c.wav").write_bytes(b"")
    with pytest.raises(UsageError, match="must be a MIDI note number"):
        parse_note_spec(f"{tmp_path / 'c.wav'}:sixty")


def test_timbre_from_audio_and_add_preset(tmp_path):
    pipe = tiny_pipe()
    sf.write(str(tmp_path / "n.wav"), 0.2 * pipe.generate([55], timbre="bright", num_samples=SR)[0], SR)
    z = pipe.timbre_from_audio(str(tmp_path / "n.wav") + ":55", steps=2)
    assert z.shape == (16,) and torch.isfinite(z).all()
    assert pipe.add_preset("my-cello", z) == "my-cello" and "my-cello" in pipe.presets
    np.testing.assert_array_equal(pipe.generate([60], timbre="my-cello"), pipe.generate([60], z=z))
    with pytest.raises(UsageError, match="already has a preset 'my-cello'"):
        pipe.add_preset("my-cello", z)
    for bad in ("My Cello", "17", "a--b", "x" * 65):
        with pytest.raises(UsageError, match="lowercase letters, digits and dashes"):
            pipe.add_preset(bad, z)
    with pytest.raises(UsageError, match="latent_dim"):
        pipe.add_preset("short", torch.zeros(3))


# ----------------------------------------------------------------------------------------------- the commands
@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """A tiny release folder with two presets and a model card."""
    folder = tmp_path_factory.mktemp("release") / "model"
    save(tiny_pipe(), folder)
    (folder / "MODEL_CARD.md").write_text("# tiny\n")
    return folder


@pytest.fixture()
def note_wav(tmp_path, release) -> Path:
    path = tmp_path / "note.wav"
    sf.write(str(path), creative_gan.load(release).generate([57], seed=3, num_samples=SR)[0], SR)
    return path


def fails(capsys, argv, match) -> None:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("creative-gan: error: "), err
    assert match in err, err


@pytest.mark.parametrize("kind, match", [
    ("silent", "is silent (peak -inf dBFS"),
    ("hum", "is silent (peak -66 dBFS"),
    ("text", "not an audio file this can read"),
    ("empty", "not an audio file this can read"),
])
def test_timbre_add_refuses_silent_and_non_audio_files(tmp_path, capsys, release, kind, match):
    bad = tmp_path / "bad.wav"
    if kind == "text":
        bad.write_text("these are my notes, not audio\n" * 20)
    elif kind == "empty":
        bad.write_bytes(b"")
    else:
        sf.write(str(bad), np.full(SR, 0.0 if kind == "silent" else 5e-4, np.float32), SR)
    before = sorted(p.name for p in tmp_path.iterdir())
    fails(capsys, ["timbre", "add", "mine", str(bad), "--model", str(release), "-o", str(tmp_path / "m2")], match)
    assert sorted(p.name for p in tmp_path.iterdir()) == before     # nothing written


def test_timbre_add_round_trip(tmp_path, capsys, release, note_wav):
    out = tmp_path / "m2"
    argv = ["timbre", "add", "my-note", f"{note_wav}:57", "--model", str(release), "-o", str(out),
            "--fit-steps", "10", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    original, added = creative_gan.load(release), creative_gan.load(out)
    assert sorted(added.presets) == ["bright", "my-note", "warm"] and "my-note" not in original.presets
    assert all(torch.equal(added.presets[k], original.presets[k]) for k in original.presets)
    config = json.loads((out / "config.json").read_text())
    assert config["presets"] == ["bright", "my-note", "warm"] and config["added_presets"]["my-note"]["notes"] == \
        ["note.wav:57"]
    assert "`my-note`: fitted to note.wav:57" in (out / "MODEL_CARD.md").read_text()
    assert (release / "MODEL_CARD.md").read_text() == "# tiny\n"                    # the source is untouched
    # render --timbre my-note plays the stored z
    for name in ("a.wav", "b.wav"):
        timbre = ["--timbre", "my-note"] if name == "a.wav" else []
        assert main(["render", str(ODE), "-o", str(tmp_path / name), "--model", str(out), *timbre,
                     "--no-progress"]) == 0
    direct = added.render_midi(str(ODE), timbres=[added.presets["my-note"]], progress=False)
    capsys.readouterr()
    played, _ = sf.read(str(tmp_path / "a.wav"), dtype="float32")
    default, _ = sf.read(str(tmp_path / "b.wav"), dtype="float32")
    assert np.abs(played - direct.audio.reshape(played.shape)).max() < 1e-4
    assert np.abs(played - default).max() > 1e-2
    # refusals: existing folder without --force, name clash without --replace, bad names
    fails(capsys, argv, "a release folder already exists there; add --force")
    fails(capsys, [*argv[:4], "-o", str(tmp_path / "m3"), "--model", str(out)], "already has a preset 'my-note'")
    fails(capsys, ["timbre", "add", "My Note", str(note_wav), "-o", str(tmp_path / "m4")], "such as 'my-note'")
    fails(capsys, [*argv[:4], "-o", str(ASSETS / "audio-default"), "--force"], "inside the package's shipped")
    assert not (tmp_path / "m3").exists() and not (tmp_path / "m4").exists()
    assert main([*argv, "--force", "--replace", "--fit-seed", "1"]) == 0
    assert not torch.equal(creative_gan.load(out).presets["my-note"], added.presets["my-note"])


def test_render_timbre_from_a_recorded_note(tmp_path, capsys, release, note_wav):
    out = tmp_path / "song.wav"
    argv = ["render", str(ODE), "-o", str(out), "--model", str(release), "--timbre-from", f"{note_wav}:60",
            "--fit-steps", "5", "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    fit_db = float(next(line.split()[1] for line in printed.splitlines() if line.startswith("timbre_fit_db")))
    assert math.isfinite(fit_db) and fit_db > 0
    audio, rate = sf.read(str(out), dtype="float32")
    assert rate == SR and len(audio) > 30 * SR and np.abs(audio).max() > 0.01
    fails(capsys, [*argv, "--timbre", "warm"], "give --timbre-from or --timbre, not both")
    fails(capsys, [*argv[:7], f"{note_wav}:100"], "pitch 100 is not a MIDI note in this model's range 24-84")
