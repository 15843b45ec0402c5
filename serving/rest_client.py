"""A small Python client of the recognition service's REST API.

    from serving.rest_client import RecognitionClient
    with RecognitionClient("http://127.0.0.1:8080") as client:
        answer = client.recognize("photo.jpg")          # a path or the image bytes
        answer["results"][0]["sku"], answer["results"][0]["title"]
        client.product("red")                           # the index entry of a SKU

A refused request raises :class:`ServiceError` with the HTTP status and the service's
message; a service that cannot be reached raises it with status None.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import httpx


class ServiceError(RuntimeError):
    def __init__(self, status: int | None, message: str):
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status
        self.message = message


class RecognitionClient:
    def __init__(self, base_url: str, timeout_s: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as e:
            raise ServiceError(None, f"cannot reach the service at {self.base_url}: {e}") from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise ServiceError(response.status_code, message)
        return response.json()

    def recognize(self, image: bytes | str | os.PathLike, filename: str = "query") -> dict:
        """{"model_version", "results": [{"sku", "score", "class_id", "title", "tags", "missing_from_index"}]}"""
        if not isinstance(image, bytes):
            filename = Path(image).name
            image = Path(image).read_bytes()
        return self._call("POST", "/v1/recognize", files={"image": (filename, image, "application/octet-stream")})

    def product(self, sku: str) -> dict:
        return self._call("GET", f"/v1/products/{quote(sku, safe='')}")

    def health(self) -> dict:
        return self._call("GET", "/healthz")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RecognitionClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
