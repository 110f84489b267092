"""Locks that serialize work across processes: migrating a database, and loading its demo data once."""

import hashlib
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

if TYPE_CHECKING:
    from db.engine import Database

T = TypeVar("T")

MIGRATIONS = "inventory: migrations"
DEMO_DATA = "inventory: demo data"


def lock_key(name: str) -> int:
    """The 64-bit advisory lock key of a lock name (PostgreSQL's advisory locks are numbered)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def serialize(connection: AsyncConnection | AsyncSession, name: str) -> None:
    """Wait until no other transaction holds the lock `name`, then hold it until this transaction ends.

    On PostgreSQL a transaction-level advisory lock. On SQLite there is nothing to take: the caller's
    transaction must be a write transaction (BEGIN IMMEDIATE, see db/engine.py), which holds the database's
    one write lock from its start.
    """
    dialect = connection.dialect if isinstance(connection, AsyncConnection) else connection.get_bind().dialect
    if dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})



# How long a process waits for another one's one-time work (a migration, the demo data) before giving up.
ONCE_WAIT_SECONDS = 600.0


async def waiting_out_sqlite_busy(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt` (a whole transaction), again while SQLite says another process holds its write lock.

    PostgreSQL's advisory locks wait as long as their holder takes. SQLite's write lock waits only the busy
    timeout, which a migration or a demo catalog loaded by another process on a busy machine can outlast:
    the transaction is begun again until ONCE_WAIT_SECONDS have passed.
    """
    deadline = time.monotonic() + ONCE_WAIT_SECONDS
    while True:
        try:
            return await attempt()
        except OperationalError as error:
            if not (is_sqlite_busy(error) and time.monotonic() < deadline):
                raise


async def once_across_processes(database: "Database", name: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a write transaction that holds the lock `name`, after any other process that holds it."""

    async def attempt() -> T:
        async with database.write_session() as session, session.begin():
            await serialize(session, name)
            return await work(session)

    return await waiting_out_sqlite_busy(attempt)


def is_sqlite_busy(error: BaseException) -> bool:
    """Whether `error` is SQLite's "database is locked": another connection held the write lock past the timeout."""
    cause = getattr(error, "orig", error)
    return isinstance(cause, sqlite3.OperationalError) and "database is locked" in str(cause)
