"""Latency and throughput of the recognition service against the SavedModel itself.

    python bench/service_latency.py                       # makes its own small_resnet run first
    python bench/service_latency.py --run-dir runs/emoji  # a finished `sicot run` (model + index)

In one run, on loopback:
1. latency, batch 1: a direct call of the pushed SavedModel's serving_default signature
   in this process, in alternating blocks with ``POST /v1/recognize`` (multipart) to
   `sicot serve` in a subprocess (in-process SavedModel backend, batching off), sent
   with the stdlib's http.client (a pre-encoded body: the service's time) and with
   httpx (a Python client library's time added); p50, p99 and their ratios to the
   direct call (target: p50 ratio <= 1.5);
2. throughput with N concurrent HTTP clients, batching off and on
   (service.max_batch_size), against the direct call's single-thread throughput.
Without --run-dir the model is exported like the default one (small_resnet, 48 px,
256-d features) from a short training on the tiny test catalogue: the speed does not
depend on what it learned. Writes bench/results/service_latency.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sicot.console import quiet_libraries  # noqa: E402

quiet_libraries()

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tests.background_server import free_port  # noqa: E402

MODEL_LIKE_THE_DEFAULT = (
    "model.backbone=small_resnet", "preprocessing.image_size=48", "model.feature_dim=256",
    "train.epochs=1", "train.steps_per_epoch=3", "serving.top_k=5",
)


def make_run(out: Path) -> Path:
    from conftest import tiny_run_args
    from cli.main import main
    from tests.tiny_catalogue import write_catalogue

    manifest = write_catalogue(out / "catalogue")
    args = tiny_run_args(manifest, out / "run", extra=MODEL_LIKE_THE_DEFAULT)
    if main(args) != 0:
        raise SystemExit("the bench run failed")
    return out / "run"


def query_image(size: int = 224) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((size, size), 50).convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


class Service:
    """`sicot serve` in a subprocess on a free loopback port."""

    def __init__(self, run_dir: Path, max_batch_size: int, batch_timeout_ms: float):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "cli", "serve"]
        for setting in (f"pipeline.output_dir={run_dir}", f"service.port={self.port}",
                        f"service.max_batch_size={max_batch_size}", f"service.batch_timeout_ms={batch_timeout_ms}"):
            argv += ["--set", setting]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"sicot serve did not start: {self.process.stderr.read()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def percentiles(ms: list[float]) -> dict:
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "n": len(ms)}


class LeanHTTPClient:
    """Keep-alive POSTs of one pre-encoded multipart body with the stdlib's http.client,
    so that the measured time is the service's and the network's, not a client
    library's (httpx is measured as well)."""

    def __init__(self, url: str, image: bytes):
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        boundary = "sicotbenchboundary"
        self.body = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"query.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode() + image + f"\r\n--{boundary}--\r\n".encode()
        self.headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def recognize(self) -> dict:
        self.connection.request("POST", "/v1/recognize", body=self.body, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        assert response.status == 200, data
        return json.loads(data)

    def close(self) -> None:
        self.connection.close()


def latency(signature, service: Service, image: bytes, n: int, block: int = 25) -> dict:
    """Blocks of `block` calls of each kind, alternating, after a warm-up.

    Blocks rather than strict alternation: TensorFlow's thread pools spin for a moment
    after each call, which on a 2-core machine would slow whichever process runs next."""
    import tensorflow as tf

    files = {"image": ("query.jpg", image, "image/jpeg")}
    lean = LeanHTTPClient(service.url, image)
    with httpx.Client(base_url=service.url, timeout=30) as client:

        def direct_call():
            out = signature(images=tf.constant([image]))
            _ = out["labels"].numpy(), out["scores"].numpy()

        def httpx_call():
            response = client.post("/v1/recognize", files=files)
            assert response.status_code == 200, response.text
            response.json()

        calls = {"direct": direct_call, "http": lean.recognize, "http_httpx_client": httpx_call}
        times: dict[str, list[float]] = {kind: [] for kind in calls}
        for call in calls.values():  # warm-up
            for _ in range(20):
                call()
        while len(times["http"]) < n:
            for kind, call in calls.items():
                for _ in range(min(block, n - len(times[kind]))):
                    t0 = time.perf_counter()
                    call()
                    times[kind].append((time.perf_counter() - t0) * 1000)
    lean.close()
    out = {kind: percentiles(ms) for kind, ms in times.items()}
    d = out["direct"]
    for kind in ("http", "http_httpx_client"):
        out[kind]["p50_ratio"] = out[kind]["p50_ms"] / d["p50_ms"]
        out[kind]["p99_ratio"] = out[kind]["p99_ms"] / d["p99_ms"]
    out["block"] = block
    return out


def http_throughput(url: str, image: bytes, clients: int, seconds: float) -> dict:
    files = {"image": ("query.jpg", image, "image/jpeg")}
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client_loop():
        with httpx.Client(base_url=url, timeout=30) as client:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                ok = client.post("/v1/recognize", files=files).status_code == 200
                with lock:
                    if ok:
                        latencies.append((time.perf_counter() - t0) * 1000)
                    else:
                        errors[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    return {"clients": clients, "requests_per_s": len(latencies) / took, "errors": errors[0], **percentiles(latencies)}


def direct_throughput(signature, image: bytes, seconds: float) -> float:
    import tensorflow as tf

    done, stop = 0, time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < stop:
        signature(images=tf.constant([image]))["labels"].numpy()
        done += 1
    return done / (time.monotonic() - started)


def batch_sizes(url: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    values = {s.name: s.value for f in text_string_to_metric_families(httpx.get(url + "/metrics").text)
              for s in f.samples if s.name.startswith("sicot_batch_size_")}
    count = values.get("sicot_batch_size_count", 0)
    return values.get("sicot_batch_size_sum", 0) / count if count else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run-dir", help="a finished sicot run folder (default: make one under bench/results/)")
    p.add_argument("--requests", type=int, default=300, help="latency samples per path")
    p.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients for throughput")
    p.add_argument("--seconds", type=float, default=10.0, help="duration of each throughput measurement")
    p.add_argument("--batch-size", type=int, default=8, help="service.max_batch_size when batching")
    p.add_argument("--batch-timeout-ms", type=float, default=2.0)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "service_latency.json"))
    args = p.parse_args(argv)

    run_dir = Path(args.run_dir) if args.run_dir else make_run(ROOT / "bench" / "results" / "service_run")
    from serving.recognition_backend import latest_version_dir, load_saved_model

    model_dir = latest_version_dir(run_dir / "serving" / "sicot")
    signature = load_saved_model(model_dir).signatures["serving_default"]
    image = query_image()
    results = {"model_dir": str(model_dir), "query_image_bytes": len(image), "cpus": os.cpu_count()}

    service = Service(run_dir, max_batch_size=1, batch_timeout_ms=args.batch_timeout_ms)
    try:
        results["latency"] = latency(signature, service, image, args.requests)
        results["throughput_no_batching"] = http_throughput(service.url, image, args.clients, args.seconds)
    finally:
        service.stop()
    results["throughput_direct_1_thread"] = direct_throughput(signature, image, args.seconds)
    service = Service(run_dir, max_batch_size=args.batch_size, batch_timeout_ms=args.batch_timeout_ms)
    try:
        results["throughput_batching"] = http_throughput(service.url, image, args.clients, args.seconds)
        results["throughput_batching"]["mean_batch_size"] = batch_sizes(service.url)
        results["throughput_batching"]["max_batch_size"] = args.batch_size
    finally:
        service.stop()
    results["batching_gain"] = (
        results["throughput_batching"]["requests_per_s"] / results["throughput_no_batching"]["requests_per_s"]
    )

    lat = results["latency"]
    nb, b = results["throughput_no_batching"], results["throughput_batching"]
    print(f"model {model_dir}, query image {len(image)} bytes JPEG 224x224, {args.requests} samples")
    print(f"{'':40s} {'p50 ms':>8s} {'p99 ms':>8s} {'p50 x':>7s} {'p99 x':>7s}")
    print(f"{'direct signature call, batch 1':40s} {lat['direct']['p50_ms']:8.2f} {lat['direct']['p99_ms']:8.2f}")
    for kind, name in (("http", "HTTP POST /v1/recognize (http.client)"), ("http_httpx_client", "HTTP POST /v1/recognize (httpx)")):
        r = lat[kind]
        print(f"{name:40s} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['p50_ratio']:7.2f} {r['p99_ratio']:7.2f}")
    print("target: p50 ratio <= 1.5")
    print(f"throughput, {args.clients} clients, {args.seconds:g} s each:")
    print(f"  direct call, 1 thread:      {results['throughput_direct_1_thread']:7.1f} images/s")
    print(f"  HTTP, no batching:          {nb['requests_per_s']:7.1f} req/s (p50 {nb['p50_ms']:.1f} ms, p99 {nb['p99_ms']:.1f} ms)")
    print(f"  HTTP, batching up to {args.batch_size}:     {b['requests_per_s']:7.1f} req/s (p50 {b['p50_ms']:.1f} ms, "
          f"p99 {b['p99_ms']:.1f} ms, mean batch {b['mean_batch_size'] or 0:.2f})")
    print(f"  batching gain:              {results['batching_gain']:7.2f}x")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
