"""The OpenAPI document of an app's JSON API, generated from its routes, and a readable page of it.

Nothing is written by hand: every route under /api/ and /v1/ (and the health checks) becomes an operation; its path
parameters come from the URL rule, its request body from the pydantic model the view reads with
`web.validation.parse_body(Model)`, its query parameters from the `request.args` it reads, its summary from the
view's docstring. Every operation documents its success as JSON (or the stream / file it returns) and its errors in
the one error shape of web.errors (OpenAI's on /v1). `GET /openapi.json` serves the document; `GET /docs` lists the
operations as a page (no script: readable under the content-security policy).
"""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from quart import Blueprint, Quart, Response, current_app, jsonify

DOCUMENTED_PREFIXES = ("/api/", "/v1/")
DOCUMENTED_PATHS = ("/healthz", "/readyz", "/metrics")
_BODY = re.compile(r"parse_body\((\w+)\)")
_QUERY = re.compile(r"""request\.args\.get\(\s*["'](\w+)["']""")
_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
OPENAI_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "code"],
            "properties": {
                "message": {"type": "string"}, "type": {"type": "string"},
                "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]},
            },
        }
    },
}  # fmt: skip

bp = Blueprint("openapi", __name__)


def _documented(rule: str) -> bool:
    return rule.startswith(DOCUMENTED_PREFIXES) or rule in DOCUMENTED_PATHS


def _source(view: Callable[..., Any]) -> tuple[str, dict[str, Any], str]:
    function = inspect.unwrap(view)
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        source = ""
    return source, getattr(function, "__globals__", {}), inspect.getdoc(function) or ""


def _path_and_parameters(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for converter, name in _CONVERTER.findall(rule):
        schema = {"type": "integer"} if converter == "int" else {"type": "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _CONVERTER.sub(lambda match: "{" + match.group(2) + "}", rule), parameters


def _operation(rule: str, method: str, endpoint: str, view: Callable[..., Any], components: dict[str, Any]) -> dict:
    source, names, doc = _source(view)
    path_parameters = _path_and_parameters(rule)[1]
    query = [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in
             dict.fromkeys(_QUERY.findall(source))]  # fmt: skip
    openai = rule.startswith("/v1/")
    error = {"$ref": "#/components/schemas/OpenAIError" if openai else "#/components/schemas/Error"}
    refused: dict[str, Any] = {"application/json": {"schema": error}}
    if 'content_type="text/plain' in source:
        refused = {**refused, "text/plain": {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {
        "2XX": {"description": "Done", "content": _success_content(rule, source)},
        "4XX": {"description": "Refused, with a machine code", "content": refused},
        "502": {"description": "An upstream or a provider refused", "content": refused},
        "503": {"description": "The store, every upstream or payments are not available", "content": refused},
    }
    operation: dict[str, Any] = {
        "operationId": f"{endpoint}.{method.lower()}",
        "summary": doc.split("\n", 1)[0] or endpoint,
        "parameters": path_parameters + query,
        "responses": responses,
    }
    body = _BODY.search(source)
    model = names.get(body.group(1)) if body else None
    if isinstance(model, type) and issubclass(model, BaseModel) and method in ("POST", "PUT", "PATCH", "DELETE"):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    return operation


def _success_content(rule: str, source: str) -> dict[str, Any]:
    if "stream_response(" in source:
        return {"text/event-stream": {"schema": {"type": "string"}}, "application/json": {"schema": {}}}
    if "text/markdown" in source or rule.endswith("/export"):
        return {"text/markdown": {"schema": {"type": "string"}}, "application/json": {"schema": {}}}
    if rule == "/metrics":
        return {"text/plain": {"schema": {"type": "string"}}}
    if 'content_type="text/plain' in source:  # e.g. a payment gateway's notify, answered as it expects
        return {"text/plain": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": {}}}


def build_document(app: Quart, title: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of `app`'s JSON API."""
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {"Error": ERROR_SCHEMA, "OpenAIError": OPENAI_ERROR_SCHEMA}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not _documented(rule.rule) or rule.endpoint.startswith("openapi."):
            continue
        view = app.view_functions[rule.endpoint]
        path, _ = _path_and_parameters(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule.rule, method, rule.endpoint, view, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "cg_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def _title() -> str:
    return f"{current_app.name} API"


@bp.get("/openapi.json")
async def openapi_json() -> Response:
    """The OpenAPI document of this app's JSON API."""
    document = current_app.extensions.get("openapi.document")
    if document is None:
        document = current_app.extensions["openapi.document"] = build_document(current_app, _title())
    return jsonify(document)


@bp.get("/docs")
async def docs() -> Response:
    """Every operation of this app's JSON API on one page."""
    document = build_document(current_app, _title())
    rows = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            body_name = body.get("$ref", "").rsplit("/", 1)[-1]
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation['summary'])}</td><td>{html.escape(body_name)}</td></tr>"
            )
    page = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(_title())}</title>"
        f"<h1>{html.escape(_title())}</h1><p>The machine-readable document: <a href=/openapi.json>/openapi.json</a>."
        "<table><thead><tr><th>Method<th>Path<th>What it does<th>Body</thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    return Response(page, content_type="text/html; charset=utf-8")
