"""The REST client against the real service (create_app with a fixed-answer backend and
a SQLite index) and against a small echo app that shows what the client sent."""

import asyncio
import io

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from PIL import Image

from serving.app import create_app
from serving.product_index import Product, ProductIndex
from serving.recognition_backend import Prediction, Recognition, RecognitionBackend
from serving.rest_client import RecognitionClient, ServiceError
from tests.background_server import free_port, serve_in_background


class FixedBackend(RecognitionBackend):
    description = "fixed test backend"

    def __init__(self):
        self.seen: list[bytes] = []

    def recognize(self, images):
        self.seen.extend(images)
        return Recognition([[Prediction("red", 0.75, 0), Prediction("ghost", 0.25, 5)] for _ in images], "7")


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (6, 4), (10, 200, 10)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def backend():
    return FixedBackend()


@pytest.fixture(scope="module")
def service(backend, tmp_path_factory):
    index = ProductIndex.open(str(tmp_path_factory.mktemp("index") / "products.sqlite"))
    index.rebuild([
        Product("red", "Red shoe", ("shoe", "red"), ("/img/red.png",), ("red-1",)),
        Product("a/b c?d", "Odd SKU", (), (), ("odd",)),
    ])
    with serve_in_background(create_app(backend, index)) as url:
        yield url


EXPECTED_RESULTS = [
    {"sku": "red", "score": 0.75, "class_id": 0, "title": "Red shoe", "tags": ["shoe", "red"],
     "missing_from_index": False},
    {"sku": "ghost", "score": 0.25, "class_id": 5, "title": None, "tags": None, "missing_from_index": True},
]


def test_recognize_bytes_or_a_file_path(service, backend, tmp_path):
    image = png()
    path = tmp_path / "photo.png"
    path.write_bytes(image)
    with RecognitionClient(service) as client:
        assert client.recognize(image) == {"model_version": "7", "results": EXPECTED_RESULTS}
        assert client.recognize(path) == {"model_version": "7", "results": EXPECTED_RESULTS}
        assert client.recognize(str(path))["results"] == EXPECTED_RESULTS
    assert backend.seen[-3:] == [image] * 3  # the bytes reached the model unchanged


def test_product_lookup_quotes_the_sku(service):
    with RecognitionClient(service + "/") as client:  # a trailing slash on the base URL is fine
        assert client.base_url == service
        assert client.product("red") == {"sku": "red", "title": "Red shoe", "tags": ["shoe", "red"],
                                         "images": ["/img/red.png"], "item_ids": ["red-1"]}
        assert client.product("a/b c?d")["title"] == "Odd SKU"


def test_a_refused_request_raises_with_the_status_and_the_services_message(service):
    with RecognitionClient(service) as client:
        with pytest.raises(ServiceError) as unknown:
            client.product("nope")
        with pytest.raises(ServiceError) as not_image:
            client.recognize(b"plain text, not a picture")
    assert unknown.value.status == 404
    assert unknown.value.message == "unknown SKU 'nope': it is not in the product index"
    assert str(unknown.value) == "404: unknown SKU 'nope': it is not in the product index"
    assert not_image.value.status == 400 and "not an image" in not_image.value.message


def test_health(service):
    with RecognitionClient(service) as client:
        health = client.health()
    assert health["status"] == "ok" and health["model"] == "fixed test backend" and health["products"] == 2
    assert health["batching"] is None and health["index"].startswith("SQLite file ")


def test_an_unreachable_service_raises_with_status_none():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with RecognitionClient(url) as client:
        with pytest.raises(ServiceError) as info:
            client.health()
    assert info.value.status is None
    assert info.value.message.startswith(f"cannot reach the service at {url}: ")
    assert str(info.value) == info.value.message  # no "None: " in front


def echo_app() -> FastAPI:
    """Answers under /<mode>/...: what the client sent, or an error body of some kind."""
    app = FastAPI()

    @app.post("/echo/v1/recognize")
    async def recognize(request: Request):
        form = await request.form()
        field = form["image"]
        return {"filename": field.filename, "content_type": field.content_type, "size": len(await field.read()),
                "fields": list(form.keys())}

    @app.get("/echo/v1/products/{sku:path}")
    async def product(sku: str, request: Request):
        return {"sku": sku, "raw_path": request.scope["raw_path"].decode()}

    @app.get("/plain/healthz")
    async def plain():
        return PlainTextResponse("upstream down", status_code=502)

    @app.get("/other-json/healthz")
    async def other_json():
        return JSONResponse({"detail": "no error key"}, status_code=409)

    @app.get("/list-json/healthz")
    async def list_json():
        return JSONResponse(["a", "b"], status_code=400)

    @app.get("/slow/healthz")
    async def slow():
        await asyncio.sleep(1)
        return {"status": "late"}

    return app


@pytest.fixture(scope="module")
def echo():
    with serve_in_background(echo_app()) as url:
        yield url


def test_the_upload_is_one_multipart_file_field_named_image(echo, tmp_path):
    path = tmp_path / "shelf photo.jpg"
    path.write_bytes(b"\xff\xd8 not really a jpeg")
    with RecognitionClient(echo + "/echo") as client:
        assert client.recognize(b"12345") == {"filename": "query", "content_type": "application/octet-stream",
                                              "size": 5, "fields": ["image"]}
        assert client.recognize(b"12", filename="mine.png")["filename"] == "mine.png"
        # A path sends the file's own name (a filename argument is not used then).
        sent = client.recognize(path, filename="ignored.png")
    assert sent["filename"] == "shelf photo.jpg" and sent["size"] == path.stat().st_size


def test_the_sku_is_one_path_segment(echo):
    with RecognitionClient(echo + "/echo") as client:
        answer = client.product("a/b c?d#e%")
    assert answer == {"sku": "a/b c?d#e%", "raw_path": "/echo/v1/products/a%2Fb%20c%3Fd%23e%25"}


@pytest.mark.parametrize("mode, status, message", [
    ("plain", 502, "upstream down"),  # not JSON: the body's text
    ("other-json", 409, '{"detail":"no error key"}'),  # JSON without "error": the body's text
    ("list-json", 400, '["a","b"]'),
])
def test_an_error_body_without_an_error_field_gives_its_text(echo, mode, status, message):
    with RecognitionClient(f"{echo}/{mode}") as client:
        with pytest.raises(ServiceError) as info:
            client.health()
    assert (info.value.status, info.value.message) == (status, message)
    assert str(info.value) == f"{status}: {message}"


def test_a_service_slower_than_the_timeout_raises_with_status_none(echo):
    with RecognitionClient(f"{echo}/slow", timeout_s=0.1) as client:
        with pytest.raises(ServiceError) as info:
            client.health()
    assert info.value.status is None
    assert info.value.message.startswith(f"cannot reach the service at {echo}/slow: ")
