"""The anime tab's callbacks as plain functions: grid + PNG download, walk GIF, errors for bad input."""
import numpy as np
import pytest
import torch
from PIL import Image

from creative_gan.demos.anime import face_grid, face_walk
from creative_gan.errors import UsageError
from creative_gan.pipelines.anime.media import read_gif_frames
from creative_gan.pipelines.anime.networks import build_networks, recalibrate_batchnorm
from creative_gan.pipelines.anime.pipeline import AnimePipeline


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    generator, _ = build_networks({"image_size": 64, "latent_dim": 8, "base_channels": 4})
    recalibrate_batchnorm(generator, num_batches=2, batch_size=16)
    return AnimePipeline(generator, {"source": "procedural"})


def test_grid_matches_the_seeds_and_downloads_as_png(pipe):
    grid, path = face_grid(pipe, 5, 4, 1.0)
    assert grid.dtype == np.uint8 and grid.shape == (2 + 2 * 130, 2 + 2 * 130, 3)  # 2×2 faces, 2× enlarged
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), grid) and path.endswith(".png")
    again, _ = face_grid(pipe, 5, 4, 1.0)
    assert np.array_equal(grid, again)
    faces = pipe.generate(seeds=[5])
    tile = ((faces[0].transpose(1, 2, 0) + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
    assert np.array_equal(grid[2:130:2, 2:130:2], tile)  # the first tile is seed 5
    other, _ = face_grid(pipe, 5, 4, 0.5)
    assert not np.array_equal(grid, other)  # truncation changes the faces


def test_walk_is_a_looping_gif_starting_on_the_first_seed(pipe):
    path = face_walk(pipe, 3, 17, 8, 1.0)
    frames = read_gif_frames(path)
    assert frames.shape == (8, 192, 192, 3)
    assert np.abs(np.diff(frames.astype(int), axis=0)).mean() > 0  # it moves


@pytest.mark.parametrize("call, message", [
    (lambda p: face_grid(p, -1, 4, 1.0), "seed"),
    (lambda p: face_grid(p, 0, 65, 1.0), "count"),
    (lambda p: face_grid(p, 0, 2.5, 1.0), "whole number"),
    (lambda p: face_grid(p, None, 2, 1.0), "whole number"),
    (lambda p: face_grid(p, 0, 2, 0.0), "truncation"),
    (lambda p: face_walk(p, 3, 3, 8, 1.0), "two different seeds"),
    (lambda p: face_walk(p, 3, 4, 1000, 1.0), "frames"),
])
def test_bad_input_is_a_usage_error(pipe, call, message):
    with pytest.raises(UsageError, match=message):
        call(pipe)
