"""How the reference path's root query fields load: a page of rows, a list or one object, in a read
session of its own; what lies below comes through the request's DataLoaders."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from strawberry.types import Info

from db.pagination import Page, SortKey, Window, count_where, page_of
from graph.relay import Connection, id_or_key

T = TypeVar("T")
Session = Any


async def connection(
    info: Info,
    convert: Callable[[Any], T],
    page: Callable[[Session], Awaitable[Page[Any]]],
    count: Callable[[Session], Awaitable[int]],
) -> Connection[T]:
    """A root connection: one page, and its count when `totalCount` is resolved."""
    context = info.context
    async with context.db.read_session() as session:
        rows = await page(session)
    return Connection.of(rows, convert, lambda: _count(context, count))


async def _count(context: Any, count: Callable[[Session], Awaitable[int]]) -> int:
    async with context.db.read_session() as session:
        return await count(session)


async def connection_of(
    info: Info, model: type, conditions: list[Any], sort: SortKey, page_window: Window, convert: Callable[[Any], T]
) -> Connection[T]:
    """A root connection over `model` rows matching `conditions`."""
    return await connection(
        info,
        convert,
        lambda session: page_of(session, model, conditions, sort, page_window),
        lambda session: count_where(session, model, conditions),
    )


async def loaded(info: Info, fetch: Callable[[Session], Awaitable[T]]) -> T:
    """A root object or list of objects, fetched by `fetch` in a read session."""
    async with info.context.db.read_session() as session:
        return await fetch(session)


async def by_id(info: Info, loader: Any, pk: int) -> Any:
    """One object by primary key, through its DataLoader."""
    return await loader.load(pk)


async def by_id_or_key(
    info: Info,
    type_name: str,
    global_id: str | None,
    *,
    loader: Any,
    find: Callable[[Session, str], Awaitable[Any]],
    convert: Callable[[Any], T],
    **key: str | None,
) -> T | None:
    """One object by its global ID or by a natural key (`sku=...`): exactly one of the two must be given."""
    [(key_name, key_value)] = key.items()
    pk, key_value = id_or_key(type_name, global_id, key_name, key_value)
    if pk is not None:
        return await by_id(info, loader, pk)  # type: ignore[no-any-return]

    async def fetch(session: Session) -> T | None:
        row = await find(session, key_value)  # type: ignore[arg-type]
        return None if row is None else convert(row)

    return await loaded(info, fetch)
