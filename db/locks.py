"""Locks that serialize work across processes: migrating a database, and loading its demo data once."""

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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
