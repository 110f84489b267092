"""The bench database: where it lives, its size, and getting it migrated, seeded, analyzed and signed in to."""

import os
import secrets
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from db import migrate
from db import users as users_db
from db.bulk_seed import BulkSpec
from db.config import Settings
from db.engine import Database
from db.models import InventoryTransaction, Product, Role

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
BENCH_USER = "bench"

FULL = BulkSpec(products=100_000, suppliers=500, categories=300, warehouses=5, transactions=1_000_000)
SMALL = BulkSpec(products=2_000, suppliers=100, categories=60, warehouses=3, transactions=20_000)


@dataclass(frozen=True)
class BenchDatabase:
    kind: str  # "sqlite" or "postgres"
    url: str  # SQLAlchemy URL (async driver)
    spec: BulkSpec

    @property
    def dialect(self) -> str:
        """SQLAlchemy's name for the database: "postgresql" or "sqlite"."""
        return make_url(self.url).get_backend_name()

    @property
    def libpq_url(self) -> str:
        """The URL without the driver, for tools outside SQLAlchemy (asyncpg, PostGraphile)."""
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)

    def settings(self, **overrides: object) -> Settings:
        return Settings(database_url=self.url, graphiql=False, **overrides)  # type: ignore[arg-type]


def bench_database(kind: str, spec: BulkSpec, *, small: bool, url: str | None = None) -> BenchDatabase:
    """The database a run uses: inventory_bench (PostgreSQL) or bench/out/bench.db (SQLite); the small
    preset has its own, so that a quick run never replaces the full dataset."""
    suffix = "_small" if small else ""
    if url is None:
        if kind == "postgres":
            url = f"{PG_SERVER}/inventory_bench{suffix}"
        else:
            url = f"sqlite+aiosqlite:///{OUT_DIR / ('bench-small.db' if small else 'bench.db')}"
    return BenchDatabase(kind, url, spec)


async def recreate(bench: BenchDatabase) -> None:
    """Drop the database (every row) and create it empty."""
    if bench.kind == "sqlite":
        path = Path(make_url(bench.url).database or "")
        for extra in ("", "-wal", "-shm"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
        return
    await _admin(bench, drop=True)


async def ensure_exists(bench: BenchDatabase) -> None:
    if bench.kind == "sqlite":
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        return
    await _admin(bench, drop=False)


async def _admin(bench: BenchDatabase, *, drop: bool) -> None:
    target = make_url(bench.url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            name = target.database
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists and drop:
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            if drop or not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


@dataclass(frozen=True)
class Contents:
    products: int
    transactions: int

    def matches(self, spec: BulkSpec) -> bool:
        # The write mix adds ledger entries, so the ledger may have grown since the seed.
        return self.products == spec.products and self.transactions >= spec.transactions


async def contents(bench: BenchDatabase) -> Contents:
    database = Database(bench.settings())
    try:
        await migrate.upgrade(database.engine)
        async with database.read_session() as session:
            products = await session.scalar(select(func.count()).select_from(Product)) or 0
            ledger = await session.scalar(select(func.max(InventoryTransaction.id))) or 0
        return Contents(products, ledger)
    finally:
        await database.dispose()


def seed(bench: BenchDatabase) -> None:
    """Load the dataset through the `inventory seed` command, as an operator would (progress bar and rate)."""
    spec = bench.spec
    command = [
        str(Path(sys.executable).with_name("inventory")),
        "seed",
        *(f"--{name}={value}" for name, value in asdict(spec).items()),
    ]
    env = {**os.environ, "INVENTORY_DATABASE_URL": bench.url}
    subprocess.run(command, env=env, cwd=REPO_DIR, check=True)


async def vacuum(bench: BenchDatabase) -> None:
    """Leave PostgreSQL's tables as autovacuum would after a while (visibility map set, statistics fresh)."""
    if bench.kind != "postgres":
        return
    engine = create_async_engine(bench.url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("VACUUM (ANALYZE)"))
    finally:
        await engine.dispose()


async def bench_token(bench: BenchDatabase) -> str:
    """A new bearer token of the bench user (a CLERK: reads everything, records stock movements)."""
    settings = bench.settings()
    database = Database(settings)
    security = users_db.Security.from_settings(settings)
    try:
        async with database.write_session() as session, session.begin():
            user = await users_db.user_by_username(session, username=BENCH_USER)
            if user is None:
                user = await users_db.create_user(
                    session,
                    security=security,
                    username=BENCH_USER,
                    password=secrets.token_urlsafe(24),
                    role=Role.CLERK,
                )
            issued = await users_db.issue_token(session, user_id=user.id, ttl=security.token_ttl)
        return issued.token
    finally:
        await database.dispose()
