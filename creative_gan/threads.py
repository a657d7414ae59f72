"""Thread use for a whole process, chosen once by an entry point (CLI, app, benchmark).

Library functions never call this: changing torch's intra-op thread count is process-wide state.
On a shared CPU torch's OpenMP threads spin-wait against each other and against other programs
(a 2-core render fell from ~135x real time to 2.2x beside three busy processes); small-batch
inference is fastest on one thread, so inference entry points ask for one.
"""
from __future__ import annotations

import os

#: environment variable that overrides the choice of every entry point
ENV = "CREATIVE_GAN_THREADS"


def configure_threads(inference: bool) -> int:
    """Set torch's intra-op threads once for this process and return the count.

    ``$CREATIVE_GAN_THREADS`` wins; otherwise an explicit ``OMP_NUM_THREADS`` is respected; otherwise
    inference gets one thread and training keeps torch's default (all cores).
    """
    import torch

    wanted = os.environ.get(ENV) or None
    if wanted is None and inference and not os.environ.get("OMP_NUM_THREADS"):
        wanted = "1"
    if wanted is not None:
        try:
            count = max(1, int(wanted))
        except ValueError:
            count = 1
        torch.set_num_threads(count)
    return torch.get_num_threads()
