import tensorflow as tf

from models.title_ids import first_occurrences, keep_word_ranks, padded_token_ids

# A 20-word vocabulary (ranks 0..19, 0 the most frequent); rank 20 is out of vocabulary.
RANKS = tf.ragged.constant([[0, 5, 5, 19, 20], [3, 1, 3, 3], []], dtype=tf.int64)


def test_the_papers_rule_drops_both_ends_and_unknown_words():
    kept = keep_word_ranks(RANKS, 20, 0.05, 0.05)  # floor(1) from each end
    assert kept.to_list() == [[5, 5], [3, 1, 3, 3], []]


def test_below_the_vocabulary_floor_only_unknown_words_go():
    kept = keep_word_ranks(RANKS, 20, 0.05, 0.05, min_vocabulary=21)
    assert kept.to_list() == [[0, 5, 5, 19], [3, 1, 3, 3], []]
    assert keep_word_ranks(RANKS, 20, 0.05, 0.05, min_vocabulary=20).to_list()[0] == [5, 5]


def test_dedupe_keeps_first_copies_in_order_per_title():
    assert first_occurrences(RANKS).to_list() == [[0, 5, 19, 20], [3, 1], []]
    assert keep_word_ranks(RANKS, 20, 0.0, 0.0, dedupe=True).to_list() == [[0, 5, 19], [3, 1], []]


def test_ids_are_shifted_past_padding():
    ids, lengths = padded_token_ids(tf.ragged.constant([[0, 4], [7]], dtype=tf.int64), 3)
    assert ids.numpy().tolist() == [[1, 5, 0], [8, 0, 0]] and lengths.numpy().tolist() == [2, 1]
