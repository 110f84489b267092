"""`python -m bench profile`: one read operation sent many times in-process (the ASGI app over httpx: no
network, no load generator), with where each request's time goes, and optionally a pyinstrument profile.
The quick loop for finding what to remove; `python -m bench run` remains the measurement of record.

The phases come from timers put around the application's own steps for this run only: strawberry's
parse, validation and execution (a schema extension), the bearer token's look-up, the root field (its
SQL, the rows turned into objects, everything below it loaded ahead), and the SQL statements themselves
(engine events). What execution spends outside the root field and the token look-up is graphql-core and
strawberry walking the loaded objects into the response.
"""

import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import graph.app
import graph.context
import graph.roots
from bench.database import BenchDatabase
from bench.probe import response_problem
from bench.runner import _prepare
from bench.workload import build
from db.engine import Database
from graph.app import create_app, freeze_startup_objects

PHASES = (
    ("request", "whole request, in-process"),
    ("parse", "parse"),
    ("validate", "validation and limits"),
    ("execute", "execution"),
    ("sign_in", "  bearer token look-up (SQL included)"),
    ("root", "  root field: SQL, rows to objects, look-ahead"),
    ("walk", "  walking the objects into the response"),
    ("sql", "SQL statements (driver round trips, all phases)"),
)


@dataclass(frozen=True)
class Timing:
    operation: str
    requests: int
    p50_ms: dict[str, float]  # per phase


class _Clock:
    """Time spent per phase in the current request."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.spent[name] += time.perf_counter() - started


def _phase_extension(clock: _Clock) -> type[SchemaExtension]:
    class Phases(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            with clock.phase("parse"):
                yield

        def on_validate(self) -> Iterator[None]:
            with clock.phase("validate"):
                yield

        def on_execute(self) -> Iterator[None]:
            with clock.phase("execute"):
                yield

    return Phases


def _timed(clock: _Clock, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        with clock.phase(name):
            return await function(*args, **kwargs)

    return timed


@contextmanager
def _instrumented(clock: _Clock, database: Database, direct_executor: bool) -> Iterator[None]:
    """The application's steps wrapped in the clock's timers, for as long as the block runs; without
    `direct_executor`, graphql-core's own executor runs the queries instead of DirectExecutor."""
    build_schema, token_user = graph.app.build_schema, graph.context.token_user
    connection, loaded = graph.roots.connection, graph.roots.loaded

    def with_phases(settings: Any) -> Any:
        schema = build_schema(settings)
        schema.extensions = [_phase_extension(clock), *schema.extensions]  # first: its timers enclose the others
        if not direct_executor:
            schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
        return schema

    def before(_conn: Any, _cursor: Any, _statement: Any, _params: Any, context: Any, _many: Any) -> None:
        context.bench_started = time.perf_counter()

    def after(_conn: Any, _cursor: Any, _statement: Any, _params: Any, context: Any, _many: Any) -> None:
        clock.spent["sql"] += time.perf_counter() - context.bench_started

    graph.app.build_schema = with_phases  # type: ignore[assignment]
    graph.context.token_user = _timed(clock, "sign_in", token_user)  # type: ignore[assignment]
    graph.roots.connection = _timed(clock, "root", connection)  # type: ignore[assignment]
    graph.roots.loaded = _timed(clock, "root", loaded)  # type: ignore[assignment]
    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    event.listen(database.engine.sync_engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        graph.app.build_schema, graph.context.token_user = build_schema, token_user  # type: ignore[assignment]
        graph.roots.connection, graph.roots.loaded = connection, loaded  # type: ignore[assignment]
        event.remove(database.engine.sync_engine, "before_cursor_execute", before)
        event.remove(database.engine.sync_engine, "after_cursor_execute", after)


@dataclass(frozen=True)
class Variant:
    """What the profiled app may do otherwise than when served, to see what a speed measure is worth."""

    direct_executor: bool = True  # False: graphql-core's own executor (graph/execution.py)
    freeze_gc: bool = True  # False: the objects built at startup not frozen (graph/app.py)


async def _profile(bench: BenchDatabase, name: str, repeat: int, html: Path | None, variant: Variant) -> Timing:
    facts, token = await _prepare(bench, reseed=False)
    [operation] = build(facts, (name,))
    if operation.is_write:
        raise SystemExit("profile times reads; the write mix is measured by `python -m bench run`.")
    database = Database(bench.settings())
    clock = _Clock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [request.body(operation.document) for request in operation.requests]
    samples: dict[str, list[float]] = defaultdict(list)
    try:
        with _instrumented(clock, database, variant.direct_executor):
            app = create_app(bench.settings(), database=database)
            if variant.freeze_gc:
                freeze_startup_objects()  # as the app's lifespan does when served (ASGITransport runs none)
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
                    clock.spent.clear()
                    with clock.phase("request"):
                        await send(index)
                    spent = dict(clock.spent)
                    spent["walk"] = spent["execute"] - spent.get("root", 0) - spent.get("sign_in", 0)
                    for phase, _label in PHASES:
                        samples[phase].append(spent.get(phase, 0.0))
                if profiler is not None:
                    profiler.stop()
                    html.parent.mkdir(parents=True, exist_ok=True)
                    html.write_text(profiler.output_html())
                    print(profiler.output_text(unicode=True, color=False, show_all=False))
    finally:
        await database.dispose()
    return Timing(name, repeat, {phase: round(statistics.median(samples[phase]) * 1000, 2) for phase, _ in PHASES})


def profile(bench: BenchDatabase, name: str, repeat: int, html: Path | None, variant: Variant = Variant()) -> Timing:
    return asyncio.run(_profile(bench, name, repeat, html, variant))


def markdown(timing: Timing) -> str:
    rows = [f"| {label} | {timing.p50_ms[phase]:,.2f} |" for phase, label in PHASES]
    return "\n".join([f"| {timing.operation}: phase | p50 ms |", "|---|---|", *rows])
