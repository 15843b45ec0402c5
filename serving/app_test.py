"""The recognition service over real HTTP on loopback (uvicorn), with the pushed SavedModel."""

import io

import httpx
import pytest
from PIL import Image

from serving.app import create_app
from tests.background_server import serve_in_background
from serving.product_index import Product, ProductIndex, read_catalogue
from serving.rest_client import RecognitionClient, ServiceError
from serving.upload_checks import UploadLimits
from tests.tiny_catalogue import COLOURS, COUNTS, png_bytes

LIMITS = UploadLimits(max_image_bytes=20_000, max_image_pixels=250_000)


@pytest.fixture(scope="module")
def service(saved_model_backend, run_index):
    with serve_in_background(create_app(saved_model_backend, run_index, LIMITS)) as url:
        yield url


@pytest.fixture(scope="module")
def http(service):
    with httpx.Client(base_url=service, timeout=30) as client:
        yield client


def test_recognize_answers_the_models_top_k_with_title_and_tags(service, direct_top_k, pushed_model_dir):
    image = png_bytes(COLOURS["green"], size=(40, 30))
    with RecognitionClient(service) as client:
        answer = client.recognize(image)
    assert answer["model_version"] == pushed_model_dir.name
    got = [(r["sku"], r["score"]) for r in answer["results"]]
    assert [s for s, _ in got] == [s for s, _ in direct_top_k(image)]
    assert [v for _, v in got] == pytest.approx([v for _, v in direct_top_k(image)], rel=1e-6)
    assert got[0][0] == "green"
    first = answer["results"][0]
    # The index entry of the SKU: the first row's title, the union of the rows' tags.
    assert first["title"] == "green thing number 0" and first["tags"] == ["green", "colour"]
    assert first["missing_from_index"] is False


def test_raw_image_body_and_a_file_path_work_too(service, http, direct_top_k, tmp_path):
    image = png_bytes(COLOURS["red"], size=(25, 25))
    raw = http.post("/v1/recognize", content=image, headers={"content-type": "image/png"})
    assert raw.status_code == 200
    assert [r["sku"] for r in raw.json()["results"]] == [s for s, _ in direct_top_k(image)]
    path = tmp_path / "query.png"
    path.write_bytes(image)
    with RecognitionClient(service) as client:
        assert client.recognize(path)["results"] == raw.json()["results"]


def _jpeg(size, quality=90) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _multipart(data: bytes, field="image"):
    return {"files": {field: ("q.bin", data, "application/octet-stream")}}


BAD_REQUESTS = {
    "not-an-image": (_multipart(b"GIF? no, plain text"), 400, "not an image"),
    "truncated": (_multipart(_jpeg((64, 64))[:900]), 400, "truncated image"),
    "too-many-bytes": (_multipart(_jpeg((300, 300), 95) * 2), 413, "over the limit of 20000 bytes"),
    "too-many-pixels": (_multipart(png_bytes((5, 5, 5), size=(600, 500))), 413, "600x500 pixels"),
    "empty-file": (_multipart(b""), 400, "empty upload"),
    "empty-body": ({"content": b"", "headers": {"content-type": "image/jpeg"}}, 400, "empty upload"),
    "wrong-content-type": ({"json": {"image": "red.png"}}, 415, "wrong content type 'application/json'"),
    "no-content-type": ({"content": b"abc", "headers": {"content-type": ""}}, 415, "wrong content type 'none'"),
    "no-image-field": (_multipart(png_bytes((1, 1, 1)), field="photo"), 400, "no file field 'image' (fields: 'photo')"),
    "malformed-multipart": (
        {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}, 400, "multipart"
    ),
}


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
def test_bad_input_gets_a_4xx_that_says_what_was_wrong(http, case):
    kwargs, status, words = BAD_REQUESTS[case]
    response = http.post("/v1/recognize", **kwargs)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    # ... and the service keeps answering.
    assert http.post("/v1/recognize", **_multipart(png_bytes(COLOURS["red"]))).status_code == 200


