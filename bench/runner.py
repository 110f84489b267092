"""`python -m bench run`: prepare the bench database, measure statements and floors in-process, then load
each operation with wrk at each concurrency on the API, on the same API's reference path (read plans off;
read operations) and on PostGraphile (PostgreSQL), back to back, and write the results."""

import asyncio
import dataclasses
import importlib
import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import text

from bench import database as bench_db
from bench import floors, load, report, server
from bench.database import OUT_DIR, BenchDatabase
from bench.probe import Probe, probe, response_problem
from bench.workload import STATEMENTS, Facts, Operation, build, read_facts
from db.engine import Database
from graph.schema import build_schema

console = Console()


@dataclasses.dataclass(frozen=True)
class RunOptions:
    duration: float
    warmup: float
    concurrency: tuple[int, ...]
    workers: int
    operations: tuple[str, ...]
    reseed: bool
    postgraphile: bool
    record: bool
    reference: bool = True  # also load the reads on the reference path (INVENTORY_READ_PLANS=false)


def run(bench: BenchDatabase, options: RunOptions) -> dict[str, Any]:
    load.require_wrk()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    notes: list[str] = []
    facts, token = asyncio.run(_prepare(bench, options.reseed))
    operations = build(facts, options.operations)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    results: dict[str, Any] = {
        "db": bench.kind,
        "command": "python -m bench " + shlex.join(sys.argv[1:]),
        "started": started,
        "machine": report.machine(asyncio.run(_postgres_version(bench))),
        "dataset": {
            "products": facts.products,
            "transactions": asyncio.run(_ledger_size(bench)),
            "spec": dataclasses.asdict(bench.spec),
            "far_page_offset": facts.far_offset,
        },
        "settings": {
            "duration": options.duration,
            "warmup": options.warmup,
            "concurrency": list(options.concurrency),
            "workers": options.workers,
        },
        "operations": {op.name: {} for op in operations},
        "notes": notes,
    }

    console.rule("SQL statements per request and the floors (in-process)")
    probes = asyncio.run(probe(bench, operations, token))
    sdl = build_schema(bench.settings()).as_str()
    differing = []
    for op in operations:
        entry, found = results["operations"][op.name], probes[op.name]
        entry["sql_statements"] = found.statements
        entry["sign_in_statements"] = found.sign_in_statements
        expected = STATEMENTS[op.name][bench.dialect]
        if tuple(found.statements) != expected:
            differing.append(f"{op.name} {found.statements} (tests: {list(expected)})")
        entry["floors"] = asyncio.run(_floors(bench, op, found, sdl))
        console.print(f"{op.name}: {found.statements} statements; floors {entry['floors']}")
    notes.append(
        "SQL/req differs from tests/test_bench_operations.py: " + "; ".join(differing)
        if differing
        else "SQL/req: each count is the one tests/test_bench_operations.py holds the API to "
        "(bench/workload.STATEMENTS)."
    )

    targets = [_ours(bench, options)]
    if options.reference:
        targets.append(_reference(bench, options))
        notes.append(
            "Reference path: the same API with read plans off (INVENTORY_READ_PLANS=false): strawberry "
            "resolvers and DataLoaders. Read operations only (writes take the same path either way)."
        )
    else:
        notes.append("The reference path was left out (--no-reference).")
    if bench.kind == "postgres" and options.postgraphile:
        target = _postgraphile(bench, facts, operations, options, notes)
        if target is not None:
            targets.append(target)
    elif bench.kind == "postgres":
        notes.append("PostGraphile was left out (--no-postgraphile).")
    else:
        notes.append("PostGraphile serves PostgreSQL only: no PostGraphile rows on SQLite.")
    _load_interleaved(operations, targets, headers, options, results)
    notes.append(
        "Each operation is loaded on every server back to back (" + ", then ".join(t.key for t in targets) + "), "
        "each server started for it alone, so that a machine whose speed drifts over the run weighs on all of "
        "them alike."
    )
    if bench.kind == "postgres":
        notes.append(
            "SQL floor: catalog_page and far_page in 5 statements (page, count, categories with parents, "
            "offers with suppliers, stock with warehouses); deep_nested in 4 (categories, products per "
            "category, offers with suppliers, offers per supplier with product). Execution floor: graphql-core "
            "executing the parsed, validated document over the response held as dicts."
        )

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"results-{bench.kind}.json").write_text(json.dumps(results, indent=2, default=str))
    markdown = report.markdown(results)
    (OUT_DIR / f"results-{bench.kind}.md").write_text(markdown)
    if options.record:
        report.record(results)
    console.rule("Results")
    console.print(markdown, markup=False, highlight=False)
    console.print(
        f"Written: {OUT_DIR / f'results-{bench.kind}.json'}, {OUT_DIR / f'results-{bench.kind}.md'}"
        + (f", {report.RESULTS_MD}" if options.record else "")
    )
    return results


