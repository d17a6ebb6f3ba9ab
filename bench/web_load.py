"""Load tool for the web chat's /api/ask: throughput and latency percentiles under N concurrent clients.

Not a test. Start the bot first with the per-address limit raised, since every client here is one
address (`WEB_CLIENT_MAX_REQUESTS=1000000 python -m bot run --channel web`), then:

    .venv/bin/python bench/web_load.py --url http://127.0.0.1:8080 --clients 20 --seconds 30

Questions come from the labelled sets in tests/data/eval (cycled), so the load mixes answered and
declined questions, accented and not, like real traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from pathlib import Path

import httpx

EVAL = Path(__file__).resolve().parent.parent / "tests" / "data" / "eval"


def load_questions(directory: Path) -> list[str]:
    questions = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["question"])
    if not questions:
        raise SystemExit(f"no questions found in {directory}")
    return questions


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def client_loop(client: httpx.AsyncClient, questions, deadline: float, results: dict) -> None:
    while time.perf_counter() < deadline:
        question = next(questions)
        started = time.perf_counter()
        try:
            response = await client.post("/api/ask", json={"question": question})
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code == 200:
                results["latency"].append(elapsed)
                results["server"].append(response.json()["latency_ms"])
                results["answered"] += response.json()["answered"]
            else:
                results["errors"].append(response.status_code)
        except httpx.HTTPError as exc:
            results["errors"].append(type(exc).__name__)


async def main(url: str, clients: int, seconds: float, warmup: int) -> dict:
    questions = itertools.cycle(load_questions(EVAL))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        health = (await client.get("/healthz")).json()
        for _ in range(warmup):
            (await client.post("/api/ask", json={"question": next(questions)})).raise_for_status()
        results = {"latency": [], "server": [], "errors": [], "answered": 0}
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(client_loop(client, questions, deadline, results) for _ in range(clients)))
        wall = time.perf_counter() - started
    latency = results["latency"]
    if not latency:
        raise SystemExit(f"no successful request; errors: {results['errors'][:10]}")
    return {
        "url": url,
        "index": health.get("index"),
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": len(latency),
        "errors": len(results["errors"]),
        "answered_share": round(results["answered"] / len(latency), 3),
        "throughput_rps": round(len(latency) / wall, 1),
        "latency_ms": {
            "p50": round(statistics.median(latency), 1),
            "p95": round(percentile(latency, 95), 1),
            "p99": round(percentile(latency, 99), 1),
            "max": round(max(latency), 1),
        },
        "server_engine_ms_p50": round(statistics.median(results["server"]), 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.url, args.clients, args.seconds, args.warmup)), ensure_ascii=False, indent=2))
