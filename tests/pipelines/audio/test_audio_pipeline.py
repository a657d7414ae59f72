"""The audio pipeline end to end on a tiny corpus the test writes: train, release, sample, render."""
import json
import math

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import torch

import creative_gan
from creative_gan.cli import main
from creative_gan.pipelines.audio.constants import NOTE_SAMPLES, SAMPLE_RATE
from creative_gan.pipelines.audio.data.nsynth import CorpusWriter
from creative_gan.runlog import read_metrics

PITCHES = (48, 52, 55, 60, 64, 67, 72, 76)


def _note(pitch: int, brightness: float) -> np.ndarray:
    """A 4-s additive note: 3 s held, 1 s decay; ``brightness`` sets the harmonic roll-off."""
    t = np.arange(NOTE_SAMPLES) / SAMPLE_RATE
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    k = np.arange(1, 9)[:, None]
    partials = (brightness ** (k - 1)) * np.sin(2 * np.pi * f0 * k * t) * (k * f0 < SAMPLE_RATE / 2)
    env = np.minimum(t / 0.01, 1.0) * np.where(t < 3.0, 1.0, np.exp(-(t - 3.0) / 0.2))
    return (0.2 * partials.sum(0) * env / partials.shape[0]).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    with CorpusWriter(root) as writer:
        for instrument, (family, brightness) in enumerate((("keyboard", 0.3), ("brass", 0.85))):
            for pitch in PITCHES:
                writer.add(_note(pitch, brightness), pitch=pitch, velocity=100, instrument=instrument,
                           family=family)
    return root


def _train(corpus, out, preset, *extra):
    code = main(["train", "audio", "--preset", preset, "--data", str(corpus), "--out", str(out),
                 "--steps", "4", "--no-progress", "--seed", "3", *extra])
    assert code == 0
    return out


@pytest.mark.parametrize("preset", ["tiny", "tiny-spectral", "tiny-wave"])
def test_tiny_presets_train_and_release(corpus, tmp_path, preset):
    run = _train(corpus, tmp_path / "run", preset)
    rows = read_metrics(run / "metrics.jsonl")
    assert rows[-1]["step"] == 4
    assert all(math.isfinite(v) for row in rows for v in row.values())
    assert {"D/pitch_ce", "G/pitch_ce"} <= set(rows[-1])
    pipe = creative_gan.load(run / "model")
    notes = pipe.generate_notes([48, 60], seed=1)
    assert notes.shape == (2, NOTE_SAMPLES) and notes.dtype == np.float32
    assert np.isfinite(notes).all()
    again = creative_gan.load(run / "model").generate_notes([48, 60], seed=1)
    np.testing.assert_array_equal(notes, again)                 # release round trip is exact
    other = pipe.generate_notes([48, 60], seed=2)
    assert not np.array_equal(notes, other)                     # z changes the sound
    assert list((run / "previews").glob("*.png")) and list((run / "previews").glob("*.wav"))


def test_seeded_training_is_deterministic(corpus, tmp_path):
    a = creative_gan.load(_train(corpus, tmp_path / "a", "tiny") / "model")
    b = creative_gan.load(_train(corpus, tmp_path / "b", "tiny") / "model")
    for (name, pa), (_, pb) in zip(a.generator.state_dict().items(), b.generator.state_dict().items()):
        assert torch.equal(pa, pb), name


def test_notes_api_contract(corpus, tmp_path):
    pipe = creative_gan.load(_train(corpus, tmp_path / "run", "tiny") / "model")
    per_note = pipe.generate_notes([60, 60], seed=[1, 2])
    assert not np.array_equal(per_note[0], per_note[1])
    z = pipe.latent_for_seed(1)
    np.testing.assert_allclose(pipe.generate_notes([60], z=z)[0], per_note[0], atol=1e-5)  # batch size only
    prefix = pipe.generate(torch.tensor([60]), z[None], num_samples=8000)
    assert prefix.shape == (1, 8000)
    with pytest.raises(ValueError, match="range"):
        pipe.generate_notes([10], seed=0)


def test_sample_cli_writes_wavs_and_sheet(corpus, tmp_path):
    run = _train(corpus, tmp_path / "run", "tiny")
    out = tmp_path / "samples"
    assert main(["sample", "audio", "--model", str(run / "model"), "--pitch", "60", "--seeds", "0-2",
                 "-o", str(out)]) == 0
    wavs = sorted(out.glob("*.wav"))
    assert len(wavs) == 3
    audio, sr = sf.read(str(wavs[0]))
    assert sr == SAMPLE_RATE and audio.shape == (NOTE_SAMPLES,)
    assert (out / "spectrograms.png").stat().st_size > 1000