async def _prepare(bench: BenchDatabase, reseed: bool) -> tuple[Facts, str]:
    """The bench database migrated and holding the dataset (seeded when empty); its facts and a token."""
    if reseed:
        console.print(f"Recreating {bench.url}")
        await bench_db.recreate(bench)
    await bench_db.ensure_exists(bench)
    found = await bench_db.contents(bench)
    if found.products == 0:
        console.print(f"Seeding {bench.url} with {bench.spec}")
        await asyncio.to_thread(bench_db.seed, bench)
        await bench_db.vacuum(bench)
    elif not found.matches(bench.spec):
        raise SystemExit(
            f"{bench.url} holds {found.products:,} products and {found.transactions:,} ledger entries, not the "
            f"{bench.spec.products:,} and {bench.spec.transactions:,} asked for: pass --reseed to rebuild it."
        )
    token = await bench_db.bench_token(bench)
    database = Database(bench.settings())
    try:
        async with database.read_session() as session:
            facts = await read_facts(session)
    finally:
        await database.dispose()
    return facts, token


async def _postgres_version(bench: BenchDatabase) -> str | None:
    if bench.kind != "postgres":
        return None
    database = Database(bench.settings())
    try:
        async with database.engine.connect() as conn:
            return str(await conn.scalar(text("SHOW server_version")))
    finally:
        await database.dispose()


async def _ledger_size(bench: BenchDatabase) -> int:
    return (await bench_db.contents(bench)).transactions


async def _floors(bench: BenchDatabase, op: Operation, found: Probe, sdl: str) -> dict[str, Any]:
    if op.is_write:
        return {}
    variables, data = op.requests[0].variables, found.responses[0]["data"]
    result: dict[str, Any] = {"execution_ms": floors.execution_floor(sdl, op.document, variables, data)}
    if bench.kind == "postgres" and op.name in floors.SQL_FLOORS:
        result["sql_ms"] = await floors.sql_floor(bench.libpq_url, op.name, variables, data)
        result["sql_statements"] = floors.FLOOR_STATEMENTS[op.name]
    return result


def _our_bodies(op: Operation) -> list[bytes]:
    return [request.body(op.document) for request in op.requests]


def _check_over_http(url: str, op: Operation, headers: dict[str, str], bodies: list[bytes] | None = None) -> None:
    """A sample of the requests the load will send, answered without errors, or the run stops here."""
    samples = (
        bodies
        if bodies is not None
        else [r.body(op.document, key=f"check-{time.time_ns()}-{i}") for i, r in enumerate(op.requests[:2])]
    )
    for body in samples[:2]:
        response = httpx.post(url, content=body, headers=headers, timeout=120)
        problem = f"HTTP {response.status_code}" if response.status_code != 200 else response_problem(response.json())
        if problem:
            raise SystemExit(f"{op.name} fails at {url}: {problem}")


@dataclasses.dataclass
class Target:
    """A server the operations are loaded on: started for each operation in turn, then stopped."""

    key: str  # its rows in the results: "ours", "reference" or "postgraphile"
    start: Callable[[], tuple[Any, str]]  # → (its process, its GraphQL URL)
    stop: Callable[[Any], None]
    serves: Callable[[Operation], bool]
    bodies_of: Callable[[Operation, str], list[bytes]]  # an operation's request bodies, given the server's URL
    optional: bool = False  # a comparison: when it fails, a note says why its row is missing and the run goes on


def _load_interleaved(
    operations: list[Operation],
    targets: list[Target],
    headers: dict[str, str],
    options: RunOptions,
    results: dict[str, Any],
) -> None:
    """Each operation on each target in turn, at each concurrency."""
    for op in operations:
        for target in targets:
            if not target.serves(op):
                continue
            console.rule(f"{op.name}: {target.key}")
            try:
                process, url = target.start()
            except Exception as error:
                if not target.optional:
                    raise
                results["notes"].append(f"{target.key} {op.name}: the server did not start ({error}).")
                continue
            try:
                bodies = target.bodies_of(op, url)
                _check_over_http(url, op, headers, None if op.is_write else bodies)
                _load(url, op, bodies, headers, options, process.pid, results, target.key)
            except (SystemExit, Exception) as error:
                if not target.optional:
                    raise
                results["notes"].append(f"{target.key} {op.name}: {error}")
            finally:
                target.stop(process)


