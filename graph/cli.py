"""The `inventory` command: serve the API, apply migrations, back up and restore, load demo data, import and
export CSV, audit stock and manage users."""

import asyncio
import copy
import errno
import json
import logging
import sqlite3
import secrets
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from typer.core import TyperGroup

from db import backup, bulk_seed, locks, migrate, problems, selling, stock
from db import changes as change_log
from db import users as users_db
from db.bulk_seed import BulkSpec
from db.config import Settings
from db.engine import Database
from db.errors import DomainError
from db.models import Role, User
from db.problems import DatabaseProblem
from db.seed import SeedSummary, has_products, seed_demo
from db.transfer import csvfile
from db.transfer import exports as transfer_exports
from db.transfer import imports as transfer_imports
from db.transfer.csvfile import FileProblem
from db.transfer.formats import EXPORT_KINDS, IMPORT_KINDS

T = TypeVar("T")


class CommandFailed(Exception):
    """A command could not do its work; the message is the one line it prints (the cause stays for --debug)."""


class _Commands(TyperGroup):
    """Every command's failure as one line on stderr and exit code 1; with --debug, the traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (CommandFailed, DatabaseProblem, backup.BackupProblem, ValidationError) as error:
            if ctx.params.get("debug"):
                raise
            typer.echo(_one_line(error), err=True)
            raise typer.Exit(1) from None


def _one_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        name = "INVENTORY_" + "_".join(str(part) for part in problem["loc"]).upper()
        return f"{name} is not valid: {problem['msg']} (got {problem.get('input')!r})."
    return " ".join(str(error).split())


app = typer.Typer(
    cls=_Commands, help="Inventory GraphQL API.", no_args_is_help=True, add_completion=False,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Apply and inspect database migrations; back up and restore.", no_args_is_help=True)
app.add_typer(db_app, name="db")
users_app = typer.Typer(
    help="Add, list, deactivate and activate users; set a password, lift a login delay.", no_args_is_help=True
)
app.add_typer(users_app, name="users")


@app.callback()
def main(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="INVENTORY_DEBUG", help="On an error, show its traceback, not just its one line."
        ),
    ] = False,
) -> None:
    """Options every command takes."""


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
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Load the demo catalog if there are no products, and add an administrator if there are no users."
        ),
    ] = False,
    apply_migrations: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before serving.")
    ] = True,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[
        LogLevel, typer.Option(help="The log level of uvicorn and of the API's own logs.")
    ] = LogLevel.info,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="One line per request on standard output (logger inventory.access, at the info level).",
        ),
    ] = True,
) -> None:
    """Serve the GraphQL API over HTTP (configured by INVENTORY_* environment variables).

    Before listening, the database must answer and be at the newest migration."""
    settings = Settings()
    _check_port(host, port)

    async def prepare(database: Database) -> str | None:
        if apply_migrations:
            await migrate.upgrade(database.engine)
        else:
            await migrate.require_head(database.engine)
        password = None
        if demo:
            _report_seed(await _seed_demo_once(database))
            password = await _demo_admin_once(database)
        await migrate.measure_unmeasured_tables(database.engine)
        return password

    demo_password = _run(settings, prepare, creates=apply_migrations, at_head=False)
    shown_host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
    endpoint = f"http://{shown_host}:{port}/graphql"
    typer.echo(f"Database: {_shown_url(settings)}")
    typer.echo(f"GraphiQL: {endpoint}" if settings.graphiql else f"GraphQL endpoint: {endpoint}")
    if demo:
        _report_demo_admin(demo_password)
    # Factory mode: each worker builds its own app, which reads Settings() from the environment.
    # uvicorn's own access log is off: graph/access.py writes the one line per request, with the user and the
    # operation that uvicorn cannot know.
    uvicorn.run(
        "graph.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.value,
        access_log=False,
        log_config=log_config(log_level, access_log=access_log),
    )


def log_config(level: LogLevel, *, access_log: bool) -> dict[str, Any]:
    """uvicorn's logging configuration, with the API's loggers (`inventory.*`) at `level` on standard error
    as uvicorn's are, and the access log's lines (`inventory.access`) on standard output unless `access_log`
    is off."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    level_number = uvicorn.config.LOG_LEVELS[level.value]
    config["handlers"]["inventory_access"] = {
        "formatter": "default",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["inventory"] = {"handlers": ["default"], "level": level_number, "propagate": False}
    config["loggers"]["inventory.access"] = {
        "handlers": ["inventory_access"],
        # At `level` (info and below show its lines), or above its lines' level when turned off.
        "level": level_number if access_log else logging.WARNING,
        "propagate": False,
    }
    return config


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo catalog (once: never twice).")] = False,
    products: Annotated[
        int | None, typer.Option(min=1, help="Generate a large dataset with this many products (not with --demo).")
    ] = None,
    suppliers: Annotated[int, typer.Option(min=1, help="With --products: suppliers.")] = 500,
    categories: Annotated[int, typer.Option(min=1, help="With --products: categories, three levels deep.")] = 300,
    warehouses: Annotated[int, typer.Option(min=1, help="With --products: warehouses.")] = 5,
    transactions: Annotated[int, typer.Option(min=0, help="With --products: stock ledger entries.")] = 1_000_000,
    seed_number: Annotated[
        int, typer.Option("--seed", help="With --products: the random seed (same seed and sizes, same rows).")
    ] = 1,
) -> None:
    """Load data into a migrated database: the demo catalog, or a generated dataset of any size."""
    if demo == (products is not None):
        typer.echo(
            "Pass --demo for the demo catalog, or --products N (with --suppliers, --categories, --warehouses, "
            "--transactions, --seed) for a generated dataset; not both.",
            err=True,
        )
        raise typer.Exit(2)
    settings = Settings()
    if products is not None:
        spec = BulkSpec(
            products=products, suppliers=suppliers, categories=categories, warehouses=warehouses,
            transactions=transactions, seed=seed_number,
        )
        _run(settings, lambda database: _seed_bulk(database, spec))
        return

    _report_seed(_run(settings, _seed_demo_once))


