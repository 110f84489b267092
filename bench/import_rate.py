"""`python -m bench import-rate`: the CSV import's rate (`inventory import`), products and opening stock.

Generates a products file and an opening stock file of the same size (not timed), then imports each into a
freshly created, migrated scratch database (inventory_import_rate, or bench/out/import-rate.db) with the
import's own code, in one transaction, commit included; the rows per second go next to the seed's.
"""

import asyncio
import csv
import random
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.database import OUT_DIR, PG_SERVER, BenchDatabase, recreate
from db import migrate
from db.bulk_seed import BulkSpec
from db.engine import Database
from db.transfer.imports import import_rows
from db.warehouses import create_warehouse

WAREHOUSES = ("MAIN", "EAST", "WEST", "NORTH", "SOUTH")
CATEGORIES = ("Tools", "Tools/Hand tools", "Tools/Power tools", "Office", "Office/Paper", "Safety")


def scratch(kind: str, products: int) -> BenchDatabase:
    url = (
        f"{PG_SERVER}/inventory_import_rate"
        if kind == "postgres"
        else f"sqlite+aiosqlite:///{OUT_DIR / 'import-rate.db'}"
    )
    return BenchDatabase(kind, url, BulkSpec(products=products, suppliers=1, categories=len(CATEGORIES),
                                             warehouses=len(WAREHOUSES), transactions=products))


def write_files(folder: Path, products: int, seed: int = 1) -> dict[str, Path]:
    """A products file and an opening stock file with a row per product, in a random warehouse."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = {kind: folder / f"{kind}.csv" for kind in ("categories", "products", "stock")}
    with files["categories"].open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows([["path"], *([path] for path in CATEGORIES)])
    with files["products"].open("w", newline="") as p, files["stock"].open("w", newline="") as s:
        products_out, stock_out = csv.writer(p, lineterminator="\n"), csv.writer(s, lineterminator="\n")
        products_out.writerow(["sku", "name", "unit_price", "category", "reorder_point", "reorder_quantity"])
        stock_out.writerow(["sku", "warehouse", "quantity", "unit_cost"])
        for n in range(1, products + 1):
            sku = f"IMP-{n:07d}"
            price = rng.randint(100, 99_999)
            products_out.writerow([sku, f"Imported product {n}", f"{price // 100}.{price % 100:02d}",
                                   rng.choice(CATEGORIES), rng.randint(0, 20), rng.randint(0, 50)])
            cost = price * rng.randint(40, 80) // 100
            stock_out.writerow([sku, rng.choice(WAREHOUSES), rng.randint(1, 500), f"{cost // 100}.{cost % 100:02d}"])
    return files


async def measure(kind: str, products: int) -> dict[str, Any]:
    bench = scratch(kind, products)
    files = write_files(OUT_DIR / "import-rate", products)
    await recreate(bench)
    database = Database(bench.settings())
    timings: dict[str, dict[str, Any]] = {}
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        await migrate.upgrade(database.engine)
        async with database.write_session() as session, session.begin():
            for code in WAREHOUSES:
                await create_warehouse(session, code=code, name=f"Warehouse {code}")
        with Progress(*columns) as progress:
            for name in ("categories", "products", "stock"):
                task = progress.add_task(name, total=products if name != "categories" else len(CATEGORIES))
                content = files[name].read_bytes()
                started = time.perf_counter()
                async with database.write_session() as session, session.begin():
                    result = await import_rows(
                        session, kind=name, content=content, name=str(files[name]),
                        progress=lambda n, task=task: progress.advance(task, n),
                    )
                seconds = time.perf_counter() - started
                if result.errors or not result.written:
                    raise RuntimeError(f"the {name} import failed: {result.errors[:3]}")
                timings[name] = {"rows": result.inserted, "seconds": round(seconds, 2),
                                 "rows_per_second": round(result.inserted / seconds)}
    finally:
        await database.dispose()
    await recreate(bench)  # leave an empty scratch database
    return {"db": kind, "products": products, "imports": {k: v for k, v in timings.items() if k != "categories"}}


def markdown(result: dict[str, Any], command: str) -> str:
    lines = [
        f"Command: `{command}`  ",
        f"{result['products']:,} products, then {result['products']:,} opening stock rows (RECEIPT entries), "
        "each file imported in one transaction (commit included) by the code `inventory import` runs.",
        "",
        "| file | rows | seconds | rows/s |",
        "|---|---|---|---|",
    ]
    for name, t in result["imports"].items():
        lines.append(f"| {name} | {t['rows']:,} | {t['seconds']:.1f} | {t['rows_per_second']:,} |")
    return "\n".join(lines) + "\n"


def run(kind: str, products: int) -> dict[str, Any]:
    return asyncio.run(measure(kind, products))
