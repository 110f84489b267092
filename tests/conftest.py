"""Shared fixtures: one migrated database per run (SQLite by default, PostgreSQL when
INVENTORY_TEST_DATABASE_URL says so), emptied after every test, and the app served by uvicorn."""

import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db import migrate
from db.config import Settings
from db.engine import Database
from db.models import Base, Role
from tests.utils import GraphQLClient, StatementCounter, admin_execute, serving, sign_in


def _test_database_url() -> str:
    url = os.environ.get("INVENTORY_TEST_DATABASE_URL")
    if url:
        return url
    directory = Path(tempfile.mkdtemp(prefix="inventory-tests-"))
    return f"sqlite+aiosqlite:///{directory / 'test.db'}"


async def _recreate_postgres_database(url: str) -> None:
    """Drop and create the PostgreSQL database named in `url`, through the maintenance database."""
    target = make_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            name = target.database
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
def database_url() -> str:
    return _test_database_url()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Cheap password hashes: the production cost (see Settings) would make each new user take a third of a second.
    return Settings(
        database_url=database_url,
        graphiql=True,
        # Every read runs both ways, on its plan and on the reference path; a difference fails the test
        # (see _reads_served_by_plans).
        plan_compare=True,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        password_hash_parallelism=1,
        # The suite's clients all come from 127.0.0.1; tests/api/test_auth.py tests the limit on an app of its own.
        login_rate_per_minute=1_000_000,
        # Webhook receivers in the tests listen on 127.0.0.1; deliveries and their retries come quickly.
        webhooks_allow_private=True,
        webhook_poll_seconds=0.1,
        webhook_backoff_base_seconds=0.05,
        webhook_backoff_max_seconds=0.2,
        webhook_timeout_seconds=5,
        webhook_max_failures=5,
    )


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    if not settings.is_sqlite:
        await _recreate_postgres_database(settings.database_url)
    database = Database(settings)
    await migrate.upgrade(database.engine)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def engine(database: Database) -> AsyncEngine:
    return database.engine


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test that used the database leaves it empty for the next one."""
    yield
    if "database" not in request.fixturenames:
        return
    database: Database = request.getfixturevalue("database")
    tables = list(reversed(Base.metadata.sorted_tables))
    async with database.engine.begin() as conn:
        if database.settings.is_sqlite:
            for table in tables:
                # SQLite checks ON DELETE RESTRICT row by row, so a table that refers to itself (a
                # category's parent) is emptied leaves first.
                for fk in table.foreign_keys:
                    if fk.column.table is table:
                        referenced = select(fk.parent).where(fk.parent.is_not(None))
                        while (await conn.execute(table.delete().where(fk.column.not_in(referenced)))).rowcount:
                            pass
                await conn.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def fresh_database_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database of the same kind as the test database, apart from it: a new SQLite file
    (not created yet), or on PostgreSQL the test database's name with `_migrations` appended, created
    empty and dropped afterwards."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"{make_url(database_url).database}_migrations"
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    await admin_execute(url, drop, f'CREATE DATABASE "{name}"')
    yield url
    await admin_execute(url, drop)


@pytest.fixture(scope="session")
async def server(settings: Settings, database: Database) -> AsyncIterator[str]:
    """The application served over real HTTP by uvicorn; yields its base URL."""
    from graph.app import create_app

    async with serving(create_app(settings, database=database)) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture
async def gql(http: httpx.AsyncClient, database: Database) -> GraphQLClient:
    """A client signed in as an administrator (the user `admin`), who may use every field."""
    _user, token = await sign_in(database, Role.ADMIN)
    return GraphQLClient(http, token)


@pytest.fixture
def anonymous_gql(http: httpx.AsyncClient) -> GraphQLClient:
    """A client that sends no token."""
    return GraphQLClient(http)


@pytest.fixture
def gql_as(http: httpx.AsyncClient, database: Database) -> Callable[..., Awaitable[GraphQLClient]]:
    """`await gql_as(Role.CLERK)`: a client signed in as a user with that role (one user per role and test,
    named after the role unless `username=` is given; each call gets a new token)."""

    async def client(role: Role | str, *, username: str | None = None) -> GraphQLClient:
        _user, token = await sign_in(database, role, username=username)
        return GraphQLClient(http, token)

    return client


@pytest.fixture
def statements(database: Database) -> StatementCounter:
    return StatementCounter(database)


class _PlanLog(logging.Handler):
    """What the read plans log: reads they left to the reference path, and answers that differ from it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="session")
def plan_log() -> Iterator[_PlanLog]:
    handler = _PlanLog()
    logger = logging.getLogger("inventory.plans")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture(autouse=True)
def _reads_served_by_plans(request: pytest.FixtureRequest, plan_log: _PlanLog) -> Iterator[None]:
    """Every read a test sends is served by a plan (no fallback to the reference path, unless the test is
    marked `allows_fallback`), and in compare mode (the tests' settings) answers exactly as the reference
    path does."""
    plan_log.records.clear()
    yield
    fallback_allowed = request.node.get_closest_marker("allows_fallback") is not None
    problems = [
        record.getMessage()
        for record in plan_log.records
        if record.levelno >= logging.ERROR
        or (not fallback_allowed and record.getMessage().startswith("read served by the reference path"))
    ]
    assert not problems, "\n".join(problems)