async def _seed_bulk(database: Database, spec: BulkSpec) -> None:
    """Generate and load a dataset into empty tables with a progress bar; report rows per second."""
    expected: dict[str, int | None] = {
        "categories": spec.categories, "suppliers": spec.suppliers, "warehouses": spec.warehouses,
        "products": spec.products, "product_suppliers": None, "inventory_transactions": spec.transactions,
        "stock_levels": None,
    }
    columns = (
        TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
    )
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, transient=False) as progress:

        def on_loaded(table: str, rows: int) -> None:
            if table not in tasks:
                for done in tasks.values():  # tables load one after the other: the one before is complete
                    progress.update(done, total=progress.tasks[done].completed)
                tasks[table] = progress.add_task(table, total=expected.get(table), rate="")
            task = tasks[table]
            progress.advance(task, rows)
            speed = progress.tasks[task].speed
            progress.update(task, rate=f"{speed:,.0f} rows/s" if speed else "")

        async with database.write_session() as session, session.begin():
            occupied = await bulk_seed.occupied_tables(session)
            if occupied:
                typer.echo(
                    f"Not loading: {', '.join(occupied)} already hold rows. A generated dataset goes into empty "
                    "tables only (use a new database, or `inventory db downgrade base` and `inventory db upgrade`).",
                    err=True,
                )
                raise typer.Exit(1)
            started = time.perf_counter()
            counts = await bulk_seed.seed_bulk(session, spec=spec, on_loaded=on_loaded)
            for table, task in tasks.items():
                progress.update(task, total=counts[table], completed=counts[table])
        elapsed = time.perf_counter() - started
    total = sum(counts.values())
    typer.echo(
        f"Loaded {total:,} rows in {elapsed:.1f} s ({total / elapsed:,.0f} rows/s): "
        + ", ".join(f"{n:,} {table}" for table, n in counts.items())
        + "."
    )
    started = time.perf_counter()
    async with database.write_session() as session, session.begin():
        await bulk_seed.analyze(session)
    typer.echo(f"Planner statistics refreshed (ANALYZE) in {time.perf_counter() - started:.1f} s.")


