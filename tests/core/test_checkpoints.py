"""Resume checkpoints and release models refuse corrupt, truncated, pickled and foreign files."""
import json
import os
import pickle
import zipfile

import pytest
import torch
from safetensors.torch import save_file

from creative_gan.checkpoint import load_state, save_state
from creative_gan.errors import CheckpointError, ReleaseError
from creative_gan.release import load, load_parts
from creative_gan.trainer import Trainer
from tests.core.toy import make_task, options


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/creative_gan_pwned",))


@pytest.fixture()
def good_state(tmp_path):
    Trainer(make_task(), options(tmp_path / "run", steps=5)).train()
    return tmp_path / "run" / "checkpoints" / "state.pt"


def test_good_checkpoint_loads_with_weights_only(good_state):
    state = load_state(good_state)
    assert state["step"] == 5 and "generator" in state and "opt_d" in state


def test_truncated_checkpoint_is_refused(good_state, tmp_path):
    data = good_state.read_bytes()
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_state(bad)


def test_corrupt_checkpoint_is_refused(tmp_path):
    bad = tmp_path / "noise.pt"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_state(bad)


def test_pickled_code_is_refused_and_not_run(tmp_path):
    bad = tmp_path / "evil.pt"
    torch.save({"step": 1, "generator": Evil()}, bad)
    if os.path.exists("/tmp/creative_gan_pwned"):
        os.unlink("/tmp/creative_gan_pwned")
    with pytest.raises(CheckpointError, match="pickled code"):
        load_state(bad)
    assert not os.path.exists("/tmp/creative_gan_pwned")


def test_foreign_checkpoint_is_refused(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="not a creative_gan"):
        load_state(other)


def test_atomic_write_keeps_old_file_when_save_fails(good_state):
    before = good_state.read_bytes()
    with pytest.raises(Exception):
        save_state({"step": 1, "generator": lambda: 0}, good_state)  # unpicklable: fails mid-write
    assert good_state.read_bytes() == before
    assert [p.name for p in good_state.parent.iterdir()] == ["state.pt"]


def _release(tmp_path, config=None, tensors=None):
    folder = tmp_path / "model"
    folder.mkdir()
    cfg = {"format": "creative_gan-release", "format_version": 1, "pipeline": "digits"}
    (folder / "config.json").write_text(json.dumps(config if config is not None else cfg))
    save_file(tensors or {"w": torch.ones(64, 64)}, str(folder / "model.safetensors"))
    return folder


def test_release_truncated_safetensors(tmp_path):
    folder = _release(tmp_path)
    blob = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(blob[: len(blob) - 100])
    with pytest.raises(ReleaseError, match="corrupt or truncated"):
        load_parts(folder)


def test_release_broken_json_and_foreign_config(tmp_path):
    folder = _release(tmp_path)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ReleaseError, match="not valid JSON"):
        load(folder)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ReleaseError, match="not a creative_gan release"):
        load(folder)


def test_release_pickle_instead_of_folder(tmp_path):
    bad = tmp_path / "model.pt"
    with open(bad, "wb") as fh:
        pickle.dump(Evil(), fh)
    with pytest.raises(ReleaseError, match="not a release folder"):
        load(bad)


def test_release_unknown_pipeline_and_missing_name(tmp_path):
    folder = _release(tmp_path, config={"format": "creative_gan-release", "format_version": 1,
                                        "pipeline": "no-such-pipeline"})
    with pytest.raises(Exception, match="unknown pipeline 'no-such-pipeline'"):
        load(folder)
    with pytest.raises(ReleaseError, match="no such file, folder or shipped model"):
        load(tmp_path / "does-not-exist")


def test_release_zip_with_corrupt_member(tmp_path):
    folder = _release(tmp_path)
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(folder / "config.json", "config.json")
        zf.writestr("model.safetensors", b"\x00" * 20)
    with pytest.raises(ReleaseError, match="corrupt or truncated"):
        load_parts(archive)
    config, tensors = load_parts(_zip(folder, tmp_path / "ok.zip"))
    assert config["pipeline"] == "digits" and tensors["w"].shape == (64, 64)


def _zip(folder, path):
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("config.json", "model.safetensors"):
            zf.write(folder / name, name)
    return path
