"""The report's page in headless Chromium, on hand-made tables (the whole report of a
real comparison: tests/evaluation_report_e2e_test.py). Here and not beside
evaluation/html_report.py: Bazel's sandboxed unit tests run no browser."""

from evaluation.html_report import _CSS, _table_html
from evaluation.tables import Table
from tests.headless_chromium import chromium_driver, require_chromium


def test_a_table_wider_than_the_page_scrolls_in_its_own_box(tmp_path):
    require_chromium()
    long_name = "sicot-bilinear_attention+logit_adjusted+tau_norm"
    table = Table("wide", ["model", *(f"{long_name} top-{k}" for k in range(1, 9))],
                  [["sicot", *["12.3 ± 4.5 [-6.7, +8.9]"] * 8]])
    page = tmp_path / "wide.html"
    page.write_text(f"<html><head><style>{_CSS}</style></head><body><p>text</p>{_table_html(table)}</body></html>")
    with chromium_driver(width=900) as driver:
        driver.get(page.as_uri())
        page_width = driver.execute_script("return document.documentElement.clientWidth")
        # The page itself does not scroll sideways; the table's box does.
        assert driver.execute_script("return document.documentElement.scrollWidth") <= page_width
        box = driver.find_element("css selector", ".table-scroll")
        assert driver.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth", box)
