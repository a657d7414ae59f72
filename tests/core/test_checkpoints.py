"""Resume checkpoints and release models refuse corrupt, truncated, pickled and foreign files."""
import json
import os
import pickle
import stat
import subprocess
import sys
import zipfile

import pytest
import torch
from safetensors.torch import save_file

from creative_gan.checkpoint import load_state, save_state
from creative_gan.errors import CheckpointError, ReleaseError
from creative_gan.release import load, load_parts
from tests.core.toy import ToyDiscriminator, ToyGenerator


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/creative_gan_pwned",))


def trainer_like_state(step: int = 5) -> dict:
    """The dict Trainer.state_dict() writes, from the toy task's networks after one Adam step."""
    G, D = ToyGenerator(), ToyDiscriminator()
    opt_g, opt_d = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    G(torch.randn(4, 8), torch.zeros(4, dtype=torch.long)).sum().backward()
    opt_g.step()
    return {"step": step, "d_steps": step, "epoch": 0, "position": 8, "lr_scale": 1.0, "world_size": 1,
            "generator": G.state_dict(), "discriminator": D.state_dict(), "generator_ema": G.state_dict(),
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
            "rng": {"cpu": torch.get_rng_state()}, "options": {"steps": step}}


@pytest.fixture()
def good_state(tmp_path):
    return save_state(trainer_like_state(), tmp_path / "run" / "checkpoints" / "state.pt")


def reason(exc_info) -> str:
    """The message after the file name (the path itself may contain any word)."""
    return str(exc_info.value).split(": ", 1)[1]


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
    with pytest.raises(CheckpointError) as info:
        load_state(bad)
    assert reason(info).startswith("corrupt or truncated checkpoint"), reason(info)


@pytest.mark.parametrize("offset", [60, 151, 240, 397, 512, 777, 1200, 2000, 3100])
def test_mutated_checkpoint_is_called_corrupt_not_pickled(good_state, tmp_path, offset):
    """Garbage that fails to unpickle is corrupt; only a well-formed pickle of objects is 'pickled code'."""
    data = bytearray(good_state.read_bytes())
    for i in range(offset, offset + 24):
        data[i] ^= 0x5A
    bad = tmp_path / "mutated.pt"
    bad.write_bytes(bytes(data))
    try:
        load_state(bad)
    except CheckpointError as exc:
        text = str(exc).split(": ", 1)[1]
        assert "pickled code" not in text and "\n" not in text, text
        assert text.startswith(("corrupt", "not a creative_gan")), text


def test_structurally_broken_checkpoint_is_one_error_not_indexerror(tmp_path):
    """Safe tensors in the wrong places (a foreign or damaged state) end as CheckpointError."""
    state = trainer_like_state()
    for broken in ({**state, "generator": [1, 2]}, {**state, "step": "7"},
                   {**state, "discriminator": {"w": 3}}, {k: v for k, v in state.items() if k != "opt_d"}):
        torch.save(broken, tmp_path / "broken.pt")
        with pytest.raises(CheckpointError) as info:
            load_state(tmp_path / "broken.pt")
        assert reason(info).startswith(("corrupt checkpoint", "not a creative_gan")), reason(info)


def test_pickled_code_is_refused_and_not_run(tmp_path):
    bad = tmp_path / "evil.pt"
    torch.save({"step": 1, "generator": Evil()}, bad)
    if os.path.exists("/tmp/creative_gan_pwned"):
        os.unlink("/tmp/creative_gan_pwned")
    with pytest.raises(CheckpointError, match="pickled code"):
        load_state(bad)
    assert not os.path.exists("/tmp/creative_gan_pwned")
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"step": 1, "generator": Evil()}))
    with pytest.raises(CheckpointError, match="pickled code"):
        load_state(plain)
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


def test_interrupted_write_leaves_no_temp_file(good_state, monkeypatch):
    """Ctrl-C (or SIGTERM, a KeyboardInterrupt subclass) mid-write: old file intact, no .tmp left."""
    before = good_state.read_bytes()
    real_save = torch.save

    def interrupted(obj, handle, *args, **kwargs):
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_state(trainer_like_state(9), good_state)
    monkeypatch.setattr(torch, "save", real_save)
    assert good_state.read_bytes() == before
    assert sorted(p.name for p in good_state.parent.iterdir()) == ["state.pt"]


