"""Prometheus metrics, per app (tests build many apps).

``contamfilter serve`` answers HTTP from one process, whatever the number of scorers, so
one registry holds everything. Someone who runs several uvicorn processes of the app
themselves sets PROMETHEUS_MULTIPROC_DIR, and /metrics then adds up every process's
files, as prometheus_client's multiprocess mode prescribes.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # In multiprocess mode metrics must live in the default registry's process files.
        self.registry = None if self.multiprocess else CollectorRegistry()
        kw = {"registry": self.registry} if self.registry is not None else {}
        self.requests = Counter("contamfilter_requests", "HTTP requests",
                                ["route", "method", "status"], **kw)
        self.latency = Histogram("contamfilter_request_seconds", "request latency",
                                 ["route"], buckets=LATENCY_BUCKETS, **kw)
        self.paragraphs = Counter("contamfilter_paragraphs", "paragraphs scored, by label",
                                  ["label"], **kw)
        self.scored = Counter("contamfilter_scorer_documents",
                              "documents scored, by scorer (0 .. workers-1)", ["scorer"], **kw)
        self.batch = Histogram("contamfilter_scorer_batch_documents",
                               "documents per model call (micro-batching at work)",
                               buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32, 64), **kw)
        self.refused = Counter("contamfilter_documents_refused",
                               "documents or requests refused, by reason", ["reason"], **kw)

    def render(self) -> tuple[bytes, str]:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
