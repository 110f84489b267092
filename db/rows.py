"""Read paths select plain rows (SQLAlchemy Core) instead of ORM entities, and hand them on as named
tuples.

The GraphQL layer copies each row's values into its own objects at once, so the ORM's identity map,
instance state and change tracking would be pure cost on a read; so would a Core `Row`'s attribute
look-up (by key, about ten times a named tuple's). A row answers the same attribute names as the
entity (`row.name`, `row.category_id`), so callers read either alike. Writes keep the ORM.
"""

from collections import namedtuple
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Select, any_, literal, select


def one_of(session: Any, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(:values)`, one array parameter. The statement's
    text, and so its prepared statement and plan, then stay the same for any number of values, and no SQL
    is rendered per value."""
    if session.bind.dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


def select_rows(entity: Any) -> Select[Any]:
    """`SELECT` every column of `entity`'s table."""
    return select(*entity.__table__.columns)


async def fetch_rows(session: Any, stmt: Select[Any]) -> list[Any]:
    """Every row of `stmt`, each a named tuple of its columns."""
    result = await session.execute(stmt)
    make = _row_type(tuple(result.keys()))._make
    return [make(row) for row in result]


async def fetch_row(session: Any, stmt: Select[Any]) -> Any:
    """The first row of `stmt` as a named tuple, or None."""
    rows = await fetch_rows(session, stmt.limit(1))
    return rows[0] if rows else None


@lru_cache(maxsize=256)
def _row_type(columns: tuple[str, ...]) -> type:
    return namedtuple("Row", columns)  # type: ignore[misc]  # noqa: PYI024
