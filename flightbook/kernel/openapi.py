"""The OpenAPI 3.1 description of a part, built from the code: each module lists its operations beside its
resources (``modules/<m>/openapi.py``), naming the contract types it answers with; the schemas are made
from those dataclasses' type hints, the same hints ``data.to_dict`` follows. ``GET /openapi.json`` serves
it, ``GET /api/docs`` shows it in Swagger UI (from the openapi-ui-bundles package: no CDN).

tests/kernel/test_openapi.py walks the Falcon router and fails for any route, method, query parameter,
body field or success status the description lacks.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import enum
import mimetypes
import types
import typing
from pathlib import Path

import falcon

ERROR = {"$ref": "#/components/schemas/Error"}

#: what each error status means, for the responses every operation may give
ERROR_MEANINGS = {
    400: "the request does not fit: a field is missing or wrong (``error.field`` names it)",
    401: "no valid bearer token (or session) where one is needed",
    402: "the payment was declined",
    403: "signed in, but not allowed to do this",
    404: "no such thing, or not yours",
    409: "the state does not allow it (e.g. a booking already cancelled)",
    422: "understood but refused by a business rule",
    503: "a part this one needs did not answer in time",
}

#: the error statuses any operation may answer with
COMMON_ERRORS = (400, 401, 403, 404, 409, 422, 503)


@dataclasses.dataclass
class Param:
    name: str
    schema: dict
    required: bool = False
    description: str = ""
    where: str = "query"
    example: object = None

    def to_dict(self) -> dict:
        out: dict = {"name": self.name, "in": self.where, "required": self.required, "schema": self.schema}
        if self.description:
            out["description"] = self.description
        if self.example is not None:
            out["example"] = self.example
        return out


def query(name: str, schema: dict | type, required: bool = False, description: str = "", example=None) -> Param:
    return Param(name, schema if isinstance(schema, dict) else _plain(schema), required, description, "query",
                 example)


def path(name: str, schema: dict | type = str, description: str = "", example=None) -> Param:
    return Param(name, schema if isinstance(schema, dict) else _plain(schema), True, description, "path", example)


def header(name: str, description: str = "", required: bool = False) -> Param:
    return Param(name, {"type": "string"}, required, description, "header")


def _plain(tp) -> dict:
    return {str: {"type": "string"}, int: {"type": "integer"}, bool: {"type": "boolean"},
            float: {"type": "number"}, dt.date: {"type": "string", "format": "date"}}[tp]


class Description:
    """One OpenAPI document being built: ``add(path, method, ...)`` per operation."""

    def __init__(self, title: str, description: str = "", version: str = "1"):
        self.doc: dict = {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version, "description": description},
            "paths": {},
            "components": {
                "schemas": {"Error": {
                    "type": "object", "required": ["error"],
                    "properties": {"error": {
                        "type": "object", "required": ["code", "message"],
                        "properties": {"code": {"type": "string", "examples": ["invalid"]},
                                       "message": {"type": "string"},
                                       "field": {"type": "string", "description": "the field at fault (400)"}},
                    }},
                    "example": {"error": {"code": "invalid", "message": "origin: is required"}},
                }},
                "securitySchemes": {
                    "traveller": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                  "description": "a traveller's token from POST /api/users/login"},
                    "service": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                "description": "a short-lived service token signed with FLIGHTBOOK_SERVICE_SECRET, "
                                               "for calls between parts"},
                    "admin": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                              "description": "an admin's traveller token from POST /api/users/login (a traveller "
                                             "with the admin flag; anyone else gets 403)"},
                },
            },
        }

    @property
    def schemas(self) -> dict:
        return self.doc["components"]["schemas"]

    def schema(self, tp) -> dict:
        """The JSON schema of a type hint; a dataclass becomes a named component."""
        return schema_of(tp, self.schemas)

    def add(self, route: str, method: str, summary: str, *, answer=None, status: int = 200, params=(),
            body: dict | type | None = None, body_required: bool = True, security=("traveller",),
            errors=COMMON_ERRORS, more: dict | None = None, tag: str = "", example=None,
            body_example=None, content_type: str = "application/json", description: str = "",
            retry_after: dict[int, str] | None = None) -> None:
        """``answer``: a type (a dataclass, ``list[X]``...) or a ready schema for the ``status`` answer.
        ``security``: scheme names any one of which is accepted; ``"optional"`` among them means a
        caller may also come without one. ``more``: other answers, status -> (description, schema).
        ``retry_after``: error statuses whose answer may carry ``Retry-After``, status -> when (a 429 always
        does)."""
        operation: dict = {"summary": summary, "operationId": _operation_id(method, route),
                           "tags": [tag or route.split("/")[2] if route.startswith("/api/") else "operations"]}
        if description:
            operation["description"] = description
        if params:
            operation["parameters"] = [p.to_dict() for p in params]
        if body is not None:
            schema = body if isinstance(body, dict) else self.schema(body)
            media: dict = {"schema": schema}
            if body_example is not None:
                media["example"] = body_example
            operation["requestBody"] = {"required": body_required, "content": {"application/json": media}}
        responses: dict = {}
        if answer is not None or content_type != "application/json":
            media = {"schema": answer if isinstance(answer, dict) or answer is None else self.schema(answer)}
            if media["schema"] is None:
                media["schema"] = {"type": "string", "format": "binary"}
            if example is not None:
                media["example"] = example
            responses[str(status)] = {"description": "done", "content": {content_type: media}}
        else:
            responses[str(status)] = {"description": "done"}
        for code, (meaning, schema) in (more or {}).items():
            responses[str(code)] = {"description": meaning, "content": {"application/json": {
                "schema": schema if isinstance(schema, dict) else self.schema(schema)}}}
        if "{" in route:  # a path that names no such thing (or one the router cannot match) is a 404
            errors = tuple(errors) + (404,)
        for code in errors:
            responses.setdefault(str(code), {"description": ERROR_MEANINGS.get(code, "error"),
                                             "content": {"application/json": {"schema": ERROR}}})
        responses.setdefault("500", {"description": "a fault on our side (quote the X-Request-ID header)",
                                     "content": {"application/json": {"schema": ERROR}}})
        for code, when in (retry_after or {}).items():
            given = responses[str(code)]
            given["description"] += f"; {when}, with Retry-After"
            given.setdefault("headers", {})["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        operation["responses"] = responses
        schemes = [s for s in security if s != "optional"]
        if schemes:
            operation["security"] = [{s: []} for s in schemes] + ([{}] if "optional" in security else [])
        else:
            operation["security"] = []
        self.doc["paths"].setdefault(route, {})[method.lower()] = operation

    def to_dict(self) -> dict:
        """The finished document: every answer names its headers and shows an example (see ``complete``)."""
        return complete(self.doc)


def _operation_id(method: str, route: str) -> str:
    words = [w.strip("{}") for w in route.split("/") if w and w != "api"]
    return method.lower() + "".join(w.replace("-", "_").title().replace("_", "") for w in words)


# ---------------------------------------------------------------- every answer's headers and example

HEADERS = {
    "X-Request-ID": {"description": "the request's id: the caller's X-Request-ID when it sent a sane one, else a "
                                    "new one; every part a request reaches logs it under this id",
                     "schema": {"type": "string", "maxLength": 128}, "example": "4f1c2b7e9a0d4e6b8c3f5a7d9e1b2c4d"},
    "Retry-After": {"description": "seconds after which asking again makes sense",
                    "schema": {"type": "integer", "minimum": 1}, "example": 1},
}

#: the error an answer of each status shows as its example: codes and messages the parts really give
ERROR_EXAMPLES = {
    400: ("invalid", "origin: is required", "origin"),
    401: ("unauthorized", "sign in first: send Authorization: Bearer <token>", None),
    402: ("card_declined", "the card was declined", None),
    403: ("forbidden", "this booking belongs to another traveller", None),
    404: ("not_found", "no booking K7Q2ZD", None),
    409: ("conflict", "booking K7Q2ZD is CANCELLED, not HELD", None),
    413: ("payload_too_large", "the request body is 2000000 bytes; at most 1048576 are accepted here", None),
    422: ("unprocessable", "the points do not cover the amount", None),
    429: ("too_many_attempts", "too many failed logins; try again in 600 seconds", None),
    500: ("internal_error", "something went wrong on our side; quote the X-Request-ID header", None),
    503: ("service_unavailable", "the payments service is unavailable (ConnectTimeout)", None),
}

#: what a field of this name holds, for the examples generated from the schemas (the first that fits its schema)
NAMED_EXAMPLES: dict[str, object] = {
    "id": (1, "4711"), "cabin": "economy", "gender": "female", "status": "ok", "date_of_birth": "1990-01-01",
    "departs_at": "2030-05-01T08:30:00Z", "arrives_at": "2030-05-01T16:25:00Z", "created_at": "2030-04-20T10:15:00Z",
    "expires_at": "2030-04-20T10:30:00Z", "hold_expires_at": "2030-04-20T10:30:00Z",
    "ref": "K7Q2ZD", "booking_ref": "K7Q2ZD", "currency": "USD", "amount": 25000, "iata": "LHR", "icao": "EGLL",
    "origin": "LHR", "destination": "JFK", "airport": "LHR", "flight_number": "BA117",
    "airline": "British Airways", "username": "ada", "email": "ada@example.com", "contact_email": "ada@example.com",
    "recipient": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "name": "London Heathrow",
    "city": "London", "country": "GB", "tz": "Europe/London", "lat": 51.4706, "lon": -0.461941, "brand": "visa",
    "last4": "4242", "exp_month": 12, "exp_year": 2030, "topic": "booking.confirmed", "source": "flights",
    "subscriber": "loyalty", "module": "flights", "departs_local": "2030-05-01T09:30", "date": "2030-05-01",
    "arrives_local": "2030-05-01T12:25", "was_departs_local": "2030-05-01T08:30", "service_date": "2030-05-01",
    "day": "2030-05-01", "week": "2030-W18", "intent_id": "pi_3f9a2c7d1e4b", "payment_id": "pay_8c1d2e3f4a5b",
    "hold_id": "hold_5a6b7c8d", "user_id": 7, "flight_id": 4711, "admin_id": 1, "points": 2500,
    "balance": 12500, "seats_left": 9, "capacity": 180, "sold": 171, "duration_minutes": 475, "minutes": 95,
    "stops": 0, "percent": 100, "refund_percent": 100, "subject": "Your booking K7Q2ZD is confirmed",
    "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJl", "refresh_token": "rt_2b4d6f8a0c1e3a5c",
    "message": "done", "reason": "weather", "tier": "silver", "next_tier": "gold", "last_error": "",
    "failure_code": "card_declined", "page": 1, "per_page": 20, "count": 2, "attempts": 1,
}

_FORMATS = {"date-time": "2030-05-01T08:30:00Z", "date": "2030-05-01", "uuid": "0b7e4c1a-5d2f-4e8b-9a41-3f7c2d9e8b10",
            "email": "ada@example.com", "uri": "https://flightbook.example/api/docs", "binary": "%PDF-1.7 ..."}
_BY_MEDIA = {"text/plain": "# TYPE flightbook_http_requests_total counter\n"
                           'flightbook_http_requests_total{part="all",route="/api/flights/search",method="GET",'
                           'status="200"} 42.0\n',
             "text/html": "<!doctype html><html lang=\"en\">...</html>"}


def complete(doc: dict) -> dict:
    """Each answer of each operation names the headers it carries (``X-Request-ID`` always, ``Retry-After``
    on a 429) and shows an example: an error its status's, any other one made from its schema (fields by
    their names where the name says what they hold), so every example fits its schema."""
    components = doc["components"]
    components["headers"] = HEADERS
    schemas = components["schemas"]
    for operations in doc["paths"].values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                headers = answer.setdefault("headers", {})
                headers.setdefault("X-Request-ID", {"$ref": "#/components/headers/X-Request-ID"})
                if status == "429":
                    headers.setdefault("Retry-After", {"$ref": "#/components/headers/Retry-After"})
                for media_type, media in answer.get("content", {}).items():
                    if "example" not in media and "examples" not in media:
                        media["example"] = _example_answer(int(status), media_type, media.get("schema", {}),
                                                           schemas)
    return doc


def _example_answer(status: int, media_type: str, schema: dict, schemas: dict):
    if media_type in _BY_MEDIA:
        return _BY_MEDIA[media_type]
    if media_type != "application/json":
        return _FORMATS["binary"]
    if schema == ERROR and status in ERROR_EXAMPLES:
        code, message, field = ERROR_EXAMPLES[status]
        return {"error": {"code": code, "message": message, **({"field": field} if field else {})}}
    return example_of(schema, schemas)


def example_of(schema: dict, schemas: dict, name: str = ""):
    """A value that fits ``schema`` (refs resolved in ``schemas``); ``name``: the field it is for."""
    if "$ref" in schema:
        target = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return target["example"] if "example" in target else example_of(target, schemas, name)
    for key in ("example", "const", "default"):
        if key in schema:
            return schema[key]
    if "examples" in schema:
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema or "oneOf" in schema:
        options = [o for o in schema.get("anyOf", schema.get("oneOf", [])) if o.get("type") != "null"]
        return example_of(options[0], schemas, name) if options else None
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        value = {field: example_of(sub, schemas, field) for field, sub in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties")
        if not value and isinstance(extra, dict):
            value = {"flights": example_of(extra, schemas)}
        return value
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, name)]
    named = NAMED_EXAMPLES.get(name, ())
    for candidate in named if isinstance(named, tuple) else (named,):
        if _fits(candidate, kind, schema):
            return candidate
    if kind == "string":
        return _FORMATS.get(schema.get("format", ""), "text")
    return {"integer": 1, "number": 1.5, "boolean": True, "null": None}.get(str(kind), "text")


def _fits(value, kind, schema: dict) -> bool:
    """Whether a named example fits: its type, a length limit, and a format only where it is written in it."""
    if kind == "string":
        if not isinstance(value, str) or len(value) > schema.get("maxLength", len(value)):
            return False
        form = schema.get("format")
        return form is None or (form == "date-time" and value.endswith("Z")) or (form == "date" and len(value) == 10)
    if kind == "integer":
        return isinstance(value, int) and value >= schema.get("minimum", value)
    if kind == "number":
        return isinstance(value, (int, float))
    return False


# ---------------------------------------------------------------- schemas from type hints

def schema_of(tp, components: dict) -> dict:
    if tp is typing.Any or tp is object:
        return {}
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        options = [schema_of(a, components) for a in args if a is not type(None)]
        nullable = type(None) in args
        if len(options) == 1 and "type" in options[0] and not nullable:
            return options[0]
        if nullable:
            options.append({"type": "null"})
        return {"anyOf": options}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin in (list, tuple, frozenset, set) or tp in (list, tuple):
        items = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return {"type": "array", "items": schema_of(items[0], components) if items else {}}
    if origin is dict or tp is dict:
        pair = typing.get_args(tp)
        return {"type": "object", "additionalProperties": schema_of(pair[1], components) if pair else {}}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        name = tp.__name__
        if name not in components:
            components[name] = {}  # a placeholder first: a dataclass may refer to itself
            hints = typing.get_type_hints(tp)
            fields = [f for f in dataclasses.fields(tp) if f.repr or True]
            schema: dict = {"type": "object", "required": [f.name for f in fields],
                            "properties": {f.name: schema_of(hints[f.name], components) for f in fields}}
            if tp.__doc__ and not tp.__doc__.startswith(f"{name}("):
                schema["description"] = " ".join(tp.__doc__.split())
            components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if tp is dt.datetime:
        return {"type": "string", "format": "date-time"}
    if tp is dt.date:
        return {"type": "string", "format": "date"}
    if tp is type(None):
        return {"type": "null"}
    return {}


def body_schema(properties: dict, required=(), example=None) -> dict:
    """A request body's schema: ``properties`` name -> schema or type."""
    schema: dict = {"type": "object", "required": list(required),
                    "properties": {k: (v if isinstance(v, dict) else _plain(v)) for k, v in properties.items()}}
    if example is not None:
        schema["example"] = example
    return schema


