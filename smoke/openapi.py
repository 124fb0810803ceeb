"""The deployment's own OpenAPI document, and validation of answers against its response schemas."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from smoke.expect import fail, json_object, label

DOCUMENT_URI = "urn:smoke:openapi"
_PARAM = re.compile(r"\{[^}]*\}")


def operation_key(method: str, path: str) -> str:
    """`GET /a/{x}` whatever the parameter is called: another implementation may name it differently."""
    return f"{method.upper()} {_PARAM.sub('{}', path)}"


def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` is no JSON Schema keyword; spell it as JSON Schema does."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_to_json_schema(value) for key, value in node.items()}
    if out.get("nullable") is not True:
        return out
    del out["nullable"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        return out
    return {"anyOf": [out, {"type": "null"}]}


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


class Document:
    """The document as served; `problem` says why it cannot be used, if it cannot."""

    def __init__(self, response: httpx.Response) -> None:
        self.problem = ""
        self.body: dict[str, Any] = {}
        where = f"{label(response)} answered {response.status_code}"
        try:
            body = response.json() if response.status_code == 200 else None
        except ValueError:
            body = None
        if response.status_code != 200:
            self.problem = f"{where}: the deployment serves no OpenAPI document"
        elif not isinstance(body, dict):
            self.problem = f"{where} with something that is not a JSON object"
        elif not str(body.get("openapi", "")).startswith("3."):
            self.problem = f"{where} with openapi={body.get('openapi')!r}, not an OpenAPI 3 document"
        elif not body.get("paths"):
            self.problem = f"{where} with a document that lists no paths (empty or still being written)"
        else:
            self.body = body
        self._version_31 = str(self.body.get("openapi", "")).startswith("3.1")
        converted = self.body if self._version_31 else _nullable_to_json_schema(self.body)
        spec = DRAFT202012 if self._version_31 else DRAFT4
        self._registry: Registry[Any] = Registry().with_resource(
            DOCUMENT_URI, Resource.from_contents(converted, default_specification=spec)
        )
        self._paths = {_PARAM.sub("{}", path): path for path in self.body.get("paths", {})}

    def operations(self) -> set[str]:
        return {
            operation_key(method, path)
            for path, item in self.body.get("paths", {}).items()
            for method in item
            if method in ("get", "put", "post", "delete", "patch")
        }

    def _schema_pointer(self, method: str, template: str, status: int) -> str:
        """JSON pointer to the schema of that answer, or fail saying what the document lacks."""
        path = self._paths.get(_PARAM.sub("{}", template), "")
        operation = self.body["paths"].get(path, {}).get(method.lower())
        if operation is None:
            fail(f"the OpenAPI document has no operation {method} {template}")
        responses = operation.get("responses", {})
        code = next((c for c in (str(status), f"{status // 100}XX", "default") if c in responses), None)
        if code is None:
            fail(f"the OpenAPI document has no {status} response for {method} {template}")
        answer = responses[code]
        parts = ["paths", path, method.lower(), "responses", code]
        if "$ref" in answer:  # a shared response under components/responses
            parts = [_unescape(p) for p in answer["$ref"].removeprefix("#/").split("/")]
            answer = self.body
            for part in parts:
                answer = answer[part]
        if "application/json" not in answer.get("content", {}):
            fail(f"the OpenAPI document gives no JSON schema for {status} of {method} {template}")
        return "".join(f"/{_escape(p)}" for p in [*parts, "content", "application/json", "schema"])

    def validate(self, template: str, response: httpx.Response) -> None:
        """The body must match the document's schema for this operation and status."""
        if self.problem:
            fail(f"cannot validate {label(response)}: {self.problem}")
        method = response.request.method
        pointer = self._schema_pointer(method, template, response.status_code)
        root = {"$ref": f"{DOCUMENT_URI}#{quote(pointer, safe='/~')}"}
        validator_class = Draft202012Validator if self._version_31 else Draft4Validator
        # Every format jsonschema knows (uuid, date...), not only the draft's own: OpenAPI uses them all.
        validator = validator_class(root, registry=self._registry, format_checker=FormatChecker())
        errors = list(validator.iter_errors(json_object(response)))
        if errors:
            worst = best_match(errors)
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            fail(
                f"{label(response)} answered {response.status_code} off its OpenAPI schema: "
                f"at {worst.json_path}: {worst.message}{more}"
            )
