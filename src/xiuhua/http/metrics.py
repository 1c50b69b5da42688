"""``GET /metrics``: the server's figures in Prometheus' text format (``prometheus-client``).

- ``xiuhua_http_requests_total{method,route,status}`` and the latency histogram
  ``xiuhua_http_request_duration_seconds{method,route}``, by route template
  (``/api/v1/cases/{case_no}``, never the case number itself; ``<unmatched>`` for 404s of no
  route), observed by ``http/requestlog.py``'s middleware;
- ``xiuhua_cases{status}``, read from the database at each scrape;
- ``xiuhua_sweeper_runs_total{outcome}`` and ``xiuhua_sweeper_notices_total{kind}``
  (``services/metrics.py``).

Readers: clients in XIUHUA_METRICS_ALLOW (default loopback) or with the bearer token
XIUHUA_METRICS_TOKEN (``domain.access.check_metrics_reader``); nobody else, signed in or not.

Under ``xiuhua serve --workers N`` every process counts into files of the directory named by
PROMETHEUS_MULTIPROC_DIR (``server.serve`` sets it up, empty, before the workers start), and
whichever process answers adds them all up (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from xiuhua.domain.access import check_metrics_reader
from xiuhua.http.deps import SessionDep, SettingsDep, client_address
from xiuhua.services.metrics import case_counts

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"
# Most requests take milliseconds; reports and imports seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("xiuhua_http_requests", "HTTP requests by method, route template and status",
                   ["method", "route", "status"])
LATENCY = Histogram("xiuhua_http_request_duration_seconds",
                    "Time to answer an HTTP request, by method and route template",
                    ["method", "route"], buckets=BUCKETS)


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


class CaseCollector(Collector):
    """``xiuhua_cases{status}`` of one scrape."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("xiuhua_cases", "Cases by status", labels=["status"])
        for status, count in self.counts.items():
            gauge.add_metric([status], count)
        yield gauge


def exposition(counts: Mapping[str, int]) -> bytes:
    """The text of one scrape: every process's counters (multiprocess mode) or this one's,
    and the case counts."""
    cases = CollectorRegistry(auto_describe=False)
    cases.register(CaseCollector(counts))
    if os.environ.get(MULTIPROC_ENV):
        merged = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(merged)
        return generate_latest(merged) + generate_latest(cases)
    return generate_latest(REGISTRY) + generate_latest(cases)


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def metrics_reader(request: Request, settings: SettingsDep) -> None:
    """Refuses (401/403 problem+json) a request that may not read the metrics."""
    check_metrics_reader(client_address(request), settings.metrics_networks, bearer(request),
                         settings.metrics_token)


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(_: Annotated[None, Depends(metrics_reader)], session: SessionDep) -> Response:
    return Response(exposition(case_counts(session)), media_type=CONTENT_TYPE_LATEST)
