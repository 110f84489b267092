"""Stock mutations: receive, ship, adjust, transfer and return stock.

Each is one write transaction that returns the ledger entries it made and the stock levels they left.
With an `idempotencyKey`, a retry returns the first request's result (`replayed: true`) and changes nothing.
"""

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from db import idempotency, models, stock
from db.catalog import MONEY_RULE
from db.config import Settings
from db.lengths import MAX_IDEMPOTENCY_KEY_LENGTH, MAX_NOTE_LENGTH, MAX_REFERENCE_LENGTH
from db.models import InventoryTransaction as LedgerEntry
from db.stock import Level
from graph.context import Context
from graph.errors import UserError, with_error_codes
from graph.mutations.base import INPUT, errors_field, money_refused, optional, write
from graph.relay import decode_id, id_input
from graph.types.stock import AdjustmentReason, InventoryTransaction, StockLevel

KEY_TTL_HOURS = Settings.model_fields["idempotency_key_ttl_hours"].default
KEY_DESCRIPTION = (
    "Send the same key to retry safely: a retry returns the first result and changes nothing. Up to "
    f"{MAX_IDEMPOTENCY_KEY_LENGTH} characters, not blank. A key is the sending user's own (another user's same "
    f"key is another key) and lasts {KEY_TTL_HOURS} hours from the first request (the default; the server's "
    "settings may change it); after that it is forgotten and a request with it runs afresh. Make each new "
    "request's key unique (a UUID, say)."
)
PRODUCT = id_input("the product")
QUANTITY = "Units, 1 to 1,000,000,000."
REFERENCE = (
    f"Up to {MAX_REFERENCE_LENGTH} characters naming a document, such as a delivery note or a sales order; stored "
    "trimmed, blank as null."
)
NOTE = f"Free text, up to {MAX_NOTE_LENGTH:,} characters; stored trimmed, blank as null."


def _key() -> Any:
    return optional(KEY_DESCRIPTION)


def _product() -> Any:
    return strawberry.field(description=PRODUCT)


def _warehouse(which: str, rule: str = "") -> Any:
    return strawberry.field(description=f"{id_input(which)} {rule}".strip())


def _quantity(description: str = QUANTITY) -> Any:
    return strawberry.field(description=description)


# --- inputs -------------------------------------------------------------------------------------


@strawberry.input(description="Goods received into a warehouse.")
class ReceiveStockInput:
    product_id: strawberry.ID = _product()
    warehouse_id: strawberry.ID = _warehouse("the warehouse receiving the goods", "Not an archived one.")
    quantity: int = _quantity()
    unit_cost: Decimal | None = optional(
        f"What one unit cost: {MONEY_RULE}. Defaults to the preferred supplier's cost, or else the average cost."
    )
    reference: str | None = optional(REFERENCE)
    note: str | None = optional(NOTE)
    idempotency_key: str | None = _key()


@strawberry.input(description="Goods shipped out of a warehouse.")
class ShipStockInput:
    product_id: strawberry.ID = _product()
    warehouse_id: strawberry.ID = _warehouse("the warehouse shipping the goods")
    quantity: int = _quantity(
        f"{QUANTITY} At most what the warehouse has available (on hand, not reserved)."
    )
    reference: str | None = optional(REFERENCE)
    note: str | None = optional(NOTE)
    idempotency_key: str | None = _key()


@strawberry.input(description="A physical count of a product in a warehouse.")
class AdjustStockInput:
    product_id: strawberry.ID = _product()
    warehouse_id: strawberry.ID = _warehouse("the warehouse counted")
    counted_quantity: int = strawberry.field(
        description="The quantity counted, 0 to 1,000,000,000; the difference to the stock level is recorded "
        "(nothing when equal)."
    )
    reason: AdjustmentReason = strawberry.field(  # type: ignore[valid-type]
        default=AdjustmentReason.CORRECTION,  # type: ignore[attr-defined]
        description="Why the count differs, recorded on the ADJUSTMENT entry (`InventoryTransaction.reason`). "
        "CORRECTION when not given, so clients written before reasons existed keep working unchanged.",
    )
    note: str | None = optional(NOTE)
    idempotency_key: str | None = _key()


@strawberry.input(description="Stock moved from one warehouse to another.")
class TransferStockInput:
    product_id: strawberry.ID = _product()
    from_warehouse_id: strawberry.ID = _warehouse("the warehouse the stock leaves")
    to_warehouse_id: strawberry.ID = _warehouse(
        "the warehouse the stock goes to", "Another one than `fromWarehouseId`, not an archived one."
    )
    quantity: int = _quantity(
        f"{QUANTITY} At most what `fromWarehouseId` has available (on hand, not reserved)."
    )
    note: str | None = optional(NOTE)
    idempotency_key: str | None = _key()


