"""What every console page shares: the interface language, the API client, and errors as plain messages.

The console never touches the database: every action goes through :class:`adloom.core.client.AdloomClient`,
to the API at ``$ADLOOM_API_URL`` with ``$ADLOOM_API_KEY``. ``adloom ui`` without those variables starts the
API inside its own process on a loopback port with a key for the local tenant (the CLI's data), so the
in-process default and a remote server are the same code path here.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from adloom.core.client import KEY_ENV, URL_ENV, AdloomClient, ApiError
from adloom.core.errors import AdloomError, BackendUnavailableError, ConfigError, InputError, NotFoundError, QuotaError
from adloom.core.redact import redact
from adloom.ui.i18n import LANGS, Lang, text

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Set by ``adloom ui`` when it hosts the API itself (shown in the sidebar as "local mode").
LOCAL_ENV = "ADLOOM_UI_LOCAL"
#: Default interface language (zh or en); the sidebar switch overrides it for the session.
LANG_ENV = "ADLOOM_UI_LANG"


def lang() -> Lang:
    chosen = st.session_state.get("lang")
    if chosen in LANGS:
        return chosen  # type: ignore[no-any-return]
    default = os.environ.get(LANG_ENV, "zh")
    return default if default in LANGS else "zh"  # type: ignore[return-value]


def t(key: str, **values: object) -> str:
    """The string ``key`` in the session's language."""
    return text(key, lang(), **values)


@st.cache_resource(show_spinner=False)
def _client(url: str, key_digest: str) -> AdloomClient:
    # The digest keys the cache so a changed key makes a new client; the key itself is read again here so it
    # never sits in Streamlit's cache key.
    del key_digest
    return AdloomClient(url, os.environ.get(KEY_ENV), timeout_s=120.0)


def client() -> AdloomClient:
    """The API client for this console (one per URL and key, shared across sessions)."""
    url = os.environ.get(URL_ENV)
    if not url:
        raise ConfigError(t("conn.unreachable", detail=f"{URL_ENV} is not set"))
    if not os.environ.get(KEY_ENV):
        raise ConfigError(t("conn.no_key"))
    return _client(url, hashlib.sha256(os.environ[KEY_ENV].encode()).hexdigest())


def _secrets() -> list[str]:
    return [v for v in (os.environ.get(KEY_ENV),) if v]


def friendly(exc: BaseException) -> str:
    """``exc`` as a message a marketer understands, in the session's language (never a traceback)."""
    detail = redact(str(getattr(exc, "message", None) or exc), _secrets())
    if isinstance(exc, ApiError):
        if exc.status in (401, 403):
            return t("err.bad_key")
        if exc.status == 404:
            return t("err.not_found", detail=detail)
        if exc.status == 429:
            return t("err.rate", seconds=f"{exc.retry_after_s or 60:.0f}")
        if exc.code in ("quota_exceeded", "quota") or "quota" in exc.code:
            return t("err.quota", detail=detail)
        if exc.status >= 500:
            return t("err.server", detail=detail)
        return t("err.input", detail=detail)
    if isinstance(exc, BackendUnavailableError):
        return t("conn.unreachable", detail=detail)
    if isinstance(exc, QuotaError):
        return t("err.quota", detail=detail)
    if isinstance(exc, NotFoundError):
        return t("err.not_found", detail=detail)
    if isinstance(exc, (InputError, ConfigError)):
        return t("err.input", detail=detail) if isinstance(exc, InputError) else detail
    if isinstance(exc, AdloomError):
        return t("err.unexpected", detail=detail)
    return t("err.unexpected", detail=f"{type(exc).__name__}: {detail}")


def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``fn(*args, **kwargs)``, or ``None`` after showing why it failed as an ``st.error`` message.

    Everything the page typed stays in ``st.session_state`` (widgets keep their values), so a failed call loses
    nothing; the full exception goes to the log, not to the page."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # the page must never show a traceback
        log.warning("console action %s failed: %s", getattr(fn, "__name__", fn), redact(repr(exc), _secrets()))
        st.error(friendly(exc), icon=":material/error:")
        return None


def language_switch() -> None:
    """The sidebar's language selector; it takes effect on the same run."""
    current = lang()
    choice = st.sidebar.segmented_control(
        text("app.language", current),
        options=list(LANGS),
        format_func=lambda code: {"zh": "中文", "en": "English"}[code],
        default=current,
        key="lang_choice",
    )
    if choice in LANGS and choice != st.session_state.get("lang"):
        st.session_state["lang"] = choice
        if choice != current:
            st.rerun()
