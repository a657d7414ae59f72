"""The digits pipeline: data, networks, seeded sampling, release round trip, evaluator, training."""
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

import creative_gan
from creative_gan.errors import ReleaseError, UsageError
from creative_gan.images import interpolation_strip, make_grid, save_grid, to_uint8
from creative_gan.pipelines.digits.data import DigitsDataset, split_indices
from creative_gan.pipelines.digits.evaluate import DigitsEvaluator, class_metrics
from creative_gan.pipelines.digits.networks import (LatentPrior, LatentPriorConfig, build_networks,
                                                    recalibrate_batchnorm)
from creative_gan.pipelines.digits.pipeline import DigitsPipeline
from creative_gan.pipelines.digits.plugin import PLUGIN


def make_pipe(arch="dcgan", seed=0, latent_modes=0, **options) -> DigitsPipeline:
    torch.manual_seed(seed)
    options = {"image_size": 16, "latent_dim": 8, **options}
    options.setdefault("base_channels" if arch == "dcgan" else "hidden_dim", 8)
    generator, _ = build_networks(arch, options)
    prior = LatentPrior(LatentPriorConfig(latent_dim=8, modes=latent_modes, spread=0.5))
    return DigitsPipeline(generator, arch, {"dataset": "test"}, prior=prior)


@pytest.fixture(scope="module")
def evaluator():
    return DigitsEvaluator(16)


# ------------------------------------------------------------------ data
@pytest.mark.parametrize("size", [8, 16, 32])
def test_dataset_shapes_range_and_keys(size):
    train = DigitsDataset(size, "train")
    item = train[0]
    assert set(item) == {"x"} and item["x"].shape == (1, size, size)
    batch = train.get_batch([0, 5, 7])
    assert set(batch) == {"x"} and batch["x"].shape == (3, 1, size, size)
    assert train.images.min() >= -1 and train.images.max() <= 1
    assert train.images.min() == -1 and train.images.max() > 0.9  # background and full ink present
    labelled = DigitsDataset(size, "held_out", with_labels=True)
    assert set(labelled.get_batch([1, 2])) == {"x", "label"}
    assert labelled[3]["label"].dtype == torch.long


def test_split_is_seeded_disjoint_and_complete():
    train, held = split_indices(1797)
    assert len(train) + len(held) == 1797 and not set(train) & set(held)
    again_train, _ = split_indices(1797)
    assert np.array_equal(train, again_train)
    other_train, _ = split_indices(1797, seed=1)
    assert not np.array_equal(train, other_train)
    assert len(DigitsDataset(16, "train")) == len(train) and len(DigitsDataset(16, "all")) == 1797


def test_dataset_rejects_bad_arguments():
    with pytest.raises(UsageError, match="image_size"):
        DigitsDataset(12)
    with pytest.raises(UsageError, match="split"):
        DigitsDataset(16, "test")


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
@pytest.mark.parametrize("size", [8, 16, 32])
def test_network_shapes(arch, size):
    width = {"hidden_dim": 16} if arch == "mlp" else {"base_channels": 8}
    generator, discriminator = build_networks(arch, {"image_size": size, "latent_dim": 10, **width})
    fake = generator(torch.randn(4, 10))
    assert fake.shape == (4, 1, size, size) and fake.abs().max() <= 1
    assert discriminator(fake).shape == (4,)


def test_networks_are_seeded_and_options_checked():
    torch.manual_seed(3)
    g1, d1 = build_networks("dcgan", {"base_channels": 8})
    torch.manual_seed(3)
    g2, d2 = build_networks("dcgan", {"base_channels": 8})
    z = torch.randn(2, 100)
    assert torch.equal(g1.eval()(z), g2.eval()(z))
    assert all(torch.equal(a, b) for a, b in zip(d1.parameters(), d2.parameters()))
    _, d_wide = build_networks("dcgan", {"base_channels": 8, "d_base_channels": 16})
    assert d_wide.config.base_channels == 16
    with pytest.raises(UsageError, match="hidden_dim"):
        build_networks("dcgan", {"hidden_dim": 8})
    with pytest.raises(UsageError, match="architecture"):
        build_networks("resnet", {})
    # sizes below 1, fractional or boolean sizes and out-of-range rates are one clear error
    for bad, name in (({"latent_dim": 0}, "latent_dim"), ({"base_channels": 1.5}, "base_channels"),
                      ({"latent_dim": True}, "latent_dim"), ({"leaky_slope": 2.0}, "leaky_slope")):
        with pytest.raises(UsageError, match=name):
            build_networks("dcgan", {"image_size": 16, **bad})
    with pytest.raises(UsageError, match="hidden_dim"):
        build_networks("mlp", {"hidden_dim": -3})


