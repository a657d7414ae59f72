"""Device choice: CUDA follows LOCAL_RANK under torchrun; unknown or missing devices are one-line errors."""
import pytest
import torch

from creative_gan import device as device_mod
from creative_gan.device import select_device
from creative_gan.errors import UsageError


@pytest.fixture
def fake_gpus(monkeypatch):
    """Pretend this machine has ``n`` CUDA devices (the selection logic only asks torch.cuda)."""
    def install(n):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    return install


@pytest.mark.parametrize("local_rank,expected", [("0", 0), ("1", 1), ("3", 3)])
def test_cuda_follows_local_rank(monkeypatch, fake_gpus, local_rank, expected):
    fake_gpus(4)
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    for name in ("cuda", "auto", None):
        chosen = select_device(name)
        assert chosen == torch.device("cuda", expected) and chosen.index == expected, name


def test_ranks_share_gpus_round_robin_and_explicit_index_wins(monkeypatch, fake_gpus):
    fake_gpus(1)
    monkeypatch.setenv("LOCAL_RANK", "1")        # two ranks on one GPU
    assert select_device("cuda") == torch.device("cuda", 0)
    fake_gpus(2)
    assert select_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(UsageError, match="2 CUDA device"):
        select_device("cuda:5")


def test_cuda_without_cuda_is_a_usage_error(monkeypatch, fake_gpus):
    fake_gpus(0)
    with pytest.raises(UsageError, match="CUDA is not available"):
        select_device("cuda")
    assert select_device("auto").type in ("cpu", "mps")


@pytest.mark.parametrize("name", ["nonsense", "gpu", "cuda:x", "", "xla"])
def test_unknown_devices_are_usage_errors(name):
    with pytest.raises(UsageError) as info:
        select_device(name)
    assert "\n" not in str(info.value)


def test_cpu_is_cpu():
    assert select_device("cpu") == torch.device("cpu")


def test_backend_is_gloo_when_ranks_share_a_gpu(monkeypatch, fake_gpus):
    calls = {}
    monkeypatch.setattr(device_mod.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(device_mod.dist, "init_process_group", lambda backend: calls.setdefault("backend", backend))
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: calls.setdefault("device", d))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    fake_gpus(1)
    device_mod.init_distributed(torch.device("cuda", 0))
    assert calls == {"backend": "gloo", "device": torch.device("cuda", 0)}
    calls.clear()
    fake_gpus(2)
    device_mod.init_distributed(torch.device("cuda", 1))
    assert calls["backend"] == "nccl" and calls["device"].index == 1
