"""Where a tenant's files live: ``<home>/tenants/<tenant id>/`` (uploads/, reports/, batches/<batch id>/...).

Every path is built with :func:`adloom.core.paths.resolve_inside`, so no user string (a tenant id, an
upload id, an asset path) reaches the filesystem unresolved.
"""

from __future__ import annotations

import re
from pathlib import Path

from adloom.core.errors import InputError, NotFoundError
from adloom.core.paths import resolve_inside
from adloom.core.settings import Settings
from adloom.core.storage import Store

#: How a brief names an uploaded file in an asset path.
UPLOAD_REF = re.compile(r"^upload:(upl_[0-9a-f]{12})$")


def tenants_root(settings: Settings) -> Path:
    return settings.home / "tenants"


def tenant_root(settings: Settings, tenant_id: str, *, create: bool = True) -> Path:
    """The tenant's own folder (created on first use)."""
    root = tenants_root(settings)
    path = resolve_inside(tenant_id, [root], field="tenant")
    if path.parent != root.resolve():
        raise InputError(f"tenant id {tenant_id!r} is not a plain folder name", field="tenant")
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def tenant_subdir(settings: Settings, tenant_id: str, name: str) -> Path:
    """``<tenant>/<name>/`` (uploads, reports, batches, tmp), created on first use."""
    root = tenant_root(settings, tenant_id)
    path = resolve_inside(name, [root], field="folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_file(settings: Settings, store: Store, upload_id: str) -> Path:
    """The stored file of one of ``store``'s tenant's uploads (NotFoundError for another tenant's)."""
    _, rel = store.get_upload(upload_id)
    path = resolve_inside(rel, [tenant_root(settings, store.tenant_id)], field="upload")
    if not path.is_file():
        raise NotFoundError(f"upload {upload_id!r} has no file on this server any more; upload it again")
    return path


def asset_file(settings: Settings, store: Store, ref: str, *, field: str) -> Path:
    """The file an API brief's asset path (``upload:<id>``) names; an InputError naming ``field`` otherwise."""
    m = UPLOAD_REF.match(ref)
    if m is None:
        raise InputError(
            f"{field}: {ref[:80]!r} is not an uploaded file; upload it with POST /v1/uploads and use "
            "'upload:<upload id>' as the path",
            field=field,
        )
    try:
        return upload_file(settings, store, m.group(1))
    except NotFoundError as exc:
        raise InputError(f"{field}: {exc}", field=field) from None
