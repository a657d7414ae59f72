"""torchrun with two gloo ranks on CPU: averaged gradients make 2 ranks × B/2 equal 1 rank × B."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from tests.core.ddp_worker import run

ROOT = Path(__file__).resolve().parents[2]
HALF_BATCH = 16


def _torchelastic_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("torchelastic_*")}


def test_two_ranks_with_half_batches_equal_one_rank_with_the_full_batch(tmp_path):
    scratch = tmp_path / "tmp"  # torchrun's own log folders land here, not in the system temp
    scratch.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", TMPDIR=str(scratch))
    before = _torchelastic_dirs()
    # --standalone: a free rendezvous port is picked by torchrun, never a fixed one
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(ROOT / "tests" / "core" / "ddp_worker.py"), str(tmp_path), str(HALF_BATCH)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _torchelastic_dirs() == before, "torchrun left folders in the system temp directory"
    r0, r1 = (torch.load(tmp_path / f"rank{i}.pt", weights_only=True) for i in (0, 1))

    for kind in ("plain", "toy"):
        assert r0[kind]["world"] == r1[kind]["world"] == 2
        for key in ("G", "D", "EMA", "G_grad", "D_grad"):
            assert torch.equal(r0[kind][key], r1[kind][key]), f"{kind}: {key} differs across ranks"
        # rank 0 alone writes the run directory
        assert (tmp_path / kind / "metrics.jsonl").is_file()
        assert (tmp_path / kind / "checkpoints" / "state.pt").is_file()

    single = run(str(tmp_path / "single"), "plain", 2 * HALF_BATCH, rank=0)
    assert single["world"] == 1
    for key in ("G_grad", "D_grad"):  # Adam hides a constant factor in the weights: compare gradients too
        torch.testing.assert_close(r0["plain"][key], single[key], rtol=1e-4, atol=1e-6, msg=key)
    for key in ("G", "D", "EMA"):
        torch.testing.assert_close(r0["plain"][key], single[key], rtol=1e-4, atol=1e-5, msg=key)
