"""The anime evaluator separates good, collapsed and copying generators, each figure beside its reference."""
import numpy as np
import pytest
import torch

from creative_gan.pipelines.anime.data.corpus import to_tensor, write_corpus
from creative_gan.pipelines.anime.evaluate.evaluation import HELD_OUT_SEED, coverage, evaluate_pipeline, nearest_distances
from creative_gan.pipelines.anime.evaluate.judge import head_accuracy, train_judge
from creative_gan.pipelines.anime.data.procedural import ATTRIBUTES, render_corpus

TRAIN = {"source": "procedural", "count": 300, "procedural_seed": 0, "size": 64}
SMALL = {"num_samples": 150, "judge_images": 700, "min_count": 1, "progress": False}


class StubPipe:
    """Stands in for a generator: returns prepared images by seed (no network involved)."""

    image_size = 64

    def __init__(self, images: np.ndarray, dataset=TRAIN):
        self.images = to_tensor(images)
        self.dataset = dict(dataset)

    def generate(self, seeds, truncation=1.0, as_tensor=False):
        out = self.images[[int(s) % len(self.images) for s in seeds]]
        return out if as_tensor else out.numpy()


@pytest.fixture(scope="module")
def judge_net():
    """One judge trained on held-out real faces, shared by the tests (training is the slow part)."""
    images, labels = render_corpus(700, seed=HELD_OUT_SEED, progress=False)
    net = train_judge(to_tensor(images), labels, {k: len(v) for k, v in ATTRIBUTES.items()}, steps=150,
                      batch_size=48, progress=False)
    test_images, test_labels = render_corpus(200, seed=99, progress=False)
    net.accuracy = head_accuracy(net, to_tensor(test_images), test_labels)
    return net


def test_the_judge_learns_the_coverage_attributes(judge_net):
    assert judge_net.accuracy["hair_colour"] > 0.95 and judge_net.accuracy["eye_colour"] > 0.8


@pytest.fixture(scope="module")
def fresh_faces():
    return render_corpus(400, seed=77, progress=False)[0]  # faces neither in training nor in the real splits


def test_a_faithful_generator_scores_like_real_data(fresh_faces, judge_net):
    m = evaluate_pipeline(StubPipe(fresh_faces), judge_net=judge_net, **SMALL)
    assert m["judge_accuracy_hair_colour"] > 0.9 and m["judge_accuracy_eye_colour"] > 0.8
    assert m["attribute_combinations"] == 30
    assert m["attribute_coverage"] >= 0.8 and m["attribute_coverage_real"] >= 0.8
    assert m["frechet_distance"] < 3 * m["frechet_distance_real"] + 1e-6
    assert abs(m["kid"]) < 0.05 + 5 * abs(m["kid_real"])
    assert 0.5 < m["nn_distance_median"] / m["nn_distance_real_median"] < 2


def test_a_collapsed_generator_scores_badly(fresh_faces, judge_net):
    m = evaluate_pipeline(StubPipe(fresh_faces[:1]), judge_net=judge_net, **SMALL)
    assert m["attribute_coverage"] <= 2 / 30 and m["most_common_combination_share"] == 1.0
    assert m["frechet_distance"] > 5 * m["frechet_distance_real"]
    assert m["kid"] > 5 * max(m["kid_real"], 1e-4)


def test_a_copying_generator_is_caught_by_nearest_neighbours(judge_net):
    training, _ = render_corpus(TRAIN["count"], seed=TRAIN["procedural_seed"], progress=False)
    m = evaluate_pipeline(StubPipe(training), judge_net=judge_net, **SMALL)
    assert m["nn_distance_median"] < 1e-3 < 0.1 < m["nn_distance_real_median"]


def test_corpus_evaluation_uses_leave_one_out_references(tmp_path, fresh_faces):
    corpus = tmp_path / "corpus"
    write_corpus(corpus, fresh_faces[:120], {"source": "folder", "attributes": {},
                                             "items": [{"source": f"{i}.png"} for i in range(120)]})
    m = evaluate_pipeline(StubPipe(fresh_faces[200:], {"source": "folder"}), data=str(corpus),
                          num_samples=60, judge_steps=5, progress=False)
    assert m["attribute_coverage"] is None and m["nn_distance_real_median"] > 0.05
    assert m["real_source"] == "corpus" and np.isfinite(m["frechet_distance"])


def test_nearest_distances_and_coverage_helpers():
    bank = torch.rand(5, 3, 64, 64) * 2 - 1
    assert np.allclose(nearest_distances(bank, bank), 0, atol=1e-3)
    assert (nearest_distances(bank, bank, exclude=torch.arange(5)) > 0.1).all()
    probs = {"hair_colour": torch.eye(6)[[0, 0, 1]], "eye_colour": torch.eye(5)[[0, 0, 1]]}
    assert coverage(probs, {(0, 0), (1, 1), (2, 2)}, 1)[0] == pytest.approx(2 / 3)
    assert coverage(probs, {(0, 0), (1, 1), (2, 2)}, 2)[0] == pytest.approx(1 / 3)