@app.command()
def audit() -> None:
    """Recompute every stock level from the ledger, every level's reserved units from its open reservations
    and every sales order line's shipped and restocked units from its ledger entries; name the rows that
    differ and exit 1 if any do."""
    _report_audit(_run(Settings(), _audit_stock))


@dataclass(frozen=True)
class _Audit:
    levels: list[stock.AuditMismatch]
    reservations: list[selling.ReservationMismatch]
    lines: list[selling.LineMismatch]


async def _audit_stock(database: Database) -> _Audit:
    async with database.read_session() as session:
        return _Audit(
            await stock.audit(session),
            await selling.audit_reservations(session),
            await selling.audit_order_lines(session),
        )


def _report_audit(audit: _Audit) -> None:
    """Print the audit's result; exit 1 if any stock level differs from the ledger, any level's reserved units
    from its open reservations, or any order line from its ledger entries."""
    for r in audit.reservations:
        typer.echo(
            f"product {r.product_id} in warehouse {r.warehouse_id}: {r.reserved} reserved, {r.held} held by open "
            "reservations"
        )
    for line in audit.lines:
        typer.echo(
            f"sales order line {line.line_id}: {line.quantity_shipped} shipped, {line.ledger_shipped} in SHIPMENT "
            f"entries; {line.quantity_restocked} restocked, {line.ledger_restocked} in RETURN entries"
        )
    if audit.reservations or audit.lines:
        typer.echo(
            f"{len(audit.reservations)} reserved quantity(ies) and {len(audit.lines)} order line(s) differ.", err=True
        )
    mismatches = audit.levels
    if mismatches:
        for m in mismatches:
            typer.echo(
                f"{m.product_sku} (product {m.product_id}) in {m.warehouse_code} (warehouse {m.warehouse_id}): "
                f"stock level {'missing' if m.level is None else m.level}, ledger sum {m.ledger_sum}, "
                f"last balance {'none' if m.last_balance is None else m.last_balance}"
            )
        typer.echo(f"{len(mismatches)} stock level(s) differ from the ledger.", err=True)
    if mismatches or audit.reservations or audit.lines:
        raise typer.Exit(1)
    typer.echo("stock levels match the ledger")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (the newest by default)."""
    settings = Settings()
    _run(settings, lambda database: migrate.upgrade(database.engine, revision), creates=True, at_head=False)
    _report_current(settings)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help='Target revision; "base" undoes every migration.')],
) -> None:
    """Undo migrations down to REVISION."""
    settings = Settings()
    _run(settings, lambda database: migrate.downgrade(database.engine, revision), at_head=False)
    _report_current(settings)


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    _report_current(Settings())


@db_app.command("backup")
def db_backup(
    file: Annotated[Path | None, typer.Argument(help="The backup file to write (replaced if it exists).")] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Write a file named after the moment (inventory-<UTC time>.sqlite3 or .pgdump) here."
        ),
    ] = None,
    keep: Annotated[
        int | None, typer.Option(min=1, help="With --dir: then delete all but the newest N backups there.")
    ] = None,
) -> None:
    """Copy the database to a file while the server goes on serving: SQLite's online backup API, or pg_dump's
    custom format on PostgreSQL."""
    if (file is None) == (directory is None):
        raise CommandFailed("Name the backup FILE, or pass --dir DIR (with --keep N to keep the newest N); not both.")
    if keep is not None and directory is None:
        raise CommandFailed("--keep deletes older backups in a --dir: pass --dir DIR with it, not a FILE.")
    settings = Settings()
    url = problems.parse_url(settings.database_url)
    kind = backup.kind_of_url(url)
    database_file = problems.sqlite_path(url) if kind is backup.Kind.SQLITE else None
    if kind is backup.Kind.SQLITE and database_file is None:
        raise CommandFailed("Only a SQLite database in a file can be backed up: point INVENTORY_DATABASE_URL at one.")
    revisions = _run(settings, lambda database: migrate.current(database.engine), at_head=False)
    if not revisions:
        raise CommandFailed(
            f"{_shown_url(settings)} has no inventory tables (no migration applied): there is nothing to back up."
        )
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandFailed(f"Cannot make the folder {directory.absolute()} ({error.strerror}).") from None
        target = backup.timestamped_path(directory, kind)
    else:
        assert file is not None
        target = file
        if database_file is not None and backup.same_file(database_file, target):
            raise CommandFailed(f"{target.absolute()} is the database itself: name another file for the backup.")
        if not target.absolute().parent.is_dir():
            raise CommandFailed(
                f"The folder {target.absolute().parent} does not exist: create it, or name a file in an existing one."
            )
    try:
        if database_file is not None:
            backup.backup_sqlite(database_file, target)
        else:
            backup.backup_postgresql(url, target)
    except (OSError, sqlite3.Error) as error:
        raise CommandFailed(f"Cannot write the backup {target.absolute()}: {_one_line(error)}") from None
    typer.echo(
        f"Backed up {_shown_url(settings)} (revision {', '.join(revisions)}) to {target} "
        f"({target.stat().st_size:,} bytes)."
    )
    if directory is not None and keep is not None:
        deleted = backup.prune(directory, keep=keep)
        if deleted:
            typer.echo(f"Deleted {len(deleted)} older backup(s): {', '.join(p.name for p in deleted)}.")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A file written by `inventory db backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that holds rows (they are lost).")
    ] = False,
) -> None:
    """Replace the database's content with a backup's, bring it to this version's migration, then audit the
    stock as `inventory audit` does (exit 1 if a level differs from the ledger)."""
    settings = Settings()
    url = problems.parse_url(settings.database_url)
    kind = backup.kind_of_url(url)
    database_file = problems.sqlite_path(url) if kind is backup.Kind.SQLITE else None
    if database_file is not None and file.exists() and backup.same_file(database_file, file):
        raise CommandFailed(f"{file.absolute()} is the database itself: name a backup made by `inventory db backup`.")
    taken = backup.read_backup(file, expected=kind)
    unknown = [revision for revision in taken.revisions if revision not in migrate.known_revisions()]
    if unknown:
        raise CommandFailed(
            f"{file.absolute()} holds revision {', '.join(unknown)}, which this version of inventory does not know "
            "(a newer version made the backup): restore it with that version."
        )
    if kind is backup.Kind.SQLITE and database_file is None:
        raise CommandFailed(
            "Only a SQLite database in a file can be restored into: point INVENTORY_DATABASE_URL at one."
        )

    occupied: list[str] = []
    if database_file is not None and not database_file.exists():
        problems.check_sqlite_file(url, create=True)
    else:
        occupied = _run(settings, lambda database: backup.occupied_tables(database.engine), at_head=False)
    if occupied and not force:
        raise CommandFailed(
            f"{_shown_url(settings)} is not empty ({', '.join(occupied)} hold rows): pass --force to replace its "
            "content with the backup's."
        )
    try:
        if database_file is not None:
            backup.restore_sqlite(file, database_file, busy_timeout_seconds=settings.sqlite_busy_timeout_ms / 1000)
        else:
            backup.restore_postgresql(file, url)
    except sqlite3.Error as error:
        raise CommandFailed(f"Cannot restore into {_shown_url(settings)}: {_one_line(error)}") from None
    typer.echo(f"Restored {file} (revision {', '.join(taken.revisions)}) into {_shown_url(settings)}.")
    if set(taken.revisions) != set(migrate.heads()):
        _run(settings, lambda database: migrate.upgrade(database.engine), at_head=False)
        typer.echo(f"Upgraded it to this version's revision {', '.join(migrate.heads())}.")
    _report_audit(_run(settings, _audit_stock))


def _run(
    settings: Settings, work: Callable[[Database], Awaitable[T]], *, creates: bool = False, at_head: bool = True
) -> T:
    """Run `work` on a Database for `settings`, closing its connections afterwards. With `at_head`, the database
    must be at the newest migration first. Only with `creates` may a SQLite file be made; a failure becomes a
    DatabaseProblem or CommandFailed naming its cause."""
    url = problems.parse_url(settings.database_url)
    if settings.is_sqlite:
        problems.check_sqlite_file(url, create=creates)

    async def main() -> T:
        database: Database | None = None
        try:
            database = Database(settings)
            if at_head:
                await migrate.require_head(database.engine)
            return await work(database)
        except (typer.Exit, DatabaseProblem, CommandFailed):
            raise
        except Exception as error:
            problem = problems.explain(error, settings.database_url)
            if problem is not None:
                raise problem from error
            first_line = (str(error).splitlines() or [""])[0]
            raise CommandFailed(f"{type(error).__name__}: {first_line} (--debug shows the traceback)") from error
        finally:
            if database is not None:
                await database.dispose()

    return asyncio.run(main())


def _check_port(host: str, port: int) -> None:
    """CommandFailed unless this process could listen on `host`:`port`, bound as uvicorn binds (uvicorn
    itself would log a few lines and stop only after the database work)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except socket.gaierror as error:
            raise CommandFailed(
                f"Cannot listen on {host} ({error.strerror}): pass --host with an address of this machine."
            ) from None
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CommandFailed(
                    f"Port {port} on {host} is in use (another `inventory serve`?): stop what listens there, "
                    "or pass another --port."
                ) from None
            if error.errno == errno.EADDRNOTAVAIL:
                raise CommandFailed(f"{host} is not an address of this machine: pass another --host.") from None
            if error.errno == errno.EACCES:
                raise CommandFailed(
                    f"Listening on port {port} needs privileges this user lacks: pass a port above 1023."
                ) from None
            raise CommandFailed(f"Cannot listen on {host}:{port} ({error.strerror}).") from None


