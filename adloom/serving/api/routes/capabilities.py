"""``GET /v1/capabilities``: what this server can do that depends on its settings (generated shots), so a client
such as the console offers a choice only where a batch asking for it would be accepted."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter

from adloom.core.errors import InputError
from adloom.core.settings import Settings
from adloom.serving.api.deps import SettingsDep, TenantDep
from adloom.serving.api.models import Capabilities, VideoGeneration
from adloom.serving.api.routes.batches import check_shots

router = APIRouter(prefix="/v1/capabilities", tags=["capabilities"])


def video_generation(settings: Settings) -> VideoGeneration:
    """Whether a batch with generated shots would be accepted: :func:`check_shots` itself (so the rules live in
    one place, ``generated_shots.generation_job``), its refusal as the reason."""
    model = settings.video_model_path
    name = Path(model).name if model is not None else None
    device = settings.video_device.strip().lower() if model is not None else None
    try:
        check_shots(settings, {"generate_missing"})
    except InputError as exc:
        return VideoGeneration(available=False, reason=str(exc), model=name, device=device)
    return VideoGeneration(available=True, model=name, device=device)


@router.get("", response_model=Capabilities)
async def get_capabilities(settings: SettingsDep, _tenant: TenantDep) -> Capabilities:
    """What this server can do: whether render batches may ask for generated shots and, if not, why (the message
    a batch asking for them would get, naming the setting the operator has to change)."""
    video = await anyio.to_thread.run_sync(video_generation, settings)
    return Capabilities(video_generation=video)
