"""RFC 9457 problem details for every error a service returns."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://syllabus.dev/problems/"
log = logging.getLogger("syllabus.problems")


class Problem(Exception):
    """An error the client can act on, rendered as ``application/problem+json``.

    ``kind`` becomes the problem ``type`` URI (``https://syllabus.dev/problems/<kind>``),
    a stable identifier clients can switch on.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _default_kind(status)
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.extra = extra


def _default_kind(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", kind="not-found")


def not_yet_visible(what: str, ident: object) -> Problem:
    """503 for a request naming an id minted moments ago that this service's projection
    still does not hold after the bounded wait: its event may be on its way (a broker
    failover, a consumer catching up), so that is no evidence the thing does not exist.
    An old or non-v7 id that is unknown stays a 404, at once."""
    return Problem(
        503,
        f"{what} {ident} was created moments ago and is not known here yet; retry shortly",
        kind="not-yet-visible",
        headers={"Retry-After": "1"},
    )


def conflict(detail: str, kind: str = "conflict") -> Problem:
    return Problem(409, detail, kind=kind)


def forbidden(detail: str = "you are not allowed to do this") -> Problem:
    return Problem(403, detail, kind="forbidden")


def invalid(field: Sequence[str | int], message: str, status: int = 422) -> Problem:
    """A validation problem about one field, shaped like request-validation errors
    (``field`` leaves out ``body``, as they do: ``["body", "position"]`` → ``position``)."""
    named = _field_path(field)
    return Problem(
        status,
        message,
        kind="validation-error",
        title="Validation failed",
        errors=[{"loc": list(field), "field": ".".join(str(p) for p in named), "msg": message}],
    )


def require_present(changes: Mapping[str, Any], *names: str) -> None:
    """422 when a PATCH sets one of ``names`` to null (they can change, not disappear)."""
    for name in names:
        if name in changes and changes[name] is None:
            raise invalid(["body", name], f"{name} cannot be null")


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (kind or _default_kind(status)),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _field_path(loc: Sequence[str | int]) -> list[str | int]:
    """A field's path as the client wrote it: without the leading ``body`` (a field that is
    itself called ``body``, e.g. ``content.body``, keeps its name)."""
    return list(loc[1:]) if len(loc) > 1 and loc[0] == "body" else list(loc)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        errors.append(
            {
                "loc": list(err.get("loc", ())),
                "field": ".".join(str(p) for p in _field_path(err.get("loc", ()))),
                "msg": err.get("msg", "invalid"),
                "type": err.get("type", "value_error"),
            }
        )
    return errors


# What every error body looks like (RFC 9457), as published in each service's OpenAPI.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details (application/problem+json).",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}


def document_problems(app: FastAPI) -> None:
    """Publish the errors as they are: every operation answers problem documents (any
    status, ``default``), validation errors (422) included, never FastAPI's own shape."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.get("responses") if isinstance(operation, dict) else None
                if responses is None:
                    continue
                if "422" in responses:
                    responses["422"] = {"description": "Validation failed", "content": content}
                responses.setdefault("default", {"description": "Problem", "content": content})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error, including framework and unexpected ones, a problem document."""
    document_problems(app)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        if exc.status == 503:
            log.warning(
                "%s %s answered 503 (%s): %s",
                request.method,
                request.url.path,
                exc.kind,
                exc.detail,
            )
        return problem_response(
            exc.status,
            exc.detail,
            kind=exc.kind,
            title=exc.title,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        malformed = any(e["type"] in ("json_invalid", "model_attributes_type") for e in errors)
        status = 400 if malformed else 422
        fields = ", ".join(sorted({e["field"] for e in errors if e["field"]})) or "request"
        return problem_response(
            status,
            f"invalid input: {fields}",
            kind="malformed-request" if malformed else "validation-error",
            title="Malformed request" if malformed else "Validation failed",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            exc.status_code,
            str(exc.detail) if exc.detail else HTTPStatus(exc.status_code).phrase,
            instance=request.url.path,
            headers=dict(exc.headers or {}),
        )

    async def _dependency(request: Request, exc: Exception) -> JSONResponse:
        # Database/broker outages are the client's 503, not our 500: answered here, inside
        # the app, so it is one warning with its reason. (A handler for ``Exception`` runs
        # in Starlette's outermost middleware, which re-raises after answering: uvicorn
        # would log every expected 503 as "Exception in ASGI application" with a traceback.)
        if not _is_unavailable(exc):
            raise exc  # a bug, not an outage: the 500 below, with its traceback
        return _unavailable(request, exc)

    for cls in _dependency_errors():
        app.add_exception_handler(cls, _dependency)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if _is_unavailable(exc):
            return _unavailable(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "internal error", kind="internal-error", instance=request.url.path
        )


def _unavailable(request: Request, exc: BaseException) -> JSONResponse:
    log.warning(
        "%s %s answered 503: dependency unavailable: %s",
        request.method,
        request.url.path,
        _reason(exc),
    )
    return problem_response(
        503,
        "a dependency is unavailable; retry shortly",
        kind="unavailable",
        instance=request.url.path,
        headers={"Retry-After": "2"},
    )


def _reason(exc: BaseException) -> str:
    """One line: the exception's type and first line (SQLAlchemy appends SQL and a link)."""
    orig = getattr(exc, "orig", None)
    shown = orig if isinstance(orig, BaseException) else exc
    first = (str(shown).strip().splitlines() or [""])[0]
    return f"{type(shown).__name__}: {first}" if first else type(shown).__name__


def _dependency_errors() -> tuple[type[Exception], ...]:
    """The exception classes an outage raises (handled inside the app, see above)."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return (DBAPIError, PoolTimeout, OSError)


def _is_unavailable(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout | InterfaceError | OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, ConnectionError | OSError)