def test_render_cli_and_bad_inputs(corpus, tmp_path, capsys):
    model = _train(corpus, tmp_path / "run", "tiny") / "model"
    midi = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for i, pitch in enumerate((60, 64, 67, 72, 0, 127)):
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=i * 0.5, end=i * 0.5 + 0.4))
    midi.instruments.append(inst)
    song = tmp_path / "song.mid"
    midi.write(str(song))
    out, summary = tmp_path / "song.wav", tmp_path / "summary.json"
    code = main(["render", str(song), "-o", str(out), "--model", str(model), "--json", str(summary),
                 "--sample-rate", "44100", "--no-progress", "--morph", "0:seed:1,2:seed:5"])
    assert code == 0
    info = json.loads(summary.read_text())
    assert info["notes_rendered"] == 6 and info["notes_transposed"] == 2
    audio, sr = sf.read(str(out))
    assert sr == 44100 and 0.5 < np.abs(audio).max() <= 1.0
    capsys.readouterr()

    not_midi = tmp_path / "notes.mid"
    not_midi.write_text("this is not a MIDI file")
    cases = [
        ([str(not_midi), "-o", str(tmp_path / "x.wav")], "MIDI"),
        ([str(song), "-o", str(tmp_path / "missing" / "x.wav")], "does not exist"),
        ([str(song), "-o", str(tmp_path / "y.wav"), "--morph", "0:no-such-preset"], "no-such-preset"),
    ]
    for args, needle in cases:
        code = main(["render", *args, "--model", str(model), "--no-progress"])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.wav").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_train_without_data_is_one_line(capsys):
    assert main(["train", "audio", "--preset", "tiny"]) == 2
    assert "needs --data" in capsys.readouterr().err


def _tiny_harmonic_pipe(anchors=None):
    from creative_gan.pipelines.audio.networks.harmonic import HarmonicGenerator, HarmonicGeneratorConfig
    from creative_gan.pipelines.audio.pipeline import AudioPipeline

    torch.manual_seed(0)
    config = HarmonicGeneratorConfig.tiny()
    return AudioPipeline("harmonic", vars(config), HarmonicGenerator(config), seed_anchors=anchors)


def test_seed_anchors_make_every_seed_a_blend_of_two_instruments(tmp_path):
    """With ``seed_anchors`` a seed's z lies on the great-circle arc between two different anchors (its direction
    in their plane, its norm between theirs), the same in every process and after save/load; presets added
    later do not move it; a release without anchors keeps z ~ N(0, I)."""
    scale = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    anchors = torch.randn(4, 64, generator=torch.Generator().manual_seed(5)) * scale
    pipe = _tiny_harmonic_pipe(anchors)
    assert pipe.release_config()["seed_prior"] == "anchor-blend"
    pairs, positions = set(), []
    for seed in range(40):
        z = pipe.latent_for_seed(seed)
        assert torch.equal(z, pipe.latent_for_seed(seed))
        best = None
        for i in range(4):
            for j in range(i + 1, 4):
                plane = torch.linalg.qr(torch.stack([anchors[i], anchors[j]]).T).Q          # [64, 2]
                residual = float((z - plane @ (plane.T @ z)).norm() / z.norm())
                if best is None or residual < best[0]:
                    best = (residual, i, j)
        residual, i, j = best
        assert residual < 1e-5
        low, high = sorted((float(anchors[i].norm()), float(anchors[j].norm())))
        assert low - 1e-4 <= float(z.norm()) <= high + 1e-4
        pairs.add((i, j))
        norm_i, norm_j = float(anchors[i].norm()), float(anchors[j].norm())
        positions.append((float(z.norm()) - norm_i) / (norm_j - norm_i))
    assert len(pairs) == 6                                        # every pair of instruments is drawn
    positions = np.array(positions)                               # … at positions along the whole arc
    assert ((positions > 0.3) & (positions < 0.7)).sum() >= 5 and positions.min() < 0.2 and positions.max() > 0.8
    before = pipe.latent_for_seed(7)
    pipe.add_preset("mine", torch.randn(64))
    assert torch.equal(pipe.latent_for_seed(7), before)
    loaded = creative_gan.load(creative_gan.save(pipe, tmp_path / "m"))
    assert torch.equal(loaded.seed_anchors, anchors) and torch.equal(loaded.latent_for_seed(7), before)
    np.testing.assert_array_equal(loaded.generate([60], seed=7, num_samples=4000),
                                  pipe.generate([60], z=before, num_samples=4000))
    plain = _tiny_harmonic_pipe()
    assert plain.release_config()["seed_prior"] == "normal"
    assert torch.equal(plain.latent_for_seed(7), torch.randn(64, generator=torch.Generator().manual_seed(7)))


@pytest.mark.parametrize("anchors", [torch.randn(1, 64), torch.randn(3, 16), torch.full((3, 64), float("nan")),
                                     torch.ones(3, 64, dtype=torch.long)])
def test_bad_seed_anchors_in_a_release_are_one_line(tmp_path, anchors):
    from safetensors.torch import load_file, save_file

    from creative_gan.errors import ReleaseError

    path = creative_gan.save(_tiny_harmonic_pipe(torch.randn(3, 64)), tmp_path / "m")
    tensors = load_file(str(path / "model.safetensors"))
    tensors["seed_anchors"] = anchors
    save_file(tensors, str(path / "model.safetensors"))
    with pytest.raises(ReleaseError, match="seed_anchors") as info:
        creative_gan.load(path)
    assert "\n" not in str(info.value)
