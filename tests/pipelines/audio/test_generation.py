"""The generation convention on the shipped model: numpy [N, samples] float32, seeded, tensors on request."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
import torch

import creative_gan
from creative_gan.errors import ReleaseError, UsageError
from creative_gan.pipelines.audio.pipeline import AudioPipeline


@pytest.fixture(scope="module")
def pipe():
    return creative_gan.load("audio-default")


def test_generate_returns_numpy_notes_and_call_is_generate(pipe):
    notes = pipe.generate([48, 60, 72], seed=3)
    assert isinstance(notes, np.ndarray) and notes.dtype == np.float32 and notes.shape == (3, 64_000)
    assert np.abs(notes).max() <= 1.0 and np.abs(notes).max() > 0.01
    np.testing.assert_array_equal(pipe([48, 60, 72], seed=3), notes)
    np.testing.assert_array_equal(pipe.generate_notes([48, 60, 72], seed=3), notes)
    tensor = pipe.generate([48, 60, 72], seed=3, as_tensor=True)
    assert isinstance(tensor, torch.Tensor) and torch.equal(tensor, torch.from_numpy(notes))
    short = pipe.generate([60], seed=3, num_samples=8000)
    assert short.shape == (1, 8000)


def test_timbre_choices_agree(pipe):
    seven = pipe.generate([60], seed=7)
    np.testing.assert_array_equal(pipe.generate([60], timbre="seed:7"), seven)
    np.testing.assert_array_equal(pipe.generate([60], timbre="7"), seven)
    np.testing.assert_array_equal(pipe.generate([60], z=pipe.latent_for_seed(7)), seven)
    per_note = pipe.generate([60, 60], seed=[1, 2])
    assert not np.array_equal(per_note[0], per_note[1])


def test_default_timbre_is_the_documented_preset(pipe):
    assert pipe.default_timbre == "acoustic-grand-piano"
    np.testing.assert_array_equal(pipe.generate([60]), pipe.generate([60], timbre="acoustic-grand-piano"))


def test_presets_do_not_depend_on_tensor_order(pipe):
    config, tensors = pipe.release_config(), pipe.release_tensors()
    reordered = dict(reversed(list(tensors.items())))
    other = AudioPipeline.from_release(config, reordered, "cpu")
    assert list(other.presets) == sorted(other.presets) == list(pipe.presets)
    config = dict(config, default_timbre=None)
    assert AudioPipeline.from_release(config, reordered, "cpu").default_timbre == sorted(pipe.presets)[0]


def test_same_seed_same_notes_in_another_process(pipe):
    code = ("import hashlib, creative_gan\n"
            "pipe = creative_gan.load('audio-default')\n"
            "print(hashlib.sha256(pipe.generate([40, 60, 80], seed=11).tobytes()).hexdigest())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == hashlib.sha256(pipe.generate([40, 60, 80], seed=11).tobytes()).hexdigest()


@pytest.mark.parametrize("kwargs, match", [
    ({"seed": -1}, "seed must be a whole number >= 0"), ({"seed": 1.5}, "seed must be"),
    ({"seed": 1, "timbre": "flute"}, "one of seed=, z= or timbre="), ({"timbre": "kazoo"}, "unknown timbre"),
    ({"z": torch.zeros(3)}, "z must be"), ({"seed": [1, 2, 3]}, "3 seeds for 1 notes")])
def test_bad_arguments_are_usage_errors(pipe, kwargs, match):
    with pytest.raises(UsageError, match=match):
        pipe.generate([60], **kwargs)


@pytest.mark.parametrize("pitches", [[10], [60.5], ["c4"], [float("nan")]])
def test_bad_pitches_are_usage_errors(pipe, pitches):
    with pytest.raises(UsageError, match="pitch"):
        pipe.generate(pitches, seed=0)


def test_a_generator_that_overflows_is_a_clear_error(pipe):
    broken = AudioPipeline.from_release(pipe.release_config(), pipe.release_tensors(), "cpu")
    with torch.no_grad():
        for param in broken.generator.parameters():
            param.mul_(1e30)
    with pytest.raises(ReleaseError, match="NaN or infinite"):
        broken.generate([60], seed=0)


def test_shipped_config_holds_no_machine_path():
    import json
    from creative_gan.release import ASSETS

    def strings(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from strings(key)
                yield from strings(value)
        elif isinstance(node, list):
            for value in node:
                yield from strings(value)
        elif isinstance(node, str):
            yield node

    config = json.loads((ASSETS / "audio-default" / "config.json").read_text())
    paths = [s for s in strings(config) if s.startswith(("/", "~")) or ":\\" in s]
    assert paths == []
    assert config["corpus"]["path"] == "fluidr3_30x61x3" and "FluidR3_GM.sf2" in config["corpus"]["description"]
