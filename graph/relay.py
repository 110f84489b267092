"""Relay building blocks: global IDs, the Node interface, connections and page arguments."""

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from db.config import Settings
from db.errors import Invalid, NotFound
from db.pagination import Page, SortKey, Window, count_where, page_of

T = TypeVar("T")
# Primary keys are 32-bit integers on PostgreSQL: a larger number in an ID names no row, and sent to
# the database it would fail there (out of range) instead of finding nothing.
MAX_PK = 2**31 - 1


def to_global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_global_id(global_id: str) -> tuple[str, int]:
    """Split a global ID into type name and primary key; ValueError if it is not one."""
    try:
        type_name, _, pk = base64.b64decode(global_id.encode(), validate=True).decode().partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"{global_id!r} is not a valid ID") from None
    if not type_name or not 0 < number <= MAX_PK or str(number) != pk:
        raise ValueError(f"{global_id!r} is not a valid ID")
    return type_name, number


def decode_id(global_id: str, type_name: str, field: str) -> int:
    """The primary key in a global ID that must name a `type_name`."""
    try:
        actual, pk = from_global_id(global_id)
    except ValueError:
        raise Invalid(f"`{field}` is not a valid ID.", field=field) from None
    if actual != type_name:
        raise NotFound(f"`{field}` must be the ID of a {type_name}, not of a {actual}.", field=field)
    return pk


@strawberry.interface(description="An object with a globally unique ID.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds (every page).")
    def total_count(self) -> int:
        return self._count()

    @strawberry.field(description="The items of this page, without edges.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, page: Page[Any], convert: Callable[[Any], T], count: Callable[[], Awaitable[int]]) -> "Connection[T]":
        cursors = page.cursors
        edges = [Edge(cursor=c, node=convert(row)) for c, row in zip(cursors, page.rows, strict=True)]
        info = PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )
        return cls(edges=edges, page_info=info, _count=count)


async def deferred_connection(
    page: Awaitable[Page[Any]], convert: Callable[[Any], T], count: Callable[[], Awaitable[int]]
) -> Connection[T]:
    """A nested connection from a page loader's future; the count loads only if `totalCount` is selected."""
    return Connection.of(await page, convert, count)


def window(settings: Settings, first: int | None, after: str | None, last: int | None, before: str | None) -> Window:
    return Window.from_args(
        first=first,
        after=after,
        last=last,
        before=before,
        default_size=settings.default_page_size,
        max_size=settings.max_page_size,
    )



async def connection_of(
    context: Any, model: type, conditions: list[Any], sort: SortKey, page_window: Window, convert: Callable[[Any], T]
) -> Connection[T]:
    """A root connection over `model` rows matching `conditions`; the count runs only if selected."""
    async with context.db.read_session() as session:
        page = await page_of(session, model, conditions, sort, page_window)

    async def count() -> int:
        async with context.db.read_session() as session:
            return await count_where(session, model, conditions)

    return Connection.of(page, convert, count)


async def by_id_or_key(
    context: Any,
    type_name: str,
    global_id: str | None,
    *,
    loader: Any,
    find: Callable[[Any, str], Awaitable[Any]],
    convert: Callable[[Any], T],
    **key: str | None,
) -> T | None:
    """One object by its global ID or by a natural key (`sku=...`): exactly one of the two must be given."""
    [(key_name, key_value)] = key.items()
    given = [name for name, value in (("id", global_id), (key_name, key_value)) if value is not None]
    if len(given) != 1:
        raise Invalid(f"Pass exactly one of `id` or `{key_name}`.", field=given[1] if given else None)
    if global_id is not None:
        return await loader.load(decode_id(global_id, type_name, "id"))
    async with context.db.read_session() as session:
        row = await find(session, key_value)
    return None if row is None else convert(row)
