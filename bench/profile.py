"""`python -m bench profile`: one operation sent many times in-process (the ASGI app over httpx, no network,
no load generator), timed request by request and optionally profiled with pyinstrument. The quick loop for
finding where a request's time goes; `python -m bench run` remains the measurement of record."""

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.database import BenchDatabase
from bench.probe import response_problem
from bench.runner import _prepare
from bench.workload import build
from db.engine import Database
from graph.app import create_app


@dataclass(frozen=True)
class Timing:
    operation: str
    requests: int
    p50_ms: float
    mean_ms: float
    min_ms: float


async def _profile(bench: BenchDatabase, name: str, repeat: int, html: Path | None) -> Timing:
    facts, token = await _prepare(bench, reseed=False)
    [operation] = build(facts, (name,))
    if operation.is_write:
        raise SystemExit("profile times reads; the write mix is measured by `python -m bench run`.")
    database = Database(bench.settings())
    app = create_app(bench.settings(), database=database)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [request.body(operation.document) for request in operation.requests]
    samples: list[float] = []
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:

            async def send(index: int) -> None:
                response = await client.post("/graphql", content=bodies[index % len(bodies)], headers=headers)
                problem = response.status_code != 200 and response.text or response_problem(response.json())
                if problem:
                    raise SystemExit(f"{name}: {problem}")

            for index in range(5):  # warm-up: connections opened, caches filled
                await send(index)
            profiler = None
            if html is not None:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="enabled")
                profiler.start()
            for index in range(repeat):
                started = time.perf_counter()
                await send(index)
                samples.append(time.perf_counter() - started)
            if profiler is not None:
                profiler.stop()
                html.parent.mkdir(parents=True, exist_ok=True)
                html.write_text(profiler.output_html())
                print(profiler.output_text(unicode=True, color=False, show_all=False))
                print(profiler.output_text(unicode=True, color=False, flat=True, show_all=True)[:6000])
    finally:
        await database.dispose()
    return Timing(
        name,
        repeat,
        round(statistics.median(samples) * 1000, 2),
        round(statistics.fmean(samples) * 1000, 2),
        round(min(samples) * 1000, 2),
    )


def profile(bench: BenchDatabase, name: str, repeat: int, html: Path | None) -> Timing:
    return asyncio.run(_profile(bench, name, repeat, html))
