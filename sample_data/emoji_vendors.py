"""The emoji "vendors" (sellers) of the SKU benchmark: independent designs of one emoji.

Each vendor is an Iconify JSON icon set on npm, one SVG per emoji. An emoji is a SKU,
identified by :func:`sku_id` (its code points in lowercase hex joined by ``-``, without
the ``fe0f`` variation selector), so that every rendering of the same emoji lands on the
same SKU whatever the vendor's own naming.

How a vendor's icon names become SKUs:

- ``chars``: the set ships ``chars.json`` (code points -> icon name).
- ``names``: the icon names are Iconify's slugs of the CLDR names ("grinning-face",
  "waving-hand-light-skin-tone"); they are looked up among the slugs of every known
  emoji name (emojibase) and the names the ``chars`` sets use.
- ``names_of_flat``: Fluent Emoji (the 3D-style set) uses exactly the names of Fluent
  Emoji Flat, whose ``chars.json`` maps them.
- ``fxemoji``: Firefox OS names are Unicode-style names with the dashes removed
  ("alarmclock"); they are matched with the dashes removed on both sides. Its animals
  come as "X" (the face) and "Xside" (the whole animal), so "Xside" is the SKU named X
  and "X" the SKU named "X face" (an "X" without an "X face" SKU is left out).

``@iconify-json/noto`` is the Noto design, the one the category-level sample
(``data/emoji``) bundles from ``emoji-datasource-google``: it is one vendor, counted once.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from sample_data.npm_packages import NpmPackage


@dataclasses.dataclass(frozen=True)
class Vendor:
    name: str  # the `vendor` column of the manifests
    design: str
    author: str
    licence: str  # SPDX id
    licence_url: str
    homepage: str
    package: NpmPackage
    sku_by: str  # chars | names | names_of_flat | fxemoji


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        "twemoji", "Twemoji (Twitter Emoji)", "Twitter, Inc and other contributors", "CC-BY-4.0",
        "https://creativecommons.org/licenses/by/4.0/", "https://github.com/jdecked/twemoji",
        NpmPackage("@iconify-json/twemoji", "1.2.5",
                   "sha512-uKpuIEV0v6K5BW3Mjdyl+XKFVAbbcPxAgifKvEMtZoUZB5+YiY5zaMm2uNNCxyXzAWU9yNLlj41WU6/mvgALsw=="),
        "chars",
    ),
    Vendor(
        "fluent-flat", "Fluent Emoji Flat", "Microsoft Corporation", "MIT",
        "https://github.com/microsoft/fluentui-emoji/blob/main/LICENSE", "https://github.com/microsoft/fluentui-emoji",
        NpmPackage("@iconify-json/fluent-emoji-flat", "1.2.6",
                   "sha512-RY47RgPb47fYUiyrA64sIOL0+UU02s29sXpNBbIQRBUlPlfNFTKUmZDERGuxDs/7yNGWqQYvuaSYM1M4fRXlUw=="),
        "chars",
    ),
    Vendor(
        "fluent-3d", "Fluent Emoji (colour, 3D style)", "Microsoft Corporation", "MIT",
        "https://github.com/microsoft/fluentui-emoji/blob/main/LICENSE", "https://github.com/microsoft/fluentui-emoji",
        NpmPackage("@iconify-json/fluent-emoji", "1.2.7",
                   "sha512-D8G6bKAyIsyxP1rzZtIWr/gg/fO4Rg1+DyCWlfqKK4h8W+4Em/Y0P6QYgJUQTlUcagzJvSyg+9OBv4hz4Hc/QA=="),
        "names_of_flat",
    ),
    Vendor(
        "emojione", "Emoji One 2.3 (colour)", "Emoji One", "CC-BY-4.0",
        "https://creativecommons.org/licenses/by/4.0/", "https://github.com/EmojiTwo/emojitwo",
        NpmPackage("@iconify-json/emojione", "1.2.3",
                   "sha512-T9+T3HIbJNLKKsmxYKlaYhvnHYkz/HNYTV7SHCXVZPfeUi4FqskY70YeN8yYAZT8cCv7w5vJxS4Q1m8zb9CMMg=="),
        "names",
    ),
    Vendor(
        "fxemoji", "Firefox OS Emoji", "Mozilla", "Apache-2.0",
        "https://mozilla.github.io/fxemoji/LICENSE.md", "https://github.com/mozilla/fxemoji",
        NpmPackage("@iconify-json/fxemoji", "1.2.2",
                   "sha512-UAasRaxzFUKfIGSmLwnoarsssA4LX0VLLuEmplIqM6ZNQqIQRtav8tZ4H1neTlBreXuMQyAifr5jP4kn78DpiQ=="),
        "fxemoji",
    ),
    Vendor(
        "streamline", "Streamline Emojis", "Streamline (webalys)", "CC-BY-4.0",
        "https://creativecommons.org/licenses/by/4.0/", "https://github.com/webalys-hq/streamline-vectors",
        NpmPackage("@iconify-json/streamline-emojis", "1.2.4",
                   "sha512-iNr9T9XuZVTyQPJO8ZlLxBzPkpi7qMl+z1l0C31vpEMqhPMelth3n7CeWQYtixdetDPdI81yeG4ROqjWpYJE6A=="),
        "names",
    ),
    Vendor(
        "openmoji", "OpenMoji", "OpenMoji (HfG Schwaebisch Gmuend)", "CC-BY-SA-4.0",
        "https://creativecommons.org/licenses/by-sa/4.0/", "https://github.com/hfg-gmuend/openmoji",
        NpmPackage("@iconify-json/openmoji", "1.2.29",
                   "sha512-vXdhkqcXVSO6suy+m9LbcUM3OdVyuNOtpV8/als/WqfkQIRxevL5Geb/g+6GH/Qwnq1OqksEmaDGTCmZ5nFKJQ=="),
        "chars",
    ),
    Vendor(
        "noto", "Noto Emoji", "Google Inc", "Apache-2.0",
        "https://github.com/googlefonts/noto-emoji/blob/main/svg/LICENSE", "https://github.com/googlefonts/noto-emoji",
        NpmPackage("@iconify-json/noto", "1.2.9",
                   "sha512-DQiuXENbun41ch+XPSV55H9FaWKpHTyz46YIKtSaKYD4fIDDzL1tR6H4np/T38jfrTAeI3rcKF0mqHYeZVAuaw=="),
        "chars",
    ),
)
VENDOR_NAMES = tuple(v.name for v in VENDORS)


def sku_id(code_points: str) -> str:
    """'1F468-200D-1F373' or '2764-FE0F' -> '1f468-200d-1f373', '2764'."""
    parts = [p for p in re.split(r"[-_ ]", code_points.strip().lower()) if p]
    if not parts or not all(re.fullmatch(r"[0-9a-f]{1,6}", p) for p in parts):
        raise ValueError(f"not a code point sequence: {code_points!r}")
    return "-".join(p.lstrip("0").zfill(4) for p in parts if p != "fe0f")


def slug(name: str) -> str:
    """Iconify's slug of an emoji name: 'waving hand: light skin tone' -> 'waving-hand-light-skin-tone'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class IconSet:
    """One Iconify JSON set (the unpacked npm package folder)."""

    def __init__(self, package_dir: Path):
        data = json.loads((package_dir / "icons.json").read_text(encoding="utf-8"))
        self.icons: dict = data["icons"]
        self.aliases: dict = data.get("aliases", {})
        self.width = data.get("width", 16)
        self.height = data.get("height", 16)
        chars_path = package_dir / "chars.json"
        self.chars: dict[str, str] = json.loads(chars_path.read_text()) if chars_path.exists() else {}

    def names(self) -> set[str]:
        """Icons and plain aliases (an alias that flips or rotates its parent is left out)."""
        plain = {n for n, a in self.aliases.items() if set(a) <= {"parent"} and self._resolve(n)}
        return set(self.icons) | plain

    def _resolve(self, name: str) -> str | None:
        seen = set()
        while name not in self.icons:
            alias = self.aliases.get(name)
            if alias is None or name in seen or set(alias) - {"parent"}:
                return None
            seen.add(name)
            name = alias["parent"]
        return name

    def svg(self, name: str) -> str:
        """A standalone SVG document of one icon."""
        icon = self.icons[self._resolve(name)]
        left, top = icon.get("left", 0), icon.get("top", 0)
        width, height = icon.get("width", self.width), icon.get("height", self.height)
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'viewBox="{left} {top} {width} {height}">{icon["body"]}</svg>'
        )


