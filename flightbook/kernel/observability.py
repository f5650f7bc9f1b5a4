"""What an operator sees of a serving part: one log line per request and per event (text or JSON),
Prometheus metrics at ``GET /metrics`` (every gunicorn worker counted, see ``prepare_multiprocess``), and
the request's span (``tracing.py``).

The metrics are made on first use, in the worker: prometheus_client picks its multiprocess storage when a
metric is created, so the serving command sets ``PROMETHEUS_MULTIPROC_DIR`` before any exists.
"""
from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
import re
import shutil
import sys
import time
import typing
from pathlib import Path

import falcon
import orjson

from flightbook.kernel import tracing
from flightbook.kernel.http import DISPATCHED_FROM, current_request_id

log = logging.getLogger("flightbook.requests")
events_log = logging.getLogger("flightbook.events")

#: latency buckets (seconds) for requests: a search answers in a few ms, a payment in up to seconds
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: the saga's payment -> points lag (seconds): a relay round is a second or so, a broker retry minutes
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# ---------------------------------------------------------------- logs

#: what never reaches a log line: card numbers (13-19 digits, spaces or dashes between), bearer tokens,
#: JWTs, and anything given as password/token/secret/cvc=...
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_SECRET_FIELD = re.compile(r"(?i)([\"']?(?:password|passwd|token|secret|cvc|cvv|card_number|number)[\"']?\s*[:=]\s*)"
                           r"(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)")
#: a text can only hold one of those if it has 13 digits in a row (a card's start) or one of these words (the
#: rest): checked first, as most texts hold neither and the four patterns cost several µs a text
_THIRTEEN_DIGITS = re.compile(r"\d(?:[ -]?\d){12}")
_SECRET_WORDS = ("bearer", "eyj", "passw", "token", "secret", "cvc", "cvv", "number")


def redact(text: str) -> str:
    lowered = text.lower()
    if not any(word in lowered for word in _SECRET_WORDS) and not _THIRTEEN_DIGITS.search(text):
        return text
    text = _BEARER.sub("Bearer [redacted]", text)
    text = _JWT.sub("[redacted-token]", text)
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + "[redacted]", text)
    return _CARD.sub("[redacted-card]", text)


#: the fields a request or event line carries besides the message, in this order
FIELDS = ("part", "method", "route", "path", "status", "duration_ms", "request_id", "trace_id", "user_id",
          "topic", "event_id", "subscriber", "outcome")
#: the fields that hold what a caller sent (the others are our own names, numbers and ids): redacted
FROM_CALLERS = frozenset({"path", "request_id", "method"})


def _dumps(line: dict) -> str:
    try:
        return orjson.dumps(line, default=str).decode()
    except TypeError:  # an int over 64 bits
        return json.dumps(line, ensure_ascii=False, default=str)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": redact(record.getMessage())}
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = redact(value) if name in FROM_CALLERS and isinstance(value, str) else value
        if "trace_id" not in line:
            trace_id = tracing.current_trace_id()
            if trace_id:
                line["trace_id"] = trace_id
        if "request_id" not in line:  # any line written while a request is answered names it
            request_id = current_request_id()
            if request_id:
                line["request_id"] = request_id
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        return _dumps(line)


class TextFormatter(logging.Formatter):
    """``time level logger message key=value...``; the message, the fields and any traceback redacted."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{name}={getattr(record, name)}" for name in FIELDS
                         if getattr(record, name, None) is not None)
        message = f"{record.message} {extra}" if extra else record.message
        return f"{record.asctime} {record.levelname} {record.name} {redact(message)}"

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Root logging to stderr in ``log_format`` (the CLI calls this once per process).

    No line names its source line, thread or multiprocessing process, so the records skip finding them (the
    logging HOWTO's "Optimization": a few µs of every request's line)."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, str(level).upper(), logging.INFO))


# ---------------------------------------------------------------- metrics

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess(home: Path, name: str) -> Path:
    """Before gunicorn forks: a fresh metrics folder for this server (files of a previous run would be
    counted again), named in ``PROMETHEUS_MULTIPROC_DIR`` so each worker writes its own files there.
    ``name``: the part and port, so two servers sharing a FLIGHTBOOK_HOME keep apart."""
    folder = Path(os.environ.get(MULTIPROC_ENV) or home / "prometheus" / name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    from prometheus_client import values
    values.ValueClass = values.get_value_class()  # in case prometheus_client was imported before the env was set
    return folder


def worker_exited(pid: int) -> None:
    """Gunicorn's child_exit: the dead worker's live gauges stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)


