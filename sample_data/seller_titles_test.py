import re

import pytest

from sample_data.emoji_annotations import Annotation
from sample_data.seller_titles import TitleStyle, seller_title

CAT = Annotation("1f63d", "😽", "kissing cat", ("animal", "cat", "eye", "face", "kiss"), "亲亲猫",
                 ("亲亲", "吻", "猫脸"), "smileys & emotion", 12, "1f63d", 0)
HAND = Annotation("1f44b-1f3fb", "👋🏻", "waving hand: light skin tone", ("hand", "hello", "wave"), "挥手: 较浅肤色",
                  ("挥手", "你好"), "people & body", 16, "1f44b", 1)
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_same_seed_same_title():
    assert seller_title(CAT, HAND, 5) == seller_title(CAT, HAND, 5)
    assert len({seller_title(CAT, HAND, s)[0] for s in range(50)}) > 40


def test_rates_are_the_styles():
    style = TitleStyle()
    drawn = [seller_title(CAT, HAND, s)[1] for s in range(8000)]
    share = lambda key, value=True: sum(d[key] == value for d in drawn) / len(drawn)  # noqa: E731
    assert share("language", "none") == pytest.approx(style.no_title, abs=0.01)
    titled = 1 - style.no_title
    assert share("language", "chinese") == pytest.approx(style.chinese * titled, abs=0.015)
    assert share("language", "mixed") == pytest.approx(style.mixed * titled, abs=0.015)
    assert share("copied") == pytest.approx(style.copied * titled, abs=0.008)
    assert share("promo") == pytest.approx(style.promo * titled, abs=0.02)


def test_what_a_title_says_follows_its_traits():
    for seed in range(400):
        title, traits = seller_title(CAT, HAND, seed)
        if traits["language"] == "none":
            assert title == ""
            continue
        lower = title.lower()
        described = HAND if traits["copied"] else CAT
        words = set(re.split(r"[\s:]+", described.name_en)) | set(described.keywords_en)
        zh = set(described.name_zh.replace(":", " ").split()) | set(described.keywords_zh)
        assert any(w in lower for w in words | zh)
        if traits["language"] == "english" and not traits["shop"]:
            assert not HAN.search(title)
        if traits["language"] == "chinese":
            assert HAN.search(title)


def test_no_title_and_copy_rates_can_be_switched_off():
    style = TitleStyle(no_title=0.0, copied=0.0)
    assert all(seller_title(CAT, HAND, s, style)[0] for s in range(200))
    assert not any(seller_title(CAT, HAND, s, style)[1]["copied"] for s in range(200))