async def _seed_demo_once(database: Database) -> SeedSummary | None:
    """Load the demo catalog unless products exist; None when there was nothing to do."""

    # Check and insert in one transaction that holds the demo data lock, so that of two processes starting
    # at once one loads the catalog and the other finds it loaded.
    async def load(session: AsyncSession) -> SeedSummary | None:
        return None if await has_products(session) else await seed_demo(session)

    return await locks.once_across_processes(database, locks.DEMO_DATA, load)


def _report_seed(summary: SeedSummary | None) -> None:
    if summary is None:
        typer.echo("The catalog already has products; the demo catalog was not loaded.")
    else:
        typer.echo(
            f"Loaded the demo catalog: {summary.categories} categories, {summary.suppliers} suppliers, "
            f"{summary.products} products, {summary.offers} supplier offers, {summary.warehouses} warehouses, "
            f"{summary.transactions} ledger entries, {summary.purchase_orders} purchase orders, {summary.customers} "
            f"customers, {summary.sales_orders} sales orders."
        )


def _report_current(settings: Settings) -> None:
    revisions = _run(settings, lambda database: migrate.current(database.engine), at_head=False)
    heads, known = migrate.heads(), migrate.known_revisions()
    shown = ", ".join(
        f"{r} (head)" if r in heads else r if r in known else f"{r} (unknown to this version)" for r in revisions
    )
    typer.echo(f"{_shown_url(settings)}: {shown or 'base (no migrations applied)'}")


