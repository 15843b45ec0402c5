import numpy as np
import pytest

from models.class_balanced_weights import class_balanced_weights

COUNTS = np.array([50, 20, 5, 1])


def test_beta_zero_weighs_every_image_once():
    np.testing.assert_allclose(class_balanced_weights(COUNTS, 0.0), np.ones(4))


@pytest.mark.parametrize("beta", [0.25, 0.5, 1.0])
def test_the_mean_weight_over_the_training_images_is_one(beta):
    weights = class_balanced_weights(COUNTS, beta)
    assert (COUNTS * weights).sum() / COUNTS.sum() == pytest.approx(1.0, rel=1e-6)
    assert np.all(np.diff(weights) > 0)  # rarer classes weigh more


def test_beta_one_gives_every_class_the_same_total_weight():
    totals = COUNTS * class_balanced_weights(COUNTS, 1.0)
    np.testing.assert_allclose(totals, np.full(4, totals[0]), rtol=1e-6)
    assert totals[0] == pytest.approx(COUNTS.sum() / 4)


def test_square_root_rule_at_one_half():
    weights = class_balanced_weights(COUNTS, 0.5)
    assert weights[3] / weights[0] == pytest.approx(np.sqrt(50), rel=1e-6)


def test_an_empty_class_stays_finite():
    weights = class_balanced_weights(np.array([10, 0]), 1.0)
    assert np.all(np.isfinite(weights)) and weights[1] == pytest.approx(weights[0] * 10, rel=1e-6)


@pytest.mark.parametrize("beta", [-0.1, 1.5])
def test_beta_outside_zero_one_is_refused(beta):
    with pytest.raises(ValueError, match="mixed_loss_class_balance"):
        class_balanced_weights(COUNTS, beta)
