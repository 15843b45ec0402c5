"""Title tokens: the module docstring's rules, one script or normalisation at a time."""

import pytest
import tensorflow as tf

from models.title_tokenizer import normalize_titles, tokenize_titles


def _tokens(*titles: str) -> list[list[str]]:
    return [[w.decode("utf-8") for w in row] for row in tokenize_titles(tf.constant(titles)).to_list()]


def test_the_docstring_example_mixes_spaced_and_unspaced_scripts():
    assert _tokens("Nike运动鞋 air") == [["nike", "运", "动", "鞋", "air"]]


@pytest.mark.parametrize(
    "title, tokens",
    [
        ("ÄPFEL Straße", ["äpfel", "strasse"]),  # full case folding, not just lower()
        ("ＡＢＣ１２ ﬁne", ["abc12", "fine"]),  # NFKC: full-width forms and ligatures
        ("cafe\u0301", ["caf\u00e9"]),  # NFKC composes a combining accent
        ("red-shoe, (size 42)!", ["red", "shoe", "size", "42"]),  # punctuation splits words
        ("tab\tnew\nline  end", ["tab", "new", "line", "end"]),  # any white space
        ("iPhone12手机壳", ["iphone12", "手", "机", "壳"]),  # no space needed before Han
        ("ポケモン ぬいぐるみ", ["ポ", "ケ", "モ", "ン", "ぬ", "い", "ぐ", "る", "み"]),  # kana
        ("ｶﾀｶﾅ", ["カ", "タ", "カ", "ナ"]),  # half-width katakana, normalised first
        ("한국 상품", ["한국", "상품"]),  # Hangul is written with spaces: words stay whole
    ],
)
def test_tokens(title, tokens):
    assert _tokens(title) == [tokens]


def test_empty_and_punctuation_only_titles_have_no_tokens_and_keep_their_row():
    assert _tokens("a", "", "  !!! -- ", "b") == [["a"], [], [], ["b"]]


def test_a_column_of_titles_gives_one_row_per_title():
    tokens = tokenize_titles(tf.constant([["Red Shoe"], ["帽子"], [""]]))
    assert isinstance(tokens, tf.RaggedTensor)
    assert tokens.shape.as_list() == [3, None]
    assert tokens.to_list() == [[b"red", b"shoe"], ["帽".encode(), "子".encode()], []]
    assert tokenize_titles(tf.constant([], tf.string)).shape.as_list() == [0, None]


def test_normalize_replaces_each_run_of_punctuation_with_one_space():
    out = normalize_titles(tf.constant(["Hello, World!", "Hi!!!", "a--b", "ＡＢＣ"])).numpy().tolist()
    assert out == [b"hello  world ", b"hi ", b"a b", b"abc"]