class Metrics:
    """Every metric a part exposes. Business counters are bumped through the functions below, from one
    ``metrics.py`` per module."""

    def __init__(self):
        from prometheus_client import Counter, Histogram

        self.requests = Counter("flightbook_http_requests", "HTTP requests answered",
                                ["part", "route", "method", "status"])
        self.latency = Histogram("flightbook_http_request_duration_seconds", "HTTP request latency",
                                 ["part", "route", "method"], buckets=LATENCY_BUCKETS)
        self.events = Counter("flightbook_events_applied", "events received by a subscriber",
                              ["subscriber", "topic", "outcome"])
        self.bookings = Counter("flightbook_bookings", "bookings by what happened to them", ["state"])
        self.seats = Counter("flightbook_seats_sold", "seats sold (confirmed bookings), by cabin", ["cabin"])
        self.payments = Counter("flightbook_payments", "card payments by outcome and decline code",
                                ["outcome", "code"])
        self.refunds = Counter("flightbook_refunds", "refunds made", ["currency"])
        self.refunded = Counter("flightbook_refunded_minor_units", "money refunded, in minor units", ["currency"])
        self.points = Counter("flightbook_points", "loyalty points by movement", ["movement"])
        self.saga_lag = Histogram("flightbook_saga_payment_to_points_seconds",
                                  "from a payment's success to its booking's points being settled",
                                  buckets=LAG_BUCKETS)


_metrics: Metrics | None = None


def metrics() -> Metrics:
    global _metrics
    if _metrics is None:
        _metrics = Metrics()
    return _metrics


def registry(outbox_databases: dict | None = None):
    """The registry ``/metrics`` renders: every worker's metrics (multiprocess) or this process's, plus the
    outbox figures of each module's database read at scrape time."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        metrics()
        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):
            registry.register(collector)
    if outbox_databases:
        registry.register(OutboxCollector(outbox_databases))
    return registry


class OutboxCollector:
    """Backlog, oldest pending age and dead letters of each module's outbox, read when scraped."""

    def __init__(self, databases: dict):
        self._databases = databases

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from flightbook.kernel import clock, outbox

        backlog = GaugeMetricFamily("flightbook_outbox_backlog", "events not yet delivered to every subscriber",
                                    labels=["module"])
        oldest = GaugeMetricFamily("flightbook_outbox_oldest_pending_seconds",
                                   "age of the oldest event still waiting for a delivery", labels=["module"])
        dead = GaugeMetricFamily("flightbook_outbox_dead_letters", "deliveries given up on", labels=["module"])
        for name, database in self._databases.items():
            try:
                report = outbox.report(database, dead_limit=10_000)
            except Exception:  # a database that does not answer: no figure rather than a failed scrape
                logging.getLogger("flightbook.metrics").warning("outbox of %s unreadable for /metrics", name)
                continue
            backlog.add_metric([name], report.backlog)
            age = (clock.now() - report.oldest_pending.created_at).total_seconds() if report.oldest_pending else 0
            oldest.add_metric([name], max(0.0, age))
            dead.add_metric([name], len(report.dead_letters))
        yield from (backlog, oldest, dead)


# business counters: one function per fact, so each module's metrics.py stays a list of plain calls

def booking(state: str, seats_by_cabin: dict[str, int] | None = None) -> None:
    metrics().bookings.labels(state).inc()
    for cabin, seats in (seats_by_cabin or {}).items():
        metrics().seats.labels(cabin).inc(seats)


def payment(outcome: str, code: str = "") -> None:
    metrics().payments.labels(outcome, code).inc()


def refund(amount_minor: int, currency: str) -> None:
    metrics().refunds.labels(currency).inc()
    metrics().refunded.labels(currency).inc(amount_minor)


def points(movement: str, count: int) -> None:
    if count > 0:
        metrics().points.labels(movement).inc(count)


def saga_lag(seconds: float) -> None:
    metrics().saga_lag.observe(max(0.0, seconds))


# ---------------------------------------------------------------- the request middleware


