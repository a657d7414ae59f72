"""The shared trainer on a real (tiny) conditional GAN task: losses, resume, NaN guard, logs."""
import json
import math

import pytest
import torch

from creative_gan.errors import TrainingDiverged, UsageError
from creative_gan.options import LOSSES, TrainOptions
from creative_gan.runlog import read_metrics
from creative_gan.trainer import Trainer
from tests.core.toy import flat_params, make_task, options


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_finite(tmp_path, loss):
    task = make_task()
    before = flat_params(task.generator).clone()
    regs = {"r1": 1.0, "drift": 0.001} if loss == "hinge" else {}
    result = Trainer(task, options(tmp_path, loss=loss, steps=8, regularisers=regs,
                                   label_smoothing=0.1 if loss == "non_saturating" else 0.0,
                                   label_noise=0.05 if loss == "lsgan" else 0.0)).train()
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert rows and rows[-1]["step"] == 8
    for row in rows:
        for key, value in row.items():
            assert math.isfinite(value), (key, value)
    assert {"D/adv", "G/adv", "D/class_ce", "G/class_ce"} <= set(rows[-1])
    if loss == "wgan_gp":
        assert "D/gp" in rows[-1]
    if loss == "hinge":
        assert {"D/r1", "D/drift"} <= set(rows[-1])
    assert not torch.equal(before, flat_params(task.generator)), "G did not change"
    assert result.step == 8


def test_wgan_clips_critic_weights(tmp_path):
    task = make_task()
    Trainer(task, options(tmp_path, loss="wgan", steps=3, wgan_clip=0.02)).train()
    for p in task.discriminator.parameters():
        assert p.abs().max() <= 0.02 + 1e-7


def test_unknown_names_are_refused():
    with pytest.raises(UsageError, match="unknown loss"):
        TrainOptions(loss="vanilla").validate()
    with pytest.raises(UsageError, match="unknown regulariser"):
        TrainOptions(regularisers={"r3": 1.0}).validate()
    with pytest.raises(UsageError, match="unknown training option"):
        TrainOptions.from_dict({"learning_rate": 1})


def test_training_learns_the_toy_data(tmp_path):
    """The toy GAN must actually learn: fakes of class c light up band c (so the loop is right)."""
    task = make_task()
    Trainer(task, options(tmp_path, steps=250, batch_size=64, lr_g=2e-3, lr_d=2e-3,
                          checkpoint_every=0, loss_weights={"G/class_ce": 1.0})).train()
    G = task.generator.eval()
    labels = torch.arange(4).repeat_interleave(16)
    with torch.no_grad():
        fake = G(torch.randn(64, 8), labels)
    rows = fake[:, 0].mean(dim=2)  # [64, 8] brightness per row
    bands = rows.view(64, 4, 2).mean(2).argmax(1)
    assert (bands == labels).float().mean() > 0.9


def test_the_adversarial_loss_alone_teaches_the_conditional_data(tmp_path):
    """With the class-head side losses weighted 0, only G's adversarial term (through D's class
    projection) can put the bar in band c: removing or sign-flipping it must fail this test."""
    task = make_task()
    Trainer(task, options(tmp_path, steps=150, batch_size=64, lr_g=2e-3, lr_d=2e-3, checkpoint_every=0,
                          monitor_every=0, loss_weights={"G/class_ce": 0.0, "D/class_ce": 0.0})).train()
    G = task.generator.eval()
    labels = torch.arange(4).repeat_interleave(16)
    with torch.no_grad():
        fake = G(torch.randn(64, 8, generator=torch.Generator().manual_seed(0)), labels)
    bands = fake[:, 0].mean(dim=2).view(64, 4, 2).mean(2).argmax(1)
    assert (bands == labels).float().mean() > 0.9
    assert fake[:, 0].mean(dim=2).max(dim=1).values.mean() > 0.5   # a bright bar, not a grey blur


