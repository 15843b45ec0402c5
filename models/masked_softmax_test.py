import numpy as np
import pytest

from models.masked_softmax import masked_softmax


def test_padding_gets_zero_and_real_words_a_softmax():
    scores = np.array([[1.0, 2.0, 50.0], [0.5, 0.5, 0.5]], dtype="float32")
    mask = np.array([[1, 1, 0], [1, 1, 1]], dtype=bool)
    weights = np.asarray(masked_softmax(scores, mask))
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(weights[0], [e[0] / e.sum(), e[1] / e.sum(), 0.0], rtol=1e-6)
    np.testing.assert_allclose(weights[1], [1 / 3] * 3, rtol=1e-6)


def test_large_scores_stay_finite_and_an_empty_title_gets_zeros():
    scores = np.array([[1000.0, 999.0], [3.0, 4.0]], dtype="float32")
    mask = np.array([[1, 1], [0, 0]], dtype="float32")
    weights = np.asarray(masked_softmax(scores, mask))
    assert np.isfinite(weights).all()
    assert weights[0].sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(weights[1], [0.0, 0.0])
