"""`sicot tensorboard`: the tiny run's TFMA evaluation in the Fairness Indicators plugin.

The logdir is written from the run's ML Metadata, TensorBoard (with the plugin from
requirements/no-deps.txt) serves it, the plugin's own API returns every slice with
TFMA's intervals, and headless Chromium renders the plugin's page with the head/tail
slices in its table (screenshot: <tmp>/fairness_indicators.png).
"""

import json
import shutil
import subprocess
import time
import urllib.request

import pytest

from evaluation import fairness_indicators_view as view
from cli.main import main
from tests.headless_chromium import chromium_driver, require_chromium
from tests.loopback import free_port

pytestmark = pytest.mark.slow

# Every text node of the page, through the plugin's shadow roots.
_PAGE_TEXT = """
const out = [];
function walk(node) {
  if (node.shadowRoot) walk(node.shadowRoot);
  for (const child of node.childNodes || []) {
    if (child.nodeType === 3 && child.textContent.trim()) out.push(child.textContent.trim());
    else if (child.nodeType === 1 && child.tagName !== 'STYLE' && child.tagName !== 'SCRIPT') walk(child);
  }
  if (node.tagName === 'IFRAME' && node.contentDocument) walk(node.contentDocument.documentElement);
}
walk(document.documentElement);
return out.join('\\n');
"""


def _get_json(url: str, timeout: float = 90.0):
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.loads(response.read())
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(1.0)


@pytest.fixture(scope="module")
def tensorboard(tiny_run_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("fi") / "run"
    shutil.copytree(tiny_run_dir, run)
    assert main(["tensorboard", str(run), "--no-launch"]) == 0
    port = free_port()
    process = subprocess.Popen(view.tensorboard_command(run / view.LOGDIR_NAME, "127.0.0.1", port),
                               env=view.environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield run, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_logdir_has_one_run_per_evaluation(tensorboard):
    run, _ = tensorboard
    (run_dir,) = (run / view.LOGDIR_NAME).iterdir()
    assert run_dir.name.startswith("sicot-bilinear_attention-seed")
    assert run_dir.name.split("-")[-2] == "test"  # the split the Evaluator scored
    assert list(run_dir.glob("events.out.tfevents.*"))


def test_the_plugin_serves_every_slice_with_tfma_intervals(tensorboard):
    run, url = tensorboard
    plugins = _get_json(f"{url}/data/plugins_listing")
    assert plugins["fairness_indicators"]["enabled"] is True
    (run_dir,) = (run / view.LOGDIR_NAME).iterdir()
    data = _get_json(f"{url}/data/plugin/fairness_indicators/get_evaluation_result?run={run_dir.name}")
    by_slice = {row["slice"]: row["metrics"] for row in data}
    assert {"Overall", "label_group:head", "label_group:tail"} <= set(by_slice)
    assert any(name.startswith("label_frequency_bucket:") for name in by_slice)
    summary = json.loads((run / "run_summary.json").read_text())
    overall = _value_within_its_interval(by_slice["Overall"]["top1_accuracy"])
    assert overall == pytest.approx(summary["slices"]["overall"]["top1_accuracy"])
    # The tiny catalogue's tail slice is small: when one of TFMA's jackknife buckets of it
    # is empty (buckets are drawn at random), TFMA leaves its interval out ("CI not
    # computed because only N samples were non-empty") and serves the plain value.
    tail_metric = by_slice["label_group:tail"]["top1_accuracy"]
    tail = (_value_within_its_interval(tail_metric) if "boundedValue" in tail_metric
            else tail_metric["doubleValue"])
    assert tail == pytest.approx(summary["slices"]["tail"]["top1_accuracy"])


def _value_within_its_interval(metric: dict) -> float:
    """The value of a metric TFMA served with its interval, checked to lie inside it."""
    bounded = metric["boundedValue"]
    assert bounded["lowerBound"] <= bounded["value"] <= bounded["upperBound"]
    return bounded["value"]


def test_the_plugin_page_shows_the_head_and_tail_slices(tensorboard, tmp_path_factory):
    require_chromium()
    _, url = tensorboard
    shot = tmp_path_factory.getbasetemp() / "fairness_indicators.png"
    with chromium_driver(1400, 1100) as driver:
        driver.get(f"{url}/#fairness_indicators")
        deadline, text = time.time() + 90, ""
        while time.time() < deadline and "label_group:tail" not in text:
            time.sleep(2.0)
            text = driver.execute_script(_PAGE_TEXT)
        driver.save_screenshot(str(shot))
    assert "FAIRNESS INDICATORS" in text.upper()
    for expected in ("Overall", "label_group:head", "label_group:tail", "top1_accuracy"):
        assert expected in text, f"{expected!r} not on the plugin's page (screenshot {shot})"