def test_resume_after_interrupt_matches_uninterrupted_run(tmp_path):
    full_task = make_task()
    full = Trainer(full_task, options(tmp_path / "full", steps=20)).train()

    class Terminated(KeyboardInterrupt):  # what the CLI raises on SIGTERM / SIGHUP
        pass

    def interrupt(trainer):
        if trainer.step == 12:
            raise Terminated

    part_task = make_task()
    with pytest.raises(KeyboardInterrupt):
        Trainer(part_task, options(tmp_path / "part", steps=20), on_step=interrupt).train()
    assert (tmp_path / "part" / "checkpoints" / "state.pt").is_file()
    resumed_task = make_task(seed=123)  # different init: everything must come from the checkpoint
    result = Trainer(resumed_task, options(tmp_path / "part", steps=20), resume=True).train()
    assert result.step == 20 and result.start_step == 12
    assert torch.equal(flat_params(full_task.generator), flat_params(resumed_task.generator))
    assert torch.equal(flat_params(full_task.discriminator), flat_params(resumed_task.discriminator))
    assert torch.equal(flat_params(full.generator_ema), flat_params(result.generator_ema))


def test_nan_is_rolled_back_and_training_recovers(tmp_path):
    task = make_task(poison_at=9)
    result = Trainer(task, options(tmp_path, steps=15)).train()
    assert result.step == 15
    assert torch.isfinite(flat_params(task.generator)).all()
    assert torch.isfinite(flat_params(task.discriminator)).all()
    assert task.objective.calls >= 16  # the poisoned step was retried, not silently skipped


def test_repeated_nans_stop_with_a_usable_checkpoint(tmp_path):
    task = make_task()
    original = task.objective.d_terms

    def always_nan(step):
        return {k: v * float("nan") for k, v in original(step).items()}

    task.objective.d_terms = always_nan
    with pytest.raises(TrainingDiverged, match="non-finite"):
        Trainer(task, options(tmp_path, steps=10, max_nan_retries=2)).train()
    from creative_gan.checkpoint import load_state
    state = load_state(tmp_path / "checkpoints" / "state.pt")
    assert all(torch.isfinite(v).all() for v in state["generator"].values() if v.is_floating_point())


def test_run_directory_and_collapse_monitor(tmp_path):
    task = make_task()
    # a generator that ignores z collapses by construction: the monitor must notice
    with torch.no_grad():
        task.generator.net[0].weight[:, :8] = 0.0
    task.generator.net[0].weight.register_hook(lambda g: g.index_fill(1, torch.arange(8), 0.0))
    with pytest.warns(RuntimeWarning, match="mode collapse"):
        Trainer(task, options(tmp_path, steps=10, monitor_every=5, lr_g=1e-5)).train()
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert any(r.get("monitor/diversity", 1.0) < 0.2 for r in rows)
    opts = json.loads((tmp_path / "options.json").read_text())
    assert opts["steps"] == 10
    assert (tmp_path / "loss_curve.png").stat().st_size > 1000


def test_augmentation_runs_inside_d(tmp_path):
    seen = []
    task = make_task()
    forward = task.discriminator.forward

    def spy(x, label):
        seen.append(x.detach().clone())
        return forward(x, label)

    task.discriminator.forward = spy
    trainer = Trainer(task, options(tmp_path, steps=1, augment="translation,cutout", monitor_every=0))
    real = trainer._next_batch()
    trainer._d_step(real)
    assert not torch.equal(seen[0], real["x"]), "D saw un-augmented reals"


def test_augmentation_reaches_real_and_fake_batches(tmp_path):
    task = make_task()
    trainer = Trainer(task, options(tmp_path, steps=1, augment="cutout", monitor_every=0))
    inputs, outputs = [], []

    def record(module, args, out):
        inputs.append(args[0].detach())
        outputs.append(out.detach())

    trainer.D_forward.augment.register_forward_hook(record)
    real = trainer._next_batch()
    trainer._d_step(real)
    assert len(inputs) == 2, "D's step must augment both the real and the fake batch"
    assert torch.equal(inputs[0], real["x"])
    for before, after in zip(inputs, outputs):
        assert ((after == 0) & (before != 0)).any(), "a batch reached D un-augmented"


