"""Subscriptions (over WebSocket, graphql-transport-ws): ledger entries, stock levels and low stock as they
commit, fed by the process's live feed (graph/live.py); and the WebSocket side of signing in: the token in
`connection_init`, checked again whenever its user changes and every few seconds."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Annotated, Any

import orjson
import strawberry
from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types import Info

from db import live as live_db
from db import purchasing_reads, reports, selling_reads
from db.errors import DomainError
from db.models import Product as ProductModel
from db.models import TransactionKind as Kind
from db.pagination import decode_cursor
from db.stock_reads import TRANSACTION_SORT
from graph.auth import token_user
from graph.context import Context
from graph.errors import translate_errors
from graph.live import PAGE, FellBehind, LedgerEvent, LiveFeed
from graph.relay import decode_id, decode_optional_id, from_global_id, id_input
from graph.types.catalog import Product
from graph.types.reports import LowStockItem
from graph.types.stock import InventoryTransaction, StockLevel, TransactionKind

log = logging.getLogger(__name__)

# The close code of a connection whose token is missing, invalid, expired or revoked (strawberry's for a
# refused connection_init too): the protocol's "Forbidden".
FORBIDDEN = 4403


def _refused(error: DomainError) -> GraphQLError:
    """A domain error as the GraphQL error the queries give for it (BAD_USER_INPUT, NOT_FOUND)."""
    return translate_errors([GraphQLError(str(error), original_error=error)])[0]


@strawberry.input(description="Narrows the entries; every condition given must hold.")
class TransactionAddedFilter:
    product_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a product')} Only its entries are sent."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a warehouse')} Only its entries are sent."
    )
    kinds: list[TransactionKind] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Entries of any of these kinds; all kinds when empty."
    )


def _feed(info: Info[Context, None]) -> LiveFeed:
    feed = info.context.live
    if feed is None:
        raise GraphQLError("Subscriptions are not served here.", extensions={"code": "INTERNAL_SERVER_ERROR"})
    return feed  # type: ignore[no-any-return]


async def _live(feed: LiveFeed, subscriber: Any) -> AsyncIterator[LedgerEvent]:
    """The subscriber's events as they come; a subscriber that fell behind ends with an error."""
    while True:
        try:
            yield await subscriber.next()
        except FellBehind:
            raise GraphQLError(
                "The subscription fell too far behind and was ended; subscribe again with `after` set to the "
                "last cursor received.",
                extensions={"code": "SUBSCRIPTION_FELL_BEHIND"},
            ) from None


async def _events(feed: LiveFeed, *, after_id: int | None = None, **narrowing: Any) -> AsyncIterator[LedgerEvent]:
    """Every event from now on; with `after_id`, first every entry after it (narrowed as the database can),
    then the live ones it has not sent: registered before the replay reads, the subscription misses
    nothing in between, and ids (commit order) tell which it sent already."""
    async with feed.subscribe() as subscriber:
        sent = after_id or 0
        if after_id is not None:
            while True:
                async with feed.database.read_session() as session:
                    rows = await live_db.entries_after(session, after_id=sent, limit=PAGE, **narrowing)
                for entry, reorder_point in rows:
                    sent = entry.id
                    yield LedgerEvent(entry, reorder_point)
                if len(rows) < PAGE:
                    break
        async for event in _live(feed, subscriber):
            if event.id > sent:
                yield event


def _ledger_position(after: str) -> int:
    """The ledger id `after` names: a cursor of the `transactions` query, or an entry's global ID (what a
    subscriber of transactionAdded last received)."""
    with contextlib.suppress(DomainError, ValueError):
        type_name, pk = from_global_id(after)
        if type_name == "InventoryTransaction":
            return pk
    return int(decode_cursor(after, TRANSACTION_SORT, "after")[0])


def _fresh(context: Context) -> None:
    """Each event reads its nested fields afresh: the connection's loaders would cache for hours."""
    context.fresh_loaders()


def _ids(values: list[strawberry.ID] | None, type_name: str, field: str) -> set[int] | None:
    if not values:
        return None
    return {decode_id(value, type_name, field) for value in values}