def test_sample_refuses_an_absurd_upscale(tmp_path, capsys):
    from creative_gan.cli import main

    target = tmp_path / "grid.png"
    assert main(["sample", "digits", "--model", "digits-default", "--seeds", "0-3",
                 "--upscale", "100000", "-o", str(target)]) == 2
    assert "--upscale must be between 1 and" in capsys.readouterr().err
    assert not target.exists()


def test_latent_prior_gaussian_and_mixture():
    gaussian = LatentPrior(LatentPriorConfig(latent_dim=5))
    assert torch.equal(gaussian.sample(3, torch.Generator().manual_seed(1)),
                       torch.randn(3, 5, generator=torch.Generator().manual_seed(1)))
    mixture = LatentPrior(LatentPriorConfig(latent_dim=64, modes=4, spread=0.1))
    z = mixture.sample(200, torch.Generator().manual_seed(2))
    assert torch.equal(z, mixture.sample(200, torch.Generator().manual_seed(2)))
    nearest = torch.cdist(z, mixture.centres).min(dim=1).values
    assert nearest.max() < 1.2  # every latent sits near one centre (noise norm ≈ 0.1·√64)
    assert len(torch.cdist(z, mixture.centres).argmin(dim=1).unique()) == 4
    with pytest.raises(UsageError):
        LatentPrior(LatentPriorConfig(modes=-1))


def test_recalibrate_batchnorm_is_deterministic():
    pipe = make_pipe()
    generator = pipe.generator
    recalibrate_batchnorm(generator, 8, num_batches=2, batch_size=32)
    first = [b.clone() for b in generator.buffers()]
    recalibrate_batchnorm(generator, 8, num_batches=2, batch_size=32)
    assert all(torch.equal(a, b) for a, b in zip(first, generator.buffers()))
    assert not generator.training


