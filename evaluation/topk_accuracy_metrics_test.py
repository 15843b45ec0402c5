"""The TFMA metrics and the pipeline's slicing, checked by hand on a tiny eval set.

The eval set runs through real TFMA (``tfma.analyze_raw_data``: Beam, the slicer, the
metric combiners, the metrics writer) with the pipeline's own slicing and metrics
specs, and every number is compared with a hand computation.
"""

import numpy as np
import pandas as pd
import pytest
import tensorflow_model_analysis as tfma

from evaluation.topk_accuracy_metrics import accuracy_from_class_hits, topk_hits
from sicot.config import SicotConfig
from sicot.head_tail import LABEL_FREQUENCY_BUCKET, LABEL_GROUP
from tfx_pipeline.eval_config import metrics_specs, slicing_specs

# Four classes; training counts 50 (head), 8, 3, 1 (tail) with head >= 30.
TRAIN_COUNTS = np.array([50, 8, 3, 1])
# label, scores over 4 classes.
ROWS = [
    (0, [0.70, 0.10, 0.10, 0.10]),  # top1 hit
    (0, [0.10, 0.60, 0.20, 0.10]),  # rank 3 -> top3 hit only
    (0, [0.05, 0.15, 0.20, 0.60]),  # rank 4 -> miss
    (0, [0.50, 0.20, 0.20, 0.10]),  # top1 hit
    (1, [0.30, 0.40, 0.20, 0.10]),  # top1 hit
    (1, [0.40, 0.30, 0.20, 0.10]),  # rank 2
    (2, [0.10, 0.20, 0.30, 0.40]),  # rank 2
    (3, [0.40, 0.30, 0.20, 0.10]),  # rank 4 -> miss
]
# By hand. top1 hits: rows 0, 3, 4. top3 hits: rows 0, 1, 3, 4, 5, 6.
EXPECTED = {
    # slice: (examples, top1, top3, top1 per class, top3 per class)
    (): (8, 3 / 8, 6 / 8, (2 / 4 + 1 / 2 + 0 + 0) / 4, (3 / 4 + 1 + 1 + 0) / 4),
    ((LABEL_GROUP, "head"),): (4, 2 / 4, 3 / 4, 2 / 4, 3 / 4),
    ((LABEL_GROUP, "tail"),): (4, 1 / 4, 3 / 4, (1 / 2 + 0 + 0) / 3, (1 + 1 + 0) / 3),
    ((LABEL_FREQUENCY_BUCKET, ">20"),): (4, 2 / 4, 3 / 4, 2 / 4, 3 / 4),
    ((LABEL_FREQUENCY_BUCKET, "6-20"),): (2, 1 / 2, 1.0, 1 / 2, 1.0),
    ((LABEL_FREQUENCY_BUCKET, "1-5"),): (2, 0.0, 1 / 2, 0.0, 1 / 2),
}


def test_topk_hits_by_hand_with_ties_against_the_label():
    scores = np.array([0.5, 0.3, 0.3, 0.2])
    assert topk_hits(scores, 0, (1, 2)).tolist() == [1, 1]
    assert topk_hits(scores, 1, (1, 2, 3)).tolist() == [0, 1, 1]  # tied with class 2: both rank 2
    assert topk_hits(scores, 3, (1, 3, 4)).tolist() == [0, 0, 1]


def test_accuracy_from_class_hits_averages_per_example_and_per_class():
    table = np.array([[0, 4, 2, 3], [5, 1, 1, 1]])  # class, examples, hits@1, hits@3
    assert accuracy_from_class_hits(table, 2, "example") == pytest.approx(3 / 5)
    assert accuracy_from_class_hits(table, 2, "class") == pytest.approx((2 / 4 + 1) / 2)
    assert accuracy_from_class_hits(table, 3, "class") == pytest.approx((3 / 4 + 1) / 2)
    with pytest.raises(ValueError, match="averaging"):
        accuracy_from_class_hits(table, 2, "median")


@pytest.fixture(scope="module")
def tfma_result(tmp_path_factory):
    config = SicotConfig()
    config.eval.head_min_train_images = 30
    config.eval.frequency_buckets = [5, 20]
    from sicot.head_tail import bucket_of, group_of

    labels = np.array([r[0] for r in ROWS])
    counts = TRAIN_COUNTS[labels]
    frame = pd.DataFrame(
        {
            "label": labels.tolist(),
            "prediction": [r[1] for r in ROWS],
            LABEL_GROUP: group_of(counts, 30).tolist(),
            LABEL_FREQUENCY_BUCKET: bucket_of(counts, [5, 20]).tolist(),
        }
    )
    eval_config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="label", prediction_key="prediction")],
        slicing_specs=slicing_specs(),
        metrics_specs=metrics_specs(config),
    )
    out = tmp_path_factory.mktemp("tfma")
    tfma.analyze_raw_data(frame, eval_config, output_path=str(out))
    return {m.slice_key: m for m in _load(str(out))}