@strawberry.input(description="Goods a customer returned, back into a warehouse.")
class ReturnStockInput:
    product_id: strawberry.ID = _product()
    warehouse_id: strawberry.ID = _warehouse("the warehouse taking the goods back", "Not an archived one.")
    quantity: int = _quantity()
    unit_cost: Decimal | None = optional(
        f"Recorded on the entry: {MONEY_RULE}. Returns do not change the average cost."
    )
    reference: str | None = optional(REFERENCE)
    note: str | None = optional(NOTE)
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
            elif field.name == "reason":
                value = models.AdjustmentReason(value.value)
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
    transactions: list[InventoryTransaction] = strawberry.field(
        default_factory=list,
        description="The entries made, oldest first (a transfer's TRANSFER_OUT, then its TRANSFER_IN); empty "
        "when refused, or when a count matched the stock level.",
    )
    stock_levels: list[StockLevel] = strawberry.field(
        default_factory=list,
        description="The stock level of each product and warehouse moved, as the entries left it (for a count "
        "that matched, the level as it is); empty when refused.",
    )
    errors: list[UserError] = errors_field()
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
        session: AsyncSession,
        *,
        idempotency_key: str | None,
        key_ttl: timedelta,
        created_by_id: int,
        **arguments: Any,
    ) -> _Movement:
        # The key is the sender's own: another user's request with the same key is a request of its own.
        replay = await idempotency.claim(
            session,
            key=idempotency_key,
            user_id=created_by_id,
            operation=operation,
            payload=arguments,
            ttl=key_ttl,
        )
        if replay is not None:
            entries = await idempotency.replayed_transactions(session, replay)
            return _Movement(entries, idempotency.replayed_levels(replay, entries), replayed=True)
        entries, levels = await move(session, created_by_id=created_by_id, **arguments)
        await idempotency.remember(
            session,
            key=idempotency_key,
            user_id=created_by_id,
            transaction_ids=[entry.id for entry in entries],
            levels=levels,
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


# What every stock mutation may be refused for, besides its own rules.
_MALFORMED = f"`idempotencyKey` is blank or over {MAX_IDEMPOTENCY_KEY_LENGTH} characters; or an ID is malformed"
_NOT_FOUND = "`productId` names no product, or a warehouse ID no warehouse."
_CONFLICT = "you sent `idempotencyKey` before with a different request."
_REMARKS = f"`reference` is over {MAX_REFERENCE_LENGTH} or `note` over {MAX_NOTE_LENGTH:,} characters"
_LEVEL_LIMIT = "the stock level would pass 2,147,483,647"


@strawberry.type
class StockMutations:
    @strawberry.mutation(
        description=with_error_codes(
            "Put received goods into a warehouse (a RECEIPT entry) and fold their cost into the product's average "
            "cost.",
            INVALID=f"`quantity` is outside 1 to 1,000,000,000; {money_refused('unitCost')}; {_REMARKS}; the "
            f"warehouse or the product is archived; {_LEVEL_LIMIT}; {_MALFORMED}.",
            NOT_FOUND=_NOT_FOUND,
            IDEMPOTENCY_CONFLICT=_CONFLICT,
        )
    )
    async def receive_stock(
        self, info: Info[Context, None], input: Annotated[ReceiveStockInput, INPUT]
    ) -> StockMovementPayload:
        return await write(
            info, StockMovementPayload, _RECEIVE, _arguments(input), records_user="created_by_id", idempotent=True
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Take shipped goods out of a warehouse (a SHIPMENT entry). Archived products and warehouses may ship.",
            INVALID=f"`quantity` is outside 1 to 1,000,000,000; {_REMARKS}; {_MALFORMED}.",
            NOT_FOUND=_NOT_FOUND,
            INSUFFICIENT_STOCK="the warehouse has fewer units available than `quantity` (reserved units are not "
            "available).",
            IDEMPOTENCY_CONFLICT=_CONFLICT,
        )
    )
    async def ship_stock(
        self, info: Info[Context, None], input: Annotated[ShipStockInput, INPUT]
    ) -> StockMovementPayload:
        return await write(
            info, StockMovementPayload, _SHIP, _arguments(input), records_user="created_by_id", idempotent=True
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Record a physical count: an ADJUSTMENT entry by the difference, with the `reason` it differs for, or "
            "no entry when the count matches. Archived products and warehouses may be counted.",
            INSUFFICIENT_STOCK="the count is below the units reserved in the warehouse: release holds or cancel "
            "orders first.",
            INVALID=f"`countedQuantity` is outside 0 to 1,000,000,000; `note` is over {MAX_NOTE_LENGTH:,} characters; "
            f"{_MALFORMED}.",
            NOT_FOUND=_NOT_FOUND,
            IDEMPOTENCY_CONFLICT=_CONFLICT,
        )
    )
    async def adjust_stock(
        self, info: Info[Context, None], input: Annotated[AdjustStockInput, INPUT]
    ) -> StockMovementPayload:
        return await write(
            info, StockMovementPayload, _ADJUST, _arguments(input), records_user="created_by_id", idempotent=True
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Move stock between two warehouses: a TRANSFER_OUT and a TRANSFER_IN entry, both or neither.",
            INVALID=f"`quantity` is outside 1 to 1,000,000,000; `note` is over {MAX_NOTE_LENGTH:,} characters; "
            f"the two warehouses are the same; the target warehouse or the product is archived; {_LEVEL_LIMIT} in the "
            f"target warehouse; {_MALFORMED}.",
            NOT_FOUND=_NOT_FOUND,
            INSUFFICIENT_STOCK="`fromWarehouseId` has fewer units available than `quantity` (reserved units are "
            "not).",
            IDEMPOTENCY_CONFLICT=_CONFLICT,
        )
    )
    async def transfer_stock(
        self, info: Info[Context, None], input: Annotated[TransferStockInput, INPUT]
    ) -> StockMovementPayload:
        return await write(
            info, StockMovementPayload, _TRANSFER, _arguments(input), records_user="created_by_id", idempotent=True
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Put goods a customer returned back into stock (a RETURN entry); the average cost stays as it is.",
            INVALID=f"`quantity` is outside 1 to 1,000,000,000; {money_refused('unitCost')}; {_REMARKS}; the "
            f"warehouse or the product is archived; {_LEVEL_LIMIT}; {_MALFORMED}.",
            NOT_FOUND=_NOT_FOUND,
            IDEMPOTENCY_CONFLICT=_CONFLICT,
        )
    )
    async def return_stock(
        self, info: Info[Context, None], input: Annotated[ReturnStockInput, INPUT]
    ) -> StockMovementPayload:
        return await write(
            info, StockMovementPayload, _RETURN, _arguments(input), records_user="created_by_id", idempotent=True
        )
