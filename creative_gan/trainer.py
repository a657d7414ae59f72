"""The shared adversarial trainer: one loop under every pipeline.

Phases per step: ``n_critic`` D steps (adversarial loss + regularisers + objective terms), one G
step, EMA update. Around them: AMP, augmentation inside D, gradient averaging across torchrun
ranks, NaN guard with rollback, mode-collapse monitor, logging, previews, atomic checkpoints.
"""
from __future__ import annotations

import json
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from .augment import AugmentedDiscriminator, DiffAugment, check_augmentable
from .data import BatchStream
from .device import init_distributed, rank, select_device, seed_everything, world_size
from .ema import EMA
from .errors import CheckpointError, TrainingDiverged, UsageError
from .losses import drift_penalty, gradient_penalty, r1_penalty
from .monitor import CollapseMonitor
from .objective import DStep, GStep, adversarial_loss, ineffective_options, split_output
from .options import TrainOptions
from .runlog import RunLogger, loss_curve_png, portable_options, read_metrics
from .task import GANTask
from .training_state import Snapshot, average_gradients, broadcast_module, gather_rng, restore_rng


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


@dataclass
class TrainResult:
    """What :meth:`Trainer.train` hands back."""

    generator_ema: nn.Module
    run_dir: Path
    step: int
    metrics: dict
    model_dir: Path | None
    seconds: float
    start_step: int = 0        # the step this call started from (> 0 after a resume)


