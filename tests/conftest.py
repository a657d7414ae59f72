"""Test-wide settings: one torch thread per xdist worker (two workers share two cores)."""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# librosa's numba kernels are cached on disk at first use; two xdist workers writing that cache at
# once on a fresh install crashed pYIN (segfault in CI): give each worker its own cache folder
import shutil  # noqa: E402
import tempfile  # noqa: E402

# workers inherit the controller's environment: a folder this conftest made (marked) is replaced per
# process, a NUMBA_CACHE_DIR the user set is kept; each process removes its own folder at the end
_MARK = "CREATIVE_GAN_TEST_NUMBA_CACHE"
_numba_cache = None
if "NUMBA_CACHE_DIR" not in os.environ or os.environ["NUMBA_CACHE_DIR"] == os.environ.get(_MARK):
    _numba_cache = tempfile.mkdtemp(prefix=f"numba-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
    os.environ["NUMBA_CACHE_DIR"] = os.environ[_MARK] = _numba_cache

import torch  # noqa: E402

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


def pytest_sessionfinish(session, exitstatus):  # runs in every xdist worker too (unconfigure does not)
    if _numba_cache:
        shutil.rmtree(_numba_cache, ignore_errors=True)