# ---------------------------------------------------------------- what every part serves

def describe_kernel(doc: Description, with_events: bool) -> None:
    """``/health``, ``/ready``, ``/openapi.json``, ``/api/docs`` and (a module) ``/api/events``; ``/metrics``."""
    doc.add("/health", "GET", "alive", answer={"type": "object", "properties": {"status": {"const": "ok"}},
                                               "required": ["status"]}, security=(), errors=(), tag="operations")
    doc.add("/ready", "GET", "every database of this process answers",
            answer={"type": "object", "required": ["status", "databases"],
                    "properties": {"status": {"type": "string"},
                                   "databases": {"type": "object", "additionalProperties": {"type": "string"}}}},
            more={503: ("a database does not answer", {"type": "object"})}, security=(), errors=(),
            tag="operations")
    doc.add("/openapi.json", "GET", "this description", answer={"type": "object"}, security=(), errors=(),
            tag="operations")
    doc.add("/api/docs", "GET", "this description in Swagger UI", content_type="text/html",
            answer={"type": "string"}, security=(), errors=(404,), tag="operations")
    doc.add("/api/docs/{asset}", "GET", "Swagger UI's files", content_type="application/octet-stream",
            params=[path("asset")], security=(), errors=(404,), tag="operations")
    doc.doc["paths"]["/metrics"] = {"get": {
        "summary": "Prometheus metrics (off with FLIGHTBOOK_METRICS=off; bearer FLIGHTBOOK_METRICS_TOKEN when set)",
        "operationId": "getMetrics", "tags": ["operations"], "security": [],
        "responses": {"200": {"description": "the Prometheus text format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                      "401": {"description": "the metrics token is set and was not sent",
                              "content": {"application/json": {"schema": ERROR}}},
                      "404": {"description": "metrics are off here", "content": {"application/json":
                                                                                     {"schema": ERROR}}}}}}
    if with_events:
        doc.add("/api/events", "POST", "deliver an event to this part's inbox (the relay's call)",
                body=body_schema({"event_id": {"type": "string", "format": "uuid"}, "topic": str, "source": str,
                                  "payload": {"type": "object"},
                                  "published_at": {"type": "number", "description": "Unix seconds"}},
                                 required=("event_id", "topic", "source", "payload")),
                answer={"type": "object", "required": ["event_id", "subscriber", "status"],
                        "properties": {"event_id": {"type": "string"}, "subscriber": {"type": "string"},
                                       "status": {"enum": ["applied", "duplicate"]}}},
                security=("service",), errors=(400, 401, 403, 422, 503), tag="events")