def test_killed_write_temp_is_removed_by_next_save(tmp_path):
    """A SIGKILLed writer cannot clean up; its temp file goes on the next save."""
    target = tmp_path / "state.pt"
    script = ("import os, sys, torch\n"
              "from creative_gan import fileio\n"
              "with fileio.atomic_write(sys.argv[1], 'wb') as fh:\n"
              "    fh.write(b'x' * 1000); fh.flush(); os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(target)], timeout=120)
    assert proc.returncode == -9
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".state.pt.") and ".tmp" in leftovers[0]
    save_state(trainer_like_state(), target)
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]
    assert load_state(target)["step"] == 5


def test_written_files_get_the_umask_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_state(trainer_like_state(), tmp_path / "state.pt")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


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


@pytest.mark.parametrize("version", ["abc", None, 1.5, True, 0, [1]])
def test_release_bad_format_version_is_one_error(tmp_path, version):
    folder = _release(tmp_path, config={"format": "creative_gan-release", "format_version": version,
                                        "pipeline": "digits"})
    with pytest.raises(ReleaseError, match="format_version"):
        load_parts(folder)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_release_with_non_finite_weights_is_refused(tmp_path, value):
    w = torch.ones(8, 8)
    w[3, 4] = value
    folder = _release(tmp_path, tensors={"w": w, "b": torch.zeros(8)})
    with pytest.raises(ReleaseError, match="weights contain NaN/inf"):
        load_parts(folder)


def _zip_bomb(path, config: bytes):
    """Write a ~4 MB zip whose ``model.safetensors`` really inflates to 4 GiB of zeros (zip64)."""
    import struct
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    # after a full flush the compressor forgets its history, so each 64 MiB block deflates alike
    piece = comp.compress(bytes(64 * 2**20)) + comp.flush(zlib.Z_FULL_FLUSH)
    stream = piece * 64 + comp.flush()
    size, crc = 64 * 64 * 2**20, 0xD202EF8D  # CRC-32 of 2**32 zero bytes
    cfg_crc, big = zlib.crc32(config), 0xFFFFFFFF
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 33, cfg_crc, len(config),
                             len(config), 11, 0) + b"config.json" + config)
        bomb_at = fh.tell()
        name = b"model.safetensors"
        fh.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 33, crc, big, big, len(name), 20)
                 + name + struct.pack("<HHQQ", 1, 16, size, len(stream)) + stream)
        directory_at = fh.tell()
        fh.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 33, cfg_crc, len(config),
                             len(config), 11, 0, 0, 0, 0, 0, 0) + b"config.json")
        fh.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 33, crc, big, big,
                             len(name), 28, 0, 0, 0, 0, big) + name
                 + struct.pack("<HHQQQ", 1, 24, size, len(stream), bomb_at))
        end = fh.tell()
        fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 2, 2, end - directory_at, directory_at, 0))
    return path


def test_zip_bomb_fails_fast_without_reading_the_member(tmp_path):
    """A 4 MB zip holding a 4 GiB member is refused from the zip directory alone."""
    import time
    import tracemalloc

    folder = _release(tmp_path)
    archive = _zip_bomb(tmp_path / "bomb.zip", (folder / "config.json").read_bytes())
    assert archive.stat().st_size < 8 * 2**20
    with zipfile.ZipFile(archive) as zf:  # a genuine bomb: the member inflates to zeros
        assert zf.getinfo("model.safetensors").file_size == 4 * 2**30
        with zf.open("model.safetensors") as member:
            assert member.read(2**20) == bytes(2**20)
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ReleaseError, match="more than a release may hold"):
        load_parts(archive)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - start < 2.0 and peak < 64 * 2**20


def test_zip_member_larger_than_declared_is_refused(tmp_path, monkeypatch):
    """Reads are capped at the declared size even if the directory lies (or the limit is lowered)."""
    import creative_gan.release as release

    folder = _release(tmp_path)
    archive = _zip(folder, tmp_path / "ok.zip")
    monkeypatch.setattr(release, "MAX_MODEL_BYTES", 1000)
    with pytest.raises(ReleaseError, match="more than a release may hold"):
        load_parts(archive)


def test_release_save_is_atomic_and_gets_the_umask(tmp_path):
    from creative_gan.release import save

    class Tiny:
        pipeline_name = "digits"

        def release_config(self):
            return {"note": "tiny"}

        def release_tensors(self):
            return {"w": torch.ones(3)}

    old = os.umask(0o022)
    try:
        out = save(Tiny(), tmp_path / "model")
        save(Tiny(), tmp_path / "model")  # replacing an existing release leaves no sibling behind
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o644}


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
