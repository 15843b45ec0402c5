"""The service's Prometheus metrics: names, labels, buckets and the text exposition."""

import io

import pytest
import httpx
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from serving.app import create_app
from serving.product_index import Product, ProductIndex
from serving.recognition_backend import Prediction, Recognition, RecognitionBackend
from serving.service_metrics import LATENCY_BUCKETS, ServiceMetrics
from tests.background_server import serve_in_background


def samples(metrics: ServiceMetrics) -> dict[tuple, float]:
    """(sample name, sorted labels) -> value, parsed back from the rendered text."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }


def test_requests_are_counted_by_route_method_and_status_as_text():
    metrics = ServiceMetrics()
    metrics.observe("/healthz", "GET", 200, 0.001)
    metrics.observe("/healthz", "GET", 200, 0.002)
    metrics.observe("/v1/recognize", "POST", 415, 0.01)
    text = metrics.render().decode()
    assert 'sicot_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert 'sicot_requests_total{method="POST",route="/v1/recognize",status="415"} 1.0' in text
    assert "# TYPE sicot_requests_total counter" in text
    assert "# HELP sicot_requests_total Requests answered, by route, method and status." in text
    assert 'route="/v1/recognize",status="200"' not in text  # no series before its first request


def test_latency_is_a_cumulative_histogram_per_route():
    metrics = ServiceMetrics()
    for seconds in (0.003, 0.004, 0.2, 30.0):
        metrics.observe("/v1/recognize", "POST", 200, seconds)
    metrics.observe("/healthz", "GET", 200, 0.0005)
    got = samples(metrics)

    def bucket(route, le):
        return got[("sicot_request_latency_seconds_bucket", (("le", le), ("route", route)))]

    assert bucket("/v1/recognize", "0.0025") == 0
    assert bucket("/v1/recognize", "0.005") == 2
    assert bucket("/v1/recognize", "0.1") == 2
    assert bucket("/v1/recognize", "0.25") == 3
    assert bucket("/v1/recognize", "10.0") == 3
    assert bucket("/v1/recognize", "+Inf") == 4  # 30 s is over every bound
    assert bucket("/healthz", "0.001") == 1
    assert got[("sicot_request_latency_seconds_count", (("route", "/v1/recognize"),))] == 4
    assert got[("sicot_request_latency_seconds_sum", (("route", "/v1/recognize"),))] == pytest.approx(30.207)
    bounds = [float(dict(labels)["le"]) for name, labels in got
              if name == "sicot_request_latency_seconds_bucket" and dict(labels)["route"] == "/healthz"]
    assert sorted(bounds) == [*LATENCY_BUCKETS, float("inf")]


def test_batch_size_buckets_are_powers_of_two():
    metrics = ServiceMetrics()
    for size in (1, 3, 8, 100):
        metrics.batch_size.observe(size)
    got = samples(metrics)
    counts = {dict(labels)["le"]: value for (name, labels), value in got.items() if name == "sicot_batch_size_bucket"}
    assert counts == {"1.0": 1, "2.0": 1, "4.0": 2, "8.0": 3, "16.0": 3, "32.0": 3, "64.0": 3, "+Inf": 4}
    assert got[("sicot_batch_size_sum", ())] == 112


def test_each_instance_has_its_own_registry():
    first, second = ServiceMetrics(), ServiceMetrics()  # no "Duplicated timeseries" error
    first.observe("/healthz", "GET", 200, 0.01)
    assert ("sicot_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200"))) in samples(first)
    assert not any(name == "sicot_requests_total" for name, _ in samples(second))
    assert first.registry is not second.registry


class _FixedBackend(RecognitionBackend):
    description = "fixed answers"

    def recognize(self, images):
        return Recognition([[Prediction("red", 0.9, 0)] for _ in images], "1")


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def test_the_app_labels_requests_by_route_template_and_counts_model_calls(tmp_path):
    index = ProductIndex.open(str(tmp_path / "index.sqlite"))
    index.rebuild([Product("red", "Red", (), (), ("red",))])
    app = create_app(_FixedBackend(), index)
    with serve_in_background(app) as url, httpx.Client(base_url=url) as client:
        assert client.get("/v1/products/red").status_code == 200
        assert client.get("/v1/products/a/b").status_code == 404
        assert client.post("/v1/recognize", files={"image": ("q.png", _png(), "image/png")}).status_code == 200
        assert client.get("/no/such/page").status_code == 404
        response = client.get("/metrics")
    assert response.headers["content-type"] == ServiceMetrics.content_type
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert b"sicot_request_latency_seconds_bucket" in response.content
    metrics: ServiceMetrics = app.state.metrics
    got = samples(metrics)
    requests = {tuple(v for _, v in labels): value for (name, labels), value in got.items()
                if name == "sicot_requests_total"}
    # One series per route template, whatever the SKU; the /metrics request itself is counted after it answered.
    assert requests == {
        ("GET", "/v1/products/{sku:path}", "200"): 1,
        ("GET", "/v1/products/{sku:path}", "404"): 1,
        ("POST", "/v1/recognize", "200"): 1,
        ("GET", "unmatched", "404"): 1,
        ("GET", "/metrics", "200"): 1,
    }
    assert got[("sicot_batch_size_count", ())] == 1 and got[("sicot_batch_size_sum", ())] == 1
