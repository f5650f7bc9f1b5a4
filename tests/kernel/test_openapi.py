"""The OpenAPI description cannot drift from the code: every route the Falcon router holds, each of its
methods, the query parameters and body fields its responder reads, its path parameters and the success
statuses it sets are in the description (and nothing the router lacks is described)."""
from __future__ import annotations

import ast
import inspect
import re
import textwrap

import falcon.testing
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_spec

from flightbook import MODULES, wiring
from flightbook.gateway import api as gateway_api
from flightbook.kernel.settings import Settings
from tests.conftest import fresh_databases, make_env

METHODS = ("get", "post", "put", "patch", "delete")
_VALIDATORS = {"text", "email", "integer", "date", "choice", "money"}


@pytest.fixture(scope="module")
def whole(tmp_path_factory, request, worker):
    """Everything in one process, on SQLite."""
    tmp = tmp_path_factory.mktemp("openapi")
    system = wiring.build_system(Settings.from_env(make_env(tmp, fresh_databases("sqlite", tmp, worker, request))))
    app = wiring.create_app(system)
    yield system, app
    system.close()


def routes(app) -> list[tuple[str, object]]:
    found = []

    def walk(nodes):
        for node in nodes:
            if node.resource is not None:
                found.append((node.uri_template, node.resource))
            walk(node.children)
    walk(app._router._roots)
    return found


def openapi_path(template: str) -> str:
    """A Falcon template as OpenAPI writes it: ``{flight_id:int}`` (a converter) is ``{flight_id}``."""
    return re.sub(r"{(\w+):[^}]*}", r"{\1}", template)


def described_routes(app):
    """(template, resource) of every route but the gateway's web pages (the description covers the API)."""
    return [(t, r) for t, r in routes(app) if not type(r).__module__.startswith("flightbook.gateway.")
            or t.startswith("/api/")]


# ---------------------------------------------------------------- what a responder reads, by its source

def _module_functions(module) -> dict:
    tree = ast.parse(inspect.getsource(module))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _kind_of(expr, env: dict) -> str | None:
    if isinstance(expr, ast.Name):
        return env.get(expr.id)
    if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
            and isinstance(expr.func.value, ast.Name) and expr.func.value.id == "validate"):
        return {"query": "query", "body": "body"}.get(expr.func.attr)
    return None


def reads(function: ast.FunctionDef, env: dict, helpers: dict, seen=None) -> tuple[set, set]:
    """(fields read, statuses set) by ``function``: fields as (``query``|``body``, name)."""
    seen = set() if seen is None else seen
    env = dict(env)
    fields: set = set()
    statuses: set = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            kind = _kind_of(node.value, env)
            if kind:
                env[node.targets[0].id] = kind
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "status"
                                                for t in node.targets):
            if isinstance(node.value, ast.Attribute) and node.value.attr.startswith("HTTP_"):
                statuses.add(int(node.value.attr[5:8]))
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id == "validate" and func.attr in _VALIDATORS and node.args:
                kind = _kind_of(node.args[0], env)
                if kind:
                    name = node.args[1] if len(node.args) > 1 else ast.Constant("email" if func.attr == "email" else "")
                    if isinstance(name, ast.Constant) and name.value:
                        fields.add((kind, name.value))
            elif func.attr == "get" and env.get(func.value.id) and node.args and isinstance(node.args[0], ast.Constant):
                fields.add((env[func.value.id], node.args[0].value))
        if isinstance(func, ast.Name) and func.id in helpers and func.id not in seen:
            helper = helpers[func.id]
            inner = {}
            for arg, param in zip(node.args, helper.args.args):
                kind = _kind_of(arg, env)
                if kind:
                    inner[param.arg] = kind
            if inner:
                more_fields, more_statuses = reads(helper, inner, helpers, seen | {func.id})
                fields |= more_fields
                statuses |= more_statuses
            else:
                statuses |= reads(helper, {}, helpers, seen | {func.id})[1]
    return fields, statuses


def responder_reads(resource, method: str) -> tuple[set, set, bool]:
    """What ``on_<method>`` of ``resource`` reads and sets; and whether it always sets its status itself."""
    module = inspect.getmodule(type(resource))
    function = ast.parse(textwrap.dedent(inspect.getsource(getattr(type(resource), f"on_{method}")))).body[0]
    fields, statuses = reads(function, {}, _module_functions(module))
    sets_at_top = any(isinstance(n, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "status"
                                                        for t in n.targets) for n in function.body)
    return fields, statuses, sets_at_top


def _body_properties(operation: dict, schemas: dict) -> set:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in body:
        body = schemas[body["$ref"].rsplit("/", 1)[-1]]
    return set(body.get("properties", {}))


def test_the_description_is_valid_openapi_3_1(whole):
    system, _ = whole
    document = wiring.api_description(system)
    assert document["openapi"] == "3.1.0"
    validate_spec(document)


