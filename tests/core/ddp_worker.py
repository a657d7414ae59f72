"""Run under ``torchrun --nproc_per_node=2``: train the toy task, dump this rank's weights."""
import os
import sys

import torch

from creative_gan.trainer import Trainer
from tests.core.toy import flat_params, make_task, options

out = sys.argv[1]
task = make_task()
# each rank starts from a different init: the trainer must broadcast rank 0's weights
torch.manual_seed(100 + int(os.environ.get("RANK", "0")))
task.generator.net[0].reset_parameters()
trainer = Trainer(task, options(f"{out}/run", steps=6, batch_size=16))
result = trainer.train()
torch.save({"G": flat_params(task.generator), "D": flat_params(task.discriminator),
            "EMA": flat_params(result.generator_ema), "world": trainer.world},
           f"{out}/rank{trainer.rank}.pt")
