import asyncio

import pytest
import tensorflow as tf

from serving.recognition_backend import RecognitionBackend
from serving.request_batcher import RequestBatcher
from tests.tiny_catalogue import COLOURS, png_bytes

IMAGES = [png_bytes(rgb, size=(10 + i, 12), noise=i + 1) for i, rgb in enumerate(list(COLOURS.values()) * 4)]


def _recognize_concurrently(batcher: RequestBatcher, images):
    async def go():
        return await asyncio.gather(*(batcher.recognize(i) for i in images), return_exceptions=True)

    return asyncio.run(go())


def test_concurrent_requests_share_model_calls_and_get_their_own_rows(saved_model_backend, direct_top_k):
    sizes = []
    batcher = RequestBatcher(saved_model_backend, max_batch_size=8, timeout_ms=20, on_batch=sizes.append)
    answers = _recognize_concurrently(batcher, IMAGES)
    assert sum(sizes) == len(IMAGES) and max(sizes) == 8 and len(sizes) == 2
    for image, (predictions, version) in zip(IMAGES, answers):
        assert [(p.sku, pytest.approx(p.score, rel=1e-5)) for p in predictions] == direct_top_k(image)
        assert version == saved_model_backend.model_version


class _RefusesOneImage(RecognitionBackend):
    """The real model, except that it refuses one image as TensorFlow refuses undecodable bytes."""

    def __init__(self, backend, poison: bytes):
        self.backend, self.poison = backend, poison

    def recognize(self, images):
        if self.poison in images:
            raise tf.errors.InvalidArgumentError(None, None, "Unknown image file format")
        return self.backend.recognize(images)


def test_an_image_the_model_refuses_fails_only_its_own_request(saved_model_backend, direct_top_k):
    poison = IMAGES[3]
    batcher = RequestBatcher(_RefusesOneImage(saved_model_backend, poison), max_batch_size=8, timeout_ms=20)
    answers = _recognize_concurrently(batcher, IMAGES[:8])
    assert isinstance(answers[3], tf.errors.InvalidArgumentError)
    for i, answer in enumerate(answers):
        if i != 3:
            assert [p.sku for p in answer[0]] == [s for s, _ in direct_top_k(IMAGES[i])]
