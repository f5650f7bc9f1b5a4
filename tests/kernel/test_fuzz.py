"""schemathesis over each part's own description: whatever it sends (signed in as a traveller or not), no
answer is a 5xx and none breaks the description (status, content type, body schema).

Bounded for CI: FLIGHTBOOK_FUZZ_EXAMPLES examples per operation (default 5); set it to a few hundred for a
long run: ``FLIGHTBOOK_FUZZ_EXAMPLES=300 python -m pytest tests/kernel/test_fuzz.py``.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from flightbook import wiring
from flightbook.kernel.settings import Settings
from tests.conftest import fresh_databases, make_env

EXAMPLES = int(os.environ.get("FLIGHTBOOK_FUZZ_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _traveller_token(system) -> str:
    from tests.contract.builders import PASSWORD, registration
    flights = system.parts["flights"].contract
    user = flights.register(registration())
    return flights.login(user.username, PASSWORD).token


@pytest.mark.slow
@pytest.mark.parametrize("part", ["flights", "payments", "loyalty", "gateway"])
def test_no_answer_is_a_5xx_or_breaks_the_description(part, tmp_path, request, worker):
    env = make_env(tmp_path, fresh_databases("sqlite", tmp_path, worker, request),
                   FLIGHTBOOK_STRIPE_WEBHOOK_SECRET="whsec_fuzz")
    # the gateway is fuzzed where it dispatches inside its process (everything served there)
    system = wiring.build_system(Settings.from_env(env), serve=None if part == "gateway" else part)
    try:
        app = wiring.create_app(system)
        token = _traveller_token(system) if "flights" in system.parts else None
        # and an admin's, so the admin API answers more than 401/403 (a part alone trusts a signed admin token)
        admin = system.tokens.issue_user_token(10 ** 6, "fuzz-admin", True)[0] if part != "gateway" else None
        # a part's own service token too, so the service-only operations answer more than 403
        service = system.tokens.issue_service_token("payments", part) if part != "gateway" else None
        schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
        failures = []
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            if part == "gateway" and not operation.path.startswith("/api/gateway/"):
                continue
            operations += 1
            for headers in ({}, {"Authorization": f"Bearer {token}"} if token else None,
                            {"Authorization": f"Bearer {service}"} if service else None,
                            {"Authorization": f"Bearer {admin}"} if admin else None):
                if headers is None:
                    continue

                @given(case=operation.as_strategy())
                @settings(max_examples=EXAMPLES, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                def run(case):
                    sent = dict(case.headers or {})
                    sent.update(headers)
                    case.headers = sent
                    case.call_and_validate(checks=CHECKS)

                try:
                    run()
                except Exception as exc:  # one operation's failure must not hide the next one's
                    failures.append(f"{operation.label} ({headers.get('Authorization', 'anonymous')[:20]}): "
                                    f"{str(exc)[:800]}")
        assert operations >= 5
        assert not failures, "\n\n".join(failures)
    finally:
        system.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_gateway_passes_on_a_path_outside_latin_1(api, traveller):
    """Found by the fuzzing above: a percent-encoded non-Latin-1 character in a path dispatched inside the
    gateway was a 500 (WSGI's PATH_INFO carries the UTF-8 bytes as Latin-1 text)."""
    answer = traveller.get("/api/gateway/tickets/%F3%9B%AF%8F")
    assert answer.status_code in (400, 404) and answer.json["error"]["code"]
