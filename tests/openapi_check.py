"""Every JSON answer a test sees over HTTP, checked against the OpenAPI description of the part that gave it.

``conformance()`` wraps requests' ``HTTPAdapter.send`` (what the tests' own calls go through) and
``ServiceClient._exchange`` (the parts' calls to each other, made in the test process by the HTTP adapters): each answer of a documented path is validated with openapi-core against that server's
``/openapi.json`` (fetched once per server). An answer whose status the description lacks, or whose body breaks
its schema, is recorded; the fixture using this fails the test with the list at its end.
"""
from __future__ import annotations

import contextlib
import json
from urllib.parse import urlsplit

import requests
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse

from flightbook.kernel.httpclient import ServiceClient

_SPECS: dict[str, OpenAPI | None] = {}  # base URL -> its description (None: it serves none)


class Conformance:
    def __init__(self):
        self.problems: list[str] = []
        self.checked = 0

    def spec_for(self, base: str, send) -> OpenAPI | None:
        if base not in _SPECS:
            try:
                prepared = requests.Request("GET", base + "/openapi.json").prepare()
                answer = send(prepared, timeout=10)
                _SPECS[base] = OpenAPI.from_dict(answer.json()) if answer.status_code == 200 else None
            except (requests.RequestException, ValueError):
                return None
        return _SPECS[base]

    def check(self, spec: OpenAPI, method: str, url: str, status: int, content_type: str, body: bytes) -> None:
        if "json" not in (content_type or "") or status == 405:
            return
        parts = urlsplit(url)
        request = MockRequest(f"{parts.scheme}://{parts.netloc}", method.lower(), parts.path, args=None)
        response = MockResponse(body, status_code=status, content_type="application/json")
        try:
            spec.validate_response(request, response)
        except (PathNotFound, OperationNotFound):
            return  # not an API route (a page, /metrics): the drift test covers the routes themselves
        except Exception as exc:
            shown = body[:300].decode(errors="replace")
            self.problems.append(f"{method} {parts.path} -> {status}: {type(exc).__name__}: {exc} | body {shown}")
            return
        self.checked += 1


@contextlib.contextmanager
def conformance():
    """Check every answer received through requests inside the block; yields the Conformance."""
    checker = Conformance()
    original = requests.adapters.HTTPAdapter.send

    def send(adapter, request, *args, **kwargs):
        response = original(adapter, request, *args, **kwargs)
        parts = urlsplit(request.url)
        if parts.path != "/openapi.json" and "json" in response.headers.get("Content-Type", ""):
            spec = checker.spec_for(f"{parts.scheme}://{parts.netloc}",
                                    lambda prepared, **kw: original(adapter, prepared, **kw))
            if spec is not None:
                checker.check(spec, request.method, request.url, response.status_code,
                              response.headers.get("Content-Type", ""), response.content)
        return response

    original_exchange = ServiceClient._exchange

    def exchange(client, url, method, path, body, headers, timeout):
        answer = original_exchange(client, url, method, path, body, headers, timeout)
        content_type = answer.headers.get("Content-Type", "")
        if "json" in content_type:
            spec = checker.spec_for(url, lambda prepared, **kw: original(requests.adapters.HTTPAdapter(), prepared, **kw))
            if spec is not None:
                checker.check(spec, method, url + path, answer.status_code, content_type, answer.content)
        return answer

    requests.adapters.HTTPAdapter.send = send
    ServiceClient._exchange = exchange
    try:
        yield checker
    finally:
        requests.adapters.HTTPAdapter.send = original
        ServiceClient._exchange = original_exchange


def check_in_process(spec: OpenAPI, checker: Conformance, method: str, path: str, result) -> None:
    """The same check for an answer of falcon's TestClient (``result``)."""
    checker.check(spec, method, "http://falcon.test" + path, result.status_code,
                  result.headers.get("Content-Type", ""), result.content)


def dumps(problems: list[str]) -> str:
    return json.dumps(problems, indent=1)
