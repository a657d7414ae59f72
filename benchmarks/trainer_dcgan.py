"""Shared trainer vs a plain textbook PyTorch DCGAN loop, alternating in one process.

Both train the same Radford et al. 64×64 DCGAN (latent 100, base width 64, BatchNorm; batch 64;
Adam 2e-4, β1 0.5, BCE) on the same in-memory images. Steps/s are measured after warm-up steps,
runs alternate (plain, trainer, plain, trainer …) so drifting machine load hits both alike.

    python benchmarks/trainer_dcgan.py                       # CPU
    python benchmarks/trainer_dcgan.py --device cuda --bf16 --channels-last --compile   # GPU
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from torch import nn

from creative_gan.options import TrainOptions
from creative_gan.task import GANTask
from creative_gan.trainer import Trainer

LATENT, WIDTH = 100, 64


class Generator(nn.Module):
    """Radford G: z [B, 100] → [B, 3, 64, 64] in [-1, 1]."""

    def __init__(self):
        super().__init__()
        w = WIDTH
        self.net = nn.Sequential(
            nn.ConvTranspose2d(LATENT, w * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(w * 8), nn.ReLU(True),
            nn.ConvTranspose2d(w * 8, w * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(w * 4), nn.ReLU(True),
            nn.ConvTranspose2d(w * 4, w * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(w * 2), nn.ReLU(True),
            nn.ConvTranspose2d(w * 2, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True),
            nn.ConvTranspose2d(w, 3, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.net(z.view(z.shape[0], LATENT, 1, 1))


class Discriminator(nn.Module):
    """Radford D: [B, 3, 64, 64] → logits [B]."""

    def __init__(self):
        super().__init__()
        w = WIDTH
        self.net = nn.Sequential(
            nn.Conv2d(3, w, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, w * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(w * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(w * 2, w * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(w * 4), nn.LeakyReLU(0.2, True),
            nn.Conv2d(w * 4, w * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(w * 8), nn.LeakyReLU(0.2, True),
            nn.Conv2d(w * 8, 1, 4, 1, 0, bias=False))

    def forward(self, x):
        return self.net(x).view(-1)


class Images(torch.utils.data.Dataset):
    """Procedural 64×64 colour blobs in [-1, 1], held in memory."""

    def __init__(self, n=1024, seed=0):
        g = torch.Generator().manual_seed(seed)
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
        centre = torch.rand(n, 2, 1, 1, generator=g) * 1.2 - 0.6
        radius = torch.rand(n, 1, 1, generator=g) * 0.4 + 0.2
        blob = (((xx - centre[:, 0]) ** 2 + (yy - centre[:, 1]) ** 2) < radius ** 2).float()
        colour = torch.rand(n, 3, 1, 1, generator=g)
        self.x = (blob.unsqueeze(1) * colour) * 2 - 1

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i]}

    def get_batch(self, indices):
        return {"x": self.x[indices]}


def plain_loop(data, steps, warmup, device, bf16, channels_last, compile_):
    """The pytorch/examples DCGAN loop; returns steps/s after ``warmup`` steps."""
    torch.manual_seed(0)
    G, D = Generator().to(device), Discriminator().to(device)
    if channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    Gf, Df = (torch.compile(G), torch.compile(D)) if compile_ else (G, D)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data.x), batch_size=64,
                                         shuffle=True, drop_last=True)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16 and device.type == "cuda")
    done, start = 0, None
    while done < steps:
        for (real,) in loader:
            if done == warmup:
                sync(device)
                start = time.perf_counter()
            real = real.to(device)
            if channels_last:
                real = real.contiguous(memory_format=torch.channels_last)
            ones = torch.ones(real.shape[0], device=device)
            zeros = torch.zeros(real.shape[0], device=device)
            with autocast:
                fake = Gf(torch.randn(real.shape[0], LATENT, device=device))
                d_loss = bce(Df(real).float(), ones) + bce(Df(fake.detach()).float(), zeros)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            with autocast:
                g_loss = bce(Df(fake).float(), ones)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            done += 1
            if done >= steps:
                break
    sync(device)
    return (steps - warmup) / (time.perf_counter() - start)


def trainer_run(data, steps, warmup, device, bf16, channels_last, compile_):
    """The same nets and hyper-parameters through creative_gan's Trainer; steps/s after warm-up."""
    torch.manual_seed(0)
    task = GANTask(Generator(), Discriminator(), data, latent_dim=LATENT, name="bench")
    marks = {}

    def clock(trainer):
        if trainer.step in (warmup, steps):
            sync(device)
            marks[trainer.step] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        options = TrainOptions(out_dir=tmp, steps=steps, batch_size=64, loss="non_saturating",
                               lr_g=2e-4, lr_d=2e-4, betas_g=(0.5, 0.999), betas_d=(0.5, 0.999),
                               device=str(device), amp=bf16, channels_last=channels_last,
                               compile=compile_, progress=False, tensorboard=False,
                               preview_every=0, checkpoint_every=0, log_every=10)
        Trainer(task, options, on_step=clock).train()
    return (steps - warmup) / (marks[steps] - marks[warmup])


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=14, help="steps per run, warm-up included")
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    data = Images()
    flags = (device, args.bf16, args.channels_last, args.compile)
    plain, ours = [], []
    for r in range(args.rounds):
        plain.append(plain_loop(data, args.steps, args.warmup, *flags))
        ours.append(trainer_run(data, args.steps, args.warmup, *flags))
        print(f"round {r + 1}: plain {plain[-1]:.3f} steps/s   trainer {ours[-1]:.3f} steps/s")
    p, t = statistics.median(plain), statistics.median(ours)
    print(f"device={device} bf16={args.bf16} channels_last={args.channels_last} compile={args.compile} "
          f"threads={torch.get_num_threads()}")
    print(f"plain DCGAN loop : {p:.3f} steps/s")
    print(f"creative_gan     : {t:.3f} steps/s")
    print(f"ratio trainer/plain = {t / p:.3f}")


if __name__ == "__main__":
    main()
