"""OpenTelemetry traces: a span per request, per call between parts (W3C ``traceparent`` on every hop), per
write transaction and per event delivery. An event's outbox row keeps the trace context it was published
in, so its delivery and the subscriber's handling join the traveller's trace.

The exporter comes from the standard ``OTEL_*`` variables, read by the SDK: ``OTEL_TRACES_EXPORTER`` =
``none`` (the default: nothing is sent, so no span is recorded; each request, call and event still gets its
span context, continuing the caller's trace and passed on, so trace ids reach the logs and a part that does
export joins the trace), ``console`` (one JSON object per span on stdout) or ``otlp``
(``OTEL_EXPORTER_OTLP_ENDPOINT``, HTTP/protobuf). ``OTEL_SDK_DISABLED=true`` turns tracing off altogether.
``configure`` runs once per serving process.

Recording a span costs about 30 µs (the SDK's span object, its attributes and their locks) and nothing would
read it without an exporter; a context-only span is two random ids.
"""
from __future__ import annotations

import contextlib
import os
import typing

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_ids = RandomIdGenerator()
_tracer: trace.Tracer | None = None
_provider = None
#: an exporter takes the spans, so they are recorded; False: only their context is made (see above)
_recording = False


def configure(service: str, env=None) -> bool:
    """Trace this process as ``flightbook-<service>``; False when tracing is off (OTEL_SDK_DISABLED)."""
    global _tracer, _provider, _recording
    env = os.environ if env is None else env  # the OTEL_* variables are OpenTelemetry's own, read here only
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        _tracer = _provider = None
        _recording = False
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    name = env.get("OTEL_SERVICE_NAME") or f"flightbook-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name, "process.pid": os.getpid()}))
    exporters = [e.strip().lower() for e in (env.get("OTEL_TRACES_EXPORTER") or "none").split(",")]
    for exporter in exporters:
        if exporter == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(
                formatter=lambda span: span.to_json(indent=None) + "\n")))
        elif exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif exporter not in ("none", ""):
            raise ValueError(f"OTEL_TRACES_EXPORTER: {exporter!r} is not one of none, console, otlp")
    _provider = provider
    _tracer = provider.get_tracer("flightbook")
    _recording = any(e in ("console", "otlp") for e in exporters)
    return True


def shutdown() -> None:
    if _provider is not None:
        _provider.shutdown()


def enabled() -> bool:
    return _tracer is not None


def current_trace_id() -> str | None:
    if _tracer is None:
        return None
    ctx = trace.get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else None


def current_traceparent() -> str:
    """The W3C traceparent of the span in progress ("" when none): what an outbox row keeps."""
    if _tracer is None:
        return ""
    carrier: dict = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent", "")


def inject(headers: dict) -> dict:
    """Add ``traceparent`` (and ``tracestate``) for the span in progress to ``headers``, for a call to another part."""
    if _tracer is not None:
        _propagator.inject(headers)
    return headers


def _extract(traceparent: str | None, tracestate: str | None = None):
    carrier = {"traceparent": traceparent} if traceparent else {}
    if traceparent and tracestate:
        carrier["tracestate"] = tracestate
    return _propagator.extract(carrier)


def _parent(traceparent: str | None, tracestate: str | None = None):
    """The context a new span starts in: the span in progress, else the caller's ``traceparent``, else none."""
    if not traceparent or trace.get_current_span().get_span_context().is_valid:
        return None
    return _extract(traceparent, tracestate)


def _context_only(parent) -> trace.Span:
    """A span that is only its context: the parent's trace (a new one without a parent) and a new span id."""
    above = trace.get_current_span(parent).get_span_context()
    if not above.is_valid:
        return trace.NonRecordingSpan(trace.SpanContext(_ids.generate_trace_id(), _ids.generate_span_id(), False,
                                                        trace.TraceFlags(trace.TraceFlags.SAMPLED)))
    return trace.NonRecordingSpan(trace.SpanContext(above.trace_id, _ids.generate_span_id(), False,
                                                    above.trace_flags, above.trace_state))


def start_request_span(method: str, path: str, get_header):
    """A server span continuing the caller's ``traceparent`` (``get_header(name)``), made current."""
    if _tracer is None:
        return None
    traceparent = get_header("traceparent")
    parent = _parent(traceparent, traceparent and get_header("tracestate"))
    if not _recording:
        span = _context_only(parent)
    else:
        span = _tracer.start_span(method, context=parent, kind=SpanKind.SERVER,
                                  attributes={"http.request.method": method, "url.path": path})
    return span, otel_context.attach(trace.set_span_in_context(span))


def end_request_span(handle, method: str, route: str, status: int, request_id, user_id) -> str | None:
    """Name the span after its route, record the answer, end it; its trace id (for the log line)."""
    if handle is None:
        return None
    span, token = handle
    if span.is_recording():
        span.update_name(f"{method} {route}")
        attributes: dict = {"http.route": route, "http.response.status_code": status}
        if request_id:
            attributes["flightbook.request_id"] = request_id
        if user_id is not None:
            attributes["enduser.id"] = str(user_id)
        span.set_attributes(attributes)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
    otel_context.detach(token)
    return f"{span.get_span_context().trace_id:032x}"


@contextlib.contextmanager
def span(name: str, kind: SpanKind = SpanKind.INTERNAL, traceparent: str | None = None, **attributes):
    """A span around the block; with ``traceparent`` and no span in progress, it joins that trace."""
    if _tracer is None:
        yield None
        return
    parent = _parent(traceparent)
    if not _recording:
        light = _context_only(parent)
        token = otel_context.attach(trace.set_span_in_context(light))
        try:
            yield light
        finally:
            otel_context.detach(token)
        return
    with _tracer.start_as_current_span(name, context=parent, kind=kind,
                                       attributes={k: v for k, v in attributes.items() if v is not None}) as s:
        yield s


class TracedTransaction:
    """A database transaction (peewee ``atomic``) inside a span named after the database."""

    __slots__ = ("_atomic", "_name", "_span")

    def __init__(self, atomic, name: str):
        self._atomic = atomic
        self._name = name
        self._span: typing.Any = None

    def __enter__(self):
        assert _tracer is not None and _recording
        self._span = _tracer.start_as_current_span(f"transaction {self._name}", kind=SpanKind.CLIENT,
                                                   attributes={"db.system": self._name})
        self._span.__enter__()
        return self._atomic.__enter__()

    def __exit__(self, *exc):
        try:
            return self._atomic.__exit__(*exc)
        finally:
            self._span.__exit__(*exc)


def transaction(atomic, system: str):
    """``atomic`` traced when spans are recorded; ``atomic`` itself (no cost) otherwise."""
    if not _recording:
        return atomic
    return TracedTransaction(atomic, system)