def name_index(known_names: dict[str, str], char_sets: list[IconSet]) -> dict[str, str]:
    """icon-name slug -> SKU, from emoji names (SKU -> name) and the chars.json maps."""
    index: dict[str, str] = {}
    for icon_set in char_sets:
        for code_points, name in sorted(icon_set.chars.items()):
            index.setdefault(name, sku_id(code_points))
    for sku, name in sorted(known_names.items()):
        index.setdefault(slug(name), sku)
    return index


def vendor_skus(vendor: Vendor, icon_set: IconSet, names_to_sku: dict[str, str],
                flat_chars: dict[str, str] | None = None) -> dict[str, str]:
    """SKU -> icon name of one vendor (see the module docstring for each rule)."""
    available = icon_set.names()
    out: dict[str, str] = {}
    if vendor.sku_by in ("chars", "names_of_flat"):
        chars = icon_set.chars if vendor.sku_by == "chars" else (flat_chars or {})
        for code_points, name in sorted(chars.items()):
            if name in available:
                out.setdefault(sku_id(code_points), name)
        return out
    if vendor.sku_by == "names":
        for name in sorted(available):
            sku = names_to_sku.get(name)
            if sku:
                out.setdefault(sku, name)
        return out
    if vendor.sku_by == "fxemoji":
        squashed = {k.replace("-", ""): v for k, v in sorted(names_to_sku.items())}
        sides = {n[: -len("side")] for n in available if n.endswith("side")}
        for name in sorted(available):
            key = name.replace("-", "")
            if key.endswith("side") and key[: -len("side")] in sides:
                sku = squashed.get(key[: -len("side")])
            elif key in sides:
                sku = squashed.get(key + "face")
            else:
                sku = squashed.get(key)
            if sku:
                out.setdefault(sku, name)
        return out
    raise ValueError(f"unknown sku_by rule {vendor.sku_by!r}")
