"""``GET /v1/health`` (no key needed) and ``GET /metrics`` (Prometheus text)."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from adloom import __version__
from adloom.core.errors import StorageError
from adloom.serving.api.deps import StateDep
from adloom.serving.api.metrics import CONTENT_TYPE
from adloom.serving.api.models import Health

router = APIRouter()


@router.get(
    "/v1/health",
    response_model=Health,
    tags=["health"],
    responses={503: {"model": Health, "description": "The database does not answer."}},
)
async def health(state: StateDep) -> Response:
    """Liveness and the database's reachability; needs no API key."""
    try:
        await anyio.to_thread.run_sync(state.store.ping)
        body = Health(status="ok", version=__version__, database="ok")
        return JSONResponse(body.model_dump(mode="json"))
    except StorageError:
        body = Health(status="degraded", version=__version__, database="unavailable")
        return JSONResponse(body.model_dump(mode="json"), status_code=503)


@router.get(
    "/metrics",
    tags=["health"],
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text."}},
)
async def metrics(state: StateDep) -> Response:
    """Request counts and latencies by route template and status; batches and items by state."""
    data = await anyio.to_thread.run_sync(state.metrics.render)
    return Response(data, media_type=CONTENT_TYPE)
