"""Running an ASGI app with uvicorn in a background thread on a free loopback port.

Used by the tests (real HTTP on loopback) and the latency benchmark::

    with serve_in_background(app) as base_url:
        ...  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_in_background(app, host: str = "127.0.0.1", port: int | None = None, startup_timeout_s: float = 30.0):
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the service did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