def _shown_url(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


@app.command("schema")
def print_schema(
    possible_types: Annotated[
        bool,
        typer.Option(
            "--possible-types",
            help="Print, instead of the SDL, each interface's and union's object types as JSON: Apollo Client's "
            "`possibleTypes` option.",
        ),
    ] = False,
) -> None:
    """Print the GraphQL schema (SDL); `schema.graphql` at the repository root holds its output."""
    from graph.schema import schema

    if not possible_types:
        typer.echo(schema.as_str())
        return
    from graphql import GraphQLInterfaceType, GraphQLUnionType, build_schema

    # Read back from the SDL, as a client reads the committed schema.graphql.
    sdl = build_schema(schema.as_str())
    abstract = [t for t in sdl.type_map.values() if isinstance(t, GraphQLInterfaceType | GraphQLUnionType)]
    found = {t.name: sorted(o.name for o in sdl.get_possible_types(t)) for t in sorted(abstract, key=lambda t: t.name)}
    typer.echo(json.dumps(found, indent=2))


DEMO_ADMIN = "admin"


async def _demo_admin_once(database: Database) -> str | None:
    """Add the demo administrator unless users exist; its generated password, or None when there was nothing to do."""
    password = secrets.token_urlsafe(12)
    security = users_db.Security.from_settings(database.settings)

    # Check and insert in one transaction, as for the demo catalog.
    async def add(session: AsyncSession) -> str | None:
        if await users_db.has_users(session):
            return None
        await users_db.create_user(session, security=security, username=DEMO_ADMIN, password=password, role=Role.ADMIN)
        return password

    return await locks.once_across_processes(database, locks.DEMO_DATA, add)


def _report_demo_admin(password: str | None) -> None:
    if password is None:
        typer.echo("Users exist already; no demo administrator was added (`inventory users create` adds users).")
        return
    typer.echo(
        f"\nDemo administrator: username {DEMO_ADMIN}, password {password} (shown only now).\n"
        "To authenticate in GraphiQL, run\n\n"
        f'    mutation {{ login(username: "{DEMO_ADMIN}", password: "{password}") {{ token errors {{ message }} }} }}\n\n'
        "then open the Headers tab below the editor and put the token there:\n\n"
        '    {"Authorization": "Bearer <token>"}\n'
    )


def _fail(error: DomainError) -> typer.Exit:
    for problem in error.errors:
        typer.echo(problem.message, err=True)
    return typer.Exit(1)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Stored lowercase; unique whatever the case.")],
    role: Annotated[Role, typer.Option(case_sensitive=False, help="What the user may do.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
    email: Annotated[str | None, typer.Option(help="The user's email address.")] = None,
) -> None:
    """Add a user (the password is asked for unless --password-stdin is given)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = Settings()

    async def create(database: Database) -> str:
        security = users_db.Security.from_settings(settings)
        try:
            async with database.write_session() as session, session.begin():
                change_log.act(session, operation="users create")
                user = await users_db.create_user(
                    session, security=security, username=username, password=password, role=role, email=email
                )
        except DomainError as error:
            raise _fail(error) from None
        return user.username

    typer.echo(f"Added {_run(settings, create)} ({role}).")


@users_app.command("list")
def users_list() -> None:
    """Print every user: username, role, status, email."""
    settings = Settings()

    async def load(database: Database) -> list[tuple[str, str, str, str]]:
        async with database.read_session() as session:
            users = await users_db.list_users(session)
        return [(u.username, u.role.value, "active" if u.is_active else "inactive", u.email or "") for u in users]

    rows = _run(settings, load)
    if not rows:
        typer.echo("No users yet: `inventory users create USERNAME --role ADMIN` adds one.")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        typer.echo("  ".join(value.ljust(width) for value, width in zip(row, [*widths, 0], strict=True)).rstrip())


async def _change_user(
    database: Database, username: str, command: str, change: Callable[[AsyncSession, User], Awaitable[object]]
) -> User:
    """Apply `change` to the user named `username` in one transaction; a one-line error if there is none.
    The change log names `command` (`users deactivate`), and no actor."""
    try:
        async with database.write_session() as session, session.begin():
            change_log.act(session, operation=command)
            user = await users_db.user_by_username(session, username=username)
            if user is None:
                raise CommandFailed(f"There is no user named {username} (`inventory users list` shows them).")
            await change(session, user)
    except DomainError as error:
        raise _fail(error) from None
    return user


@users_app.command("deactivate")
def users_deactivate(username: Annotated[str, typer.Argument(help="Whose sign-in to stop.")]) -> None:
    """Stop a user from signing in and revoke all its tokens."""

    async def deactivate(session: AsyncSession, user: User) -> None:
        await users_db.deactivate_user(session, user_id=user.id)

    user = _run(Settings(), lambda database: _change_user(database, username, "users deactivate", deactivate))
    typer.echo(f"Deactivated {user.username} and revoked its tokens.")


@users_app.command("activate")
def users_activate(username: Annotated[str, typer.Argument(help="Whose sign-in to allow again.")]) -> None:
    """Let a deactivated user sign in again with its password (its old tokens stay revoked)."""

    async def activate(session: AsyncSession, user: User) -> None:
        await users_db.activate_user(session, user_id=user.id)

    user = _run(Settings(), lambda database: _change_user(database, username, "users activate", activate))
    typer.echo(f"Activated {user.username}: it may sign in again.")


@users_app.command("unlock")
def users_unlock(username: Annotated[str, typer.Argument(help="Whose login delay to lift.")]) -> None:
    """Forget a user's failed logins, lifting the delay they put on its logins (the password stays)."""
    failures = 0

    async def unlock(session: AsyncSession, user: User) -> None:
        nonlocal failures
        failures = user.failed_login_count
        await users_db.unlock_user(session, user_id=user.id)

    user = _run(Settings(), lambda database: _change_user(database, username, "users unlock", unlock))
    typer.echo(f"Unlocked {user.username} ({failures} failed login(s) in a row forgotten).")


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="Whose password to set.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
) -> None:
    """Give a user a new password (asked for twice unless --password-stdin is given); this revokes all its
    tokens and lifts a login delay."""
    settings = Settings()

    async def find(database: Database) -> None:
        async with database.read_session() as session:
            if await users_db.user_by_username(session, username=username) is None:
                raise CommandFailed(f"There is no user named {username} (`inventory users list` shows them).")

    _run(settings, find)  # before asking for a password that would have nowhere to go
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    security = users_db.Security.from_settings(settings)

    async def set_password(session: AsyncSession, user: User) -> None:
        await users_db.update_user(session, security=security, user_id=user.id, password=password)

    user = _run(settings, lambda database: _change_user(database, username, "users set-password", set_password))
    typer.echo(f"Set a new password for {user.username} and revoked its tokens.")


# --- import and export --------------------------------------------------------------------------

ImportKind = StrEnum("ImportKind", {kind: kind for kind in IMPORT_KINDS})  # type: ignore[misc]
ExportKind = StrEnum("ExportKind", {kind: kind for kind in EXPORT_KINDS})  # type: ignore[misc]


class ImportMode(StrEnum):
    insert = "insert"
    upsert = "upsert"


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} rows/s")


