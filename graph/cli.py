"""The `inventory` command: serve the API, apply migrations and load demo data."""

import asyncio
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
import uvicorn
from sqlalchemy.engine import make_url

from db import migrate
from db.config import Settings
from db.engine import Database
from db.seed import SeedSummary, has_products, seed_demo

app = typer.Typer(help="Inventory GraphQL API.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Apply and inspect database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")

T = TypeVar("T")


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo catalog if there are no products.")] = False,
    apply_migrations: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before serving.")
    ] = True,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[LogLevel, typer.Option(help="uvicorn's log level.")] = LogLevel.info,
) -> None:
    """Serve the GraphQL API over HTTP (configured by INVENTORY_* environment variables)."""
    settings = Settings()

    async def prepare(database: Database) -> None:
        if apply_migrations:
            await migrate.upgrade(database.engine)
        if demo:
            _report_seed(await _seed_demo_once(database))

    _run(settings, prepare)
    shown_host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
    endpoint = f"http://{shown_host}:{port}/graphql"
    typer.echo(f"Database: {_shown_url(settings)}")
    typer.echo(f"GraphiQL: {endpoint}" if settings.graphiql else f"GraphQL endpoint: {endpoint}")
    # Factory mode: each worker builds its own app, which reads Settings() from the environment.
    uvicorn.run("graph.app:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level.value)


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo catalog (once: never twice).")] = False,
) -> None:
    """Load data into a migrated database."""
    if not demo:
        typer.echo("Nothing to load: pass --demo.", err=True)
        raise typer.Exit(2)
    settings = Settings()

    async def load(database: Database) -> SeedSummary | None:
        if await migrate.current(database.engine) != migrate.heads():
            typer.echo("The database is not up to date: run `inventory db upgrade` first.", err=True)
            raise typer.Exit(1)
        return await _seed_demo_once(database)

    _report_seed(_run(settings, load))


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (the newest by default)."""
    settings = Settings()
    _run(settings, lambda database: migrate.upgrade(database.engine, revision))
    _report_current(settings)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help='Target revision; "base" undoes every migration.')],
) -> None:
    """Undo migrations down to REVISION."""
    settings = Settings()
    _run(settings, lambda database: migrate.downgrade(database.engine, revision))
    _report_current(settings)


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    _report_current(Settings())


def _run(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` on a Database for `settings`, closing its connections afterwards."""

    async def main() -> T:
        database = Database(settings)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(main())


async def _seed_demo_once(database: Database) -> SeedSummary | None:
    """Load the demo catalog unless products exist; None when there was nothing to do."""
    # Check and insert in one transaction: on SQLite it holds the write lock from BEGIN; on PostgreSQL
    # a concurrent second load fails on the unique SKUs instead of duplicating the catalog.
    async with database.write_session() as session, session.begin():
        if await has_products(session):
            return None
        return await seed_demo(session)


def _report_seed(summary: SeedSummary | None) -> None:
    if summary is None:
        typer.echo("The catalog already has products; the demo catalog was not loaded.")
    else:
        typer.echo(
            f"Loaded the demo catalog: {summary.categories} categories, {summary.suppliers} suppliers, "
            f"{summary.products} products, {summary.offers} supplier offers."
        )


def _report_current(settings: Settings) -> None:
    revisions = _run(settings, lambda database: migrate.current(database.engine))
    heads = migrate.heads()
    shown = ", ".join(f"{r} (head)" if r in heads else r for r in revisions) or "base (no migrations applied)"
    typer.echo(f"{_shown_url(settings)}: {shown}")


def _shown_url(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


@app.command("schema")
def print_schema() -> None:
    """Print the GraphQL schema (SDL); `schema.graphql` at the repository root holds its output."""
    from graph.schema import schema

    typer.echo(schema.as_str())