def describe_admin_events(doc: Description, prefix: str, audit: bool = True) -> None:
    """What ``admin_http.add_routes`` serves under a module's ``/api/admin/<m>`` (an admin's token)."""
    from flightbook.kernel.audit import AuditEntry
    from flightbook.kernel.outbox import EventRecord, OutboxReport
    errors = (400, 401, 403, 503)
    doc.add(f"{prefix}/events", "GET", "this part's outbox: backlog, oldest pending event, dead letters",
            answer=OutboxReport, security=("admin",), errors=errors)
    doc.add(f"{prefix}/events/retry", "POST", "re-queue one dead letter (event_id) or all of them",
            answer={"type": "object", "required": ["retried"], "properties": {"retried": {"type": "integer"}}},
            body=body_schema({"event_id": {"type": ["string", "null"], "maxLength": 36,
                                           "description": "a dead letter's id; none: every dead letter"}}),
            security=("admin",), errors=errors)
    doc.add(f"{prefix}/bookings/{{ref}}/events", "GET", "the events this part published about a booking",
            answer={"type": "object", "required": ["events"], "properties": {"events": doc.schema(list[EventRecord])}},
            params=[path("ref", {"type": "string"}, "the booking reference", "K7Q2ZD")], security=("admin",),
            errors=errors)
    if audit:
        doc.add(f"{prefix}/audit", "GET", "the admins' changes here, newest first",
                answer={"type": "object", "required": ["entries"],
                        "properties": {"entries": doc.schema(list[AuditEntry])}},
                params=[query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 100}),
                        query("target", {"type": "string", "maxLength": 100}, description="only changes to this")],
                security=("admin",), errors=errors)


