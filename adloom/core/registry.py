"""The plugin registry: one table of vendor implementations per kind.

A vendor (an LLM backend, an embedder, a TTS engine) registers a factory under
a name; callers look it up by the name found in settings. Third-party packages
add plugins through the ``adloom.plugins`` entry-point group, whose targets are
imported only when a registry is first asked for a name it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from adloom.core.errors import NotFoundError

T = TypeVar("T")
Factory = Callable[..., T]


class Registry(Generic[T]):
    """Names → factories for one kind of plugin."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Factory[T]] = {}
        self._lazy: dict[str, str] = {}

    def register(self, name: str, factory: Factory[T] | None = None) -> Any:
        """Register ``factory`` under ``name``; usable as a decorator."""

        def add(f: Factory[T]) -> Factory[T]:
            if name in self._factories and self._factories[name] is not f:
                raise ValueError(f"{self.kind} plugin {name!r} is already registered")
            self._factories[name] = f
            return f

        return add(factory) if factory is not None else add

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``"module:attribute"``, imported on first use (keeps heavy imports off start-up)."""
        self._lazy[name] = target

    def names(self) -> list[str]:
        return sorted(set(self._factories) | set(self._lazy))

    def get(self, name: str) -> Factory[T]:
        if name not in self._factories and name not in self._lazy:
            _load_entry_points()
        if name not in self._factories and name in self._lazy:
            module_name, _, attr = self._lazy[name].partition(":")
            module = __import__(module_name, fromlist=[attr])
            self._factories[name] = getattr(module, attr)
        try:
            return self._factories[name]
        except KeyError:
            raise NotFoundError(
                f"no {self.kind} plugin named {name!r}; available: {', '.join(self.names()) or 'none'}"
            ) from None

    def create(self, name: str, /, **kwargs: Any) -> T:
        return self.get(name)(**kwargs)


_entry_points_loaded = False


def _load_entry_points() -> None:
    """Import every ``adloom.plugins`` entry point once; each registers itself on import."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="adloom.plugins"):
        ep.load()


#: The one registry table. Domain packages register their vendors here.
REGISTRIES: dict[str, Registry[Any]] = {
    kind: Registry(kind) for kind in ("llm", "embedder", "tts", "video_model", "renderer")
}


def registry(kind: str) -> Registry[Any]:
    try:
        return REGISTRIES[kind]
    except KeyError:
        raise NotFoundError(f"no plugin kind {kind!r}; kinds: {', '.join(REGISTRIES)}") from None
