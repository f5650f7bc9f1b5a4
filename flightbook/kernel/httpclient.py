"""Calling another part over HTTP: a connection pool per instance, connect/read timeouts, several base URLs
used round-robin with a failing instance benched for a while, retries only where a call is idempotent.

A part that cannot be reached is an ``Unavailable`` (503) raised within the timeout, never a hang; an
answer with an error body becomes the same DomainError the part raised, so callers cannot tell an
HTTP adapter from the in-process one.

The calls go straight to urllib3's connection pools, not through requests: a call between parts carries no
cookie jar (a cookie one traveller's answer set must never ride on the next caller's call), follows no
redirect, looks up no proxy in the environment and needs none of requests' per-call preparation, which was
half of the client's CPU on a local round trip (bench/bench_hop.py measures a hop against a bare one).
"""
from __future__ import annotations

import itertools
import threading
import time
from urllib.parse import urlencode

import orjson
import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError

from flightbook.kernel import errors, tracing
from flightbook.kernel.auth import Principal
from flightbook.kernel.errors import Unauthorized
from flightbook.kernel.http import current_request_id


def bearer(caller: Principal | None) -> str | None:
    """The token to pass on for ``caller``: theirs for a traveller, None (a fresh service token) for a part."""
    if caller is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>", code="unauthorized")
    if caller.is_service:
        return None
    if not caller.token:
        raise Unauthorized("the caller's token is needed to act for them over HTTP", code="unauthorized")
    return caller.token


class Answer:
    """A peer's answer, read whole: ``status_code``, ``headers`` (case-insensitive), ``content``, ``json()``."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers, content: bytes):
        self.status_code = status_code
        self.headers = headers
        self.content = content

    def json(self):
        return orjson.loads(self.content)


class ServiceClient:
    BENCH_SECONDS = 10.0

    def __init__(self, service: str, base_urls, tokens, caller: str, *, connect_timeout: float = 2.0,
                 read_timeout: float = 10.0):
        if not base_urls:
            raise ValueError(f"no URL configured for {service}")
        self.service = service
        self._urls = list(base_urls)
        self._tokens = tokens
        self._caller = caller
        self._timeout = (connect_timeout, read_timeout)
        self._turn = itertools.count()
        self._benched_until: dict[str, float] = {}
        self._lock = threading.Lock()
        # block=False: past 32 connections at once to one instance, a call opens one more and closes it after
        self._pools = {url: urllib3.connection_from_url(url, maxsize=32, block=False, retries=False)
                       for url in self._urls}

    def _candidates(self) -> list[str]:
        """Every instance once, starting at the next in turn, benched instances last."""
        start = next(self._turn) % len(self._urls)
        ordered = self._urls[start:] + self._urls[:start]
        now = time.monotonic()
        with self._lock:
            healthy = [u for u in ordered if self._benched_until.get(u, 0) <= now]
        return healthy + [u for u in ordered if u not in healthy]

    def _bench(self, url: str) -> None:
        with self._lock:
            self._benched_until[url] = time.monotonic() + self.BENCH_SECONDS

    @classmethod
    def for_settings(cls, service: str, urls, tokens, caller: str, settings) -> "ServiceClient":
        return cls(service, urls, tokens, caller, connect_timeout=settings.http_connect_timeout,
                   read_timeout=settings.http_read_timeout)

    def service_token(self) -> str:
        return self._tokens.service_token(self._caller, self.service)

    def call(self, method: str, path: str, *, json=None, params=None, token: str | None = None,
             headers: dict | None = None, idempotent: bool | None = None):
        """The decoded JSON answer of ``method path``; the peer's DomainError for an error answer.

        ``token``: the bearer to send (a traveller's, passed on); default a fresh service token.
        """
        sent_headers = {"Authorization": f"Bearer {token or self.service_token()}", **(headers or {})}
        response = self.send(method, path, json=json, params=params, headers=sent_headers, idempotent=idempotent)
        body = _json(response)
        if response.status_code >= 400:
            raise errors.from_response(response.status_code, body)
        return body

    def call_bytes(self, method: str, path: str, *, params=None, token: str | None = None) -> bytes:
        """The body of ``method path`` as it came (a PDF); an error answer's JSON body as the peer's DomainError."""
        response = self.send(method, path, params=params,
                             headers={"Authorization": f"Bearer {token or self.service_token()}"})
        if response.status_code >= 400:
            raise errors.from_response(response.status_code, _json(response))
        return response.content

    def send(self, method: str, path: str, *, json=None, data: bytes | None = None, params=None,
             headers: dict | None = None, idempotent: bool | None = None,
             read_timeout: float | None = None) -> Answer:
        """The answer of the first instance that answers. ``json``: a body to send as JSON; ``data``: raw
        bytes; ``params``: a dict, or a query string as it came.

        A call moves on to the next instance when the connection was refused or not made in time (nothing
        was processed), and after a read timeout, a broken answer or a 502/504 only when it is idempotent
        (GET, an Idempotency-Key, or declared so).
        """
        headers = _passed_on(headers)
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD") or "Idempotency-Key" in headers
        if json is not None:
            data = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        if params:
            path = f"{path}?{params if isinstance(params, str) else _query(params)}"
        timeout = urllib3.Timeout(connect=self._timeout[0],
                                  read=self._timeout[1] if read_timeout is None else read_timeout)
        last_error = "no instance tried"
        for url in self._candidates():
            try:
                response = self._exchange(url, method, path, data, headers, timeout)
            except ConnectTimeoutError as exc:  # refused, unreachable or not accepted in time: nothing was sent
                self._bench(url)
                last_error = "ConnectionRefused" if isinstance(exc, NewConnectionError) else type(exc).__name__
                continue
            except HTTPError as exc:  # no answer in time, or one that broke off: it may have been processed
                self._bench(url)
                last_error = type(exc).__name__
                if idempotent:
                    continue
                break
            if response.status_code in (502, 504) and idempotent:
                self._bench(url)
                last_error = f"HTTP {response.status_code}"
                continue
            return response
        raise errors.Unavailable(f"the {self.service} service is unavailable ({last_error})",
                                 code="service_unavailable")

    def _exchange(self, url: str, method: str, path: str, body: bytes | None, headers: dict,
                  timeout: urllib3.Timeout) -> Answer:
        """One request to one instance, its answer read whole (so the connection goes back to the pool)."""
        response = self._pools[url].urlopen(method, path, body=body, headers=headers, timeout=timeout,
                                            redirect=False, preload_content=True, assert_same_host=False)
        return Answer(response.status, response.headers, response.data)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


def _passed_on(headers: dict | None) -> dict:
    """``headers`` with the caller's trace context and request id, so the hop joins the caller's trace and
    logs under the same request id."""
    sent = tracing.inject(dict(headers or {}))
    request_id = current_request_id()
    if request_id and "X-Request-ID" not in sent:
        sent["X-Request-ID"] = request_id
    return sent


def _query(params: dict) -> str:
    """``params`` as a query string, as requests wrote it: a None value left out, a list as repeated keys."""
    return urlencode([(name, value) for name, value in params.items() if value is not None], doseq=True)


def _json(response: Answer) -> dict:
    try:
        return response.json()
    except ValueError:
        return {"error": {"code": "bad_gateway", "message": f"non-JSON answer (HTTP {response.status_code})"}}
