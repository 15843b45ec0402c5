"""Server-side batching: concurrent recognition requests share one model call.

Each request puts its image on a queue and awaits its answer. One worker takes the
first waiting image, then whatever else arrives within ``timeout_ms`` (up to
``max_batch_size`` images), runs the backend once on the batch in a worker thread and
hands each request its own row. At most ``max_in_flight`` batches run at once; while
they run, new requests queue up and form the next batch, so under load batches fill
without waiting.

A batch the model refuses (an image Pillow accepted but TensorFlow cannot decode) is
retried one image at a time, so one bad image fails only its own request.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Sequence

from serving.recognition_backend import Prediction, RecognitionBackend, is_model_input_error


class RequestBatcher:
    def __init__(
        self,
        backend: RecognitionBackend,
        max_batch_size: int = 8,
        timeout_ms: float = 2.0,
        on_batch: Callable[[int], None] | None = None,
        max_in_flight: int = 2,
    ):
        self.backend = backend
        self.on_batch = on_batch  # called with each batch's size (metrics)
        self.max_in_flight = max(1, max_in_flight)
        self.max_batch_size = max(1, max_batch_size)
        self.timeout_s = max(0.0, timeout_ms) / 1000.0
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None

    async def recognize(self, image: bytes) -> tuple[list[Prediction], str]:
        if self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._run())
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((image, future))
        return await future

    async def _next_batch(self) -> list[tuple[bytes, asyncio.Future]]:
        batch = [await self._queue.get()]
        deadline = time.monotonic() + self.timeout_s
        while len(batch) < self.max_batch_size:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        slots = asyncio.Semaphore(self.max_in_flight)
        while True:
            await slots.acquire()  # a batch forms once a model call can start
            batch = await self._next_batch()
            if self.on_batch is not None:
                self.on_batch(len(batch))
            task = asyncio.get_running_loop().create_task(self._answer(batch))
            task.add_done_callback(lambda _: slots.release())

    async def _answer(self, batch: list[tuple[bytes, asyncio.Future]]) -> None:
        images = [image for image, _ in batch]
        try:
            results = await asyncio.get_running_loop().run_in_executor(None, self._recognize_each, images)
        except Exception as e:  # the backend failed as a whole (e.g. TF Serving down)
            results = [e] * len(batch)
        for (_, future), result in zip(batch, results):
            if future.done():  # the client went away
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    def _recognize_each(self, images: Sequence[bytes]) -> list:
        try:
            recognition = self.backend.recognize(images)
            return [(row, recognition.model_version) for row in recognition.predictions]
        except Exception as e:
            if len(images) == 1 or not is_model_input_error(e):
                raise
        out = []
        for image in images:
            try:
                recognition = self.backend.recognize([image])
                out.append((recognition.predictions[0], recognition.model_version))
            except Exception as e:
                out.append(e)
        return out

