"""API commands: ``adloom keys …`` (API keys per tenant) and ``adloom serve`` (the batch API). The client
commands, ``adloom api …``, are in :mod:`adloom.serving.remote_cli`.

The web stack (FastAPI, uvicorn) is imported inside the commands so ``adloom --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar, cast

import typer

F = TypeVar("F", bound=Callable[..., Any])

keys_app = typer.Typer(
    help="API keys: one or more per tenant, shown once, stored only as a hash.", no_args_is_help=True
)


# `serve` comes first: cli.py imports it while this module may still be loading (`python -m adloom.serving.cli`).
def _cli() -> Any:
    from adloom.serving import cli

    return cli


def _friendly(fn: F) -> F:
    return cast(F, _cli()._friendly(fn))


def _store() -> Any:
    from adloom.core.settings import get_settings
    from adloom.serving.scripts_service import open_default_store

    return open_default_store(get_settings())


# -- serve -----------------------------------------------------------------------------------------------------
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers_in_process: Annotated[
        int, typer.Option(help="Render slots of the worker inside this process (0: none; run `adloom worker`).")
    ] = 2,
    webhooks: Annotated[
        bool, typer.Option("--webhooks/--no-webhooks", help="Deliver webhook events from this process.")
    ] = True,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the batch API (and, by default, an in-process worker pool) until interrupted."""
    from adloom.core.errors import InputError

    if not 1 <= port <= 65535:
        raise InputError(f"--port {port}: use 1–65535", field="port")
    if workers_in_process < 0:
        raise InputError(f"--workers-in-process {workers_in_process}: use 0 or more", field="workers_in_process")
    try:
        import uvicorn

        from adloom.serving.api import create_app
    except ImportError as exc:
        raise InputError(f"the API needs its extra: pip install 'adloom[api]' ({exc})") from None
    from adloom.core.settings import get_settings

    settings = get_settings()
    app = create_app(settings, _store(), background=background_services(workers_in_process, webhooks=webhooks))
    typer.echo(f"adloom API on http://{host}:{port}/v1 (OpenAPI at /openapi.json, metrics at /metrics)", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False)


def background_services(workers_in_process: int, *, webhooks: bool = True) -> list[Any]:
    """What runs beside the API in ``adloom serve``, each a :data:`adloom.serving.api.app.BackgroundStarter` the
    app's lifespan starts and stops (:func:`adloom.serving.api.start_background`): the batch worker with
    ``workers_in_process`` render slots (none when 0: then `adloom worker` processes do the rendering), the
    webhook dispatcher that delivers the batches' events, and the sweep that answers conversations' held
    messages once the agent's waiting replies are due."""
    starters: list[Any] = []
    if workers_in_process > 0:

        def start_worker(state: Any) -> Any:
            from adloom.serving.jobs.worker import start_in_process

            return start_in_process(state.store, state.settings, slots=workers_in_process).stop

        starters.append(start_worker)
    if webhooks:

        def start_dispatcher(state: Any) -> Any:
            import threading

            from adloom.serving.jobs.webhooks import WebhookDispatcher

            dispatcher = WebhookDispatcher.from_settings(state.store, state.settings)
            stop = threading.Event()
            thread = dispatcher.run_in_thread(stop)

            def halt() -> None:
                stop.set()
                thread.join(timeout=4 * dispatcher.timeout_s + 5)
                dispatcher.close()

            return halt

        starters.append(start_dispatcher)

    def start_sweeper(state: Any) -> Any:
        import threading

        from adloom.serving.conversation_service import run_sweeper

        stop = threading.Event()
        thread = run_sweeper(state.store, stop, settings=state.settings)

        def halt() -> None:
            stop.set()
            thread.join(timeout=10)

        return halt

    starters.append(start_sweeper)
    return starters


# -- keys ------------------------------------------------------------------------------------------------------
@keys_app.command("create")
@_friendly
def keys_create(
    tenant: Annotated[str, typer.Argument(help="Tenant id (lowercase letters, digits, - and _); created if new.")],
    name: Annotated[str, typer.Option(help="A label to tell this tenant's keys apart.")] = "default",
) -> None:
    """Create an API key for TENANT. The key is printed alone on the last line, this once: store it now."""
    from pydantic import ValidationError

    from adloom.core.errors import InputError
    from adloom.core.types import ApiKeyInfo

    try:
        ApiKeyInfo(tenant_id=tenant, name=name, prefix="adl_")
    except ValidationError:
        raise InputError(
            f"tenant {tenant!r} / name {name!r}: a tenant id is 1–64 lowercase letters, digits, '-' or '_' "
            "starting with a letter or digit, and a name 1–120 characters",
            field="tenant",
        ) from None
    info, key = _store().create_api_key(tenant, name)
    typer.echo(f"API key {info.id} for tenant {tenant} (shown once, only its hash is stored):")
    typer.echo(key)


@keys_app.command("list")
@_friendly
def keys_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
) -> None:
    """Keys by tenant: id, name, prefix, created, last used, revoked (never the key itself)."""
    from rich.table import Table

    table = Table(title="API keys")
    for col in ("id", "tenant", "name", "prefix", "created", "last used", "revoked"):
        table.add_column(col)
    for k in _store().list_api_keys(tenant):
        table.add_row(
            k.id,
            k.tenant_id,
            k.name,
            k.prefix + "…",
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    _cli().console.print(table)


@keys_app.command("revoke")
@_friendly
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id (key_…) from `adloom keys list`.")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    info = _store().revoke_api_key(key_id)
    typer.echo(f"revoked {info.id} ({info.prefix}…) of tenant {info.tenant_id}")
