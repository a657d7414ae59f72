"""Run under ``torchrun --nproc_per_node=2``: train two toy tasks, dump this rank's weights and first gradients.

``python ddp_worker.py OUT BATCH``: ``toy`` has BatchNorm (its statistics must follow rank 0's); ``plain``
is the batch-decoupled task used to compare 2 ranks × BATCH against 1 rank × 2·BATCH. Each rank
starts from a different init: the trainer must broadcast rank 0's weights.
"""
import os
import sys

import torch

from creative_gan.device import close_distributed
from creative_gan.trainer import Trainer
from tests.core.toy import flat_params, make_plain_task, make_task, options


def first_gradients(trainer, store):
    if trainer.step == 1:
        store["G_grad"] = torch.cat([p.grad.reshape(-1) for p in trainer.G.parameters()])
        store["D_grad"] = torch.cat([p.grad.reshape(-1) for p in trainer.D.parameters()])


def run(out: str, kind: str = "toy", batch_size: int = 16, rank: int | None = None) -> dict:
    rank = int(os.environ.get("RANK", "0")) if rank is None else rank
    task = make_plain_task() if kind == "plain" else make_task()
    torch.manual_seed(100 + rank)
    task.generator.net[0].reset_parameters()
    store = {}
    trainer = Trainer(task, options(f"{out}/{kind}", steps=6, batch_size=batch_size, monitor_every=0),
                      on_step=lambda t: first_gradients(t, store))
    result = trainer.train()
    store.update({"G": flat_params(task.generator), "D": flat_params(task.discriminator),
                  "EMA": flat_params(result.generator_ema), "world": trainer.world})
    return store


if __name__ == "__main__":
    out, batch = sys.argv[1], int(sys.argv[2])
    state = {kind: run(out, kind, batch) for kind in ("plain", "toy")}
    torch.save(state, f"{out}/rank{os.environ['RANK']}.pt")
    close_distributed()
