"""How root query fields load: a page of rows, a list or one object, then everything the query selects
below it (graph/lookahead.py), all in one read session."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from strawberry.types import Info

from db.errors import Invalid
from db.pagination import Page, SortKey, Window, count_where, page_of
from graph.lookahead import Below
from graph.relay import Connection, decode_id

T = TypeVar("T")
Session = Any


async def connection(
    info: Info,
    convert: Callable[[Any], T],
    page: Callable[[Session], Awaitable[Page[Any]]],
    count: Callable[[Session], Awaitable[int]],
) -> Connection[T]:
    """A root connection: one page, its count when `totalCount` is selected, and what lies below."""
    context = info.context
    below = Below(info)
    async with context.db.read_session() as session:
        rows = await page(session)
        if below.selects("totalCount"):
            total = await count(session)
            result = Connection.of(rows, convert, lambda: total)
        else:
            result = Connection.of(rows, convert, lambda: _count_later(context, count))
        await below.load(session, [edge.node for edge in result.edges], connection=True)
    return result


async def _count_later(context: Any, count: Callable[[Session], Awaitable[int]]) -> int:
    """The count, where look-ahead did not see `totalCount` selected (it always should)."""
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
    """A root object or list of objects, fetched by `fetch`, with what the query selects below it."""
    async with info.context.db.read_session() as session:
        value = await fetch(session)
        objects = value if isinstance(value, list) else [] if value is None else [value]
        await Below(info).load(session, objects)
    return value


async def by_id(info: Info, loader: Any, pk: int) -> Any:
    """One object by primary key through `loader`'s batch function (its cache primed), with what lies below."""

    async def fetch(session: Session) -> Any:
        [found] = await loader.fetch_batch(session, [pk])
        loader.prime(pk, found)
        return found

    return await loaded(info, fetch)


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
    given = [name for name, value in (("id", global_id), (key_name, key_value)) if value is not None]
    if len(given) != 1:
        raise Invalid(f"Pass exactly one of `id` or `{key_name}`.", field=given[1] if given else None)
    if global_id is not None:
        return await by_id(info, loader, decode_id(global_id, type_name, "id"))  # type: ignore[no-any-return]

    async def fetch(session: Session) -> T | None:
        row = await find(session, key_value)  # type: ignore[arg-type]
        return None if row is None else convert(row)

    return await loaded(info, fetch)
