"""Async engine and session factories; SQLite pragmas and write locking; PostgreSQL pool settings; the
driver-level reads of the read plans (db/direct.py) with their retry on a dead connection; which errors say
the database is unavailable for a moment (`is_unavailable`)."""

import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from db.config import Settings
from db.direct import ReadConnection, StatementListener, is_disconnect
from db.locks import is_sqlite_busy
from db.types import register_sqlite_functions

T = TypeVar("T")

# Execution option that makes a SQLite transaction take the write lock at BEGIN.
BEGIN_IMMEDIATE = "inventory_begin_immediate"


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` is a passing failure of the database rather than one of the request: SQLite's write lock
    held by another connection past the busy timeout, or a lost connection (a terminated backend, a server
    restarting or out of reach). The request's transaction did not commit, or its connection was lost at the
    commit, so whether it did is unknown: the same request may be sent again (a stock mutation with the same
    idempotency key takes effect once)."""
    seen: set[int] = set()
    cause: BaseException | None = error
    # SQLAlchemy's errors hold the driver's (`orig`); SQLAlchemy's asyncpg adapter's hold asyncpg's (`__cause__`).
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if is_sqlite_busy(cause) or is_disconnect(cause):
            return True
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for `settings.database_url` with per-backend connection setup.

    No connection is pinged at checkout (that is a round trip per checkout): reads that meet a dead
    connection run again (`Database.run_read`), and a session that meets one fails once while
    SQLAlchemy replaces every connection of the pool.
    """
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url,
            echo=settings.echo_sql,
            connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000, "factory": SQLiteConnection},
            # Sessions end their own transactions; the read plans' connections run in autocommit. A reset
            # would be one more trip to aiosqlite's thread per checkout, for nothing.
            pool_reset_on_return=None,
        )
        _configure_sqlite(engine, settings)
        return engine
    return create_async_engine(
        settings.database_url,
        echo=settings.echo_sql,
        # The driver decodes JSON results (the read plans' rows) as they arrive.
        json_deserializer=orjson.loads,
        # No JIT compilation: it takes tens of milliseconds per statement, more than the API's statements
        # (a page with what lies below it) take to run; PostgreSQL turns it on by their estimated cost.
        connect_args={"server_settings": {"jit": "off"}},
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_timeout=settings.pool_timeout,
    )


class SQLiteConnection(sqlite3.Connection):
    """A SQLite connection with the application's SQL functions (db.types.money_sum's exact aggregate).

    Registered as the connection is made (sqlite3.connect's `factory`, which aiosqlite passes on), in the
    thread that owns it: aiosqlite's connection offers create_function but no create_aggregate.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        register_sqlite_functions(self)


def _configure_sqlite(engine: AsyncEngine, settings: Settings) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Take transaction control away from the driver so BEGIN is ours to emit (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # Writers lock at BEGIN, so two writers never both read a stock level and then race to
        # upgrade their locks (which SQLite resolves by failing one of them with SQLITE_BUSY).
        if conn.get_execution_options().get(BEGIN_IMMEDIATE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class Database:
    """The engine, the two session factories the application uses, and driver-level reads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.read_session = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        write_engine = self.engine.execution_options(**{BEGIN_IMMEDIATE: True})
        self.write_session = async_sessionmaker(write_engine, expire_on_commit=False, autoflush=False)
        self.postgresql = not settings.is_sqlite
        # Listeners of the statements run_read executes (SQLAlchemy's events do not see them).
        self.read_listeners: list[StatementListener] = []
        # When a read last found its connection dead (time.monotonic()).
        self._connection_lost_at = 0.0
        event.listen(self.engine.sync_engine, "connect", self._on_connect)
        event.listen(self.engine.sync_engine, "checkout", self._on_checkout)

    @staticmethod
    def _on_connect(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["connected_at"] = time.monotonic()

    def _on_checkout(self, _dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        # After a read found its connection dead, every connection made before that is replaced when it is
        # next checked out (the pool reconnects it): when one backend was terminated or the server
        # restarted, the others are likely gone too.
        if record.info.get("connected_at", 0.0) < self._connection_lost_at:
            raise DisconnectionError("made before a read found its connection closed")

    async def run_read(self, work: Callable[[ReadConnection], Awaitable[T]]) -> T:
        """Run `work` on one pooled connection of the driver's own, without a transaction (each statement
        sees the data as of its start); if the connection turns out dead, once more on a fresh one."""
        for attempt in (1, 2):
            pooled = await self.engine.raw_connection()
            connection = ReadConnection(
                pooled.driver_connection, postgresql=self.postgresql, listeners=self.read_listeners
            )
            try:
                result = await work(connection)
            except Exception as error:
                if not is_disconnect(error):
                    await self._release(pooled)
                    raise
                await greenlet_spawn(pooled.invalidate, error)  # checked in, to be replaced
                self._connection_lost_at = time.monotonic()
                if attempt == 2:
                    raise
                continue
            except BaseException:
                await greenlet_spawn(pooled.invalidate)  # cancelled mid-statement: its state is unknown
                raise
            await self._release(pooled)
            return result
        raise AssertionError("unreachable")

    async def _release(self, pooled: Any) -> None:
        """Return a connection to the pool. A full pool closes it instead, which awaits the driver: that
        runs where SQLAlchemy's async layer can await (as AsyncEngine.raw_connection ran the checkout)."""
        pool = self.engine.sync_engine.pool
        if isinstance(pool, QueuePool) and pool.checkedin() >= pool.size():
            await greenlet_spawn(pooled.close)
        else:
            pooled.close()

    async def dispose(self) -> None:
        await self.engine.dispose()
