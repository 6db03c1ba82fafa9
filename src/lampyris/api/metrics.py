"""Prometheus metrics: jobs by op and state, durations, queue depth, storage errors.

Each app has its own registry (several apps in one test process must not collide). Job counts
by state come from the store at scrape time, so they are right across restarts and replicas.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from lampyris.failure import Failure
from lampyris.jobs import Outcome, SqlJobStore

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreCollector(Collector):
    def __init__(self, store: SqlJobStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.store.counts()
        jobs = GaugeMetricFamily("lampyris_jobs", "Jobs in the store", labels=["op", "state"])
        for (op, state), n in sorted(counts.items()):
            jobs.add_metric([op, state], n)
        yield jobs
        depth = sum(n for (_, state), n in counts.items() if state == "pending")
        yield GaugeMetricFamily("lampyris_queue_depth", "Jobs waiting for a worker", value=depth)


class Metrics:
    def __init__(self, store: SqlJobStore) -> None:
        self.registry = CollectorRegistry()
        self.submitted = Counter("lampyris_jobs_submitted", "Jobs accepted", ["op"],
                                 registry=self.registry)
        self.finished = Counter("lampyris_jobs_finished", "Jobs finished", ["op", "state"],
                                registry=self.registry)
        self.duration = Histogram(
            "lampyris_job_duration_seconds", "Time a worker spent on a job", ["op"],
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120), registry=self.registry,
        )
        self.storage_errors = Counter(
            "lampyris_storage_errors", "Reads/writes of referenced objects that failed",
            ["stage", "type"], registry=self.registry,
        )
        self.rate_limited = Counter("lampyris_rate_limited", "Requests refused with 429",
                                    registry=self.registry)
        self.registry.register(_StoreCollector(store))

    def job_finished(self, outcome: Outcome) -> None:
        op = outcome.job.op
        self.finished.labels(op, outcome.state).inc()
        self.duration.labels(op).observe(outcome.seconds)
        if outcome.error is None:
            return
        failure = Failure.read(outcome.error)
        if failure.stage in ("input", "output"):  # labelled by class, as Prometheus has been
            self.storage_errors.labels(failure.stage, failure.error_class().__name__).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