def test_augmentation_is_refused_for_non_image_tasks(tmp_path):
    task = make_task()
    task.image_like = False
    with pytest.raises(UsageError, match="image-like"):
        Trainer(task, options(tmp_path, steps=1, augment="color"))
    assert not (tmp_path / "metrics.jsonl").exists()


def test_r1_weight_multiplies_the_squared_gradient_norm(tmp_path):
    """A linear D(x) = ⟨a, x⟩ has R1 = ‖a‖²; D's total is adv + w·r1_every·‖a‖² on lazy steps."""
    task = make_task()
    trainer = Trainer(task, options(tmp_path, steps=1, regularisers={"r1": 0.5}, r1_every=2, monitor_every=0))
    real = trainer._next_batch()
    values = trainer._d_step(real)
    # the toy D is piecewise linear; R1 is whatever ‖∇D‖² is, and its weight is w·r1_every = 1.0
    assert values["D/total"].item() == pytest.approx(
        (values["D/adv"] + values["D/class_ce"] + 1.0 * values["D/r1"]).item(), rel=1e-5)
    values = trainer._d_step(trainer._next_batch())               # odd D step: no R1
    assert "D/r1" not in values


def test_training_into_an_existing_run_is_refused_without_resume(tmp_path):
    Trainer(make_task(), options(tmp_path, steps=5)).train()
    before = (tmp_path / "metrics.jsonl").read_text()
    with pytest.raises(UsageError, match="--resume"):
        Trainer(make_task(), options(tmp_path, steps=10))
    assert (tmp_path / "metrics.jsonl").read_text() == before
    result = Trainer(make_task(), options(tmp_path, steps=10), resume=True).train()
    assert (result.start_step, result.step) == (5, 10)
    steps = [r["step"] for r in read_metrics(tmp_path / "metrics.jsonl")]
    assert steps == sorted(set(steps))                              # no step logged twice


def test_training_time_adds_up_over_resumes(tmp_path):
    """The run's training seconds (saved with the resume state, given to the release's provenance) count every
    call of a resumed run, not only the last one (a release-only resume took 0.2 s)."""
    from creative_gan import checkpoint as ckpt

    state = tmp_path / "checkpoints" / ckpt.STATE_NAME
    first = Trainer(make_task(), options(tmp_path, steps=10)).train()
    before = float(ckpt.load_state(state)["train_seconds"])
    assert 0 < before <= first.seconds
    trainer = Trainer(make_task(), options(tmp_path, steps=10), resume=True)      # nothing left: release only
    assert trainer.seconds_before == before
    again = trainer.train()
    after = float(ckpt.load_state(state)["train_seconds"])
    assert before < after <= before + again.seconds


def test_resume_with_networks_that_do_not_fit_is_one_line(tmp_path):
    from creative_gan.errors import CheckpointError
    Trainer(make_task(), options(tmp_path, steps=5)).train()
    task = make_task()
    task.generator.net[0] = torch.nn.Linear(16, 32)               # another width: state dict mismatch
    task.generator.net[1] = torch.nn.BatchNorm1d(32)
    task.generator.net[3] = torch.nn.Linear(32, 64)
    with pytest.raises(CheckpointError, match="does not fit") as info:
        Trainer(task, options(tmp_path, steps=10), resume=True)
    assert "\n" not in str(info.value)
    from creative_gan.checkpoint import load_state, save_state
    state = load_state(tmp_path / "checkpoints" / "state.pt")
    state["rng"] = []                                              # a damaged resume state
    save_state(state, tmp_path / "checkpoints" / "state.pt")
    with pytest.raises(CheckpointError, match="corrupt resume state"):
        Trainer(make_task(), options(tmp_path, steps=10), resume=True)


def test_options_without_effect_warn_once(tmp_path):
    with pytest.warns(UserWarning) as record:
        Trainer(make_task(), options(tmp_path, steps=1, loss="hinge", label_smoothing=0.1, wgan_clip=0.05,
                                     r1_every=4))
    messages = [str(w.message) for w in record if issubclass(w.category, UserWarning)]
    assert sum("label_smoothing" in m for m in messages) == 1
    assert sum("wgan_clip" in m for m in messages) == 1
    assert sum("r1_every" in m for m in messages) == 1
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(make_task(), options(tmp_path / "ok", steps=1, loss="lsgan", label_smoothing=0.1,
                                     regularisers={"r1": 1.0}, r1_every=4))


