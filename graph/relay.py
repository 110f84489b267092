"""Relay building blocks: global IDs, the Node interface, connections and page arguments."""

import base64
import binascii
import functools
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from db.config import Settings
from db.errors import Invalid, NotFound
from db.pagination import Page, Window, encode_cursor

T = TypeVar("T")
# Primary keys are 32-bit integers on PostgreSQL: a larger number in an ID names no row, and sent to
# the database it would fail there (out of range) instead of finding nothing.
MAX_PK = 2**31 - 1


# Types whose rows are keyed by more than one number, and how many: a stock level is the level of one
# product in one warehouse (its table's primary key), so its ID holds both ids, product first.
KEY_PARTS = {"StockLevel": 2}


@functools.lru_cache(maxsize=65536)
def to_global_id(type_name: str, *key: int) -> str:
    # Kept for the latest ids, and made with binascii rather than base64.b64encode (the same text in half the
    # time): a page of responses holds thousands, mostly of the same rows.
    text = f"{type_name}:{':'.join(map(str, key))}"
    return binascii.b2a_base64(text.encode(), newline=False).decode()


def _split(global_id: str) -> tuple[str, tuple[int, ...]]:
    """A global ID's type name and the numbers of its key; ValueError if it is not one."""
    try:
        type_name, _, key = base64.b64decode(global_id.encode(), validate=True).decode().partition(":")
        parts = key.split(":")
        numbers = tuple(int(part) for part in parts)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"{global_id!r} is not a valid ID") from None
    if not type_name or any(
        not 0 < number <= MAX_PK or str(number) != part for number, part in zip(numbers, parts, strict=True)
    ):
        raise ValueError(f"{global_id!r} is not a valid ID")
    return type_name, numbers


def from_global_id(global_id: str) -> tuple[str, int]:
    """Split a global ID of a row keyed by one number into type name and primary key; ValueError if it is
    not one (a stock level's ID among them: see `from_node_id`)."""
    type_name, numbers = _split(global_id)
    if len(numbers) != 1:
        raise ValueError(f"{global_id!r} is not a valid ID")
    return type_name, numbers[0]


def from_node_id(global_id: str) -> tuple[str, int | tuple[int, ...]]:
    """Split any global ID into type name and key: the primary key, or for the types of `KEY_PARTS` the
    tuple of the key's numbers; ValueError if it is not one, or its key has another number of parts."""
    type_name, numbers = _split(global_id)
    if len(numbers) != KEY_PARTS.get(type_name, 1):
        raise ValueError(f"{global_id!r} is not a valid ID")
    return type_name, numbers if len(numbers) > 1 else numbers[0]


def decode_id(global_id: str, type_name: str, field: str) -> int:
    """The primary key in a global ID that must name a `type_name`."""
    try:
        actual, pk = from_global_id(global_id)
    except ValueError:
        raise Invalid(f"`{field}` is not a valid ID.", field=field) from None
    if actual != type_name:
        raise NotFound(f"`{field}` must be the ID of a {type_name}, not of a {actual}.", field=field)
    return pk


def decode_optional_id(global_id: str | None, type_name: str, field: str) -> int | None:
    """`decode_id` for an optional argument: None when it was not given."""
    return None if global_id is None else decode_id(global_id, type_name, field)


def id_or_key(type_name: str, global_id: str | None, key_name: str, key: str | None) -> tuple[int | None, str | None]:
    """The primary key in `global_id`, or the natural key (`sku`, `slug`, ...): exactly one must be given."""
    given = [name for name, value in (("id", global_id), (key_name, key)) if value is not None]
    if len(given) != 1:
        raise Invalid(f"Pass exactly one of `id` or `{key_name}`.", field=given[1] if given else None)
    if global_id is not None:
        return decode_id(global_id, type_name, "id"), None
    return None, key


# --- descriptions -------------------------------------------------------------------------------

_PAGE_SIZE = Settings.model_fields["default_page_size"].default
_MAX_PAGE_SIZE = Settings.model_fields["max_page_size"].default
GLOBAL_ID = (
    "A global ID: an opaque string, unique across all types (Relay object identification). `node(id:)` "
    "fetches the object it names."
)


def id_of(what: str) -> str:
    """The description of an `id` field or argument: the global ID of `what` ("a product")."""
    return f"The global ID of {what}: an opaque string, unique across all types; `node(id:)` fetches it too."


def id_input(what: str) -> str:
    """The description of an input that takes the global ID of `what` ("a product")."""
    return f"The global ID of {what}."