@app.command("import")
def import_file(
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(help="A CSV file (UTF-8, comma or semicolon separated).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row; write nothing.")] = False,
    mode: Annotated[
        ImportMode, typer.Option(help="insert: an existing natural key is a row error; upsert: it is updated.")
    ] = ImportMode.insert,
    warehouse: Annotated[
        str | None, typer.Option(help="stock: the warehouse code of rows without a `warehouse` cell.")
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Write the good rows, and the others with their errors to FILE.rejected.csv."
        ),
    ] = False,
) -> None:
    """Import categories, suppliers, products, supplier offers or opening stock from a CSV file; by default
    nothing is written unless every row is valid."""
    if kind == "stock" and mode != ImportMode.insert:
        raise CommandFailed("--mode applies to the catalog kinds: every stock row is a receipt, received once.")
    if kind != "stock" and warehouse is not None:
        raise CommandFailed("--warehouse applies to `inventory import stock` only.")
    try:
        content = file.read_bytes()
    except OSError as error:
        raise CommandFailed(f"Cannot read {file}: {error.strerror}.") from None
    settings = Settings()

    async def work(database: Database) -> transfer_imports.ImportResult:
        with _row_progress() as progress:
            task = progress.add_task(f"{kind} ", total=None)
            try:
                async with database.write_session() as session, session.begin():
                    return await transfer_imports.import_rows(
                        session, kind=str(kind), content=content, name=str(file), mode=str(mode),
                        warehouse=warehouse, skip_invalid=skip_invalid, dry_run=dry_run,
                        progress=lambda n: progress.advance(task, n),
                        counted=lambda total: progress.update(task, total=total),
                    )
            except FileProblem as error:
                raise CommandFailed(str(error)) from None
            except DomainError as error:
                raise CommandFailed(f"{file}: {error}") from None

    result = _run(settings, work)
    for problem in result.errors:
        typer.echo(f"{file}: {problem}", err=True)
    if skip_invalid and result.rejected:
        rejected = file.with_name(file.name + ".rejected.csv")
        _write_rejected(rejected, result=result)
        typer.echo(f"{len(result.rejected)} row(s) rejected, written with their errors to {rejected}.", err=True)
    counts = f"{result.inserted} added, {result.updated} updated, {result.unchanged} unchanged"
    if dry_run:
        typer.echo(f"Dry run: {result.rows} row(s) checked, {len(result.rejected)} rejected; nothing written.")
    elif not result.written:
        typer.echo(f"{len(result.rejected)} of {result.rows} row(s) invalid: nothing imported.", err=True)
    else:
        typer.echo(f"Imported {kind} from {file}: {counts}.")
    if result.errors and not skip_invalid:
        raise typer.Exit(1)