def test_chunked_uploads_over_the_byte_limit_get_413(http):
    """No Content-Length to refuse early on: the body is cut off as it streams in."""
    chunks = lambda: (b"\1" * 10_000 for _ in range(5))  # 50 kB against the 20 kB limit
    multipart = (b'--b\r\nContent-Disposition: form-data; name="image"; filename="x"\r\n\r\n', *chunks(), b"\r\n--b--\r\n")
    response = http.post("/v1/recognize", content=iter(multipart),
                         headers={"content-type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413 and "image of 50000 bytes is over the limit of 20000" in response.json()["error"]
    response = http.post("/v1/recognize", content=chunks(), headers={"content-type": "image/jpeg"})
    assert response.status_code == 413 and "request body is over the limit of 20000" in response.json()["error"]


def test_product_lookup_and_unknown_sku(service):
    with RecognitionClient(service) as client:
        product = client.product("blue")
        assert product["title"] == "blue thing number 0" and len(product["images"]) == COUNTS["blue"]
        assert product["item_ids"] == [f"blue-{i}" for i in range(COUNTS["blue"])]
        with pytest.raises(ServiceError) as info:
            client.product("purple/x")
    assert info.value.status == 404 and info.value.message == "unknown SKU 'purple/x': it is not in the product index"


def test_product_images_come_from_the_catalogue(http, tiny_run_dir, tmp_path, saved_model_backend):
    first_red = tiny_run_dir.parent / "catalogue/images/red_0.png"
    response = http.get("/v1/images/red")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content == first_red.read_bytes()
    unknown = http.get("/v1/images/purple")
    assert unknown.status_code == 404 and unknown.json()["error"].startswith("unknown SKU 'purple'")
    # An index whose image files are not on this server.
    index = ProductIndex.open(str(tmp_path / "elsewhere.sqlite"))
    index.rebuild([Product("red", "Red", (), ("/nowhere/red.png",), ("red",))])
    with serve_in_background(create_app(saved_model_backend, index, LIMITS)) as url:
        missing = httpx.get(f"{url}/v1/images/red")
    assert missing.status_code == 404
    assert missing.json()["error"] == "no image file of SKU 'red' on this server (the index lists 1)"


def test_predicted_skus_missing_from_the_index_are_flagged(saved_model_backend, tiny_run_dir, tmp_path):
    partial = ProductIndex.open(str(tmp_path / "partial.sqlite"))
    partial.rebuild([p for p in read_catalogue(tiny_run_dir.parent / "catalogue/manifest.jsonl").products
                     if p.sku != "red"])
    with serve_in_background(create_app(saved_model_backend, partial, LIMITS)) as url:
        answer = RecognitionClient(url).recognize(png_bytes(COLOURS["red"]))
    red = answer["results"][0]
    assert red["sku"] == "red" and red["missing_from_index"] is True and red["title"] is None and red["tags"] is None
    assert all(not r["missing_from_index"] for r in answer["results"][1:])


def test_healthz_metrics_and_openapi(service, http, pushed_model_dir):
    health = RecognitionClient(service).health()
    assert health["status"] == "ok" and health["products"] == len(COUNTS)
    assert str(pushed_model_dir) in health["model"] and "product_index.sqlite" in health["index"]
    before = _counter(http, "/v1/recognize", "POST", 415)
    http.post("/v1/recognize", json={})
    http.post("/v1/recognize", json={})
    http.get("/nowhere")
    metrics = http.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert _counter(http, "/v1/recognize", "POST", 415) == before + 2
    assert _counter(http, "unmatched", "GET", 404) >= 1
    buckets = _samples(metrics.text, "sicot_request_latency_seconds_bucket", route="/v1/recognize")
    assert buckets and max(buckets) >= 2
    spec = http.get("/openapi.json").json()
    assert {"/v1/recognize", "/v1/products/{sku}", "/healthz", "/metrics"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/v1/recognize"]["post"]["requestBody"]["content"]


def _samples(text: str, name: str, **labels) -> list[float]:
    from prometheus_client.parser import text_string_to_metric_families

    return [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    ]


def _counter(http, route: str, method: str, status: int) -> float:
    found = _samples(http.get("/metrics").text, "sicot_requests_total", route=route, method=method, status=str(status))
    return sum(found)


def test_sicot_serve_answers_from_a_run_folder(tiny_run_dir, direct_top_k):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.background_server import free_port

    port = free_port()
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--set", f"pipeline.output_dir={tiny_run_dir}",
         "--set", f"service.port={port}", "--set", "service.max_batch_size=4"],
        env=dict(os.environ, PYTHONPATH=str(root)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(url + "/healthz", timeout=1).json()
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
                time.sleep(0.2)
        assert health["batching"] == {"max_batch_size": 4, "timeout_ms": 2.0} and health["products"] == len(COUNTS)
        image = png_bytes(COLOURS["yellow"], size=(33, 21))
        answer = RecognitionClient(url).recognize(image)
        assert [r["sku"] for r in answer["results"]] == [s for s, _ in direct_top_k(image)]
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert f"==> serve  http://127.0.0.1:{port}/" in out and "model: SavedModel" in out
