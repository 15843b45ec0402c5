"""Prometheus metrics of the service (``GET /metrics``, text exposition format).

    sicot_requests_total{route, method, status}     requests answered
    sicot_request_latency_seconds{route}            latency histogram, per route
    sicot_batch_size                                images per model call (batching)

Each app has its own registry, so several services in one process (tests) do not mix.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sicot_requests", "Requests answered, by route, method and status.",
            ["route", "method", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "sicot_request_latency_seconds", "Time to answer a request, by route.",
            ["route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.batch_size = Histogram(
            "sicot_batch_size", "Images per model call.",
            buckets=(1, 2, 4, 8, 16, 32, 64), registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
