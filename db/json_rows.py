"""Rows as JSON built by the database, one dialect's functions or the other's: arrays of values, a list of
them aggregated in order, and, per column, the SQL that puts its value into JSON with the function that
reads it back as the column type gives it to Python (an exact Decimal, an aware UTC datetime).

PostgreSQL has json_build_array and json_agg (numbers are put in as text, so that no amount passes
through a float); SQLite has json_array and json_group_array, and keeps an ordered subquery's order when
it aggregates it. SQLite forgets that a value is JSON once it leaves a subquery, so nested JSON is read
back with json() there.
"""

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Date, DateTime, Enum, Numeric, Select, Text, any_, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

Decode = Callable[[Any], Any]
# json_build_array takes at most 100 arguments (PostgreSQL's limit on function arguments).
MAX_ARRAY_VALUES = 90


class JsonRows:
    """The JSON constructors of one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.postgresql = dialect.name == "postgresql"

    def array(self, values: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
        """A JSON array of `values` (at most MAX_ARRAY_VALUES of them)."""
        return func.json_build_array(*values) if self.postgresql else func.json_array(*values)

    def nested(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """JSON that a subquery returns, to be put inside an array as JSON (not as a string)."""
        return value if self.postgresql else func.json(value)

    def aggregate(self, element: ColumnElement[Any], rows: Select[Any], order: Sequence[Any]) -> Select[Any]:
        """A select of one JSON array: `element` for each row of `rows` (a select whose FROM and WHERE give
        the rows; its columns are ignored), in `order`; [] when there are none."""
        # The rows' FROM stays even when `element` reads none of its columns (`{ totalCount }` reads no row).
        if self.postgresql:
            aggregated = func.json_agg(aggregate_order_by(element, *order)) if order else func.json_agg(element)
            listed = func.coalesce(aggregated, literal_column("'[]'::json"))
            return rows.with_only_columns(listed, maintain_column_froms=True)
        ordered = rows.with_only_columns(element.label("element"), maintain_column_froms=True).order_by(*order).subquery()
        return select(func.json_group_array(func.json(ordered.c.element)))

    def id_list(self, ids: list[int]) -> Any:
        """A parameter's value holding `ids`, for `in_list`: an array on PostgreSQL, JSON text on SQLite."""
        return ids if self.postgresql else orjson.dumps(ids).decode()

    def in_list(self, column: ColumnElement[Any], ids: ColumnElement[Any]) -> ColumnElement[bool]:
        """`column` is one of the parameter `ids` (an `id_list`): one parameter whatever their number."""
        if self.postgresql:
            return column == any_(ids)
        return column.in_(select(func.json_each(ids).table_valued("value").c.value))

    def within(self, column: ColumnElement[Any], values: Select[Any]) -> ColumnElement[bool]:
        """`column IN (values)`; on PostgreSQL `= ANY(ARRAY(values))`, which it runs as an index look-up per
        value where it would hash a whole table for IN (a subtree's categories among 100,000 products)."""
        if self.postgresql:
            return column == any_(func.array(values.scalar_subquery()))
        return column.in_(values)

    def value(self, value: ColumnElement[Any], type_: TypeEngine[Any]) -> ColumnElement[Any]:
        """`value` (of `type_`) as put into JSON."""
        if not self.postgresql or _is_enum(type_):
            return value
        base = _base(type_)
        if isinstance(base, Numeric):
            return cast(value, Text)
        if isinstance(base, DateTime):
            return func.timezone("UTC", value)
        return value

    def decoder(self, type_: TypeEngine[Any]) -> Decode | None:
        """How a value of `type_` put into JSON by `value` reads back as Python gets it from the column
        (None: as JSON has it)."""
        if _is_enum(type_):
            return None  # the stored text is the GraphQL name
        if not self.postgresql:
            # SQLite's JSON holds what the column stores (text, integers): the column type reads it back.
            return type_.dialect_impl(self.dialect).result_processor(self.dialect, None)
        # What asyncpg would give: the column's own scale, UTC (so Money's and UTCDateTime's processing of
        # asyncpg's values would change nothing here).
        base = _base(type_)
        if isinstance(base, Numeric):
            return Decimal
        if isinstance(base, DateTime):
            return _utc_datetime
        if isinstance(base, Date):
            return date.fromisoformat
        return None


def _base(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    return type_.impl_instance if isinstance(type_, TypeDecorator) else type_


def _is_enum(type_: TypeEngine[Any]) -> bool:
    return isinstance(_base(type_), Enum)


def _utc_datetime(text: str) -> datetime:
    """A UTC timestamp as PostgreSQL's JSON has it (`timezone('UTC', ...)`: without an offset)."""
    return datetime.fromisoformat(text + "+00:00")
