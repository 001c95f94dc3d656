"""Batch API bench: a real `adloom serve` on loopback, driven over HTTP like an ad system would.

Run: ``.venv/bin/python bench/api.py [--lines 10000] [--clients 64] [--seconds 30] [--creatives 4] [--height 720]
[--executors local,ray]``.

Prints, from one run:

1. **submit latency** of a ``--lines``-line JSONL batch (``POST /v1/batches``, ``application/jsonl``), median of
   ``--repeats`` submissions (each batch is cancelled right after; the server runs no worker in this phase, so
   the figure is the API's own work: parsing, validating and storing every line);
2. **status latency**: ``GET /v1/batches/{id}`` from ``--clients`` concurrent clients for ``--seconds``, p50/p99
   and requests per second (a server without workers, as above);
3. **creatives per hour end to end** (template writer, ``--height``): a ``--creatives`` batch for the sample
   brief with its product image uploaded, from submit to ``completed``, on a server whose in-process worker uses
   the local executor (2 processes) and then the Ray executor (a local Ray instance with 2 CPUs), with the ratio.

Everything runs in a temporary ``ADLOOM_HOME`` (the models come from the usual model folder). Figures from one
machine at one time: compare within a run. Needs the ``api`` and ``ray`` extras and assembled models.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "adloom" / "serving" / "samples"
ADLOOM = [sys.executable, "-m", "adloom.serving.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(home: Path, **extra: str) -> dict[str, str]:
    from adloom.core.settings import get_settings

    models = get_settings().model_dir or get_settings().home / "models"  # resolved before HOME moves
    env = {**os.environ, "ADLOOM_HOME": str(home), "ADLOOM_MODEL_DIR": str(models), "PYTHONPATH": str(ROOT)}
    env.update(extra)
    return env


@contextmanager
def _server(home: Path, *, workers: int, **env: str):  # type: ignore[no-untyped-def]
    port = _free_port()
    log = (home / f"serve-{port}.log").open("w")
    cmd = [*ADLOOM, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers-in-process", str(workers)]
    proc = subprocess.Popen(cmd, env=_env(home, **env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"adloom serve exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            raise SystemExit(f"adloom serve did not answer within 120 s; see {log.name}")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _key(home: Path) -> str:
    out = subprocess.run(
        [*ADLOOM, "keys", "create", "bench"], env=_env(home), check=True, capture_output=True, text=True
    )
    key = out.stdout.strip().splitlines()[-1]
    # the bench is an operator: lift the tenant's rate limit and quotas so they do not shape the figures
    from adloom.core.storage import open_store
    from adloom.core.types import TenantQuotas

    store = open_store(f"sqlite:///{home / 'adloom.db'}")
    tenant = store.get_tenant("bench")
    quotas = TenantQuotas(requests_per_minute=10_000_000, creatives_per_day=10_000_000, concurrent_batches=1000)
    store.update_tenant(tenant.model_copy(update={"quotas": quotas}))
    return key


def _check(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        raise SystemExit(f"{r.request.method} {r.request.url.path} → {r.status_code}: {r.text[:400]}")
    return r.json()


def _brief(client: httpx.Client) -> str:
    data = yaml.safe_load((SAMPLES / "brief_en.yaml").read_text(encoding="utf-8"))
    image = SAMPLES / data["assets"][0]["path"]
    with image.open("rb") as f:
        upload = _check(client.post("/v1/uploads", files={"file": (image.name, f, "image/png")}))
    data["assets"][0]["path"] = f"upload:{upload['id']}"
    data.pop("id", None)
    return str(_check(client.post("/v1/briefs", json=data))["id"])


def _submit_latency(client: httpx.Client, brief_id: str, lines: int, repeats: int) -> tuple[list[float], int]:
    body = "\n".join(json.dumps({"custom_id": f"line-{i}", "brief_id": brief_id}) for i in range(lines)) + "\n"
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        batch = _check(client.post("/v1/batches", content=body, headers={"Content-Type": "application/jsonl"}))
        times.append(time.perf_counter() - t)
        assert batch["request_counts"]["total"] == lines, batch
        _check(client.post(f"/v1/batches/{batch['id']}/cancel"))
    return times, len(body.encode())


async def _status_load(url: str, key: str, batch_id: str, clients: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:
        stop = time.perf_counter() + seconds

        async def one() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = await client.get(f"/v1/batches/{batch_id}")
                latencies.append(time.perf_counter() - t)
                errors += r.status_code != 200

        await asyncio.gather(*(one() for _ in range(clients)))
    return latencies, errors


def _throughput(
    home: Path, key: str, brief_id: str, n: int, height: int, executor: str
) -> tuple[float, dict[str, Any]]:
    env = {"ADLOOM_EXECUTOR": executor, "ADLOOM_EXECUTOR_WORKERS": "2"}
    with _server(home, workers=2, **env) as url:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            t = time.perf_counter()
            batch = _check(
                client.post(
                    "/v1/batches",
                    json={"brief_id": brief_id, "n": n, "writer": "template", "height": height},
                )
            )
            while True:
                batch = _check(client.get(f"/v1/batches/{batch['id']}"))
                if batch["status"] in ("completed", "partially_succeeded", "failed", "cancelled", "expired"):
                    break
                time.sleep(1.0)
            elapsed = time.perf_counter() - t
    done = batch["request_counts"]["completed"]
    return (done / elapsed * 3600 if elapsed else 0.0), {"elapsed_s": round(elapsed, 1), **batch["request_counts"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--creatives", type=int, default=4)
    ap.add_argument("--height", type=int, default=720, choices=[360, 720, 1080])
    ap.add_argument("--executors", default="local,ray", help="comma-separated: local, ray")
    args = ap.parse_args()
    print(f"bench/api.py on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="adloom-api-bench-") as tmp:
        home = Path(tmp)
        key = _key(home)
        with _server(home, workers=0) as url:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300) as client:
                brief_id = _brief(client)
                times, size = _submit_latency(client, brief_id, args.lines, args.repeats)
                print(
                    f"submit: {args.lines}-line JSONL ({size / 1e6:.2f} MB) → batch in "
                    f"{statistics.median(times) * 1000:.0f} ms median of {len(times)} "
                    f"(all: {', '.join(f'{x * 1000:.0f}' for x in times)} ms)",
                    flush=True,
                )
                status_batch = _check(client.post("/v1/batches", json={"brief_id": brief_id, "n": 20}))["id"]
            lat, errors = asyncio.run(_status_load(url, key, status_batch, args.clients, args.seconds))
            q = statistics.quantiles(lat, n=100)
            print(
                f"status: GET /v1/batches/{{id}}, {args.clients} clients for {args.seconds:.0f} s: "
                f"{len(lat)} requests ({len(lat) / args.seconds:.0f}/s), p50 {q[49] * 1000:.1f} ms, "
                f"p99 {q[98] * 1000:.1f} ms, non-200: {errors}",
                flush=True,
            )
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
                _check(client.post(f"/v1/batches/{status_batch}/cancel"))
        rates: dict[str, float] = {}
        for executor in [e.strip() for e in args.executors.split(",") if e.strip()]:
            rate, detail = _throughput(home, key, brief_id, args.creatives, args.height, executor)
            rates[executor] = rate
            print(
                f"throughput [{executor} executor, 2 CPUs, template writer, {args.height}p]: "
                f"{rate:.0f} creatives/hour ({detail})",
                flush=True,
            )
        if "local" in rates and "ray" in rates and rates["local"]:
            print(f"ray / local: {rates['ray'] / rates['local']:.2f}")


if __name__ == "__main__":
    main()
