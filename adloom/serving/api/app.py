"""The batch API's FastAPI app: :func:`create_app` builds one on a given settings object and store.

No globals and no work at import time: tests build many apps on temporary stores, and ``adloom serve``
builds one. Routes live under ``/v1`` (``routes/``, one module per resource); the ASGI layers in front of
them are described in :mod:`adloom.serving.api.middleware`, the error shape in
:mod:`adloom.serving.api.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter

from adloom import __version__
from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.types import FeedbackEvent, RenderRequest
from adloom.serving.api.errors import COMMON_ERRORS, install_error_handlers
from adloom.serving.api.metrics import ApiMetrics
from adloom.serving.api.middleware import BodyLimit, RequestContext, TenantGate
from adloom.serving.api.models import BatchCreate
from adloom.serving.api.routes import (
    agents,
    batches,
    briefs,
    campaigns,
    capabilities,
    compliance,
    conversations,
    creatives,
    exports,
    feedback,
    health,
    leads,
    library,
    live,
    live_console,
    ranking,
    reports,
    scripts,
    uploads,
    webhooks,
)
from adloom.serving.api.state import ApiState

log = logging.getLogger("adloom.api")

#: Starts something that runs beside the API in this process (the in-process worker pool of
#: ``adloom serve``) and returns the function that stops it.
BackgroundStarter = Callable[[ApiState], Callable[[], None]]

DESCRIPTION = """\
The adloom batch API: briefs, scripts, render batches, creatives, library, feedback, ranking and reports
for many advertisers on one deployment.

Every route under `/v1` except `/v1/health` needs `Authorization: Bearer KEY` (an operator creates keys with
`adloom keys create TENANT`). Errors are `{"error": {"type", "code", "message", "param"}}`. Lists are pages:
`limit` (1–100) and `after` (the previous page's `last_id`). POSTs accept an `Idempotency-Key` header: a
retry with the same key and body replays the first answer (`Idempotent-Replayed: true`) for 24 h.
"""


#: Request bodies that routes parse themselves (they accept several content types), referenced by name.
BODY_SCHEMAS: tuple[type[BaseModel], ...] = (FeedbackEvent, BatchCreate, RenderRequest)


IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the first answer to this key (and the same request) is replayed for 24 h "
    "with Idempotent-Replayed: true; the key with another request is a 409. 1–255 printable ASCII characters.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
}


def _unique_id(route: APIRoute) -> str:
    return route.name


def start_background(app: FastAPI) -> list[Callable[[], None]]:
    """Start everything registered to run beside the API (``create_app(background=...)``); returns the stop
    functions. The hook ``adloom serve`` uses to run the in-process worker pool with the API."""
    state: ApiState = app.state.api
    starters: Sequence[BackgroundStarter] = app.state.background
    return [start(state) for start in starters]


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the error shape as every error's schema (FastAPI's default 422 body is
    never sent: validation errors are 400s in the one error shape)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        servers=app.servers,
    )
    for path, path_item in schema.get("paths", {}).items():
        for method, op in path_item.items():
            if not isinstance(op, dict):
                continue
            # only FastAPI's own validation 422 goes; a route's documented 422 (review findings, unusable uploads) stays
            if op.get("responses", {}).get("422", {}).get("description") == "Validation Error":
                op["responses"].pop("422")
            if method == "post" and path.startswith("/v1/"):
                op.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
                op["responses"].setdefault(
                    "409",
                    {
                        "description": "The Idempotency-Key was used with a different request, or that request is "
                        "still running.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                    },
                )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for model in BODY_SCHEMAS:  # bodies read by hand (several content types) are documented by reference
        extra = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
        components.update(extra.pop("$defs", {}))
        components[model.__name__] = extra
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings, store: Store, *, background: Sequence[BackgroundStarter] = ()) -> FastAPI:
    """The API on ``store`` (a root store: each request sees it scoped to the caller's tenant)."""
    state = ApiState(settings=settings, store=store, metrics=ApiMetrics(store))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stops = start_background(app)
        try:
            yield
        finally:
            for stop in reversed(stops):
                try:
                    stop()
                except Exception:
                    log.exception("stopping a background service failed")

    app = FastAPI(
        title="adloom",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
        generate_unique_id_function=_unique_id,
    )
    app.state.api = state
    app.state.background = list(background)
    install_error_handlers(app)
    app.include_router(health.router)
    for module in (
        briefs,
        uploads,
        scripts,
        compliance,
        batches,
        creatives,
        exports,
        library,
        feedback,
        ranking,
        reports,
        campaigns,
        webhooks,
        live,
        live_console,
        agents,
        conversations,
        leads,
        capabilities,
    ):
        app.include_router(module.router, responses=COMMON_ERRORS)
    # Starlette wraps in reverse order of adding: the last added is the outermost layer.
    app.add_middleware(TenantGate, state=state)
    app.add_middleware(
        BodyLimit,
        max_body=int(settings.api_max_body_mb * 1_048_576),
        max_upload=int(settings.api_max_upload_mb * 1_048_576),
    )
    app.add_middleware(RequestContext, state=state)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def openapi_json() -> str:
    """The OpenAPI document as committed in ``docs/openapi.json`` (built on an app with no database)."""
    import json

    from sqlalchemy import create_engine

    app = create_app(Settings(), Store(create_engine("sqlite://")))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