def test_collapse_warning_is_given_once_per_run(tmp_path):
    task = make_task()
    with torch.no_grad():
        task.generator.net[0].weight[:, :8] = 0.0
    task.generator.net[0].weight.register_hook(lambda g: g.index_fill(1, torch.arange(8), 0.0))
    with pytest.warns(RuntimeWarning) as record:
        Trainer(task, options(tmp_path, steps=20, monitor_every=5, lr_g=1e-5)).train()
    assert sum("mode collapse" in str(w.message) for w in record) == 1
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert sum(r.get("monitor/diversity", 1.0) < 0.2 for r in rows) >= 3


def test_loader_workers_give_the_same_batches_as_the_training_thread(tmp_path):
    from tests.core.toy import flat_params
    results = []
    for workers in (0, 2):
        task = make_task()
        Trainer(task, options(tmp_path / str(workers), steps=12, num_workers=workers, monitor_every=0)).train()
        results.append(flat_params(task.generator))
    assert torch.equal(results[0], results[1])


def test_provenance_holds_no_absolute_paths(tmp_path):
    from creative_gan.runlog import portable_options
    opts = options(tmp_path / "run", steps=1).to_dict()
    opts["model"] = {"data": "/home/someone/corpus", "size": 16}
    portable = portable_options(opts)
    assert portable["out_dir"] == "run" and portable["model"] == {"data": "corpus", "size": 16}
    assert str(tmp_path) not in json.dumps(portable)


def test_a_new_run_starts_from_another_runs_weights(tmp_path):
    """``init_from``: G and EMA exactly, D where name and shape match (a grown D keeps what it had, its new
    part starts fresh), step 0 and a new run folder; refused beside ``resume`` and for a G that does not fit."""
    from creative_gan.errors import CheckpointError
    Trainer(make_task(), options(tmp_path / "source", steps=10)).train()
    source_state = torch.load(tmp_path / "source" / "checkpoints" / "state.pt", weights_only=True)
    task = make_task(seed=7)                                       # another init: the weights must be loaded
    task.discriminator.classes = torch.nn.Linear(64, 4 + 1)        # a head of another shape: stays fresh
    fresh_head = task.discriminator.classes.weight.detach().clone()
    trainer = Trainer(task, options(tmp_path / "new", steps=3), init_from=tmp_path / "source")
    assert trainer.step == 0
    def flat(state: dict) -> torch.Tensor:
        return torch.cat([t.reshape(-1).float() for t in state.values()])

    assert torch.equal(flat_params(task.generator), flat(source_state["generator"]))
    assert torch.equal(flat_params(trainer.ema.shadow), flat(source_state["generator_ema"]))
    assert not torch.equal(flat(source_state["generator"]), flat(source_state["generator_ema"]))
    d = task.discriminator.state_dict()
    assert torch.equal(d["body.1.weight"], source_state["discriminator"]["body.1.weight"])
    assert torch.equal(d["embed.weight"], source_state["discriminator"]["embed.weight"])
    assert torch.equal(d["classes.weight"], fresh_head)
    result = trainer.train()
    assert result.step == 3 and (tmp_path / "new" / "checkpoints" / "state.pt").is_file()
    with pytest.raises(UsageError, match="--resume"):
        Trainer(make_task(), options(tmp_path / "other", steps=3), resume=True, init_from=tmp_path / "source")
    narrow = make_task()
    narrow.generator.net[0] = torch.nn.Linear(16, 32)
    narrow.generator.net[1] = torch.nn.BatchNorm1d(32)
    narrow.generator.net[3] = torch.nn.Linear(32, 64)
    with pytest.raises(CheckpointError, match="does not fit") as info:
        Trainer(narrow, options(tmp_path / "narrow", steps=3), init_from=tmp_path / "source")
    assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        Trainer(make_task(), options(tmp_path / "none", steps=3), init_from=tmp_path / "missing")