# ------------------------------------------------------------------ pipeline
@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_generate_is_deterministic_per_seed_whatever_the_batch(arch):
    pipe = make_pipe(arch)
    batch = pipe.generate(seeds=[4, 9, 11])
    assert isinstance(batch, np.ndarray) and batch.dtype == np.float32
    assert batch.shape == (3, 1, 16, 16) and np.abs(batch).max() <= 1
    alone = pipe.generate(seeds=[9])
    np.testing.assert_allclose(alone[0], batch[1], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(pipe.generate(n=3), pipe.generate(seeds=[0, 1, 2]))
    np.testing.assert_array_equal(pipe(seed=9), alone)
    assert not np.allclose(batch[0], batch[2])
    as_tensor = pipe.generate(seeds=[4, 9, 11], as_tensor=True)
    assert isinstance(as_tensor, torch.Tensor) and np.array_equal(as_tensor.numpy(), batch)


def test_generate_rejects_ambiguous_arguments():
    pipe = make_pipe()
    with pytest.raises(UsageError):
        pipe.generate()
    with pytest.raises(UsageError):
        pipe.generate(seeds=[1], n=2)
    with pytest.raises(UsageError):
        pipe.generate(seeds=[1], seed=2)
    with pytest.raises(UsageError, match="z must be"):
        pipe.generate(z=torch.zeros(2, 3))


def test_interpolation_ends_at_the_seeds():
    pipe = make_pipe()
    walk = pipe.interpolate(3, 7, steps=5)
    ends = pipe.generate(seeds=[3, 7])
    assert walk.shape == (5, 1, 16, 16) and walk.dtype == np.float32
    np.testing.assert_allclose(walk[0], ends[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(walk[-1], ends[1], atol=1e-5, rtol=0)


def test_interpolation_uses_the_core_slerp(monkeypatch):
    from creative_gan.layers import slerp
    from creative_gan.pipelines.digits import pipeline as pipeline_module

    pipe = make_pipe()
    z_a, z_b = pipe.latents_for_seeds([3, 7])
    expected = pipe.generate(z=slerp(z_a, z_b, torch.linspace(0, 1, 4).unsqueeze(1)))
    np.testing.assert_array_equal(pipe.interpolate(3, 7, steps=4), expected)
    calls = []
    monkeypatch.setattr(pipeline_module, "slerp", lambda *a: calls.append(a) or slerp(*a))
    pipe.interpolate(3, 7, steps=4)
    assert len(calls) == 1


@pytest.mark.parametrize("arch, latent_modes", [("mlp", 0), ("dcgan", 0), ("dcgan", 5)])
def test_release_round_trip_gives_identical_samples(tmp_path, arch, latent_modes):
    pipe = make_pipe(arch, latent_modes=latent_modes)
    recalibrate_batchnorm(pipe.generator, pipe.prior, num_batches=2, batch_size=32)
    creative_gan.save(pipe, tmp_path / "model")
    loaded = creative_gan.load(tmp_path / "model", device="cpu")
    assert isinstance(loaded, DigitsPipeline) and loaded.architecture == arch
    assert loaded.release_config()["generator"] == pipe.release_config()["generator"]
    assert loaded.prior.config == pipe.prior.config
    seeds = [0, 1, 2, 99]
    np.testing.assert_array_equal(loaded.generate(seeds=seeds), pipe.generate(seeds=seeds))


def test_release_with_wrong_tensors_is_a_clear_error(tmp_path):
    small, wide = make_pipe(), make_pipe(base_channels=16)
    creative_gan.save(small, tmp_path / "model")
    config, _ = creative_gan.release.load_parts(tmp_path / "model")
    with pytest.raises(RuntimeError):
        PLUGIN.from_release(config, wide.release_tensors(), "cpu")
    (tmp_path / "model" / "config.json").write_text(
        (tmp_path / "model" / "config.json").read_text().replace('"dcgan"', '"resnet"'))
    with pytest.raises(ReleaseError, match="does not fit"):
        creative_gan.load(tmp_path / "model")


# ------------------------------------------------------------------ images
def test_grid_layout_and_values(tmp_path):
    images = torch.full((5, 1, 4, 4), -1.0)
    images[1] = 1.0
    assert to_uint8(images)[1].min() == 255 and to_uint8(images)[0].max() == 0
    grid = make_grid(images, nrow=3, pad=1, upscale=2)
    assert grid.shape == (2 * 9 + 1, 3 * 9 + 1, 1)
    path = save_grid(images, tmp_path / "sub" / "grid.png", nrow=3, pad=1, upscale=2)
    assert Image.open(path).size == (28, 19) and not list(path.parent.glob(".*tmp"))
    strip = interpolation_strip(torch.zeros(2, 4, 3, 4, 4), tmp_path / "walk.png", pad=0)
    assert Image.open(strip).size == (16, 8) and Image.open(strip).mode == "RGB"
    with pytest.raises(ValueError):
        to_uint8(torch.zeros(2, 2, 4, 4))


# ------------------------------------------------------------------ evaluator
def test_class_metrics_on_known_inputs():
    uniform = torch.eye(10).repeat(10, 1)
    metrics = class_metrics(uniform)
    assert metrics["coverage"] == 10 and math.isclose(metrics["class_entropy"], math.log(10), rel_tol=1e-6)
    assert metrics["confident_fraction"] == 1.0
    one_stray = torch.cat([torch.eye(10)[:1].repeat(199, 1), torch.eye(10)[1:2]])
    assert class_metrics(one_stray)["coverage"] == 1  # a single stray sample is not a mode


def test_real_held_out_digits_score_high(evaluator):
    reference = evaluator.reference()
    assert reference["classifier_held_out_accuracy"] >= 0.97
    assert reference["real_coverage"] == 10
    assert reference["real_class_entropy"] >= 0.95 * math.log(10)
    assert reference["real_confident_fraction"] >= 0.85


def test_collapsed_generator_is_caught(evaluator):
    one_digit = evaluator.held_out.images[:1].repeat(500, 1, 1, 1)
    metrics = evaluator.evaluate_images(one_digit)
    assert metrics["coverage"] == 1 and metrics["class_entropy"] < 1e-6
    assert metrics["frechet_distance"] > 10 * evaluator.reference()["real_frechet_distance"]
    noise = torch.rand(500, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert evaluator.evaluate_images(noise)["frechet_distance"] > metrics["frechet_distance"] / 10


def test_evaluator_uses_the_core_frechet_distance(evaluator, monkeypatch):
    from creative_gan import metrics as core_metrics
    from creative_gan.pipelines.digits import evaluate as evaluate_module

    images = evaluator.held_out.images[:200]
    calls = []
    original = core_metrics.frechet_distance_from_stats
    monkeypatch.setattr(evaluate_module, "frechet_distance_from_stats",
                        lambda *a, **k: calls.append((a, k)) or original(*a, **k))
    value = evaluator.evaluate_images(images.numpy())["frechet_distance"]   # numpy input works too
    assert len(calls) == 1 and value == original(*calls[0][0], **calls[0][1])
    assert not hasattr(evaluate_module, "frechet_distance")                # no second implementation


def test_evaluation_leaves_the_thread_count_alone(monkeypatch):
    from creative_gan.pipelines.digits import evaluate as evaluate_module

    changes = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: changes.append(n))
    evaluate_module.train_digit_classifier(8, epochs=1)
    assert changes == []


def test_evaluator_rejects_wrong_image_size(evaluator):
    with pytest.raises(ValueError, match="expected images"):
        evaluator.evaluate_images(torch.zeros(4, 1, 8, 8))


# ------------------------------------------------------------------ plugin + trainer
def test_make_task_refuses_data_and_builds_unconditional_task():
    from argparse import Namespace

    from creative_gan.options import TrainOptions

    preset = PLUGIN.presets["tiny"]
    options = TrainOptions.from_dict(preset)
    with pytest.raises(UsageError, match="no --data"):
        PLUGIN.make_task(options, preset, Namespace(data="some/folder"))
    task = PLUGIN.make_task(options, preset, Namespace(data=None, arch="mlp"))
    assert task.architecture == "mlp" and task.generator.config.latent_dim == 16
    real = task.dataset.get_batch([0, 1])
    assert task.sample_condition(real, torch.Generator(), torch.device("cpu")) == {}
    again = PLUGIN.make_task(options, preset, Namespace(data=None, arch="mlp"))
    assert all(torch.equal(a, b) for a, b in zip(task.generator.parameters(), again.generator.parameters()))


@pytest.mark.filterwarnings("ignore:possible mode collapse")  # 4 steps from init: G is still flat
def test_tiny_training_run_through_the_cli(tmp_path, capsys):
    from creative_gan.cli import main
    from creative_gan.runlog import read_metrics

    run_dir = tmp_path / "run"
    assert main(["train", "digits", "--preset", "tiny", "--out", str(run_dir), "--no-progress"]) == 0
    rows = read_metrics(run_dir / "metrics.jsonl")
    losses = [v for row in rows for k, v in row.items() if k.startswith(("D/", "G/"))]
    assert rows and losses and all(math.isfinite(v) for v in losses)
    assert list((run_dir / "previews").glob("step_*.png"))
    pipe = creative_gan.load(run_dir / "model")
    assert pipe.generate(seeds=[0, 1]).shape == (2, 1, 16, 16)
    provenance = json.loads((run_dir / "model" / "config.json").read_text())["provenance"]
    assert provenance["options"]["out_dir"] == "run" and str(tmp_path) not in json.dumps(provenance)
    assert main(["train", "digits", "--preset", "tiny", "--out", str(run_dir), "--no-progress"]) == 2
    assert main(["sample", "digits", "--model", str(run_dir / "model"), "--seeds", "0-3",
                 "-o", str(tmp_path / "samples")]) == 0
    assert len(list((tmp_path / "samples").glob("seed_*.png"))) == 4
    assert (tmp_path / "samples" / "grid.png").is_file()
    assert main(["evaluate", "digits", "--model", str(run_dir / "model"), "--num-samples", "50",
                 "--json", str(tmp_path / "m.json")]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert {"coverage", "class_entropy", "confident_fraction", "frechet_distance",
            "real_coverage"} <= set(metrics)
