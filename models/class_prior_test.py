import numpy as np

from models.class_prior import floored_counts, log_prior


def test_a_class_without_training_images_counts_as_one():
    assert floored_counts(np.array([5, 0, 3])).tolist() == [5.0, 1.0, 3.0]
    prior = np.exp(log_prior(np.array([6, 0, 3])))
    np.testing.assert_allclose(prior, [0.6, 0.1, 0.3])
    assert np.isfinite(log_prior(np.zeros(4))).all()
    np.testing.assert_allclose(log_prior(np.array([3, 0, 1])), np.log([3 / 5, 1 / 5, 1 / 5]))


def test_the_log_prior_sums_to_one_in_probability():
    counts = np.array([50, 20, 1, 1])
    np.testing.assert_allclose(np.exp(log_prior(counts)).sum(), 1.0)
    np.testing.assert_allclose(log_prior(counts)[0] - log_prior(counts)[2], np.log(50))
