"""Stock mutations: receive, ship, adjust, transfer and return stock.

Each is one write transaction that returns the ledger entries it made and the stock levels they left.
With an `idempotencyKey`, a retry returns the first request's result (`replayed: true`) and changes nothing.
"""

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, Self

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from db import idempotency, stock
from db.models import InventoryTransaction as LedgerEntry
from db.stock import Level
from graph.context import Context
from graph.errors import UserError
from graph.mutations.base import write
from graph.relay import decode_id
from graph.types.stock import InventoryTransaction, StockLevel

_KEY_DESCRIPTION = "Send the same key to retry safely: a retry returns the first result and changes nothing."


def _key() -> Any:
    return strawberry.field(default=None, description=_KEY_DESCRIPTION)


# --- inputs -------------------------------------------------------------------------------------


@strawberry.input
class ReceiveStockInput:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    quantity: int
    unit_cost: Decimal | None = strawberry.field(
        default=None, description="Defaults to the preferred supplier's cost, or else the average cost."
    )
    reference: str | None = None
    note: str | None = None
    idempotency_key: str | None = _key()


@strawberry.input
class ShipStockInput:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    quantity: int
    reference: str | None = None
    note: str | None = None
    idempotency_key: str | None = _key()


@strawberry.input
class AdjustStockInput:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    counted_quantity: int = strawberry.field(
        description="The quantity counted; the difference to the stock level is recorded (nothing when equal)."
    )
    note: str | None = None
    idempotency_key: str | None = _key()


@strawberry.input
class TransferStockInput:
    product_id: strawberry.ID
    from_warehouse_id: strawberry.ID
    to_warehouse_id: strawberry.ID
    quantity: int
    note: str | None = None
    idempotency_key: str | None = _key()


@strawberry.input
class ReturnStockInput:
    product_id: strawberry.ID
    warehouse_id: strawberry.ID
    quantity: int
    unit_cost: Decimal | None = strawberry.field(
        default=None, description="Recorded on the entry; returns do not change the average cost."
    )
    reference: str | None = None
    note: str | None = None
    idempotency_key: str | None = _key()


_REFERENCES = {
    "product_id": "Product",
    "warehouse_id": "Warehouse",
    "from_warehouse_id": "Warehouse",
    "to_warehouse_id": "Warehouse",
}


def _arguments(input: Any) -> Callable[[], dict[str, Any]]:
    """The input's fields as keyword arguments for db/, global IDs decoded."""

    def decode() -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for field in dataclasses.fields(input):
            value = getattr(input, field.name)
            if field.name in _REFERENCES:
                value = decode_id(value, _REFERENCES[field.name], to_camel_case(field.name))
            arguments[field.name] = value
        return arguments

    return decode


# --- payload ------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Movement:
    entries: Sequence[LedgerEntry]
    levels: Sequence[Level]
    replayed: bool


@strawberry.type(description="The ledger entries a stock mutation made and the stock levels they left.")
class StockMovementPayload:
    transactions: list[InventoryTransaction] = strawberry.field(default_factory=list)
    stock_levels: list[StockLevel] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)
    replayed: bool = strawberry.field(
        default=False, description="True when this is the stored result of an earlier request with the same key."
    )

    @classmethod
    def of(cls, movement: _Movement) -> Self:
        return cls(
            transactions=[InventoryTransaction.from_model(entry) for entry in movement.entries],
            stock_levels=[
                StockLevel.of(product_id=p, warehouse_id=w, quantity=q) for p, w, q in movement.levels
            ],
            replayed=movement.replayed,
        )


Move = Callable[..., Awaitable[tuple[Sequence[LedgerEntry], Sequence[Level]]]]


def _idempotent(operation: str, move: Move) -> Callable[..., Awaitable[_Movement]]:
    """`move` behind the request's idempotency key: claimed first, the outcome remembered last."""

    async def action(
        session: AsyncSession, *, idempotency_key: str | None, created_by_id: int | None, **arguments: Any
    ) -> _Movement:
        # Who sends the request is not part of it: a retry by another user replays the first result, whose
        # entries name the user who made them.
        replay = await idempotency.claim(session, key=idempotency_key, operation=operation, payload=arguments)
        if replay is not None:
            entries = await idempotency.replayed_transactions(session, replay)
            return _Movement(entries, idempotency.replayed_levels(replay, entries), replayed=True)
        entries, levels = await move(session, created_by_id=created_by_id, **arguments)
        await idempotency.remember(
            session, key=idempotency_key, transaction_ids=[entry.id for entry in entries], levels=levels
        )
        return _Movement(entries, levels, replayed=False)

    return action


def _entries(function: Callable[..., Awaitable[Any]]) -> Move:
    async def move(session: AsyncSession, **arguments: Any) -> tuple[list[LedgerEntry], list[Level]]:
        result = await function(session, **arguments)
        entries = list(result) if isinstance(result, tuple) else [result]
        return entries, stock.levels_after(entries)

    return move


async def _adjust(session: AsyncSession, **arguments: Any) -> tuple[list[LedgerEntry], list[Level]]:
    entry = await stock.adjust_stock(session, **arguments)
    if entry is not None:
        return [entry], stock.levels_after([entry])
    product_id, warehouse_id = arguments["product_id"], arguments["warehouse_id"]
    quantity = await stock.quantity_on_hand(session, product_id=product_id, warehouse_id=warehouse_id)
    return [], [Level(product_id, warehouse_id, quantity)]


_RECEIVE = _idempotent("receiveStock", _entries(stock.receive_stock))
_SHIP = _idempotent("shipStock", _entries(stock.ship_stock))
_ADJUST = _idempotent("adjustStock", _adjust)
_TRANSFER = _idempotent("transferStock", _entries(stock.transfer_stock))
_RETURN = _idempotent("returnStock", _entries(stock.return_stock))


# --- mutations ----------------------------------------------------------------------------------


@strawberry.type
class StockMutations:
    @strawberry.mutation(description="Put received goods into a warehouse and update the product's average cost.")
    async def receive_stock(self, info: Info[Context, None], input: ReceiveStockInput) -> StockMovementPayload:
        return await write(info, StockMovementPayload, _RECEIVE, _arguments(input), records_user=True)

    @strawberry.mutation(
        description="Take shipped goods out of a warehouse; refused with INSUFFICIENT_STOCK beyond what it holds."
    )
    async def ship_stock(self, info: Info[Context, None], input: ShipStockInput) -> StockMovementPayload:
        return await write(info, StockMovementPayload, _SHIP, _arguments(input), records_user=True)

    @strawberry.mutation(
        description="Record a physical count: an adjustment by the difference, or no entry when the count matches."
    )
    async def adjust_stock(self, info: Info[Context, None], input: AdjustStockInput) -> StockMovementPayload:
        return await write(info, StockMovementPayload, _ADJUST, _arguments(input), records_user=True)

    @strawberry.mutation(description="Move stock between two warehouses: a TRANSFER_OUT and a TRANSFER_IN entry.")
    async def transfer_stock(self, info: Info[Context, None], input: TransferStockInput) -> StockMovementPayload:
        return await write(info, StockMovementPayload, _TRANSFER, _arguments(input), records_user=True)

    @strawberry.mutation(description="Put goods a customer returned back into stock.")
    async def return_stock(self, info: Info[Context, None], input: ReturnStockInput) -> StockMovementPayload:
        return await write(info, StockMovementPayload, _RETURN, _arguments(input), records_user=True)