def _row_progress() -> Progress:
    """A progress bar with rows per second on stderr, shown only when stderr is a terminal."""
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _RateColumn(), TimeElapsedColumn(),
        console=console, disable=not sys.stderr.isatty(), transient=True,
    )


def _write_rejected(path: Path, *, result: transfer_imports.ImportResult) -> None:
    """The rejected rows as the file gave them (its columns in its order, each cell as written), each with its
    errors in an `error` column: the one the file has already when it is itself a rejected rows' file."""
    header = list(result.header)
    if transfer_imports.REJECTED_COLUMN not in header:
        header.append(transfer_imports.REJECTED_COLUMN)
    at = header.index(transfer_imports.REJECTED_COLUMN)
    by_row: dict[int, list[str]] = {}
    for problem in result.errors:
        by_row.setdefault(problem.row, []).append(str(problem))
    with path.open("w", encoding="utf-8", newline="") as out:
        write = csvfile.writer(out)
        write.writerow(header)
        for row in result.rejected:
            # A short row's missing cells are empty; cells past the header's last column stay after the error.
            cells = [*row.cells, *[""] * (len(result.header) - len(row.cells))]
            error = "; ".join(by_row[row.number])
            if at < len(result.header):
                cells[at] = error
            else:
                cells.insert(at, error)
            write.writerow(cells)


