"""The served /openapi.json is valid OpenAPI 3 and documents exactly the routes the app serves."""

from __future__ import annotations

import re
from typing import Any

import httpx
from openapi_spec_validator import validate

from service.app import create_app
from service.config import Config
from stack.processes import Part

_RULE_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def served_document(service: Part) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/openapi.json", timeout=10.0)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return dict(response.json())


def test_served_document_is_valid_openapi_3(service: Part) -> None:
    document = served_document(service)
    assert document["openapi"].startswith("3.0.")
    validate(document)


def test_document_names_every_route_and_no_other(service: Part) -> None:
    # HEAD and OPTIONS are answered for every rule by the framework itself, so they are not documented.
    served = {
        (method, _RULE_PARAM.sub(r"{\1}", rule.rule))
        for rule in create_app(
            Config.from_env({"NODE_ENV": "test"})
        ).url_map.iter_rules()  # routes only: no backends
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {
        (method.upper(), path)
        for path, item in served_document(service)["paths"].items()
        for method in item
        if method in _HTTP_METHODS
    }
    assert served - documented == set(), "routes the document does not describe"
    assert documented - served == set(), "documented operations the app does not serve"
