"""Fixtures of the service tests: the tiny run's pushed model, its index, PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pushed_model_dir(tiny_run_dir) -> Path:
    return Path(json.loads((tiny_run_dir / "run_summary.json").read_text())["pushed_dir"])


@pytest.fixture(scope="session")
def saved_model_backend(pushed_model_dir):
    from serving.recognition_backend import SavedModelBackend

    return SavedModelBackend(pushed_model_dir)


@pytest.fixture(scope="session")
def run_index(tiny_run_dir):
    """The SQLite product index `sicot run` built into the run folder."""
    from serving.product_index import ProductIndex

    return ProductIndex.open(str(tiny_run_dir / "product_index.sqlite"))


@pytest.fixture(scope="session")
def postgres_url():
    from tests.postgres_server import postgres_url as server

    with server() as url:
        yield url


@pytest.fixture(scope="session")
def direct_top_k(saved_model_backend):
    """image bytes -> the SavedModel signature's own [(sku, score)] for that image."""

    def answer(image: bytes) -> list[tuple[str, float]]:
        (row,) = saved_model_backend.recognize([image]).predictions
        return [(p.sku, p.score) for p in row]

    return answer


