"""Typed dependencies of the routes: the app's state, the caller's tenant and a store scoped to it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.core.types import Tenant
from adloom.serving.api.errors import ApiError
from adloom.serving.api.state import ApiState

#: Documents ``Authorization: Bearer KEY`` in the OpenAPI; the check itself runs in the tenant gate.
bearer = HTTPBearer(auto_error=False, description="An API key from `adloom keys create TENANT`.")


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_tenant(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Tenant:
    tenant = getattr(request.state, "tenant", None)
    if not isinstance(tenant, Tenant):
        raise ApiError(401, "missing_api_key", "send your API key as 'Authorization: Bearer KEY'")
    return tenant


TenantDep = Annotated[Tenant, Depends(get_tenant)]


def get_store(state: StateDep, tenant: TenantDep) -> Store:
    """The store as the caller's tenant sees it: another tenant's ids are not found."""
    return state.store.scoped(tenant.id)


StoreDep = Annotated[Store, Depends(get_store)]

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (1–100).")]
After = Annotated[
    str | None,
    Query(max_length=64, description="The last_id of the previous page; omit for the first page."),
]