def _load(path):
    from evaluation.tfma_results import read_slice_metrics

    return read_slice_metrics(path)


@pytest.mark.parametrize("slice_key", list(EXPECTED))
def test_tfma_slices_match_the_hand_computation(tfma_result, slice_key):
    examples, top1, top3, top1_pc, top3_pc = EXPECTED[slice_key]
    got = tfma_result[slice_key]
    assert got.metrics["example_count"] == examples
    assert got.metrics["top1_accuracy"] == pytest.approx(top1)
    assert got.metrics["top3_accuracy"] == pytest.approx(top3)
    assert got.metrics["top1_accuracy_per_class"] == pytest.approx(top1_pc)
    assert got.metrics["top3_accuracy_per_class"] == pytest.approx(top3_pc)


def test_only_the_expected_slices_exist(tfma_result):
    assert set(tfma_result) == set(EXPECTED)


def test_class_hits_table_comes_back_through_the_tfma_writer(tfma_result):
    table = tfma_result[()].class_hits
    np.testing.assert_array_equal(table, [[0, 4, 2, 3], [1, 2, 1, 2], [2, 1, 0, 1], [3, 1, 0, 0]])
    tail = tfma_result[((LABEL_GROUP, "tail"),)].class_hits
    assert tail[:, 0].tolist() == [1, 2, 3]


def test_confidence_intervals_agree_with_a_bootstrap_over_the_same_examples(tmp_path):
    """TFMA's jackknife interval of a slice's top-1, against a percentile bootstrap over
    the per-example hits of the same eval set (400 examples, 10 classes). TFMA puts the
    examples in its 20 jackknife buckets at random (no seed to set), so its width
    varies from run to run roughly like the square root of a chi-squared with 19
    degrees of freedom over 19: about ±16%, and below 0.6 of the bootstrap's about once
    in 200 slices (stop 48's CI saw 0.56). The bounds, 0.4 to 2.0 (at most about 1 in
    10^5 each), still fail an interval of the wrong scale: of the examples' spread
    instead of their mean's (20 times too wide), or of one jackknife bucket (sqrt(20)
    too wide)."""
    from tfx_pipeline.eval_config import tfma_options

    rng = np.random.default_rng(11)
    labels = rng.integers(0, 10, 400)
    scores = rng.random((400, 10))
    scores[np.arange(400), labels] += rng.random(400) * 0.9  # about 55% top-1
    scores /= scores.sum(axis=1, keepdims=True)
    counts = np.where(labels < 3, 50, 5)
    config = SicotConfig()
    config.eval.head_min_train_images = 30
    config.eval.frequency_buckets = [5, 20]
    from sicot.head_tail import bucket_of, group_of

    frame = pd.DataFrame({"label": labels.tolist(), "prediction": scores.tolist(),
                          LABEL_GROUP: group_of(counts, 30).tolist(),
                          LABEL_FREQUENCY_BUCKET: bucket_of(counts, [5, 20]).tolist()})
    eval_config = tfma.EvalConfig(model_specs=[tfma.ModelSpec(label_key="label", prediction_key="prediction")],
                                  slicing_specs=slicing_specs(), metrics_specs=metrics_specs(config),
                                  options=tfma_options(config))
    tfma.analyze_raw_data(frame, eval_config, output_path=str(tmp_path))
    slices = {m.slice_key: m for m in _load(str(tmp_path))}
    hits = (np.argmax(scores, axis=1) == labels).astype(float)
    for key, member in (((), np.ones(400, bool)), (((LABEL_GROUP, "tail"),), labels >= 3)):
        got = slices[key]
        low, high = got.intervals["top1_accuracy"]
        assert got.metrics["top1_accuracy"] == pytest.approx(hits[member].mean())
        assert low < hits[member].mean() < high
        means = [rng.choice(hits[member], member.sum()).mean() for _ in range(2000)]
        b_low, b_high = np.percentile(means, [2.5, 97.5])
        assert 0.4 < (high - low) / (b_high - b_low) < 2.0, ((low, high), (b_low, b_high))