def _load(
    url: str,
    op: Operation,
    bodies: list[bytes],
    headers: dict[str, str],
    options: RunOptions,
    pid: int,
    results: dict[str, Any],
    key: str,
) -> None:
    run_id = f"bench{time.time_ns()}"
    for concurrency in options.concurrency:
        if options.warmup > 0:
            load.run_wrk(
                url, bodies, headers, concurrency=concurrency, seconds=options.warmup, run_id=f"{run_id}w{concurrency}"
            )
        with load.RssSampler(pid) as rss:
            outcome = load.run_wrk(
                url, bodies, headers, concurrency=concurrency, seconds=options.duration,
                run_id=f"{run_id}c{concurrency}",
            )
        outcome.rss_mb = rss.summary()
        # Requests still in the server when wrk stopped would slow the next run down: let them finish.
        if not load.wait_idle(pid):
            results["notes"].append(f"{key} {op.name} c={concurrency}: the server was still busy 90 s after the run.")
        if outcome.requests == 0:
            results["notes"].append(
                f"{key} {op.name} c={concurrency}: no request completed within the {options.duration:g} s run."
            )
        results["operations"][op.name].setdefault(key, {})[str(concurrency)] = dataclasses.asdict(outcome)
        console.print(
            f"{key} {op.name} c={concurrency}: {outcome.requests_per_second:,.1f} req/s, "
            f"p50 {outcome.p50_ms:.2f} ms, p99 {outcome.p99_ms:.2f} ms, errors {outcome.errors}, "
            f"RSS {outcome.rss_mb['start']:.0f}→{outcome.rss_mb['end']:.0f} MiB"
        )


def _api(bench: BenchDatabase, options: RunOptions, env: dict[str, str] | None = None) -> Callable[[], tuple[Any, str]]:
    def start() -> tuple[Any, str]:
        port = server.free_port()
        return server.start(bench, port=port, workers=options.workers, env=env), f"http://127.0.0.1:{port}/graphql"

    return start


def _ours(bench: BenchDatabase, options: RunOptions) -> Target:
    return Target(
        key="ours",
        start=_api(bench, options),
        stop=server.stop,
        serves=lambda op: True,
        bodies_of=lambda op, _url: _our_bodies(op),
    )


# The environment of the API server that serves reads on the reference path (db/config.py).
REFERENCE_ENV = {"INVENTORY_READ_PLANS": "false"}


def _reference(bench: BenchDatabase, options: RunOptions) -> Target:
    """The read operations on the API with read plans off: strawberry resolvers and DataLoaders. Writes take
    the same path either way, so they are not run again."""
    return Target(
        key="reference",
        start=_api(bench, options, REFERENCE_ENV),
        stop=server.stop,
        serves=lambda op: not op.is_write,
        bodies_of=lambda op, _url: _our_bodies(op),
    )


def _postgraphile(
    bench: BenchDatabase, facts: Facts, operations: list[Operation], options: RunOptions, notes: list[str]
) -> Target | None:
    """The same load on PostGraphile (bench/postgraphile), installed first if need be."""
    try:
        pg = importlib.import_module("bench.postgraphile")
        if not pg.available():
            pg.install()
    except Exception as error:  # noqa: BLE001 - the comparison is optional; say why it is missing
        notes.append(f"PostGraphile rows are missing: it could not be installed ({error}).")
        return None
    far_cursor: list[str] = []  # PostGraphile's own cursor for the far page, asked of it once

    def start() -> tuple[Any, str]:
        port = server.free_port()
        process = pg.start(bench.libpq_url, port, workers=options.workers, log_path=OUT_DIR / "postgraphile.log")
        return process, pg.endpoint(port)

    def bodies_of(op: Operation, url: str) -> list[bytes]:
        if op.name == "far_page" and not far_cursor:
            far_cursor.append(pg.far_page_cursor(url, facts.far_offset))
        document, _ = pg.QUERIES[op.name]
        every = [pg.variables_for(op.name, r.variables, far_cursor[0] if far_cursor else None) for r in op.requests]
        return [json.dumps({"query": document, "variables": v}).encode() for v in every]

    missing = [op.name for op in operations if op.name not in pg.QUERIES]
    if missing:
        notes.append(f"PostGraphile has no counterpart for {', '.join(missing)}.")
    notes.append(f"PostGraphile: bench/postgraphile, {options.workers} worker processes, on the same database.")
    return Target(
        key="postgraphile",
        start=start,
        stop=pg.stop,
        serves=lambda op: op.name in pg.QUERIES,
        bodies_of=bodies_of,
        optional=True,
    )


def default_workers() -> int:
    return os.cpu_count() or 1