def by_id_or(what: str, key: str) -> Any:
    """The `id` argument of a root field that finds `what` by global ID or by the natural key `key`
    (`product(id:, sku:)` and the like: exactly one of the two must be given, see `id_or_key`)."""
    return strawberry.argument(description=f"{id_input(what)} Give this or `{key}`, not both.")


First = Annotated[
    int | None,
    strawberry.argument(
        description=f"Page forward: the first `first` items (after `after`, when given), 0 to the server's "
        f"maximum page size ({_MAX_PAGE_SIZE} by default). Without `first` and `last`, a page has {_PAGE_SIZE} "
        "items (by default). Not together with `last`."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="Start after this cursor: an edge's `cursor` or `pageInfo.endCursor` of the same list in "
        "the same order."
    ),
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description="Page backward: the last `last` items (before `before`, when given), still in the list's "
        f"order; 0 to the server's maximum page size ({_MAX_PAGE_SIZE} by default). Not together with `first`."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(
        description="End before this cursor: an edge's `cursor` or `pageInfo.startCursor` of the same list "
        "in the same order."
    ),
]


# --- types --------------------------------------------------------------------------------------


@strawberry.interface(
    description="An object with a global ID. `node(id:)` and `nodes(ids:)` fetch any of them by that ID; the "
    "types that implement Node are the ones those fields can return."
)
class Node:
    id: strawberry.ID = strawberry.field(description=GLOBAL_ID)


@strawberry.type(description="Where a page lies in its list, and the cursors to page on from it.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Paging forward (`first`): whether more items follow this page. Paging backward (`last`): "
        "whether `before` was given."
    )
    has_previous_page: bool = strawberry.field(
        description="Paging backward (`last`): whether more items come before this page. Paging forward: "
        "whether `after` was given."
    )
    # Cursors are encoded when asked for: most pages are read without them.
    _order: strawberry.Private[str]
    _start_key: strawberry.Private[tuple[Any, ...] | None]
    _end_key: strawberry.Private[tuple[Any, ...] | None]

    @strawberry.field(
        description="The cursor of the page's first item (pass it as `before` for the page before); null when "
        "the page is empty."
    )
    def start_cursor(self) -> str | None:
        return None if self._start_key is None else encode_cursor(self._order, self._start_key)

    @strawberry.field(
        description="The cursor of the page's last item (pass it as `after` for the next page); null when the "
        "page is empty."
    )
    def end_cursor(self) -> str | None:
        return None if self._end_key is None else encode_cursor(self._order, self._end_key)


def _edge_cursor(root: "Edge[Any]") -> str:
    return encode_cursor(root._order, root._key)


@strawberry.type(description="An item of a page, with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(
        resolver=_edge_cursor,
        description="This item's place in the list, as an opaque string: pass it as `after` or `before` to "
        "page from here. It stays valid while items are added or removed, for the same list in the same order.",
    )
    node: T = strawberry.field(description="The item.")
    _order: strawberry.Private[str]
    _key: strawberry.Private[tuple[Any, ...]]


@strawberry.type(
    description="One page of a list (a Relay cursor connection): its items, with their cursors (`edges`) or "
    "without (`nodes`), where the page lies (`pageInfo`) and how many items the whole list holds "
    "(`totalCount`)."
)
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page with their cursors, in order.")
    page_info: PageInfo = strawberry.field(description="Where this page lies, and the cursors to page on from it.")
    # The count, or an awaitable of it: called only when `totalCount` is selected.
    _count: strawberry.Private[Callable[[], Any]]

    @strawberry.field(description="How many items the whole list holds (every page).")
    def total_count(self) -> int:
        return self._count()

    @strawberry.field(description="The items of this page, without edges.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, page: Page[Any], convert: Callable[[Any], T], count: Callable[[], Any]) -> "Connection[T]":
        keys = page.keys
        edges = [
            Edge(_order=page.order, _key=key, node=convert(row)) for key, row in zip(keys, page.rows, strict=True)
        ]
        info = PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            _order=page.order,
            _start_key=keys[0] if keys else None,
            _end_key=keys[-1] if keys else None,
        )
        return cls(edges=edges, page_info=info, _count=count)


def window(
    settings: Settings,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Window:
    return Window.from_args(
        first=first,
        after=after,
        last=last,
        before=before,
        default_size=settings.default_page_size,
        max_size=settings.max_page_size,
    )
