"""The online recognition service (FastAPI): a query photo in, products out.

    POST /v1/recognize      an image (multipart field ``image``, or the raw body with an
                            image/* content type) -> {"model_version", "results": [{"sku",
                            "score", "class_id", "title", "tags", "missing_from_index"}]}
    GET  /v1/products/{sku} the product index entry of a SKU (404 for an unknown SKU)
    GET  /v1/images/{sku}   its first catalogue image (when the file is on this server)
    GET  /healthz           model and index in use
    GET  /metrics           Prometheus: request counts by route and status, latency
    GET  /                  the recognition page (serving/recognition_page.py)
    GET  /docs, /openapi.json

Bad input gets a 4xx with ``{"error": "..."}`` saying what was wrong (see
serving/upload_checks.py); the model never sees an image Pillow could not decode in
full. A predicted SKU that is not in the product index is still returned, with title
and tags null and ``missing_from_index: true``. An unreachable model (TF Serving) or
index answers 503 naming it.
"""

from __future__ import annotations

import contextlib
import mimetypes
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from serving.index_database import IndexUnavailable
from serving.product_index import ProductIndex
from serving.recognition_backend import ModelUnavailable, Prediction, RecognitionBackend, is_model_input_error
from serving.recognition_page import PAGE_HTML
from serving.request_batcher import RequestBatcher
from serving.service_metrics import ServiceMetrics
from serving.upload_checks import (
    MULTIPART,
    UploadLimits,
    UploadRejected,
    check_content_type,
    check_declared_length,
    checked_upload,
)