GATEWAY_PREFIX = "/api/gateway/"


def gateway_view(module_doc: dict) -> dict:
    """The modules' ``/api/...`` operations as the gateway answers them at ``/api/gateway/...``: the same
    answers, and a browser session (cookie + ``X-CSRF-Token`` on a POST) accepted instead of a bearer. The
    admin API (``/api/admin/...``) is not passed on by the gateway (its ``/admin`` pages call the modules'
    admin contracts), so it is not mirrored."""
    paths = {}
    for route, operations in module_doc["paths"].items():
        if not route.startswith("/api/") or route.startswith(("/api/events", "/api/docs", "/api/admin/")):
            continue
        mirrored = {}
        for method, operation in operations.items():
            op = copy.deepcopy(operation)
            op["operationId"] = "gateway_" + op["operationId"]
            security = op.get("security", [])
            if any(s for s in security):
                extra: list[dict] = [{"session": []}] if method == "get" else [{"session": [], "csrf": []}]
                op["security"] = [s for s in security if s] + extra + [s for s in security if not s]
            mirrored[method] = op
        paths[GATEWAY_PREFIX + route[len("/api/"):]] = mirrored
    return paths


def add_gateway_schemes(doc: Description) -> None:
    doc.doc["components"]["securitySchemes"].update({
        "session": {"type": "apiKey", "in": "cookie", "name": "fb_session",
                    "description": "the web UI's signed session cookie (set by /login)"},
        "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                 "description": "the session's CSRF token: needed with the cookie on anything but GET"},
    })


