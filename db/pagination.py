"""Keyset pagination in SQL: one page of a sorted query, or one page per parent in one statement.

A page is asked for Relay-style (first/after or last/before). Rows are ordered by a sort key whose
last column is the primary key, so the order is total and a cursor (the key values of a row) marks a
position that stays valid while rows are added or removed around it.
"""

import base64
import binascii
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    func,
    literal,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.binds import Bind, with_values
from db.errors import Invalid
from db.rows import fetch_rows, one_of, select_rows

T = TypeVar("T")
# How a cursor writes a decimal key (str of a Decimal read from a column): ASCII digits, no exponent.
_DECIMAL = re.compile(r"-?[0-9]{1,40}(\.[0-9]{1,40})?")


@dataclass(frozen=True)
class SortKey:
    """Columns to order by (the primary key last) and the direction they all take."""

    columns: tuple[ColumnElement[Any], ...]
    descending: bool = False

    def order_by(self, reverse: bool = False) -> list[ColumnElement[Any]]:
        descending = self.descending != reverse
        return [c.desc() if descending else c.asc() for c in self.columns]

    def key_of(self, row: Any) -> tuple[Any, ...]:
        return tuple(getattr(row, c.key) for c in self.columns)  # type: ignore[attr-defined]

    @property
    def order(self) -> str:
        """The order's columns by name: what a cursor says it was made for, so that a cursor of another
        order is refused rather than read as a position in this one."""
        return ",".join(c.key for c in self.columns)  # type: ignore[attr-defined]

    def __shape__(self) -> tuple[Any, ...]:
        """The order's columns and direction: what a statement's ORDER BY depends on (db/binds.py)."""
        return (*(c.key for c in self.columns), self.descending)  # type: ignore[attr-defined]

    def on(self, entity: Any) -> "SortKey":
        """The same order over `entity`, an alias of the table the columns belong to."""
        return SortKey(tuple(getattr(entity, c.key) for c in self.columns), self.descending)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Window:
    """A validated page request: `limit` rows after `after` (or, backward, before `before`)."""

    limit: int
    backward: bool = False
    after: str | None = None
    before: str | None = None

    @classmethod
    def from_args(
        cls,
        *,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        default_size: int,
        max_size: int,
    ) -> "Window":
        if first is not None and last is not None:
            raise Invalid("Pass either `first` or `last`, not both.", field="first")
        for name, size in (("first", first), ("last", last)):
            if size is not None and size < 0:
                raise Invalid(f"`{name}` must not be negative.", field=name)
            if size is not None and size > max_size:
                raise Invalid(
                    f"`{name}` is {size}, larger than the maximum page size of {max_size}.", field=name
                )
        if last is not None:
            return cls(limit=last, backward=True, after=after, before=before)
        return cls(limit=default_size if first is None else first, after=after, before=before)

    @property
    def cache_key(self) -> Hashable:
        return (self.limit, self.backward, self.after, self.before)


@dataclass
class Page(Generic[T]):
    rows: list[T]
    keys: list[tuple[Any, ...]]
    has_next_page: bool
    has_previous_page: bool
    order: str  # SortKey.order of the sort the keys are of

    @property
    def cursors(self) -> list[str]:
        return [encode_cursor(self.order, k) for k in self.keys]


def encode_cursor(order: str, key: tuple[Any, ...]) -> str:
    """The cursor of the row whose sort key is `key` in the order `order` (SortKey.order)."""
    values = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, Decimal) else v for v in key]
    return base64.urlsafe_b64encode(orjson.dumps([order, *values])).decode()


