"""Reads through the database driver itself, for the read plans (graph/plans): statements are compiled
once, for the engine's dialect, from SQLAlchemy Core constructs; a request then only binds their
parameters and runs them on one pooled connection, without sessions, transactions or result objects.

Reads are safe to repeat, so no connection is pinged when it is checked out: a read that finds its
connection dead (a restarted server, a terminated backend) marks every pooled connection stale and runs
once more on a fresh one (`Database.run_read`).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

# Called with each statement's SQL before it runs (tests count statements with it).
StatementListener = Callable[[str], None]


@dataclass(frozen=True)
class CompiledRead:
    """A statement in the dialect's own SQL, with its parameters in the order the driver takes them and
    the column types' conversions of their values (a Money amount to SQLite's scaled integer, say).

    A parameter is named (its value given on each call) or carries its value in the statement (a literal
    of the query, such as the 0 of `reorder_point > 0`).
    """

    sql: str
    # Per parameter: its name, or None with its value in `fixed`.
    names: tuple[str | None, ...]
    fixed: tuple[Any, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    # The column types' conversions of a result row's values (None where the driver's value is final).
    result_processors: tuple[Callable[[Any], Any] | None, ...] = ()

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name, fixed, process in zip(self.names, self.fixed, self.processors, strict=True):
            value = fixed if name is None else values[name]
            arguments.append(value if process is None else process(value))
        return arguments

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        """A result row with its values as the column types make them (enums, UTC datetimes, ...)."""
        return tuple(
            value if process is None or value is None else process(value)
            for value, process in zip(raw, self.result_processors, strict=True)
        )


def compile_read(statement: ClauseElement, dialect: Dialect) -> CompiledRead:
    """`statement` compiled for `dialect`. A bind parameter that was given a value keeps it; the others are
    named by their key and take their values per call."""
    compiled = statement.compile(dialect=dialect)
    binds = [compiled.binds[key] for key in compiled.positiontup or ()]
    given = [bind.value is not None or bind.callable is not None for bind in binds]
    names = tuple(None if has_value else bind.key for bind, has_value in zip(binds, given, strict=True))
    fixed = tuple(bind.effective_value if has_value else None for bind, has_value in zip(binds, given, strict=True))
    processors = tuple(bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds)
    columns = getattr(statement, "selected_columns", ())
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    return CompiledRead(compiled.string, names, fixed, processors, results)


class ReadConnection:
    """One driver connection, checked out for a request's reads; asyncpg's or aiosqlite's alike."""

    def __init__(self, driver_connection: Any, *, postgresql: bool, listeners: Sequence[StatementListener]) -> None:
        self.driver = driver_connection
        self.postgresql = postgresql
        self.listeners = listeners

    async def fetch_row(self, read: CompiledRead, values: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row `read` gives, or None."""
        arguments = read.arguments(values)
        for listener in self.listeners:
            listener(read.sql)
        if self.postgresql:
            return await self.driver.fetchrow(read.sql, *arguments)  # type: ignore[no-any-return]
        rows = await self.driver.execute_fetchall(read.sql, arguments)
        return rows[0] if rows else None

    async def execute(self, read: CompiledRead, values: Mapping[str, Any]) -> None:
        """Run `read` for its effect (a statement that writes, such as a token's last use)."""
        await self.fetch_row(read, values)

    async def fetch_value(self, read: CompiledRead, values: Mapping[str, Any]) -> Any:
        """The first column of the first row `read` gives, or None."""
        row = await self.fetch_row(read, values)
        return None if row is None else row[0]


def is_disconnect(error: BaseException) -> bool:
    """Whether `error` says the connection is gone (so the read may run again on a new one)."""
    if isinstance(error, (ConnectionError, OSError)):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(
        error,
        (
            asyncpg.exceptions.ConnectionDoesNotExistError,
            asyncpg.exceptions.InterfaceError,  # "connection is closed"
            asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08
            asyncpg.exceptions.AdminShutdownError,  # 57P01: pg_terminate_backend, a server shutting down
            asyncpg.exceptions.CrashShutdownError,
            asyncpg.exceptions.CannotConnectNowError,
            asyncpg.exceptions.InternalClientError,  # a connection left mid-operation by one of these
        ),
    )
