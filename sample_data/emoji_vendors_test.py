"""SKU ids and the mapping of each vendor's icon names to SKUs."""

import json

import pytest

from sample_data.emoji_vendors import VENDORS, IconSet, Vendor, name_index, sku_id, slug, vendor_skus


@pytest.mark.parametrize(
    "code_points, expected",
    [
        ("1F600", "1f600"),
        ("2764-FE0F", "2764"),
        ("1F468-200D-1F373", "1f468-200d-1f373"),
        ("0023-FE0F-20E3", "0023-20e3"),
        ("a9", "00a9"),
        ("1f44b-1f3fb", "1f44b-1f3fb"),
    ],
)
def test_sku_id_is_lowercase_code_points_without_the_variation_selector(code_points, expected):
    assert sku_id(code_points) == expected


def test_sku_id_refuses_what_is_no_code_point_sequence():
    with pytest.raises(ValueError, match="not a code point sequence"):
        sku_id("grinning face")


def test_slug_is_iconifys_name():
    assert slug("waving hand: medium-light skin tone") == "waving-hand-medium-light-skin-tone"


def _icon_set(tmp_path, icons, aliases=None, chars=None):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "icons.json").write_text(json.dumps(
        {"icons": {n: {"body": f"<path id='{n}'/>"} for n in icons}, "aliases": aliases or {}, "width": 32, "height": 32}))
    if chars is not None:
        (folder / "chars.json").write_text(json.dumps(chars))
    return IconSet(folder)


def test_svg_resolves_plain_aliases_and_leaves_out_flipped_ones(tmp_path):
    icons = _icon_set(tmp_path, ["cat"], {"kitty": {"parent": "cat"}, "mirror-cat": {"parent": "cat", "hFlip": True}})
    assert icons.names() == {"cat", "kitty"}
    assert "<path id='cat'/>" in icons.svg("kitty") and 'viewBox="0 0 32 32"' in icons.svg("kitty")


def _vendor(rule):
    return Vendor("v", "", "", "MIT", "", "", VENDORS[0].package, rule)


def test_chars_and_names_rules(tmp_path):
    icons = _icon_set(tmp_path, ["grinning-face", "red-heart", "mystery"], chars={"1f600": "grinning-face"})
    assert vendor_skus(_vendor("chars"), icons, {}) == {"1f600": "grinning-face"}
    names = name_index({"2764": "red heart", "1f600": "grinning face"}, [])
    assert vendor_skus(_vendor("names"), icons, names) == {"1f600": "grinning-face", "2764": "red-heart"}


def test_firefox_os_animals_are_faces_and_sides_are_whole_animals(tmp_path):
    icons = _icon_set(tmp_path, ["cat", "catside", "leopard", "leopardside", "alarmclock"])
    names = name_index({"1f408": "cat", "1f431": "cat face", "1f406": "leopard", "23f0": "alarm clock"}, [])
    assert vendor_skus(_vendor("fxemoji"), icons, names) == {
        "1f408": "catside",  # the whole cat
        "1f431": "cat",  # Firefox OS's "cat" is the cat's face
        "1f406": "leopardside",  # "leopard" has no face SKU: left out
        "23f0": "alarmclock",
    }


def test_every_vendor_is_openly_licensed_and_pinned():
    assert {v.licence for v in VENDORS} <= {"CC-BY-4.0", "CC-BY-SA-4.0", "MIT", "Apache-2.0"}
    assert all(v.package.integrity.startswith("sha512-") for v in VENDORS)
    assert not any(word in v.design.lower() for v in VENDORS for word in ("apple", "facebook"))
    assert len({v.name for v in VENDORS}) == len(VENDORS) == 8
