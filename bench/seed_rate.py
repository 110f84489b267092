"""`python -m bench seed-rate`: the seed's rate next to the plain bulk-insert rate of the same rows.

Both load into a freshly created, migrated scratch database (inventory_seed_rate, or
bench/out/seed-rate.db), in one transaction, commit included:
- seed: what `inventory seed --products ...` does, rows generated as they are loaded;
- plain: the same rows, generated beforehand into lists (not timed), loaded by the same code (COPY on
  PostgreSQL, executemany of one INSERT on SQLite): the insert work alone.
"""

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.database import OUT_DIR, PG_SERVER, BenchDatabase, recreate
from db import bulk_seed, migrate
from db.bulk_seed import BulkSpec
from db.engine import Database


def scratch(kind: str, spec: BulkSpec) -> BenchDatabase:
    url = (
        f"{PG_SERVER}/inventory_seed_rate" if kind == "postgres" else f"sqlite+aiosqlite:///{OUT_DIR / 'seed-rate.db'}"
    )
    return BenchDatabase(kind, url, spec)


async def _timed_load(
    bench: BenchDatabase, work: Callable[..., Any], progress: Progress, label: str
) -> tuple[dict[str, int], float]:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    await recreate(bench)
    database = Database(bench.settings())
    task = progress.add_task(label, total=None)
    try:
        await migrate.upgrade(database.engine)
        started = time.perf_counter()
        async with database.write_session() as session, session.begin():
            counts = await work(session, on_loaded=lambda _table, n: progress.advance(task, n))
        elapsed = time.perf_counter() - started
        progress.update(task, total=sum(counts.values()))
        return counts, elapsed
    finally:
        await database.dispose()


async def measure(kind: str, spec: BulkSpec) -> dict[str, Any]:
    bench = scratch(kind, spec)
    columns = (TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as progress:
        counts, seed_seconds = await _timed_load(
            bench,
            lambda session, on_loaded: bulk_seed.seed_bulk(session, spec=spec, on_loaded=on_loaded),
            progress,
            "seed",
        )
        progress.console.print("Generating the same rows into memory for the plain load (not timed)...")
        rows = bulk_seed.materialize(spec)
        # The rows held in memory are no insert work: keep the collector from walking them while timed.
        gc.freeze()
        try:
            plain_counts, plain_seconds = await _timed_load(
                bench, lambda session, on_loaded: bulk_seed.load(session, rows, on_loaded=on_loaded), progress, "plain"
            )
        finally:
            gc.unfreeze()
    if plain_counts != counts:
        raise RuntimeError(f"the plain load inserted other rows than the seed: {plain_counts} vs {counts}")
    await recreate(bench)  # leave an empty scratch database, not a second copy of the dataset
    total = sum(counts.values())
    return {
        "db": kind,
        "spec": asdict(spec),
        "rows": counts,
        "total_rows": total,
        "seed_seconds": round(seed_seconds, 2),
        "seed_rows_per_second": round(total / seed_seconds),
        "plain_seconds": round(plain_seconds, 2),
        "plain_rows_per_second": round(total / plain_seconds),
        "ratio": round(plain_seconds / seed_seconds, 3),
    }


def markdown(result: dict[str, Any], command: str) -> str:
    return (
        f"Command: `{command}`  \n"
        f"{result['total_rows']:,} rows ({', '.join(f'{n:,} {t}' for t, n in result['rows'].items())}).\n\n"
        "| load | seconds | rows/s |\n|---|---|---|\n"
        f"| seed (generate + insert) | {result['seed_seconds']:.1f} | {result['seed_rows_per_second']:,} |\n"
        f"| plain insert of the same rows | {result['plain_seconds']:.1f} | {result['plain_rows_per_second']:,} |\n"
        f"| seed ÷ plain rate | | {result['ratio']:.2f} |\n"
    )


def run(kind: str, spec: BulkSpec) -> dict[str, Any]:
    return asyncio.run(measure(kind, spec))
