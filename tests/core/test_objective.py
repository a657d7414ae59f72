"""The objective API: G's terms see the real batch and D's outputs (features too); custom adversarial losses."""
import pytest
import torch
import torch.nn.functional as F

from creative_gan.objective import (AdversarialLoss, DOutput, GStep, Objective, feature_matching_loss,
                                    split_output)
from creative_gan.runlog import read_metrics
from creative_gan.trainer import Trainer
from tests.core.toy import ToyDiscriminator, make_task, options


class FeatureDiscriminator(ToyDiscriminator):
    """The toy D, also returning its hidden layer as ``aux["features"]`` (for feature matching)."""

    def forward(self, x, label):
        h = self.body(x)
        logits = self.logit(h).squeeze(1) + (self.embed(label) * h).sum(1)
        return logits, {"class_logits": self.classes(h), "features": [x.flatten(1), h]}


class RecordingObjective(Objective):
    """Feature matching + L1 to the real batch, recording what the trainer handed over."""

    def __init__(self):
        self.seen = []

    def d_terms(self, step):
        return {"class_ce": F.cross_entropy(step.real_out.aux["class_logits"], step.real_cond["label"])}

    def g_terms(self, step: GStep):
        self.seen.append(step)
        return {"feat_match": feature_matching_loss(step.real_out.features, step.fake_out.features),
                "l1": (step.fake - step.real["x"]).abs().mean()}


def test_g_terms_get_real_batch_and_d_features(tmp_path):
    task = make_task()
    task.discriminator = FeatureDiscriminator()
    task.objective = RecordingObjective()
    trainer = Trainer(task, options(tmp_path, steps=10, monitor_every=0))
    real = trainer._next_batch()
    trainer._d_step(real)
    trainer._g_step(real)
    step = task.objective.seen[-1]
    assert torch.equal(step.real["x"], real["x"]) and torch.equal(step.real["label"], real["label"])
    assert len(step.fake_out.features) == len(step.real_out.features) == 2
    assert step.fake_out.features[1].requires_grad and not step.real_out.features[1].requires_grad
    assert step.real_out.logits.shape == (32,)
    trainer.train()
    row = read_metrics(tmp_path / "metrics.jsonl")[-1]
    assert {"G/feat_match", "G/l1", "D/class_ce", "G/adv"} <= set(row)


def test_feature_matching_pulls_fake_features_towards_real():
    real = [torch.ones(4, 3), torch.zeros(4, 2)]
    fake = [torch.zeros(4, 3, requires_grad=True), torch.ones(4, 2, requires_grad=True)]
    loss = feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx(2.0)                   # mean |1-0| + mean |0-1|
    loss.backward()
    assert (fake[0].grad < 0).all() and (fake[1].grad > 0).all()
    with pytest.raises(ValueError):
        feature_matching_loss([torch.ones(1)], [])


def test_real_output_is_computed_only_when_used():
    calls = []

    def forward():
        calls.append(1)
        return DOutput(torch.zeros(2))

    step = GStep({"x": torch.zeros(2)}, torch.zeros(2), torch.zeros(2, 1), {}, DOutput(torch.zeros(2)), forward)
    assert calls == []
    step.real_out, step.real_out
    assert calls == [1]


def test_split_output_averages_patch_logits_and_keeps_aux():
    out = split_output((torch.arange(8.0).reshape(2, 4), {"features": torch.ones(2, 3)}))
    assert torch.equal(out.logits, torch.tensor([1.5, 5.5]))
    assert len(out.features) == 1
    assert split_output(torch.ones(3)).aux == {}


class ScaledHinge(AdversarialLoss):
    """A pipeline's own adversarial loss (here: hinge with a margin of 2)."""

    name = "hinge_margin2"

    def __init__(self):
        self.d_calls = self.g_calls = 0

    def d_loss(self, real_logits, fake_logits, generator=None):
        self.d_calls += 1
        return F.relu(2 - real_logits).mean() + F.relu(2 + fake_logits).mean()

    def g_loss(self, fake_logits, real_logits=None):
        self.g_calls += 1
        return -fake_logits.mean()


def test_a_task_can_bring_its_own_adversarial_loss(tmp_path):
    task = make_task()
    task.adversarial = ScaledHinge()
    result = Trainer(task, options(tmp_path, steps=4, loss="minimax")).train()
    assert task.adversarial.d_calls == 4 and task.adversarial.g_calls == 4
    assert result.step == 4
