"""Test-wide settings: one torch thread per xdist worker (two workers share two cores)."""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# librosa's numba kernels are cached on disk at first use; two xdist workers writing that cache at
# once on a fresh install crashed pYIN (segfault in CI): give each worker its own cache folder
import tempfile  # noqa: E402

os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix=f"numba-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-"))

import torch  # noqa: E402

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
