"""`python -m bench`: run the benchmark (our API, its reference path, PostGraphile), profile one read in-process,
measure the seed's rate against a plain bulk insert and the CSV import's rate, or the delivery of stock
movements to many subscribers."""

import dataclasses
import json
import shlex
import sys
from enum import StrEnum
from typing import Annotated

import typer

from bench import import_rate, profile, report, runner, seed_rate, subscriptions
from bench.database import FULL, OUT_DIR, SMALL, bench_database
from bench.workload import OPERATIONS
from db.bulk_seed import BulkSpec

app = typer.Typer(help="Benchmarks of the inventory API.", no_args_is_help=True, add_completion=False)


class Backend(StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"


SmallOption = Annotated[
    bool,
    typer.Option(
        "--small", help=f"A quick preset: {SMALL.products:,} products, {SMALL.transactions:,} ledger entries."
    ),
]
ProductsOption = Annotated[int | None, typer.Option(min=1, help=f"Products (default {FULL.products:,}).")]
TransactionsOption = Annotated[int | None, typer.Option(min=0, help=f"Ledger entries (default {FULL.transactions:,}).")]
SuppliersOption = Annotated[int | None, typer.Option(min=1, help=f"Suppliers (default {FULL.suppliers}).")]
CategoriesOption = Annotated[int | None, typer.Option(min=1, help=f"Categories (default {FULL.categories}).")]
WarehousesOption = Annotated[int | None, typer.Option(min=1, help=f"Warehouses (default {FULL.warehouses}).")]


def _spec(small: bool, **sizes: int | None) -> BulkSpec:
    base = SMALL if small else FULL
    return dataclasses.replace(base, **{k: v for k, v in sizes.items() if v is not None})


@app.command()
def run(
    db: Annotated[Backend, typer.Option(help="The database the API runs on.")],
    duration: Annotated[float, typer.Option(min=1, help="Seconds of load per operation and concurrency.")] = 60,
    warmup: Annotated[float, typer.Option(min=0, help="Seconds of load before each timed run.")] = 5,
    concurrency: Annotated[str, typer.Option(help="Concurrent connections, comma-separated.")] = "1,64",
    workers: Annotated[
        int, typer.Option(min=1, help="uvicorn worker processes (default: the cores).")
    ] = runner.default_workers(),
    operations: Annotated[str, typer.Option(help="Operations to run, comma-separated.")] = ",".join(OPERATIONS),
    small: SmallOption = False,
    products: ProductsOption = None,
    transactions: TransactionsOption = None,
    suppliers: SuppliersOption = None,
    categories: CategoriesOption = None,
    warehouses: WarehousesOption = None,
    reseed: Annotated[bool, typer.Option("--reseed", help="Drop the bench database and seed it anew.")] = False,
    postgraphile: Annotated[
        bool, typer.Option("--postgraphile/--no-postgraphile", help="Also load PostGraphile (PostgreSQL only).")
    ] = True,
    reference: Annotated[
        bool,
        typer.Option(
            "--reference/--no-reference",
            help="Also load the read operations on the reference path (read plans off: INVENTORY_READ_PLANS=false).",
        ),
    ] = True,
    record: Annotated[
        bool | None,
        typer.Option("--record/--no-record", help="Write the table into bench/RESULTS.md (default: unless --small)."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Another bench database (SQLAlchemy URL); it is seeded if empty.")
    ] = None,
) -> None:
    """Load the API per operation with wrk and write bench/out/results-<db>.json and .md."""
    chosen = tuple(name.strip() for name in operations.split(",") if name.strip())
    unknown = [name for name in chosen if name not in OPERATIONS]
    if unknown:
        raise typer.BadParameter(f"unknown operation(s) {', '.join(unknown)}; known: {', '.join(OPERATIONS)}")
    levels = tuple(int(c) for c in concurrency.split(","))
    spec = _spec(
        small,
        products=products,
        transactions=transactions,
        suppliers=suppliers,
        categories=categories,
        warehouses=warehouses,
    )
    bench = bench_database(db.value, spec, small=small, url=database_url)
    options = runner.RunOptions(
        duration=duration,
        warmup=warmup,
        concurrency=levels,
        workers=workers,
        operations=chosen,
        reseed=reseed,
        postgraphile=postgraphile,
        record=(not small) if record is None else record,
        reference=reference,
    )
    runner.run(bench, options)


@app.command("seed-rate")
def seed_rate_command(
    db: Annotated[Backend, typer.Option(help="The database to load.")],
    small: SmallOption = False,
    products: ProductsOption = None,
    transactions: TransactionsOption = None,
    suppliers: SuppliersOption = None,
    categories: CategoriesOption = None,
    warehouses: WarehousesOption = None,
    record: Annotated[
        bool | None,
        typer.Option("--record/--no-record", help="Write it into bench/RESULTS.md (default: unless --small)."),
    ] = None,
) -> None:
    """Time the seed (generate and insert) against the plain bulk insert of the same rows."""
    spec = _spec(
        small,
        products=products,
        transactions=transactions,
        suppliers=suppliers,
        categories=categories,
        warehouses=warehouses,
    )
    result = seed_rate.run(db.value, spec)
    command = "python -m bench " + shlex.join(sys.argv[1:])
    text = seed_rate.markdown(result, command)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"seed-rate-{db.value}.json").write_text(json.dumps(result, indent=2))
    if (not small) if record is None else record:
        title = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[db.value]
        report.record_section(f"seed-rate:{db.value}", f"Seeding rate: {title}", text)
    typer.echo(text)


@app.command("import-rate")
def import_rate_command(
    db: Annotated[Backend, typer.Option(help="The database to import into.")],
    products: Annotated[int, typer.Option(min=1, help="Products, and as many opening stock rows.")] = FULL.products,
    record: Annotated[
        bool | None,
        typer.Option("--record/--no-record", help=f"Write it into bench/RESULTS.md (default: at {FULL.products:,})."),
    ] = None,
) -> None:
    """Time `inventory import` of a products file and an opening stock file."""
    result = import_rate.run(db.value, products)
    command = "python -m bench " + shlex.join(sys.argv[1:])
    text = import_rate.markdown(result, command)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"import-rate-{db.value}.json").write_text(json.dumps(result, indent=2))
    if (products == FULL.products) if record is None else record:
        title = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[db.value]
        report.record_section(f"import-rate:{db.value}", f"CSV import rate: {title}", text)
    typer.echo(text)