_UPLOAD_BODY = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"image": {"type": "string", "format": "binary"}},
                "required": ["image"],
            }
        },
        "image/*": {"schema": {"type": "string", "format": "binary"}},
    },
    "required": True,
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _MetricsMiddleware:
    """Counts every answered request by route template and status, and times it."""

    def __init__(self, app, metrics: ServiceMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [500]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(path, scope["method"], status[0], time.perf_counter() - started)


async def _read_raw_body(request: Request, limits: UploadLimits) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_image_bytes:
            raise UploadRejected(413, f"request body is over the limit of {limits.max_image_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_multipart_image(request: Request, limits: UploadLimits) -> bytes:
    try:
        form = await request.form(max_files=2, max_fields=20)
    except MultiPartException as e:
        raise UploadRejected(400, f"malformed multipart body: {e.message}") from None
    try:
        field = form.get("image")
        if field is None or isinstance(field, str):
            fields = ", ".join(f"'{k}'" for k in form.keys()) or "none"
            raise UploadRejected(400, f"the multipart form has no file field 'image' (fields: {fields})")
        if field.size is not None and field.size > limits.max_image_bytes:  # spooled, not yet in memory
            raise UploadRejected(413, f"image of {field.size} bytes is over the limit of {limits.max_image_bytes} bytes")
        return await field.read()
    finally:
        await form.close()


@contextlib.contextmanager
def _model_refusal_as_bad_input():
    """An image Pillow accepted but the model cannot decode is the client's 400, not a 5xx."""
    try:
        yield
    except Exception as e:
        if is_model_input_error(e):
            raise UploadRejected(400, "the model cannot decode this image") from None
        raise


def _result(prediction: Prediction, products) -> dict:
    product = products.get(prediction.sku)
    return {
        "sku": prediction.sku,
        "score": prediction.score,
        "class_id": prediction.class_id,
        "title": product.title if product else None,
        "tags": list(product.tags) if product else None,
        "missing_from_index": product is None,
    }


def create_app(
    backend: RecognitionBackend,
    index: ProductIndex,
    limits: UploadLimits = UploadLimits(),
    max_batch_size: int = 1,
    batch_timeout_ms: float = 2.0,
) -> FastAPI:
    app = FastAPI(
        title="sicot recognition service",
        description="Product recognition from a photo (SICoT): top-k SKUs with their title and tags.",
        version="1",
    )
    metrics = ServiceMetrics()
    app.add_middleware(_MetricsMiddleware, metrics=metrics)
    app.state.backend, app.state.index, app.state.metrics = backend, index, metrics
    batcher = (
        RequestBatcher(backend, max_batch_size, batch_timeout_ms, on_batch=metrics.batch_size.observe)
        if max_batch_size > 1
        else None
    )

    def lookup_answer(predictions: list[Prediction], version: str) -> dict:
        products = index.lookup([p.sku for p in predictions])
        return {"model_version": version, "results": [_result(p, products) for p in predictions]}

    def answer_now(data: bytes) -> dict:
        """Without batching: check, model and index in one worker-thread hop."""
        image = checked_upload(data, limits)
        with _model_refusal_as_bad_input():
            recognition = backend.recognize([image])
        metrics.batch_size.observe(1)
        return lookup_answer(recognition.predictions[0], recognition.model_version)

    async def answer_batched(data: bytes) -> dict:
        image = await run_in_threadpool(checked_upload, data, limits)
        with _model_refusal_as_bad_input():
            predictions, version = await batcher.recognize(image)
        return await run_in_threadpool(lookup_answer, predictions, version)

    @app.exception_handler(UploadRejected)
    async def upload_rejected(_, e: UploadRejected):
        return _error(e.status, e.message)

    @app.exception_handler(ModelUnavailable)
    async def model_unavailable(_, e: ModelUnavailable):
        return _error(503, f"model unavailable: {e}")

    @app.exception_handler(IndexUnavailable)
    async def index_unavailable(_, e: IndexUnavailable):
        return _error(503, f"product index unavailable: {e}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_, e: StarletteHTTPException):
        return _error(e.status_code, str(e.detail))

    @app.exception_handler(Exception)
    async def internal_error(_, e: Exception):  # a fault of the service, not of the request
        return _error(500, f"internal error: {type(e).__name__}: {e}")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_, e: RequestValidationError):
        return _error(422, "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in e.errors()))

    @app.post(
        "/v1/recognize",
        summary="Recognise the product in a photo",
        openapi_extra={"requestBody": _UPLOAD_BODY},
        responses={400: {}, 413: {}, 415: {}, 503: {}},
    )
    async def recognize(request: Request):
        kind = check_content_type(request.headers.get("content-type"))
        check_declared_length(request.headers.get("content-length"), limits)
        data = await (_read_multipart_image(request, limits) if kind == MULTIPART else _read_raw_body(request, limits))
        answer = await (answer_batched(data) if batcher is not None else run_in_threadpool(answer_now, data))
        return JSONResponse(answer)  # plain JSON: no response-model encoding on the hot path

    @app.get("/v1/products/{sku:path}", summary="A product of the index", responses={404: {}})
    async def product(sku: str):
        found = await run_in_threadpool(index.get, sku)
        if found is None:
            return _error(404, f"unknown SKU '{sku}': it is not in the product index")
        return found.to_dict()

    @app.get("/v1/images/{sku:path}", summary="The first catalogue image of a SKU", response_class=FileResponse,
             responses={404: {}})
    async def product_image(sku: str):
        found = await run_in_threadpool(index.get, sku)
        if found is None:
            return _error(404, f"unknown SKU '{sku}': it is not in the product index")
        path = next((Path(p) for p in found.images if Path(p).is_file()), None)
        if path is None:
            return _error(404, f"no image file of SKU '{sku}' on this server (the index lists {len(found.images)})")
        return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")

    @app.get("/healthz", summary="Liveness and what is being served")
    async def healthz():
        products = await run_in_threadpool(index.count)
        return {
            "status": "ok",
            "model": backend.description,
            "index": index.location,
            "products": products,
            "batching": {"max_batch_size": max_batch_size, "timeout_ms": batch_timeout_ms} if batcher else None,
        }

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics():
        return Response(metrics.render(), media_type=metrics.content_type)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return PAGE_HTML

    return app


def app_from_config(config) -> FastAPI:
    """The service as `sicot serve` runs it: backend, index and limits from the configuration."""
    from serving.recognition_backend import backend_from_config

    service = config.service
    return create_app(
        backend_from_config(config),
        ProductIndex.open(config.index_url, config.index.table),
        UploadLimits.from_config(service),
        service.max_batch_size,
        service.batch_timeout_ms,
    )