class ObservabilityMiddleware:
    """First in the stack: answers ``GET /metrics``; for every other request counts it, times it, opens its
    span (continuing the caller's ``traceparent``) and writes its log line."""

    def __init__(self, part: str, settings, outbox_databases: dict | None = None):
        self._part = part
        self._metrics_enabled = settings.metrics_enabled
        self._metrics_token = settings.metrics_token
        self._outbox_databases = outbox_databases or {}
        self._registry: typing.Any = None
        #: (route, method, status) -> its request counter and latency histogram: ``labels()`` looked up once
        self._counted: dict[tuple, tuple] = {}

    def process_request(self, req, resp):
        if DISPATCHED_FROM in req.env:
            return
        if req.path == "/metrics":
            self._serve_metrics(req, resp)
            resp.complete = True
            return
        req.context.started = time.perf_counter()
        req.context.span = tracing.start_request_span(req.method, req.path, req.get_header)

    def _serve_metrics(self, req, resp):
        if not self._metrics_enabled or req.method not in ("GET", "HEAD"):
            resp.status = falcon.HTTP_404
            resp.media = {"error": {"code": "not_found", "message": "no metrics here"}}
            return
        if self._metrics_token:
            given = (req.get_header("Authorization") or "").partition(" ")[2].strip()
            if not hmac.compare_digest(given.encode(), self._metrics_token.encode()):
                resp.status = falcon.HTTP_401
                resp.set_header("WWW-Authenticate", 'Bearer realm="metrics"')
                resp.media = {"error": {"code": "unauthorized", "message": "send the metrics token as a bearer"}}
                return
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if self._registry is None:
            self._registry = registry(self._outbox_databases)
        resp.data = generate_latest(self._registry)
        resp.content_type = CONTENT_TYPE_LATEST

    def process_response(self, req, resp, resource, req_succeeded):
        started = getattr(req.context, "started", None)
        if started is None:  # /metrics, a request dispatched from another, or one that never reached us
            outer = req.env.get(DISPATCHED_FROM)
            if outer is not None:
                outer.dispatched_route = route_of(req)
            return
        duration = time.perf_counter() - started
        route = route_of(req)
        status = resp.status_code if hasattr(resp, "status_code") else int(str(resp.status)[:3])
        principal = getattr(req.context, "principal", None)
        user_id = getattr(principal, "user_id", None)
        request_id = getattr(req.context, "request_id", None)
        span = getattr(req.context, "span", None)
        trace_id = tracing.end_request_span(span, req.method, route, status, request_id, user_id)
        if self._metrics_enabled:
            self._count(route, req.method, status, duration)
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s %s", req.method, route, status,
                     extra={"part": self._part, "method": req.method, "route": route, "path": req.path,
                            "status": status, "duration_ms": round(duration * 1000, 2), "request_id": request_id,
                            "trace_id": trace_id, "user_id": user_id})

    def _count(self, route: str, method: str, status: int, duration: float) -> None:
        counted = self._counted.get((route, method, status))
        if counted is None:
            m = metrics()
            counted = (m.requests.labels(self._part, route, method, str(status)),
                       m.latency.labels(self._part, route, method))
            self._counted[route, method, status] = counted
        counted[0].inc()
        counted[1].observe(duration)


def route_of(req) -> str:
    """The route template (``/api/tickets/{ref}``), never the raw path, so labels stay few."""
    template = getattr(req, "uri_template", None)
    if template:
        return template
    if req.path.startswith("/api/gateway/"):
        inner = getattr(req.context, "dispatched_route", None)  # the local module's route that answered it
        if inner and inner.startswith("/api/"):
            return "/api/gateway/" + inner[len("/api/"):]
        return "/api/gateway/{path}"
    return "unmatched"


def event_line(subscriber: str, topic: str, event_id: str, outcome: str, duration: float,
               trace_id: str | None, request_id: str | None = None) -> None:
    """One line and one count per event a subscriber received (applied, duplicate or failed)."""
    metrics().events.labels(subscriber, topic, outcome).inc()
    events_log.info("event %s %s", topic, outcome,
                    extra={"part": subscriber, "subscriber": subscriber, "topic": topic, "event_id": event_id,
                           "outcome": outcome, "duration_ms": round(duration * 1000, 2), "trace_id": trace_id,
                           "request_id": request_id})