def test_every_route_method_parameter_and_status_is_described(whole):
    system, app = whole
    document = wiring.api_description(system)
    paths, schemas = document["paths"], document["components"]["schemas"]
    missing = []
    for falcon_template, resource in described_routes(app):
        template = openapi_path(falcon_template)
        if template not in paths:
            missing.append(f"{template}: no path")
            continue
        for method in METHODS:
            if not hasattr(resource, f"on_{method}"):
                continue
            operation = paths[template].get(method)
            if operation is None:
                missing.append(f"{method.upper()} {template}: no operation")
                continue
            params = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
            for name in re.findall(r"{(\w+)}", template):
                if ("path", name) not in params:
                    missing.append(f"{method.upper()} {template}: path parameter {name}")
            fields, statuses, sets_at_top = responder_reads(resource, method)
            body = _body_properties(operation, schemas)
            for kind, name in sorted(fields):
                if kind == "query" and ("query", name) not in params:
                    missing.append(f"{method.upper()} {template}: query parameter {name}")
                if kind == "body" and name not in body:
                    missing.append(f"{method.upper()} {template}: body field {name}")
            for status in statuses | (set() if sets_at_top else {200}):
                if str(status) not in operation["responses"]:
                    missing.append(f"{method.upper()} {template}: status {status}")
    assert not missing, "\n".join(missing)


def answers(document: dict):
    """(operation as ``METHOD path``, status, answer) of every answer the description lists."""
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                yield f"{method.upper()} {template}", status, answer


def test_every_answer_shows_an_example_that_fits_its_schema(whole):
    system, _ = whole
    document = wiring.api_description(system)
    components = document["components"]
    wrong = []
    for operation, status, answer in answers(document):
        for media_type, media in answer.get("content", {}).items():
            if "example" not in media:
                wrong.append(f"{operation} {status} {media_type}: no example")
            elif media_type == "application/json":
                # the schema checked with the document's components beside it, so its $refs resolve
                schema = {**media["schema"], "components": components}
                for error in jsonschema.Draft202012Validator(schema).iter_errors(media["example"]):
                    wrong.append(f"{operation} {status}: example {error.json_path}: {error.message}")
    assert not wrong, "\n".join(wrong[:40])


def test_every_answer_names_its_request_id_and_when_to_retry(whole):
    system, _ = whole
    document = wiring.api_description(system)
    headers = document["components"]["headers"]
    assert headers["Retry-After"]["schema"]["type"] == "integer"
    missing = [f"{operation} {status}" for operation, status, answer in answers(document)
               if "X-Request-ID" not in answer.get("headers", {})]
    assert not missing, missing[:20]
    retried = {(operation, status) for operation, status, answer in answers(document)
               if "Retry-After" in answer.get("headers", {})}
    assert {("POST /api/users/login", "429"), ("POST /api/gateway/users/login", "429"),
            ("POST /api/payments/process", "409"), ("POST /api/gateway/payments/process", "409"),
            ("POST /api/payments/refund", "409")} <= retried
    assert all(status in ("409", "429") for _, status in retried), retried


def test_nothing_is_described_that_the_router_lacks(whole):
    system, app = whole
    document = wiring.api_description(system)
    served = {openapi_path(template): resource for template, resource in routes(app)}
    stale = []
    for template, operations in document["paths"].items():
        if template == "/metrics" or template.startswith("/api/gateway/"):
            continue  # answered by the middleware / the gateway's sink
        if template not in served:
            stale.append(template)
            continue
        stale += [f"{m.upper()} {template}" for m in operations if not hasattr(served[template], f"on_{m}")]
    assert not stale, stale


def test_the_gateway_mirrors_every_module_route_under_api_gateway(whole):
    system, app = whole
    paths = wiring.api_description(system)["paths"]
    module_routes = [openapi_path(t) for t, r in routes(app) if type(r).__module__.startswith("flightbook.modules.")]
    assert module_routes
    for template in module_routes:
        mirrored = "/api/gateway/" + template[len("/api/"):]
        if template.split("/")[2] not in gateway_api.OWNERS:  # e.g. /api/admin/...: the gateway answers 404
            assert mirrored not in paths, mirrored
            assert falcon.testing.TestClient(app).simulate_get(mirrored).status_code == 404, mirrored
            continue
        assert set(paths[mirrored]) == set(paths[template]), template
        for operation in paths[mirrored].values():
            if operation["security"]:
                assert any("session" in s for s in operation["security"]), mirrored


def test_each_part_serves_its_description_and_docs(whole, tmp_path, request, worker):
    system, app = whole
    client = falcon.testing.TestClient(app)
    served = client.simulate_get("/openapi.json")
    assert served.status_code == 200 and served.json["paths"]["/api/flights/search"]["get"]
    page = client.simulate_get("/api/docs")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text and "//cdn" not in page.text
    script = client.simulate_get("/api/docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert client.simulate_get("/api/docs/../../etc/passwd").status_code == 404
    # a module served alone describes itself and not the others
    for module in MODULES:
        alone = wiring.build_system(system.settings, serve=module)
        try:
            paths = wiring.api_description(alone)["paths"]
        finally:
            alone.close()
        assert any(p.startswith(f"/api/{'tickets' if module == 'flights' else module}") for p in paths)
        assert not any(p.startswith("/api/gateway/") for p in paths)
        others = {"payments": "/api/payments/process", "loyalty": "/api/loyalty/earn",
                  "flights": "/api/flights/book"}
        assert all(path not in paths for name, path in others.items() if name != module)