def decode_cursor(cursor: str, sort: SortKey, field: str) -> tuple[Any, ...]:
    """The key values a cursor holds, typed like the sort columns; Invalid if it is not one of ours."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(decoded, list) or not decoded or decoded[0] != sort.order:
            raise ValueError
        values = decoded[1:]
        if len(values) != len(sort.columns):
            raise ValueError
        return tuple(_typed(v, c) for v, c in zip(values, sort.columns, strict=True))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError, ArithmeticError):
        raise Invalid(f"`{field}` is not a valid cursor for this list and ordering.", field=field) from None


def _typed(value: Any, column: ColumnElement[Any]) -> Any:
    """`value` as `column` holds it; ValueError unless the column could hold it (a cursor is checked as
    strictly as a global ID: a forged one must be refused here, not by the database)."""
    column_type = column.type
    python_type = column_type.python_type
    if python_type is datetime and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed.astimezone(UTC)  # OverflowError past the years datetime can hold
    if python_type is Decimal and isinstance(value, str) and _DECIMAL.fullmatch(value):
        return _money(Decimal(value), column_type)
    if python_type is int and isinstance(value, int) and not isinstance(value, bool):
        bits = 64 if isinstance(column_type, BigInteger) else 32
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            raise ValueError
        return value
    if python_type is str and isinstance(value, str):
        length = getattr(column_type, "length", None)
        if "\x00" in value or (length is not None and len(value) > length):
            raise ValueError
        return value
    raise ValueError


def _money(amount: Decimal, column_type: Any) -> Decimal:
    """`amount` if a column of `column_type` (db.types.Money, or another Numeric) can hold it exactly."""
    precision, scale = getattr(column_type, "precision", None), getattr(column_type, "scale", None)
    if precision is not None and scale is not None:
        if abs(amount) >= Decimal(10) ** (precision - scale) or amount != amount.quantize(Decimal(1).scaleb(-scale)):
            raise ValueError
    return amount


@dataclass(frozen=True)
class Keyset:
    """A page request against one sort order: its window, with the keys its cursors hold."""

    window: Window
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None

    @classmethod
    def of(cls, sort: SortKey, window: Window) -> "Keyset":
        """Invalid if a cursor is not one of this list's and ordering."""
        after = None if window.after is None else decode_cursor(window.after, sort, "after")
        before = None if window.before is None else decode_cursor(window.before, sort, "before")
        return cls(window, after, before)


def keyset_conditions(sort: SortKey, keyset: Keyset, bind: Bind | None = None) -> list[ColumnElement[bool]]:
    """The rows between the keyset's cursors, in `sort`'s order (`bind` as in db/binds.py, over the Keyset)."""
    bind = bind or with_values(keyset)
    columns = tuple_(*sort.columns)
    conditions = []
    for side in ("after", "before"):
        if getattr(keyset, side) is None:
            continue
        bound = tuple_(
            *(
                bind(f"{side}_{i}", lambda k, side=side, i=i: getattr(k, side)[i], column.type)
                for i, column in enumerate(sort.columns)
            )
        )
        later = (side == "after") != sort.descending
        conditions.append(columns > bound if later else columns < bound)
    return conditions


def cut_page(items: list[T], window: Window) -> tuple[list[T], bool, bool]:
    """The page of `items` (fetched in the window's direction, one more than its limit if there are more),
    in the list's order, with whether there is a next and a previous page."""
    has_more = len(items) > window.limit
    items = items[: window.limit]
    if window.backward:
        items.reverse()
        return items, window.before is not None, has_more
    return items, has_more, window.after is not None


def _to_page(rows: Sequence[Any], sort: SortKey, window: Window) -> Page[Any]:
    rows, has_next, has_previous = cut_page(list(rows), window)
    return Page(rows, [sort.key_of(r) for r in rows], has_next, has_previous, sort.order)


def empty_page(sort: SortKey) -> "Page[Any]":
    """The page a window of no rows (`first: 0`) gives."""
    return Page([], [], False, False, sort.order)


async def fetch_page(session: Any, stmt: Select[Any], sort: SortKey, window: Window) -> Page[Any]:
    """One page of `stmt` (a select of one table's rows), with one extra row read to tell if more follow."""
    keyset = Keyset.of(sort, window)
    if window.limit == 0:
        return empty_page(sort)
    stmt = stmt.where(*keyset_conditions(sort, keyset)).order_by(*sort.order_by(reverse=window.backward))
    stmt = stmt.limit(window.limit + 1)
    rows = await fetch_rows(session, stmt)
    return _to_page(rows, sort, window)


