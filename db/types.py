"""Column types that behave the same on SQLite and PostgreSQL: exact money and UTC timestamps; `money_sum`,
an exact sum of money amounts (times quantities) on both."""

import sqlite3
from datetime import UTC, datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation, Overflow, localcontext
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import TypeDecorator, TypeEngine

# Decimal arithmetic without a limit on digits: Python's default context keeps 28 significant digits, fewer
# than a NUMERIC(38, 4) amount or a sum of them holds, and rounds the rest away silently. In this one adding,
# multiplying and scaling by powers of ten are exact, and quantize rounds only to the places asked for. (No
# division: a quotient that does not end would take all the memory there is.)
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Overflow])


class Money(TypeDecorator[Decimal]):
    """An exact decimal with a fixed number of places.

    PostgreSQL stores it as NUMERIC(precision, scale). SQLite has no exact decimal type (NUMERIC
    columns hold binary floats), so there it is stored as a scaled integer: 12.34 at scale 2 is
    1234. Sums and comparisons in SQL stay exact on both.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)
        self._factor = Decimal(10) ** scale

    def __repr__(self) -> str:
        return f"Money({self.precision}, {self.scale})"

    def scaled(self, value: Any) -> Decimal | None:
        """`value` at this column's scale (12.5 at scale 2 is 12.50), as it reads back from the database."""
        if value is None:
            return None
        with localcontext(EXACT):
            return Decimal(value).quantize(self._quantum)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        with localcontext(EXACT):
            amount = Decimal(value).quantize(self._quantum)
            if dialect.name == "sqlite":
                return int(amount.scaleb(self.scale))
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        with localcontext(EXACT):
            if dialect.name == "sqlite":
                # An integer, or the text of one (`money_sum`'s result, which may pass 64 bits).
                return Decimal(value).scaleb(-self.scale).quantize(self._quantum)
            return Decimal(value).quantize(self._quantum)

    @property
    def python_type(self) -> type:
        return Decimal


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp; SQLite, which keeps no zone, gets UTC put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.driver == "asyncpg":
            return None  # asyncpg reads TIMESTAMP WITH TIME ZONE as an aware UTC datetime already
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type:
        return datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class money_sum(GenericFunction[Decimal]):  # noqa: N801 - named as SQL functions are, like func.sum
    """`money_sum(amount)`, or `money_sum(quantity, amount)`: the SUM of its arguments' product over the
    rows, exact on both databases (null for no rows).

    PostgreSQL runs it as `sum(quantity * amount)`, NUMERIC throughout. On SQLite, where money is a scaled
    integer (see Money), the product and the sum of 64-bit integers would overflow into inexact REALs; there
    it is SQLITE_MONEY_SUM, an aggregate of ours (`ExactSum`) that every connection registers
    (db/engine.py), and its result is the decimal text of the exact sum. Pass `type_=` the Money type the
    result is read as.
    """

    name = "money_sum"
    inherit_cache = True


SQLITE_MONEY_SUM = "inventory_money_sum"


@compiles(money_sum)
def _money_sum(element: money_sum, compiler: SQLCompiler, **kw: Any) -> str:
    factors = list(element.clauses)
    product = factors[0]
    for factor in factors[1:]:
        product = product * factor
    return compiler.process(func.sum(product), **kw)


@compiles(money_sum, "sqlite")
def _money_sum_sqlite(element: money_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(getattr(func, SQLITE_MONEY_SUM)(*element.clauses), **kw)


class ExactSum:
    """SQLite aggregate: the sum over the rows of the product of the step's arguments, each an integer or
    the text of a decimal number, worked out with Python's unbounded integers and `EXACT` decimals. Rows
    with a null argument are skipped, as SUM skips nulls; no rows give null. The result is text (an integer's
    digits, or a plain decimal), since it may pass what SQLite's 64-bit INTEGER holds."""

    def __init__(self) -> None:
        self.total: int | Decimal | None = None

    def step(self, *factors: Any) -> None:
        if any(factor is None for factor in factors):
            return
        with localcontext(EXACT):
            product: int | Decimal = 1
            for factor in factors:
                product *= _exact_number(factor)
            self.total = product if self.total is None else self.total + product

    def finalize(self) -> str | None:
        if self.total is None:
            return None
        return str(self.total) if isinstance(self.total, int) else format(self.total, "f")


def _exact_number(value: Any) -> int | Decimal:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return Decimal(value)
    # A REAL (or a BLOB) has no exact decimal value to add: refuse rather than sum it approximately.
    raise TypeError(f"{SQLITE_MONEY_SUM} sums integers and decimal text, not {type(value).__name__}")


def register_sqlite_functions(connection: sqlite3.Connection) -> None:
    """Make this module's SQL functions known to one SQLite connection."""
    connection.create_aggregate(SQLITE_MONEY_SUM, -1, ExactSum)  # type: ignore[arg-type]