class Trainer:
    """Train ``task``'s G and D with ``options``; ``resume=True`` continues ``out_dir``'s run.

    A new run refuses an ``out_dir`` that already holds a run (``options.json`` or a checkpoint),
    so an earlier run is never overwritten or appended to. ``init_from`` (a new run only): another run's
    resume state (its ``checkpoints/state.pt`` or the run folder) to start from — G and its EMA exactly, D's
    tensors where name and shape match (a D grown by a branch keeps what it had); fresh optimisers, step 0.
    """

    def __init__(self, task: GANTask, options: TrainOptions, resume: bool = False, on_step=None,
                 init_from: str | Path | None = None):
        if resume and init_from is not None:
            raise UsageError("--init-from starts a new run from another run's weights; it cannot be combined "
                             "with --resume")
        self.task, self.options = task, options.validate()
        self.run_dir = Path(options.out_dir)
        if not resume:
            self._refuse_existing_run()
        self.adversarial = task.adversarial or adversarial_loss(options.loss, options)
        for message in ineffective_options(options, self.adversarial):
            warnings.warn(message, UserWarning, stacklevel=2)
        if options.augment:
            check_augmentable(task.image_like, task.name)
        self.device = select_device(options.device)
        init_distributed(self.device)
        self.rank, self.world = rank(), world_size()
        self.is_main = self.rank == 0
        seed_everything(options.seed + self.rank)
        self.on_step = on_step
        self.cuda = self.device.type == "cuda"
        self.autocast = (torch.autocast("cuda", dtype=torch.bfloat16)
                         if self.cuda and options.amp else nullcontext())
        self.memory_format = (torch.channels_last if self.cuda and options.channels_last
                              and task.image_like else torch.contiguous_format)

        self.G = task.generator.to(self.device, memory_format=self.memory_format)
        self.D = task.discriminator.to(self.device, memory_format=self.memory_format)
        if self.world > 1:  # every rank starts from rank 0's weights
            broadcast_module(self.G)
            broadcast_module(self.D)
        d_forward = self.D
        if options.augment:
            d_forward = AugmentedDiscriminator(self.D, DiffAugment(options.augment, options.augment_p))
        self.G_forward = torch.compile(self.G) if options.compile else self.G
        self.D_forward = torch.compile(d_forward) if options.compile else d_forward

        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=options.lr_g, betas=options.betas_g)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=options.lr_d, betas=options.betas_d)
        self.ema = EMA(self.G, options.ema_decay, options.ema_warmup, options.ema_warmup_steps)
        self.latent_rng = torch.Generator().manual_seed(options.seed * 1_000_003 + self.rank)
        self.stream = BatchStream(task.dataset, options.batch_size, options.seed, self.rank, self.world,
                                  options.num_workers, pin_memory=self.cuda)
        self.step = self.d_steps = 0
        self.lr_scale = 1.0
        self._sums: dict[str, float] = {}
        self._extra: dict[str, float] = {}
        self._count = 0
        self._stash = None
        self.start_step = 0
        self.seconds_before = 0.0       # training time of the earlier calls of a resumed run (0: unknown/fresh)
        self.started_from: dict | None = None   # --init-from: the source run's steps, seconds, options
        self._started: float | None = None
        if resume:
            self._resume()
        elif init_from is not None:
            self._init_from(Path(init_from))
        self.start_step = self.step
        self._make_fixed_inputs()

    def _refuse_existing_run(self) -> None:
        if (self.run_dir / "options.json").is_file() or self.checkpoint_path.is_file():
            raise UsageError(f"{self.run_dir} already holds a training run: use --resume to continue it "
                             "or choose another --out")

    # ----------------------------------------------------------------- data
    @property
    def epoch(self) -> int:
        return self.stream.epoch

    @property
    def position(self) -> int:
        return self.stream.position

    def _to_device(self, batch: dict) -> dict:
        out = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        if self.memory_format is torch.channels_last and out["x"].dim() == 4:
            out["x"] = out["x"].contiguous(memory_format=torch.channels_last)
        return out

    def _next_batch(self) -> dict:
        return self._to_device(self.stream.next())

    def _make_fixed_inputs(self) -> None:
        """Fixed latents and conditions for previews and the collapse monitor (same every run)."""
        rng = torch.Generator().manual_seed(self.options.seed + 7)
        n = max(2, self.options.monitor_samples)
        order = torch.randperm(len(self.task.dataset), generator=rng)[:n].tolist()
        real = self._to_device(self.stream.fetch(order))
        if self.options.augment and real["x"].dim() != 4:
            raise UsageError(f"augment={self.options.augment!r} needs image batches [B, C, H, W]; "
                             f"{self.task.name} yields {list(real['x'].shape)}")
        self.fixed_z = self.task.sample_latent(len(order), rng, self.device)
        self.fixed_cond = self.task.sample_condition(real, rng, self.device)
        self.monitor = None
        if self.options.monitor_every > 0:
            with torch.no_grad():
                self.monitor = CollapseMonitor(self.task.features(real["x"]),
                                               self.options.collapse_threshold)

    # ----------------------------------------------------------------- steps
    def _weight(self, key: str, default: float = 1.0) -> float:
        return float(self.options.loss_weights.get(key, default))

    def _d_step(self, real: dict) -> dict | None:
        opts, task = self.options, self.task
        x_real = real["x"]
        cond_real = {k: v for k, v in real.items() if k != "x"}
        z = task.sample_latent(x_real.shape[0], self.latent_rng, self.device)
        cond_fake = task.sample_condition(real, self.latent_rng, self.device)
        # with one D step per G step, G's step reuses this batch of fakes (and its graph), as the
        # textbook DCGAN loop does: one G forward per iteration instead of two
        reuse = self.options.n_critic == 1
        with torch.set_grad_enabled(reuse), self.autocast:
            fake = self.G_forward(z, **cond_fake)
        self._stash = (z, cond_fake, fake) if reuse else None
        self.D.requires_grad_(True)
        regs = {**self.adversarial.default_regularisers, **opts.regularisers}
        do_r1 = "r1" in regs and self.d_steps % opts.r1_every == 0
        if do_r1:
            x_real = x_real.detach().requires_grad_(True)
        with self.autocast:
            real_out = split_output(self.D_forward(x_real, **cond_real))
            fake_out = split_output(self.D_forward(fake.detach(), **cond_fake))
        terms = {"adv": self.adversarial.d_loss(real_out.logits, fake_out.logits, self.latent_rng)}
        weights = {"adv": self._weight("D/adv")}
        if do_r1:
            terms["r1"], weights["r1"] = r1_penalty(real_out.logits, x_real), regs["r1"] * opts.r1_every
        if "gp" in regs:
            def critic(x):
                with self.autocast:
                    return split_output(self.D_forward(x, **cond_real)).logits
            terms["gp"], weights["gp"] = gradient_penalty(critic, x_real, fake, self.latent_rng), regs["gp"]
        if "drift" in regs:
            terms["drift"], weights["drift"] = drift_penalty(real_out.logits), regs["drift"]
        context = DStep(real, fake.detach(), cond_real, cond_fake, real_out, fake_out)
        for name, value in task.objective.d_terms(context).items():
            terms[name], weights[name] = value, self._weight(f"D/{name}")
        total = sum(weights[k] * v.float() for k, v in terms.items())
        if not self._all_finite(total):
            return None
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        average_gradients(self.D, self.world)
        self.opt_d.step()
        self.adversarial.after_d_step(self.D)
        self.d_steps += 1
        return {f"D/{k}": v.detach() for k, v in terms.items()} | {"D/total": total.detach()}

    def _g_step(self, real: dict) -> dict | None:
        opts, task = self.options, self.task
        self.D.requires_grad_(False)  # D's weights get no gradient in G's step
        if self._stash is not None:
            z, cond, fake = self._stash
            self._stash = None
        else:
            z = task.sample_latent(real["x"].shape[0], self.latent_rng, self.device)
            cond = task.sample_condition(real, self.latent_rng, self.device)
            with self.autocast:
                fake = self.G_forward(z, **cond)
        with self.autocast:
            fake_out = split_output(self.D_forward(fake, **cond))
        real_cond = {k: v for k, v in real.items() if k != "x"}

        def real_forward():
            with self.autocast:
                return split_output(self.D_forward(real["x"], **real_cond))

        context = GStep(real, fake, z, cond, fake_out, real_forward)
        terms = {"adv": self.adversarial.g_loss(fake_out.logits, None)}
        weights = {"adv": self._weight("G/adv")}
        for name, value in task.objective.g_terms(context).items():
            terms[name], weights[name] = value, self._weight(f"G/{name}")
        total = sum(weights[k] * v.float() for k, v in terms.items())
        self.D.requires_grad_(True)
        if not self._all_finite(total):
            return None
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        average_gradients(self.G, self.world)
        self.opt_g.step()
        return {f"G/{k}": v.detach() for k, v in terms.items()} | {"G/total": total.detach()}

    def _all_finite(self, total: torch.Tensor) -> bool:
        """Whether every rank's loss is finite (all ranks must take the same branch)."""
        flag = torch.isfinite(total.detach()).to(torch.float32).reshape(1)
        if self.world > 1:
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item() > 0)

    # ----------------------------------------------------------------- guard
    def _take_snapshot(self) -> None:
        self.snapshot = Snapshot.take(self)
        self.nan_failures = 0

    def _rollback(self) -> None:
        """Restore the last good state, shrink the learning rates, and give up after repeats."""
        self.nan_failures += 1
        self.snapshot.restore(self)
        self.lr_scale *= self.options.nan_lr_factor
        for opt, lr in ((self.opt_g, self.options.lr_g), (self.opt_d, self.options.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * self.lr_scale
        self._note(f"non-finite loss: rolled back to step {self.step} "
                   f"(retry {self.nan_failures}/{self.options.max_nan_retries}, lr x{self.lr_scale:g})")
        if self.nan_failures > self.options.max_nan_retries:
            path = self.save_checkpoint()
            raise TrainingDiverged(
                f"losses stayed non-finite after {self.options.max_nan_retries} rollbacks near step "
                f"{self.step}; last good state saved to {path} (try a lower learning rate)")

    # ----------------------------------------------------------------- state
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoints" / ckpt.STATE_NAME

    def state_dict(self) -> dict:
        return {
            "step": self.step, "d_steps": self.d_steps, "epoch": self.epoch,
            "position": self.position, "lr_scale": self.lr_scale, "world_size": self.world,
            "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
            "generator_ema": self.ema.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "rng": gather_rng(self.latent_rng, self.world), "options": self.options.to_dict(),
            "train_seconds": self.train_seconds(),
            **({"started_from": self.started_from} if self.started_from else {}),
        }

    def train_seconds(self) -> float:
        """Wall-clock seconds of :meth:`train` over every call of this run (resumes included) so far."""
        now = 0.0 if self._started is None else time.perf_counter() - self._started
        return self.seconds_before + now

    def save_checkpoint(self) -> Path | None:
        state = self.state_dict()  # every rank joins the RNG gather
        if self.is_main:
            return ckpt.save_state(state, self.checkpoint_path)
        return None

    def _resume(self) -> None:
        if not self.checkpoint_path.is_file():
            self._note(f"no checkpoint in {self.checkpoint_path.parent}; starting a new run")
            return
        state = ckpt.load_state(self.checkpoint_path, map_location=self.device)
        if int(state.get("world_size", 1)) != self.world:
            raise UsageError(f"checkpoint was written by {state['world_size']} processes, "
                             f"this run has {self.world}")
        try:
            self.G.load_state_dict(state["generator"])
            self.D.load_state_dict(state["discriminator"])
            self.ema.load_state_dict(state["generator_ema"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(f"{self.checkpoint_path}: does not fit these networks (another preset or "
                                  f"model options?): {_first_line(exc)}") from None
        try:
            self.step, self.d_steps = int(state["step"]), int(state["d_steps"])
            self.stream.seek(int(state["epoch"]), int(state["position"]))
            self.lr_scale = float(state.get("lr_scale", 1.0))
            self.seconds_before = float(state.get("train_seconds", 0.0))    # older checkpoints: not recorded
            self.started_from = state.get("started_from") or None
            restore_rng(state["rng"], self.rank, self.latent_rng)
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise CheckpointError(f"{self.checkpoint_path}: incomplete or corrupt resume state: "
                                  f"{_first_line(exc)}") from None

    def _init_from(self, path: Path) -> None:
        if path.is_dir():
            path = path / "checkpoints" / ckpt.STATE_NAME
        state = ckpt.load_state(path, map_location=self.device)
        try:
            self.G.load_state_dict(state["generator"])
            self.ema.load_state_dict(state["generator_ema"])
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}: its generator does not fit this one (another preset or model "
                                  f"options?): {_first_line(exc)}") from None
        own = self.D.state_dict()
        theirs = state.get("discriminator")
        if not isinstance(theirs, dict):
            raise CheckpointError(f"{path}: incomplete resume state: no discriminator")
        kept = {k: v for k, v in theirs.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
        own.update(kept)
        self.D.load_state_dict(own)
        source = state.get("options") if isinstance(state.get("options"), dict) else {}
        seconds = state.get("train_seconds")           # None: an older checkpoint that did not record it
        self.started_from = {"steps": int(state.get("step", 0)),
                             "seconds": None if seconds is None else round(float(seconds), 1),
                             "options": portable_options(source)}
        if isinstance(state.get("started_from"), dict):             # a chain of fine-tunes keeps its history
            self.started_from["started_from"] = state["started_from"]
        self._note(f"started from {path}: generator and EMA, {len(kept)} of {len(own)} discriminator tensors")

    # ----------------------------------------------------------------- loop
    def _note(self, message: str) -> None:
        if self.is_main:
            tqdm.write(f"[creative-gan] {message}")

    def _accumulate(self, values: dict) -> None:
        for k, v in values.items():
            self._sums[k] = self._sums.get(k, 0.0) + float(v)
        self._count += 1

    def _monitor(self, logger: RunLogger) -> float:
        with torch.no_grad(), self.autocast:
            fake = self.ema.shadow(self.fixed_z, **self.fixed_cond)
        ratio = self.monitor.ratio(self.task.features(fake.float()))
        if self.monitor.collapsed(ratio) and not self.monitor.warned and self.is_main:
            self.monitor.warned = True  # once per run; later readings go to metrics.jsonl only
            warnings.warn(f"possible mode collapse at step {self.step}: sample diversity is {ratio:.2f}x "
                          f"the real data's (threshold {self.monitor.threshold})", RuntimeWarning, stacklevel=2)
        return ratio

    def _preview(self) -> None:
        if self.is_main:
            path = self.run_dir / "previews" / f"step_{self.step:07d}"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.ema.shadow.eval()
            with torch.no_grad():
                self.task.preview(self.ema.shadow, self.fixed_z, self.fixed_cond, path)

    def train(self) -> TrainResult:
        """Run until ``options.steps``; Ctrl-C saves the resume state before leaving."""
        opts = self.options
        start = self._started = time.perf_counter()
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "options.json").write_text(json.dumps(opts.to_dict(), indent=2) + "\n")
            if self.step == 0:  # a fresh run (also after a resume that found no checkpoint)
                (self.run_dir / "metrics.jsonl").unlink(missing_ok=True)
        logger = RunLogger(self.run_dir, opts.tensorboard, enabled=self.is_main)
        bar = tqdm(total=opts.steps, initial=self.step, desc=f"train {self.task.name}",
                   disable=not (opts.progress and self.is_main), dynamic_ncols=True)
        self._take_snapshot()
        last = {}
        tick, tick_step = time.perf_counter(), self.step
        try:
            while self.step < opts.steps:
                values = {}
                for _ in range(opts.n_critic):
                    real = self._next_batch()
                    d_values = self._d_step(real)
                    if d_values is None:
                        break
                    values.update(d_values)
                g_values = self._g_step(real) if d_values is not None else None
                if g_values is None:
                    self._rollback()
                    bar.n = self.step
                    bar.refresh()
                    continue
                values.update(g_values)
                if self.world > 1:  # BatchNorm statistics differ per rank: rank 0's win
                    broadcast_module(self.G, buffers_only=True)
                    broadcast_module(self.D, buffers_only=True)
                self._extra["ema/decay"] = self.ema.update(self.G, self.step)
                self.step += 1
                bar.update(1)
                self._accumulate(values)
                if self.step % opts.snapshot_every == 0:
                    self._take_snapshot()
                if self.monitor is not None and self.step % opts.monitor_every == 0:
                    self._extra["monitor/diversity"] = self._monitor(logger)
                if self.step % opts.log_every == 0 or self.step == opts.steps:
                    now = time.perf_counter()
                    last = {k: v / max(self._count, 1) for k, v in self._sums.items()} | self._extra
                    last["speed/steps_per_s"] = (self.step - tick_step) / max(now - tick, 1e-9)
                    tick, tick_step = now, self.step
                    logger.log(self.step, last)
                    bar.set_postfix({k.split("/")[0][0] + k.split("/")[1][:4]: f"{v:.3f}"
                                     for k, v in last.items() if k in ("D/adv", "G/adv")})
                    self._sums, self._count, self._extra = {}, 0, {}
                if opts.preview_every and self.step % opts.preview_every == 0:
                    self._preview()
                if opts.checkpoint_every and self.step % opts.checkpoint_every == 0:
                    self.save_checkpoint()
                if self.on_step is not None:
                    self.on_step(self)
        except KeyboardInterrupt:  # also the CLI's signal exceptions, which subclass it
            path = self.save_checkpoint()
            self._note(f"interrupted at step {self.step}; resume state saved to {path}")
            bar.close()
            logger.close()
            self.stream.close()
            raise
        self.stream.close()
        bar.close()
        self.save_checkpoint()
        self._preview()
        logger.close()
        model_dir = self._release(self.train_seconds())
        return TrainResult(self.ema.shadow, self.run_dir, self.step, last, model_dir,
                           time.perf_counter() - start, self.start_step)

    def _release(self, seconds: float) -> Path | None:
        """Save the release; ``seconds``: training time of the whole run (every resumed call)."""
        if not self.is_main:
            return None
        from .release import save

        rows = read_metrics(self.run_dir / "metrics.jsonl") if (self.run_dir / "metrics.jsonl").exists() else []
        loss_curve_png(rows, self.run_dir / "loss_curve.png")
        provenance = {"steps": self.step, "seconds": round(seconds, 1),
                      "options": portable_options(self.options.to_dict()),
                      "adversarial_loss": self.adversarial.name, "ema_decay_final": self.ema.decay_at(self.step - 1),
                      "device": self.device.type, "world_size": self.world,
                      **({"started_from": self.started_from} if self.started_from else {})}
        try:
            pipe = self.task.release(self.ema.shadow, provenance)
        except NotImplementedError:
            return None
        return save(pipe, self.run_dir / "model", provenance=provenance)
