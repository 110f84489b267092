"""`python -m bench profile`: one read operation sent many times in-process (the ASGI app over httpx: no
network, no load generator), with where each request's time goes, and optionally a pyinstrument profile.
The quick loop for finding what to remove; `python -m bench run` remains the measurement of record.

Reads are served by the read plans (graph/plans/serve.py: the document compiled once into SQL that runs
through the driver directly, db/direct.py), or with `--reference` by the reference path (read plans off:
strawberry resolvers and DataLoaders over SQLAlchemy sessions). Each request's time is split in two, by
timers put around the SQL for this run only:

- SQL round trips: the time spent inside `ReadConnection.fetch_row` (the planned reads' statements, sent
  through the driver; SQLAlchemy's events do not see them) and between the engine's before and after
  cursor-execute events (the statements sent through SQLAlchemy: the reference path's, and any a planned
  request still sends that way). Both are timed on either path. Time during which several statements run
  at once (the reference path's DataLoaders, side by side) counts once: the SQL row is wall time.
- the rest: Python (HTTP and ASGI, parsing and checking the document, binding parameters, turning rows
  into the response), what is left of the whole request.
"""

import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench.database import BenchDatabase
from bench.probe import response_problem
from bench.runner import _prepare
from bench.workload import build
from db.direct import CompiledRead, ReadConnection
from db.engine import Database
from graph.app import create_app, freeze_startup_objects

PHASES = (
    ("request", "whole request, in-process"),
    ("sql", "SQL round trips (driver fetch_row, engine cursor execute; wall time)"),
    ("python", "the rest: Python (HTTP, GraphQL, rows into the response)"),
)


@dataclass(frozen=True)
class Timing:
    operation: str
    path: str  # "read plans" or "reference path"
    requests: int
    p50_ms: dict[str, float]  # per phase
    # Per request (p50): statements sent through the driver (read plans) and through the engine.
    driver_statements: float
    engine_statements: float


class _Clock:
    """Time spent per phase, and statements sent, in the current request."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

        self._in_flight = 0  # SQL statements running now
        self._sql_since = 0.0  # when the first of them started

    def clear(self) -> None:
        self.spent.clear()
        self.counts.clear()
        self._in_flight = 0

    def sql_started(self, kind: str) -> None:
        self.counts[kind] += 1
        if self._in_flight == 0:
            self._sql_since = time.perf_counter()
        self._in_flight += 1

    def sql_ended(self) -> None:
        """Time with at least one statement running counts once: the reference path's DataLoaders run
        statements side by side, on connections of their own."""
        self._in_flight -= 1
        if self._in_flight == 0:
            self.spent["sql"] += time.perf_counter() - self._sql_since

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.spent[name] += time.perf_counter() - started


@contextmanager
def _instrumented(clock: _Clock, database: Database) -> Iterator[None]:
    """The SQL round trips timed into the clock for as long as the block runs: `ReadConnection.fetch_row`
    (patched on the class, restored after) and the engine's cursor-execute events."""
    fetch_row = ReadConnection.fetch_row

    async def timed_fetch_row(
        self: ReadConnection, read: CompiledRead, values: Mapping[str, Any]
    ) -> Any:  # the same signature as ReadConnection.fetch_row
        clock.sql_started("driver")
        try:
            return await fetch_row(self, read, values)
        finally:
            clock.sql_ended()

    def before(_conn: Any, _cursor: Any, _statement: Any, _params: Any, context: Any, _many: Any) -> None:
        context.bench_timed = True
        clock.sql_started("engine")

    def after(_conn: Any, _cursor: Any, _statement: Any, _params: Any, context: Any, _many: Any) -> None:
        if getattr(context, "bench_timed", False):
            context.bench_timed = False
            clock.sql_ended()

    def failed(error: Any) -> None:  # a statement that raised: no after_cursor_execute
        context = error.execution_context
        if context is not None and getattr(context, "bench_timed", False):
            context.bench_timed = False
            clock.sql_ended()

    engine = database.engine.sync_engine
    ReadConnection.fetch_row = timed_fetch_row  # type: ignore[method-assign]
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
    try:
        yield
    finally:
        ReadConnection.fetch_row = fetch_row  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        event.remove(engine, "handle_error", failed)


@dataclass(frozen=True)
class Variant:
    """What the profiled app may do otherwise than when served, to see what a speed measure is worth."""

    reference: bool = False  # True: the reference path (read plans off: INVENTORY_READ_PLANS=false)
    freeze_gc: bool = True  # False: the objects built at startup not frozen (graph/app.py)

    @property
    def path(self) -> str:
        return "reference path" if self.reference else "read plans"


async def _profile(bench: BenchDatabase, name: str, repeat: int, html: Path | None, variant: Variant) -> Timing:
    facts, token = await _prepare(bench, reseed=False)
    [operation] = build(facts, (name,))
    if operation.is_write:
        raise SystemExit("profile times reads; the write mix is measured by `python -m bench run`.")
    settings = bench.settings(read_plans=not variant.reference)
    database = Database(settings)
    clock = _Clock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [request.body(operation.document) for request in operation.requests]
    samples: dict[str, list[float]] = defaultdict(list)
    try:
        with _instrumented(clock, database):
            app = create_app(settings, database=database)
            if variant.freeze_gc:
                freeze_startup_objects()  # as the app's lifespan does when served (ASGITransport runs none)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:

                async def send(index: int) -> None:
                    response = await client.post("/graphql", content=bodies[index % len(bodies)], headers=headers)
                    problem = response.status_code != 200 and response.text or response_problem(response.json())
                    if problem:
                        raise SystemExit(f"{name}: {problem}")

                for index in range(5):  # warm-up: connections opened, plans compiled, caches filled
                    await send(index)
                profiler = None
                if html is not None:
                    from pyinstrument import Profiler

                    profiler = Profiler(async_mode="enabled")
                    profiler.start()
                for index in range(repeat):
                    clock.clear()
                    with clock.phase("request"):
                        await send(index)
                    spent = dict(clock.spent)
                    spent["python"] = spent["request"] - spent.get("sql", 0.0)
                    for phase, _label in PHASES:
                        samples[phase].append(spent.get(phase, 0.0))
                    samples["driver"].append(clock.counts["driver"])
                    samples["engine"].append(clock.counts["engine"])
                if profiler is not None:
                    profiler.stop()
                    html.parent.mkdir(parents=True, exist_ok=True)
                    html.write_text(profiler.output_html())
                    print(profiler.output_text(unicode=True, color=False, show_all=False))
    finally:
        await database.dispose()
    return Timing(
        name,
        variant.path,
        repeat,
        {phase: round(statistics.median(samples[phase]) * 1000, 2) for phase, _ in PHASES},
        statistics.median(samples["driver"]),
        statistics.median(samples["engine"]),
    )


def profile(bench: BenchDatabase, name: str, repeat: int, html: Path | None, variant: Variant = Variant()) -> Timing:
    return asyncio.run(_profile(bench, name, repeat, html, variant))


def markdown(timing: Timing) -> str:
    rows = [f"| {label} | {timing.p50_ms[phase]:,.2f} |" for phase, label in PHASES]
    statements = (
        f"Statements per request, sign-in included (p50): {timing.driver_statements:g} through the driver "
        f"(read plans), {timing.engine_statements:g} through the engine (SQLAlchemy)."
    )
    return "\n".join([f"| {timing.operation} ({timing.path}): phase | p50 ms |", "|---|---|", *rows, "", statements])
