import numpy as np
import pytest

from components.skipgram_word2vec import skipgram_pairs, train_skipgram


def test_pairs_follow_the_window_and_skip_padding():
    t, c = skipgram_pairs(np.array([[5, 6, 7, 0, 0]]), window=1)
    assert sorted(zip(t.tolist(), c.tolist())) == [(5, 6), (6, 5), (6, 7), (7, 6)]


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_words_that_occur_together_get_similar_vectors():
    rng = np.random.default_rng(0)
    groups = [np.arange(1, 6), np.arange(6, 11)]  # two topics of 5 words each
    rows = [rng.choice(groups[i % 2], size=5) for i in range(600)]
    vectors = train_skipgram(np.stack(rows), vocab_size=11, dim=16, epochs=8, seed=1)
    assert vectors.shape == (11, 16) and np.all(vectors[0] == 0)
    within = np.mean([_cos(vectors[1], vectors[j]) for j in range(2, 6)])
    across = np.mean([_cos(vectors[1], vectors[j]) for j in range(6, 11)])
    assert within > across + 0.3


def test_nothing_to_learn_from_is_a_clear_error():
    with pytest.raises(ValueError, match="no word pairs"):
        train_skipgram(np.array([[3, 0, 0], [0, 0, 0]]), vocab_size=5, dim=4)