@strawberry.type(
    description="What can be followed as it happens, over a WebSocket at `/graphql` (protocol "
    "`graphql-transport-ws`): send the token `login` gives in `connection_init`'s payload as "
    '`{"authorization": "Bearer <token>"}`. Events are sent as their transactions commit, in commit order. '
    "A connection without a valid token is closed with code 4403; so is one whose token is revoked "
    "(`logout`), expires, or whose user is deactivated or changed."
)
class Subscription:
    @strawberry.subscription(
        description="Each ledger entry as it commits, oldest first. With `after`, first every entry after "
        "that entry, then the live "
        "ones: none missed, none twice. Without it, only entries committed from now on."
    )
    async def transaction_added(
        self,
        info: Info[Context, None],
        filter: Annotated[
            TransactionAddedFilter | None, strawberry.argument(description="Narrows the entries.")
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="Where to resume: an edge's `cursor` of the `transactions` query, or the `id` of "
                "the last entry received. The entries after it are sent first."
            ),
        ] = None,
    ) -> AsyncGenerator[InventoryTransaction, None]:
        feed = _feed(info)
        given = filter or TransactionAddedFilter()
        try:
            product_id = decode_optional_id(given.product_id, "Product", "filter.productId")
            warehouse_id = decode_optional_id(given.warehouse_id, "Warehouse", "filter.warehouseId")
            after_id = None if after is None else _ledger_position(after)
        except DomainError as error:
            raise _refused(error) from None
        kinds = {Kind(kind.value) for kind in given.kinds} if given.kinds else None
        return _transactions(info.context, feed, after_id, product_id, warehouse_id, kinds)

    @strawberry.subscription(
        description="The stock level a movement left, for each ledger entry as it commits (a transfer: "
        "both warehouses' levels, one after the other)."
    )
    async def stock_changed(
        self,
        info: Info[Context, None],
        product_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="IDs of products; only their levels are sent. All when not given."),
        ] = None,
        warehouse_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="IDs of warehouses; only their levels are sent. All when not given."),
        ] = None,
    ) -> AsyncGenerator[StockLevel, None]:
        feed = _feed(info)
        try:
            products = _ids(product_ids, "Product", "productIds")
            warehouses = _ids(warehouse_ids, "Warehouse", "warehouseIds")
        except DomainError as error:
            raise _refused(error) from None
        return _levels(info.context, feed, products, warehouses)

    @strawberry.subscription(
        description="A product's stock in a warehouse as a movement takes it from above the product's reorder "
        "point to it or below (products with a reorder point of 0 are not reordered). `quantityOnHand` and "
        "`warehouse` are the warehouse's."
    )
    async def low_stock_reached(
        self,
        info: Info[Context, None],
        warehouse_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=f"{id_input('a warehouse')} Only its stock; all warehouses when not given."
            ),
        ] = None,
    ) -> AsyncGenerator[LowStockItem, None]:
        feed = _feed(info)
        try:
            warehouse = decode_optional_id(warehouse_id, "Warehouse", "warehouseId")
        except DomainError as error:
            raise _refused(error) from None
        return _low_stock(info.context, feed, warehouse)


async def _transactions(
    context: Context, feed: LiveFeed, after_id: int | None, product_id: int | None, warehouse_id: int | None,
    kinds: set[Kind] | None,
) -> AsyncGenerator[InventoryTransaction, None]:
    narrowing = {"product_id": product_id, "warehouse_id": warehouse_id, "kinds": sorted(kinds) if kinds else None}
    async for event in _events(feed, after_id=after_id, **narrowing):
        entry = event.entry
        if (
            (product_id is not None and entry.product_id != product_id)
            or (warehouse_id is not None and entry.warehouse_id != warehouse_id)
            or (kinds is not None and entry.kind not in kinds)
        ):
            continue
        _fresh(context)
        yield InventoryTransaction.from_model(entry)


async def _levels(
    context: Context, feed: LiveFeed, products: set[int] | None, warehouses: set[int] | None
) -> AsyncGenerator[StockLevel, None]:
    async for event in _events(feed):
        entry = event.entry
        if (products is not None and entry.product_id not in products) or (
            warehouses is not None and entry.warehouse_id not in warehouses
        ):
            continue
        _fresh(context)
        # An entry's balance is the level it left: the level as of that entry, not as of reading.
        yield StockLevel.of(product_id=entry.product_id, warehouse_id=entry.warehouse_id, quantity=entry.balance_after)


def crossed_reorder_point(event: LedgerEvent) -> bool:
    """Whether the entry took its level from above the reorder point to it or below."""
    entry, point = event.entry, event.reorder_point
    return point > 0 and entry.balance_after <= point < entry.balance_after - entry.quantity