@app.command("export")
def export_file(
    kind: Annotated[ExportKind, typer.Argument(help="What to export.")],
    file: Annotated[Path | None, typer.Argument(help="Where to write (standard output without it).")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="ledger: entries at or after this ISO 8601 time (UTC if no offset).")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="ledger: entries before this time.")] = None,
) -> None:
    """Export a kind of rows as CSV in the import's own format (the stock ledger too, which is export-only)."""
    if (since or until) and kind != "ledger":
        raise CommandFailed("--from and --to bound the ledger's entries only: `inventory export ledger`.")
    bounds = [_utc_time(option, value) for option, value in (("--from", since), ("--to", until))]
    settings = Settings()

    async def work(database: Database) -> int:
        out = sys.stdout if file is None else file.open("w", encoding="utf-8", newline="")
        count = 0
        try:
            write = csvfile.writer(out)
            write.writerow(transfer_exports.header(str(kind)))
            async with database.read_session() as session:
                rows = transfer_exports.export_rows(session, kind=str(kind), since=bounds[0], until=bounds[1])
                async for row in rows:
                    write.writerow(row)
                    count += 1
        finally:
            if file is not None:
                out.close()
        return count

    count = _run(settings, work)
    if file is not None:
        typer.echo(f"Exported {count} {kind} row(s) to {file}.")


def _utc_time(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandFailed(
            f"{option} {value} is not an ISO 8601 time (like 2026-01-31 or 2026-01-31T12:00Z)."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
