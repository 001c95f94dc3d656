"""Serve a GGUF model over llama-cpp-python's OpenAI-compatible HTTP server, loaded as our in-process backend loads it.

``python -m adloom.scripts_gen.llm.serve --model M.gguf --host 127.0.0.1 --port 8080`` takes every option of
``python -m llama_cpp.server``; the only difference is that the model loads with llama.cpp's extra CPU buffer
types off (see :func:`adloom.scripts_gen.llm.llamacpp._without_extra_buffer_types`), which on AMX Xeons in a
sandbox is the difference between a server and a segfault at the first request. Point
``ADLOOM_LLM_BACKEND=openai`` and ``ADLOOM_LLM_URL=http://127.0.0.1:8080/v1`` at it.
"""

from __future__ import annotations

from adloom.scripts_gen.llm.llamacpp import _without_extra_buffer_types


def main() -> None:
    """Run llama-cpp-python's server (its own argument parsing) with our model-load settings."""
    from llama_cpp.server.__main__ import main as server_main

    with _without_extra_buffer_types():
        server_main()


if __name__ == "__main__":
    main()
