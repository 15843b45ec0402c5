"""A burst of mixed good and bad requests over loopback, from concurrent clients."""

import random
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from serving.app import create_app
from tests.background_server import serve_in_background
from serving.upload_checks import UploadLimits
from tests.tiny_catalogue import COLOURS, png_bytes

N_REQUESTS = 300


def _requests(seed: int) -> list[tuple[str, dict, object]]:
    """(kind, httpx kwargs, expectation): the sku list for good ones, (status, words) for bad ones."""
    rng = random.Random(seed)
    good = [png_bytes(COLOURS[c], size=(8 + i, 9 + i), noise=i + 1) for i, c in enumerate(COLOURS)]
    good += [png_bytes(COLOURS[c], size=(30, 20), noise=5) for c in COLOURS]
    bad = [
        ({"files": {"image": ("x", b"not an image", "text/plain")}}, (400, "not an image")),
        ({"files": {"image": ("x", png_bytes((1, 2, 3), size=(50, 50))[:-20], "image/png")}}, (400, "cannot be decoded")),
        ({"files": {"image": ("x", b"", "image/png")}}, (400, "empty upload")),
        ({"json": {"image": "x"}}, (415, "wrong content type")),
        ({"files": {"image": ("x", png_bytes((1, 2, 3), size=(400, 300)), "image/png")}}, (413, "pixels")),
        ({"content": b"\x89PNG" + b"\1" * 30_000, "headers": {"content-type": "image/png"}}, (413, "bytes")),
    ]
    out = []
    for _ in range(N_REQUESTS):
        if rng.random() < 0.5:
            image = rng.choice(good)
            out.append(("good", {"files": {"image": ("q.png", image, "image/png")}}, image))
        else:
            kwargs, expected = rng.choice(bad)
            out.append(("bad", kwargs, expected))
    return out


@pytest.mark.parametrize("max_batch_size", [1, 8], ids=["no-batching", "batching"])
def test_every_good_request_in_a_burst_is_answered_correctly(saved_model_backend, run_index, direct_top_k,
                                                             max_batch_size):
    limits = UploadLimits(max_image_bytes=20_000, max_image_pixels=100_000)
    app = create_app(saved_model_backend, run_index, limits, max_batch_size=max_batch_size, batch_timeout_ms=2)
    requests = _requests(seed=max_batch_size)
    expected_good = {id(img): [s for s, _ in direct_top_k(img)] for kind, _, img in requests if kind == "good"}
    with serve_in_background(app) as url, httpx.Client(base_url=url, timeout=60,
                                                       limits=httpx.Limits(max_connections=16)) as http:
        def send(request):
            kind, kwargs, expected = request
            return request, http.post("/v1/recognize", **kwargs)

        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(send, requests))
        metrics = http.get("/metrics").text
    wrong = []
    for (kind, _, expected), response in answers:
        if kind == "good":
            ok = response.status_code == 200 and [r["sku"] for r in response.json()["results"]] == expected_good[id(expected)]
        else:
            status, words = expected
            ok = response.status_code == status and words in response.json()["error"]
        if not ok:
            wrong.append((kind, response.status_code, response.text[:200]))
    assert not wrong, wrong[:5]
    assert sum(kind == "good" for kind, _, _ in requests) > 100
    assert all(response.status_code < 500 for _, response in answers)
    batches = [l for l in metrics.splitlines() if l.startswith(("sicot_batch_size_count", "sicot_batch_size_sum"))]
    count, total = (float(l.rsplit(" ", 1)[1]) for l in sorted(batches))
    assert total == sum(kind == "good" for kind, _, _ in requests)  # every good image went through the model once
    if max_batch_size > 1:
        assert count < total  # concurrent requests shared model calls