async def fetch_pages(
    session: Any,
    stmt: Select[Any],
    entity: type,
    partition: ColumnElement[Any],
    parent_ids: Sequence[Any],
    sort: SortKey,
    window: Window,
) -> dict[Any, Page[Any]]:
    """One page per parent in a single statement.

    `stmt` selects the rows of `entity`'s table; `partition` is the column that names a row's parent,
    and this function restricts it to `parent_ids`. Each row comes back with `partition_key` besides its
    own columns. When `partition` is a column of `entity`, each parent's page is a subquery on
    `partition = parent` that stops after the page, so an index on the partition and sort columns reads
    just those rows: a LATERAL subquery on PostgreSQL; on SQLite, which has no LATERAL, a correlated
    subquery naming the page's rows by primary key. Otherwise (the partition comes from a join) a
    window function numbers the parents' rows and each page is cut from them.
    """
    parent_ids = list(dict.fromkeys(parent_ids))  # each parent once: its page must not come twice
    keyset = Keyset.of(sort, window)
    if window.limit == 0:
        return {pid: empty_page(sort) for pid in parent_ids}
    pages: dict[Any, Page[Any]] = {pid: _to_page([], sort, window) for pid in parent_ids}
    if not parent_ids:
        return pages
    columns = entity.__table__.columns  # type: ignore[attr-defined]
    if getattr(partition, "class_", None) is not entity:
        restricted = stmt.where(one_of(session, partition, parent_ids))
        outer = _numbered_pages(restricted, columns, partition, sort, keyset)
    elif session.bind.dialect.name == "postgresql":
        outer = _lateral_pages(stmt, columns, partition, parent_ids, sort, keyset)
    else:
        outer = _correlated_pages(stmt, entity, partition, parent_ids, sort, keyset)
    grouped: dict[Any, list[Any]] = {}
    for row in await fetch_rows(session, outer):
        grouped.setdefault(row.partition_key, []).append(row)
    for parent_id, rows in grouped.items():
        pages[parent_id] = _to_page(rows, sort, window)
    return pages


def _numbered_pages(stmt: Select[Any], columns: Any, partition: Any, sort: SortKey, keyset: Keyset) -> Select[Any]:
    window = keyset.window
    row_number = func.row_number().over(partition_by=partition, order_by=sort.order_by(reverse=window.backward))
    inner = (
        stmt.where(*keyset_conditions(sort, keyset))
        .add_columns(partition.label("partition_key"), row_number.label("position"))
        .subquery()
    )
    return (
        select(*(inner.c[column.key] for column in columns), inner.c.partition_key)
        .where(inner.c.position <= window.limit + 1)
        .order_by(inner.c.partition_key, inner.c.position)
    )


def _lateral_pages(
    stmt: Select[Any], columns: Any, partition: Any, parent_ids: Sequence[Any], sort: SortKey, keyset: Keyset
) -> Select[Any]:
    window = keyset.window
    parents = (
        func.unnest(literal(list(parent_ids), ARRAY(partition.type)))
        .table_valued("id")
        .render_derived(name="parents")
    )
    order = sort.order_by(reverse=window.backward)
    page = (
        stmt.where(partition == parents.c.id, *keyset_conditions(sort, keyset))
        .order_by(*order)
        .limit(window.limit + 1)
        .lateral("page")
    )
    descending = sort.descending != window.backward
    in_page = [page.c[column.key] for column in sort.columns]  # type: ignore[attr-defined]
    return (
        select(*(page.c[column.key] for column in columns), parents.c.id.label("partition_key"))
        .select_from(parents.join(page, true()))
        .order_by(parents.c.id, *(c.desc() if descending else c.asc() for c in in_page))
    )


def _correlated_pages(
    stmt: Select[Any], entity: Any, partition: Any, parent_ids: Sequence[Any], sort: SortKey, keyset: Keyset
) -> Select[Any]:
    window = keyset.window
    table = entity.__table__
    primary_key = list(table.primary_key.columns)
    # The parent keys as one JSON parameter: SQLite's VALUES takes no column names.
    parents = func.json_each(orjson.dumps(list(parent_ids)).decode()).table_valued("value", name="parents")
    in_page = (
        stmt.with_only_columns(*primary_key)
        .where(partition == parents.c.value, *keyset_conditions(sort, keyset))
        .order_by(*sort.order_by(reverse=window.backward))
        .limit(window.limit + 1)
        .correlate(parents)
    )
    page = table.alias("page")
    page_key = [page.c[c.key] for c in primary_key]
    in_page_key = tuple_(*page_key) if len(page_key) > 1 else page_key[0]
    descending = sort.descending != window.backward
    in_order = [page.c[c.key] for c in sort.columns]  # type: ignore[attr-defined]
    return (
        select(*(page.c[c.key] for c in table.columns), parents.c.value.label("partition_key"))
        .select_from(parents.join(page, in_page_key.in_(in_page)))
        .order_by(parents.c.value, *(c.desc() if descending else c.asc() for c in in_order))
    )


async def count_where(session: AsyncSession, entity: type, conditions: Sequence[ColumnElement[bool]]) -> int:
    return (await session.scalar(select(func.count()).select_from(entity).where(*conditions))) or 0


async def page_of(
    session: AsyncSession, entity: type, conditions: Sequence[ColumnElement[bool]], sort: SortKey, window: Window
) -> Page[Any]:
    return await fetch_page(session, select_rows(entity).where(*conditions), sort, window)
