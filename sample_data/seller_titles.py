"""Seller-style product titles: an emoji's name and keywords, shuffled, cut and padded with
marketplace noise.

One title per image, drawn from the seed (NumPy PCG64) and the SKU's annotation
(``sample_data/emoji_annotations.py``). The rates are :class:`TitleStyle`'s fields:

- **no title** (``no_title``): the image has an empty title.
- **language**: Chinese (``chinese``: the Chinese name and keywords), mixed
  (``mixed``: the name in one language and the keywords in the other), else English.
- **words**: the name's words, each dropped with ``drop_name_word`` (one always
  stays), plus 1 to ``max_keywords`` of the emoji's keywords not already in the name;
  with ``shuffle`` all words in random order, else the name first. With
  ``repeat_word`` one word is written twice (sellers repeat for search).
- **noise**, each independently: promotion or shipping phrases (``promo``: "free
  shipping", "hot sale", "包邮", "新款"...), a shop name (``shop``), a year
  (``year``), a size or pack (``size``: "10cm", "2pcs", "大号"...), and Title Case
  (``title_case``). Noise words are in the title's language (either, when mixed).
- **a seller's mistake** (``copied``): the title is written for another SKU.

Titles share words across SKUs naturally (face, cat, heart, hand, arrow, skin tone;
脸, 猫, 心, 手): the bridge between head and tail classes that co-training relies on.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from sample_data.emoji_annotations import Annotation

PROMO_EN = (
    "free shipping", "hot sale", "new arrival", "best gift", "high quality", "limited edition",
    "fast delivery", "big sale", "cute", "original", "premium", "cheap", "wholesale", "gift idea",
)
PROMO_ZH = ("包邮", "热卖", "新款", "正品", "特价", "爆款", "现货", "秒杀", "礼物", "可爱", "网红", "限量")
SHOPS = (
    "happyhome store", "lucky shop", "sunny mall", "emoji world", "daily deals", "top choice", "fun factory",
    "smile co", "kawaii corner", "gift house", "星光小铺", "乐购旗舰店", "开心杂货铺", "优品店", "小熊工厂",
)
SIZES_EN = ("10cm", "15 cm", "20cm", "large", "small", "xl", "mini", "3 inch", "2pcs", "set of 3", "1 pc", "big")
SIZES_ZH = ("大号", "小号", "中号", "两件套", "三个装", "10厘米", "加大")


@dataclasses.dataclass(frozen=True)
class TitleStyle:
    no_title: float = 0.05
    chinese: float = 0.15
    mixed: float = 0.15
    drop_name_word: float = 0.15
    max_keywords: int = 4
    shuffle: float = 0.5
    repeat_word: float = 0.1
    promo: float = 0.35
    shop: float = 0.2
    year: float = 0.15
    size: float = 0.15
    title_case: float = 0.3
    copied: float = 0.03


def _name_words(name: str) -> list[str]:
    """'waving hand: medium-light skin tone' -> ['waving', 'hand', 'medium', 'light', 'skin', 'tone']."""
    return [w for w in re.split(r"[\s:,\-]+", name) if w]


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str], k: int = 1) -> list[str]:
    k = min(k, len(options))
    return [options[i] for i in sorted(rng.choice(len(options), size=k, replace=False))] if k else []


def _words(annotation: Annotation, name_lang: str, keyword_lang: str, rng: np.random.Generator,
           style: TitleStyle) -> list[str]:
    name = annotation.name_zh if name_lang == "zh" and annotation.name_zh else annotation.name_en
    words = _name_words(name)
    kept = [w for w in words if rng.uniform() >= style.drop_name_word]
    if not kept:
        kept = [words[int(rng.integers(len(words)))]]
    keywords = annotation.keywords_zh if keyword_lang == "zh" and annotation.keywords_zh else annotation.keywords_en
    candidates = [k for k in keywords if k not in words]
    extra = _pick(rng, candidates, int(rng.integers(1, style.max_keywords + 1)))
    rng.shuffle(extra)
    out = kept + extra
    if rng.uniform() < style.shuffle:
        rng.shuffle(out)
    if out and rng.uniform() < style.repeat_word:
        out.insert(int(rng.integers(len(out) + 1)), out[int(rng.integers(len(out)))])
    return out


def seller_title(own: Annotation, other: Annotation, seed: int, style: TitleStyle = TitleStyle()) -> tuple[str, dict]:
    """A title for one image of ``own`` (``other``: the SKU a mistaken seller describes)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    traits = {"language": "none", "copied": False, "promo": False, "shop": False, "year": False, "size": False}
    if rng.uniform() < style.no_title:
        return "", traits
    described = other if rng.uniform() < style.copied else own
    traits["copied"] = described is not own
    u = rng.uniform()
    if u < style.chinese:
        language, name_lang, keyword_lang = "chinese", "zh", "zh"
    elif u < style.chinese + style.mixed:
        language = "mixed"
        name_lang, keyword_lang = ("zh", "en") if rng.uniform() < 0.5 else ("en", "zh")
    else:
        language, name_lang, keyword_lang = "english", "en", "en"
    traits["language"] = language
    words = _words(described, name_lang, keyword_lang, rng, style)

    def noise_lang() -> str:
        return {"chinese": "zh", "english": "en"}.get(language) or ("zh" if rng.uniform() < 0.5 else "en")

    if rng.uniform() < style.promo:
        traits["promo"] = True
        phrases = _pick(rng, PROMO_ZH if noise_lang() == "zh" else PROMO_EN, int(rng.integers(1, 3)))
        words = phrases + words if rng.uniform() < 0.5 else words + phrases
    if rng.uniform() < style.size:
        traits["size"] = True
        words.append(_pick(rng, SIZES_ZH if noise_lang() == "zh" else SIZES_EN)[0])
    if rng.uniform() < style.year:
        traits["year"] = True
        year = str(int(rng.integers(2018, 2027)))
        words = [year] + words if rng.uniform() < 0.5 else words + [year]
    if rng.uniform() < style.shop:
        traits["shop"] = True
        words.insert(0, _pick(rng, SHOPS)[0])
    title = " ".join(words)
    if rng.uniform() < style.title_case:
        title = title.title()
    return title, traits
