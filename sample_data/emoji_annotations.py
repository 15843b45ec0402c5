"""What sellers write about an emoji: its CLDR name and keywords, in English and Chinese.

From ``emojibase-data`` (MIT; its data is CLDR's annotations): for every emoji, the
English and Chinese (``zh``) name (``label``) and keywords (``tags``), its group and
subgroup, and for skin-tone variants the base emoji they vary (their ``family``). A
variant has no keywords of its own: it takes its base emoji's, and its name carries the
tone ("waving hand: light skin tone", "挥手: 较浅肤色").
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from sample_data.emoji_vendors import sku_id

# emojibase group ids: 2 is "components" (skin tone and hair swatches), not emoji to sell.
COMPONENT_GROUP = 2
GROUP_NAMES = (
    "smileys & emotion", "people & body", "components", "animals & nature", "food & drink",
    "travel & places", "activities", "objects", "symbols", "flags",
)


@dataclasses.dataclass(frozen=True)
class Annotation:
    sku: str
    emoji: str
    name_en: str
    keywords_en: tuple[str, ...]
    name_zh: str
    keywords_zh: tuple[str, ...]
    group: str
    subgroup: int
    family: str  # the base emoji's SKU (itself when it is no skin-tone variant)
    tone: int  # 0 none, 1 light ... 5 dark

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["keywords_en"] = list(self.keywords_en)
        out["keywords_zh"] = list(self.keywords_zh)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Annotation":
        return cls(**{**d, "keywords_en": tuple(d["keywords_en"]), "keywords_zh": tuple(d["keywords_zh"])})


def _tone(entry: dict) -> int:
    tone = entry.get("tone", 0)
    return tone if isinstance(tone, int) else int(tone[0])


def read_emojibase(package_dir: Path) -> dict[str, Annotation]:
    """SKU -> Annotation for every emoji of emojibase-data (components left out)."""
    en = json.loads((package_dir / "en" / "data.json").read_text(encoding="utf-8"))
    zh = {e["hexcode"]: e for e in json.loads((package_dir / "zh" / "data.json").read_text(encoding="utf-8"))}
    out: dict[str, Annotation] = {}
    for entry in en:
        if "group" not in entry or entry["group"] == COMPONENT_GROUP:
            continue
        zh_entry = zh.get(entry["hexcode"], {})
        zh_skins = {s["hexcode"]: s for s in zh_entry.get("skins", [])}
        base = sku_id(entry["hexcode"])
        variants = [(entry, zh_entry)] + [(s, zh_skins.get(s["hexcode"], {})) for s in entry.get("skins", [])]
        for item, zh_item in variants:
            sku = sku_id(item["hexcode"])
            out[sku] = Annotation(
                sku=sku,
                emoji=item["emoji"],
                name_en=item["label"],
                keywords_en=tuple(entry.get("tags", ())),
                name_zh=zh_item.get("label", ""),
                keywords_zh=tuple(zh_entry.get("tags", ())),
                group=GROUP_NAMES[entry["group"]],
                subgroup=entry.get("subgroup", -1),
                family=base,
                tone=_tone(item) if item is not entry else 0,
            )
    return out


def write_annotations(path: Path, annotations: list[Annotation]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for a in annotations:
            f.write(json.dumps(a.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")


def read_annotations(path: Path) -> dict[str, Annotation]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            a = Annotation.from_dict(json.loads(line))
            out[a.sku] = a
    return out