# ---------------------------------------------------------------- resources

class OpenApiResource:
    def __init__(self, document: dict):
        self._document = document

    def on_get(self, req, resp):
        resp.media = self._document


def _swagger_folder() -> Path:
    from openapi_ui_bundles import swagger_ui
    return Path(swagger_ui.static_path)


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/docs-init.js"></script>
</body></html>
"""

_DOCS_INIT = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});\n"""


class DocsPage:
    """Swagger UI on ``/openapi.json``, every file served from the installed package."""

    ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png",
              "favicon-16x16.png", "index.css")

    def __init__(self, title: str):
        self._page = _DOCS_PAGE.format(title=title).encode()

    def on_get(self, req, resp):
        resp.content_type = "text/html; charset=utf-8"
        resp.data = self._page


class DocsAsset:
    def on_get(self, req, resp, asset):
        if asset == "docs-init.js":
            resp.content_type = "application/javascript"
            resp.data = _DOCS_INIT.encode()
            return
        if asset not in DocsPage.ASSETS:
            raise falcon.HTTPNotFound(description=f"no file {asset!r} in the API docs")
        resp.content_type = mimetypes.guess_type(asset)[0] or "application/octet-stream"
        resp.set_header("Cache-Control", "public, max-age=86400")
        resp.data = (_swagger_folder() / asset).read_bytes()


def mount(app: falcon.App, document: dict, title: str) -> None:
    app.add_route("/openapi.json", OpenApiResource(document))
    app.add_route("/api/docs", DocsPage(title))
    app.add_route("/api/docs/{asset}", DocsAsset())