@app.command("subscriptions")
def subscriptions_command(
    db: Annotated[Backend, typer.Option(help="The database the API runs on.")] = Backend.postgres,
    subscribers: Annotated[int, typer.Option(min=1, help="WebSocket subscribers to transactionAdded.")] = 200,
    rate: Annotated[float, typer.Option(min=0.1, help="Stock movements a second.")] = 10,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of movements.")] = 60,
    workers: Annotated[
        int, typer.Option(min=1, help="uvicorn worker processes (default: the cores).")
    ] = runner.default_workers(),
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Write the table into bench/RESULTS.md.")
    ] = True,
) -> None:
    """Deliver stock movements to many subscribers: latency p50/p99 to the client and the server's RSS."""
    result = subscriptions.run(db.value, subscribers=subscribers, rate=rate, duration=duration, workers=workers)
    command = "python -m bench " + shlex.join(sys.argv[1:])
    text = subscriptions.markdown(result, command)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"subscriptions-{db.value}.json").write_text(json.dumps(result, indent=2))
    if record:
        title = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[db.value]
        report.record_section(f"subscriptions:{db.value}", f"Subscriptions: {title}", text)
    typer.echo(text)


@app.command("profile")
def profile_command(
    db: Annotated[Backend, typer.Option(help="The database the API runs on.")],
    operation: Annotated[str, typer.Option(help="The read operation to send.")] = "catalog_page",
    repeat: Annotated[int, typer.Option(min=1, help="Timed requests.")] = 50,
    pyinstrument: Annotated[
        bool,
        typer.Option(
            "--pyinstrument", help="Profile the timed requests; HTML to bench/out/profile-<op>[-reference].html."
        ),
    ] = False,
    small: SmallOption = False,
    reference: Annotated[
        bool,
        typer.Option(
            "--reference", help="Profile the reference path (read plans off: strawberry resolvers, DataLoaders)."
        ),
    ] = False,
    default_gc: Annotated[
        bool, typer.Option("--default-gc", help="Do not freeze the objects built at startup (graph/app.py).")
    ] = False,
) -> None:
    """Time one read in-process, request by request (ASGI, no network): the whole request, its SQL round trips
    and the rest (Python); on the read plans, or with --reference on the reference path; optionally under
    pyinstrument."""
    if operation not in OPERATIONS:
        raise typer.BadParameter(f"unknown operation {operation}; known: {', '.join(OPERATIONS)}")
    bench = bench_database(db.value, _spec(small), small=small)
    suffix = "-reference" if reference else ""
    html = OUT_DIR / f"profile-{operation}{suffix}.html" if pyinstrument else None
    variant = profile.Variant(reference=reference, freeze_gc=not default_gc)
    timing = profile.profile(bench, operation, repeat, html, variant)
    typer.echo(f"{operation} on {db.value}, {timing.path}: {timing.requests} requests in-process, p50 per phase")
    typer.echo(profile.markdown(timing))
    if html is not None:
        typer.echo(f"Profile: {html}")


if __name__ == "__main__":
    app()
