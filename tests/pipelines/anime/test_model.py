"""Anime DCGAN: networks, the tiny preset training on CPU, seeded sampling, walks, release, CLI errors."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

import creative_gan
from creative_gan.cli import main as cli_main
from creative_gan.errors import UsageError
from creative_gan.pipelines.anime.media import read_gif_frames, write_walk
from creative_gan.pipelines.anime.networks import build_networks, recalibrate_batchnorm
from creative_gan.pipelines.anime.pipeline import AnimePipeline


def make_pipe(size=64, seed=0) -> AnimePipeline:
    torch.manual_seed(seed)
    generator, _ = build_networks({"image_size": size, "latent_dim": 8, "base_channels": 4})
    recalibrate_batchnorm(generator, num_batches=2, batch_size=16)
    return AnimePipeline(generator, {"source": "procedural", "count": 40, "procedural_seed": 0, "size": 64})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny preset trained through the CLI (a real run on CPU)."""
    out = tmp_path_factory.mktemp("anime") / "run"
    assert cli_main(["train", "anime", "--preset", "tiny", "--out", str(out), "--no-progress"]) == 0
    return out


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("spectral", [False, True])
def test_network_shapes_and_ranges(size, spectral):
    generator, discriminator = build_networks({"image_size": size, "latent_dim": 10, "base_channels": 4,
                                               "d_spectral_norm": spectral})
    fake = generator(torch.randn(3, 10))
    assert fake.shape == (3, 3, size, size) and fake.abs().max() <= 1
    assert discriminator(fake).shape == (3,)
    norms = [m for m in discriminator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bool(norms) != spectral  # spectral norm replaces D's BatchNorm


def test_network_options_are_checked():
    with pytest.raises(UsageError, match="image_size"):
        build_networks({"image_size": 48})
    with pytest.raises(UsageError, match="unknown anime network option"):
        build_networks({"widht": 3})


# ------------------------------------------------------------------ training
def test_tiny_preset_trains_on_cpu_and_releases(trained):
    metrics = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["step"] == 4 and np.isfinite(metrics[-1]["D/adv"]) and np.isfinite(metrics[-1]["G/adv"])
    assert (trained / "previews").is_dir() and any((trained / "previews").glob("*.png"))
    config = json.loads((trained / "model" / "config.json").read_text())
    assert config["pipeline"] == "anime" and config["dataset"]["source"] == "procedural"
    assert "hair_colour" in config["attributes"]
    pipe = creative_gan.load(trained / "model")
    images = pipe.generate(seeds=[0, 1])
    assert isinstance(images, np.ndarray) and images.dtype == np.float32 and images.shape == (2, 3, 64, 64)
    assert images.min() >= -1 and images.max() <= 1


def test_training_changes_the_generator(trained, tmp_path):
    """The trained weights differ from the seeded initial ones (the steps really updated G)."""
    state = torch.load(trained / "checkpoints" / "state.pt", weights_only=True)
    torch.manual_seed(0)
    initial, _ = build_networks({"image_size": 64, "latent_dim": 16, "base_channels": 4})
    changed = [k for k, v in initial.state_dict().items()
               if v.dtype.is_floating_point and not torch.allclose(v, state["generator"][k])]
    assert len(changed) > 5


# ------------------------------------------------------------------ sampling
def test_seeded_sampling_is_deterministic_and_batch_independent():
    pipe = make_pipe()
    a = pipe.generate(seeds=[3, 5, 7])
    b = pipe.generate(seeds=[3, 5, 7])
    assert np.array_equal(a, b)
    alone = pipe.generate(seeds=[5])
    assert np.allclose(alone[0], a[1], atol=1e-5)
    assert not np.allclose(a[0], a[1])
    assert np.array_equal(pipe.generate(n=2), pipe.generate(seeds=[0, 1]))
    tensor = pipe.generate(seeds=[3], as_tensor=True)
    assert isinstance(tensor, torch.Tensor)
    z1 = pipe.latents_for_seeds([4])
    assert torch.allclose(pipe.latents_for_seeds([4], truncation=0.5), 0.5 * z1)
    with pytest.raises(UsageError):
        pipe.generate(seeds=[1], truncation=0)
    with pytest.raises(UsageError):
        pipe.generate(seeds=[1], n=2)


def test_seeded_sampling_matches_across_processes(tmp_path):
    """The same seed gives the same face in a fresh process (latents come from per-seed generators)."""
    import subprocess
    import sys

    pipe = make_pipe()
    path = creative_gan.save(pipe, tmp_path / "model")
    code = ("import creative_gan, numpy as np, sys; "
            f"np.save(sys.argv[1], creative_gan.load({str(path)!r}).generate(seeds=[11, 12]))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "other.npy")], check=True)
    assert np.allclose(np.load(tmp_path / "other.npy"), pipe.generate(seeds=[11, 12]), atol=1e-6)


def test_walk_starts_and_ends_on_the_seeds_and_moves_smoothly():
    pipe = make_pipe()
    frames = pipe.walk([3, 17, 42], frames=21)
    assert frames.shape == (21, 3, 64, 64)
    ends = pipe.generate(seeds=[3, 17, 42])
    assert np.allclose(frames[0], ends[0], atol=1e-5)
    assert np.allclose(frames[10], ends[1], atol=1e-5)  # the middle seed is passed through exactly
    assert np.allclose(frames[-1], ends[2], atol=1e-5)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    jump = np.abs(ends[0] - ends[1]).mean()
    assert steps.max() < 0.5 * jump  # small steps compared with jumping straight between seeds
    looped = pipe.walk([3, 17], frames=10, loop=True)
    assert np.allclose(looped[0], ends[0], atol=1e-5) and not np.allclose(looped[-1], ends[0], atol=1e-3)
    with pytest.raises(UsageError, match="two seeds"):
        pipe.walk([3], frames=10)
    with pytest.raises(UsageError, match="frames"):
        pipe.walk([3, 4], frames=1)


def test_walk_gif_round_trip_and_mp4_without_a_writer(tmp_path, monkeypatch):
    pipe = make_pipe()
    frames = pipe.walk([1, 2], frames=8)
    path = write_walk(frames, tmp_path / "walk.gif", fps=10, upscale=2)
    back = read_gif_frames(path)
    assert back.shape == (8, 128, 128, 3)
    first = (frames[0].transpose(1, 2, 0) + 1) * 127.5
    assert np.abs(back[0, ::2, ::2].astype(float) - first).mean() < 12  # palette quantisation only
    import sys

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(UsageError, match="imageio-ffmpeg"):
        write_walk(frames, tmp_path / "walk.mp4")
    assert not (tmp_path / "walk.mp4").exists()
    with pytest.raises(UsageError, match=".gif or .mp4"):
        write_walk(frames, tmp_path / "walk.avi")


def test_walk_mp4_round_trip(tmp_path):
    """With ``imageio-ffmpeg`` (the ``video`` extra): an H.264 MP4 of every frame, upscaled, close to the frames
    (codec loss only), and a file that ffmpeg reads back."""
    import imageio_ffmpeg

    pipe = make_pipe()
    frames = pipe.walk([1, 2], frames=8)
    path = write_walk(frames, tmp_path / "walk.mp4", fps=10, upscale=4)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    assert tuple(meta["size"]) == (256, 256) and meta["fps"] == 10
    back = np.stack([np.frombuffer(f, np.uint8).reshape(256, 256, 3) for f in reader])
    assert len(back) == 8
    for i in (0, 7):
        want = (frames[i].transpose(1, 2, 0) + 1) * 127.5
        got = back[i].reshape(64, 4, 64, 4, 3).mean(axis=(1, 3))
        assert np.abs(got - want).mean() < 15                      # lossy codec, yet the same picture
    assert np.abs(back[0].astype(float) - back[7]).mean() > 1      # the walk moves
    assert not list(tmp_path.glob("*.tmp*"))


def test_release_round_trip_is_exact(tmp_path):
    pipe = make_pipe(size=32)
    loaded = creative_gan.load(creative_gan.save(pipe, tmp_path / "m"))
    assert loaded.image_size == 32 and np.array_equal(loaded.generate(seeds=[9]), pipe.generate(seeds=[9]))


# ------------------------------------------------------------------ CLI
def test_cli_sample_grid_singles_and_walk(trained, tmp_path, capsys):
    model = str(trained / "model")
    assert cli_main(["sample", "anime", "--model", model, "--seeds", "0-15", "-o", str(tmp_path / "g.png")]) == 0
    grid = Image.open(tmp_path / "g.png")
    assert grid.size[0] >= 256 and grid.size == grid.size[::-1]  # 4×4 faces, 4× enlarged
    assert cli_main(["sample", "anime", "--model", model, "--seeds", "2,5", "-o", str(tmp_path / "one")]) == 0
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["grid.png", "seed_00002.png", "seed_00005.png"]
    assert Image.open(tmp_path / "one" / "seed_00002.png").size == (256, 256)
    assert cli_main(["sample", "anime", "--model", model, "--walk", "3,17,42", "--frames", "9", "--truncation", "0.8",
                     "-o", str(tmp_path / "w.gif")]) == 0
    assert read_gif_frames(tmp_path / "w.gif").shape[0] == 9


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0-3", "--truncation", "0", "-o", "x.png"], "truncation"),
    (["--walk", "3,17", "-o", "x.png"], ".gif or .mp4"),
    (["--walk", "3", "-o", "x.gif"], "two seeds"),
    (["--seeds", "0-3", "-o", "x.jpg"], ".png grid path or a folder"),
])
def test_cli_sample_errors_are_one_line(trained, tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli_main(["sample", "anime", "--model", str(trained / "model"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not list(tmp_path.iterdir())


def test_cli_evaluate_needs_data_for_a_folder_model(tmp_path, capsys):
    pipe = make_pipe()
    pipe.dataset = {"source": "folder", "corpus": "faces"}
    creative_gan.save(pipe, tmp_path / "m")
    assert cli_main(["evaluate", "anime", "--model", str(tmp_path / "m")]) == 2
    assert "--data" in capsys.readouterr().err