async def _low_stock(context: Context, feed: LiveFeed, warehouse: int | None) -> AsyncGenerator[LowStockItem, None]:
    async for event in _events(feed):
        entry = event.entry
        if (warehouse is not None and entry.warehouse_id != warehouse) or not crossed_reorder_point(event):
            continue
        _fresh(context)
        async with feed.database.read_session() as session:
            product = await session.get(ProductModel, entry.product_id)
            on_order = (await purchasing_reads.on_order_by_product_ids(session, [entry.product_id])).get(
                entry.product_id, 0
            )
            level = (entry.product_id, entry.warehouse_id)
            reserved = (await selling_reads.held_by_levels(session, [level])).get(level, 0)
        if product is None:
            continue
        # The level as the entry left it, less what open holds keep of it now.
        available = entry.balance_after - reserved
        yield LowStockItem(
            product=Product.from_model(product),
            warehouse_pk=entry.warehouse_id,
            quantity_on_hand=entry.balance_after,
            quantity_available=available,
            quantity_reserved=entry.balance_after - available,
            quantity_on_order=on_order,
            reorder_point=product.reorder_point,
            reorder_quantity=product.reorder_quantity,
            quantity_to_order=reports.quantity_to_order(
                available + on_order, product.reorder_point, product.reorder_quantity
            ),
        )


# --- the connection -------------------------------------------------------------------------------


def connection_token(payload: Any) -> str | None:
    """The bearer token of a connection_init payload: `{"authorization": "Bearer <token>"}` (any case of
    the key) or `{"token": "<token>"}`."""
    if not isinstance(payload, dict):
        return None
    for key, value in payload.items():
        if isinstance(key, str) and key.lower() == "authorization" and isinstance(value, str):
            scheme, _, credentials = value.partition(" ")
            return credentials.strip() or None if scheme.lower() == "bearer" else None
    token = payload.get("token")
    return token.strip() or None if isinstance(token, str) else None


class OpenConnections:
    """The process's signed-in WebSocket connections by user: each is checked again when its user changes
    (any process's `logout`, `updateUser`, `deactivateUser`: the feed hears of it) and every
    `live_recheck_seconds` (expiry), and closed with 4403 once its token no longer signs its user in as
    before."""

    def __init__(self, feed: LiveFeed) -> None:
        self.feed = feed
        self.by_user: dict[int, set["LiveTransportWS"]] = {}
        self._checks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        feed.on_user_changed(self.user_changed)

    def start(self) -> None:
        self._task = asyncio.create_task(self._recheck_loop(), name="live: token recheck")

    async def stop(self) -> None:
        for task in [*self._checks, *([self._task] if self._task else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def add(self, handler: "LiveTransportWS") -> None:
        self.by_user.setdefault(handler.user_id, set()).add(handler)

    def remove(self, handler: "LiveTransportWS") -> None:
        handlers = self.by_user.get(handler.user_id)
        if handlers is not None:
            handlers.discard(handler)
            if not handlers:
                del self.by_user[handler.user_id]

    def user_changed(self, user_id: int | None) -> None:
        handlers = [h for hs in self.by_user.values() for h in hs] if user_id is None else self.by_user.get(user_id, ())
        for handler in list(handlers):
            self._spawn(handler.check_token)

    def _spawn(self, work: Callable[[], Any]) -> None:
        task = asyncio.create_task(work())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(self.feed.settings.live_recheck_seconds)
            for handlers in list(self.by_user.values()):
                for handler in list(handlers):
                    with contextlib.suppress(Exception):
                        await handler.check_token()


class TextFrames(ASGIWebSocketAdapter):
    """strawberry's WebSocket adapter sends what the view's encode_json gives, bytes from orjson, as binary
    frames; graphql-transport-ws messages are text frames, which clients insist on. Received messages are
    taken from binary frames too (JSON as UTF-8), as clients that send what orjson gives send them."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        while self.ws.application_state != WebSocketState.DISCONNECTED:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            try:
                yield self.view.decode_json(data if data is not None else message.get("bytes") or b"")
            except ValueError as error:  # JSONDecodeError, or bytes that are not UTF-8
                if not ignore_parsing_errors:
                    raise NonJsonMessageReceived from error

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class LiveTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's graphql-transport-ws handler, whose connections are watched by OpenConnections."""

    user_id: int = 0
    role: Any = None

    @property
    def connections(self) -> OpenConnections | None:
        return getattr(self.view, "connections", None)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        user = await self.context.user() if self.connection_acknowledged else None  # looked up by on_ws_connect
        if user is not None and self.connections is not None:
            self.user_id, self.role = user.id, user.role
            self.connections.add(self)

    async def shutdown(self) -> None:
        if self.connections is not None:
            self.connections.remove(self)
        await super().shutdown()

    async def check_token(self) -> None:
        """Close the connection unless its token still signs in its user, active and with the same role."""
        token = self.context.token
        database = self.connections.feed.database if self.connections is not None else self.context.db
        user = None if token is None else await token_user(database, token)
        if user is not None and user.id == self.user_id and user.role == self.role:
            return
        if self.connections is not None:
            self.connections.remove(self)
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(Exception):
            await self.websocket.close(code=FORBIDDEN, reason="Forbidden")

