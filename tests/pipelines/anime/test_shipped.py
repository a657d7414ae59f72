"""The shipped anime-default model: loads offline, draws varied faces by seed, carries its card, no machine paths."""
import json

import numpy as np
from PIL import Image

import creative_gan
from creative_gan.cli import main as cli_main
from creative_gan.release import ASSETS

MODEL = ASSETS / "anime-default"


def test_shipped_files_are_small_portable_and_documented():
    assert (MODEL / "model.safetensors").stat().st_size <= 25 * 1024 * 1024
    text = (MODEL / "config.json").read_text()
    for machine_path in ("/tmp/", "/home/", "/work/", "/root/", "C:\\"):
        assert machine_path not in text
    config = json.loads(text)
    assert config["pipeline"] == "anime" and config["image_size"] == 64
    assert config["dataset"]["source"] == "procedural"
    card = (MODEL / "MODEL_CARD.md").read_text()
    assert "synthetic" in card and "--data" in card


def test_shipped_model_draws_varied_faces_deterministically():
    pipe = creative_gan.load("anime-default")
    faces = pipe.generate(seeds=range(32))
    assert faces.shape == (32, 3, 64, 64) and faces.dtype == np.float32
    assert np.array_equal(faces[:4], pipe.generate(seeds=range(4)))
    # not collapsed: faces differ from each other as much as a trained model's should
    assert faces.std(axis=0).mean() > 0.25  # an untrained G of this shape: 0.09
    # a face in the middle: the centre (cheeks, below the eyes) is light skin, warmer than it is blue
    centre = (faces[:, :, 40:46, 26:38] + 1) / 2
    assert centre.mean() > 0.7 and (centre[:, 0] - centre[:, 2]).mean() > 0.1  # untrained: 0.53, 0.03
    walk = pipe.walk([3, 17], frames=6)
    assert np.allclose(walk[0], pipe.generate(seed=3)[0], atol=1e-5)
    assert np.allclose(walk[-1], pipe.generate(seed=17)[0], atol=1e-5)


def test_readme_sample_command_writes_a_4x4_grid(tmp_path):
    out = tmp_path / "g.png"
    assert cli_main(["sample", "anime", "--model", "anime-default", "--seeds", "0-15", "-o", str(out)]) == 0
    grid = Image.open(out)
    assert grid.size == (4 * 258 + 2, 4 * 258 + 2)  # 4×4 faces of 64 px enlarged 4×, 2-px gaps
