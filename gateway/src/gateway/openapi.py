"""The OpenAPI 3.1 document, generated from the route table (gateway.api)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from gateway import idempotency
from gateway.api import ID_PARAM, Api, Operation

_PATH_PARAM = re.compile(r"{(\w+)}")

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable reason."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

_ERROR_TEXT = {
    401: "Missing, invalid or expired bearer token.",
    403: "The principal may not do this.",
    404: "No such record in this tenant (another tenant's record looks the same).",
    409: "Conflicts with the current state.",
    413: "Body too large.",
    415: "The media type is not accepted.",
    422: "Invalid input; `errors` names every field.",
    429: "Too many attempts (or, with an API key, too many calls per key or client IP); see Retry-After.",
    503: "A backend service is unavailable.",
}


class _Schemas:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
        for name, definition in schema.pop("$defs", {}).items():
            self.components[name] = definition
        self.components[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": _ERROR_TEXT.get(status, "Error."),
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _operation(op: Operation, schemas: _Schemas) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"} if ID_PARAM.fullmatch(f"{{{name}}}") else {"type": "string"},
        }
        for name in _PATH_PARAM.findall(op.path)
    ]
    if op.query is not None:
        query_schema = op.query.model_json_schema()
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    document: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {},
    }
    if op.permission:
        # Shown to readers and to tools: the permission a role or an API key's scopes must include.
        document["x-permission"] = op.permission
        permission_note = f"Requires the permission `{op.permission}`."
        document["description"] = f"{op.description}\n\n{permission_note}" if op.description else permission_note
    elif op.description:
        document["description"] = op.description
    if op.idempotent:
        parameters.append(
            {
                "name": idempotency.HEADER,
                "in": "header",
                "required": False,
                "description": "Makes a retry safe: the first answer to this key (and this request) is kept for "
                f"{idempotency.KEEP_HOURS} hours and answered again, marked `{idempotency.REPLAYED_HEADER}: true`. "
                "A retry sent while the first request runs waits for its answer (409 IDEMPOTENCY_KEY_IN_USE after "
                f"{idempotency.WAIT_SECONDS:.0f} s); 422 when the key was used for another request.",
                "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
            }
        )
    if parameters:
        document["parameters"] = parameters
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.ref(op.body, "validation")}},
        }
    elif op.upload:
        binary = {"type": "string", "format": "binary"}
        document["requestBody"] = {
            "required": True,
            "content": {
                media: {"schema": {"type": "object", "required": ["file"], "properties": {"file": binary}}}
                if media == "multipart/form-data"
                else {"schema": binary}
                for media in op.upload
            },
        }
    if op.auth == "public":
        document["security"] = []
    elif op.auth == "any":
        document["security"] = [{"staffBearer": []}, {"portalBearer": []}]
    elif op.auth == "staff":
        document["security"] = [{"staffBearer": []}, {"apiKeyBearer": []}]
    else:
        document["security"] = [{f"{op.auth}Bearer": []}]
    if op.response is not None or op.produces:
        content: dict[str, Any] = {}
        if op.response is not None:
            content["application/json"] = {"schema": schemas.ref(op.response, "serialization")}
        for media_type in op.produces:
            as_text = media_type.startswith("text/")
            content[media_type] = {"schema": {"type": "string", **({} if as_text else {"format": "binary"})}}
        document["responses"][str(op.status)] = {"description": op.summary, "content": content}
    elif op.status in (202, 204):  # accepted or done, with nothing to say
        document["responses"][str(op.status)] = {"description": op.summary}
    else:
        document["responses"][str(op.status)] = {
            "description": op.summary,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    error_codes = set(op.errors)
    if op.body is not None or op.query is not None or op.upload:
        error_codes.add(422)
    if op.body is not None:
        error_codes.add(415)
    if op.idempotent:
        error_codes.update({409, 422})
    if op.auth != "public":
        error_codes.update({401, 403})
    if op.auth == "staff":
        error_codes.add(429)  # calls made with an API key are rate limited
    if _PATH_PARAM.search(op.path):
        error_codes.add(404)
    for status in sorted(error_codes):
        document["responses"][str(status)] = _problem_response(status)
    return document


def build_document(api: Api, *, title: str, version: str) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in api.operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    bearer = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Atrium's public REST API. Every error is application/problem+json (RFC 9457).",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "staffBearer": bearer | {"description": "Access token from /api/v1/auth/staff/login."},
                "portalBearer": bearer | {"description": "Access token from /api/v1/auth/portal/login."},
                "apiKeyBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (atrium_sk_...) from /api/v1/api-keys: its scopes are its "
                    "permissions; calls are rate limited per key and per client IP (429 with Retry-After).",
                },
            },
        },
    }
