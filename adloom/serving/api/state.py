"""What one API app holds: settings, the root store, metrics, rate limits and per-tenant caches."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from adloom.core.settings import Settings
from adloom.core.storage import Store
from adloom.serving.api.metrics import ApiMetrics
from adloom.serving.api.ratelimit import RateLimiter

if TYPE_CHECKING:
    from adloom.scripts_gen.library.retrieval import LibraryRetriever
    from adloom.scripts_gen.writer import ScriptWriter

Writer = Literal["llm", "template"]


@dataclass
class ApiState:
    """Built by :func:`adloom.serving.api.create_app`; routes reach it through ``request.app.state.api``."""

    settings: Settings
    store: Store
    metrics: ApiMetrics
    limiter: RateLimiter = field(default_factory=RateLimiter)
    #: tenant id → (library size it was built on, retriever)
    _retrievers: dict[str, tuple[int, LibraryRetriever]] = field(default_factory=dict)
    _retriever_lock: threading.Lock = field(default_factory=threading.Lock)
    #: one lock per tenant: a tenant's first search (seeding and embedding its library) does not hold up others
    _tenant_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _room_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _llm: Any = None
    _llm_build_lock: threading.Lock = field(default_factory=threading.Lock)
    #: The embedded LLM is one model in this process: one generation at a time.
    llm_lock: threading.Lock = field(default_factory=threading.Lock)

    def retriever(self, store: Store) -> LibraryRetriever:
        """The retriever over ``store``'s tenant's library, seeding the sample library on the tenant's first
        use; rebuilt when the library's size changed (an import)."""
        from adloom.serving.scripts_service import build_retriever, ensure_library

        with self._retriever_lock:
            lock = self._tenant_locks.setdefault(store.tenant_id, threading.Lock())
        with lock:
            size = ensure_library(store)
            cached = self._retrievers.get(store.tenant_id)
            if cached is not None and cached[0] == size:
                return cached[1]
            retriever = build_retriever(store, self.settings)
            self._retrievers[store.tenant_id] = (size, retriever)
            return retriever

    def room_lock(self, tenant_id: str) -> threading.Lock:
        """Held while a tenant's live room starts, so two starts at once cannot pass its room limit together."""
        with self._retriever_lock:
            return self._room_locks.setdefault(tenant_id, threading.Lock())

    def forget_library(self, tenant_id: str) -> None:
        with self._retriever_lock:
            lock = self._tenant_locks.setdefault(tenant_id, threading.Lock())
        with lock:
            self._retrievers.pop(tenant_id, None)

    def writer(self, kind: Writer | None) -> ScriptWriter:
        """A script writer: the phrase grammar alone (``template``) or the LLM with the grammar as fallback."""
        from adloom.scripts_gen.writer import ScriptWriter

        chosen = kind or self.settings.api_default_writer
        if chosen == "template":
            return ScriptWriter(None, attempts=self.settings.generation_attempts)
        with self._llm_build_lock:
            if self._llm is None:
                from adloom.scripts_gen.llm import get_backend

                self._llm = get_backend(self.settings)
        return ScriptWriter(self._llm, attempts=self.settings.generation_attempts)
