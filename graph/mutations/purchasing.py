"""Purchase order mutations: draft, change, submit, receive and cancel orders.

Each is one write transaction; a refused one rolls back and returns its `errors`.
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Self

import strawberry
from strawberry.types import Info

from db import purchasing
from graph.context import Context
from graph.errors import UserError
from graph.mutations.base import write
from graph.relay import decode_id, decode_optional_id
from graph.types.stock import InventoryTransaction, PurchaseOrder, StockLevel

UNSET: Any = strawberry.UNSET


# --- inputs -------------------------------------------------------------------------------------


@strawberry.input(description="One line of an order; without `unitCost`, the supplier's terms for the product apply.")
class PurchaseOrderLineInput:
    product_id: strawberry.ID
    quantity: int
    unit_cost: Decimal | None = None


@strawberry.input
class CreatePurchaseOrderInput:
    supplier_id: strawberry.ID = strawberry.field(description="An active supplier.")
    number: str | None = strawberry.field(
        default=None, description="Stored trimmed and uppercase; the next free PO-000001-style number when not given."
    )
    expected_date: date | None = None
    note: str | None = None
    lines: list[PurchaseOrderLineInput] = strawberry.field(
        default_factory=list, description="At most one line per product."
    )


@strawberry.input(
    description="Changes a draft. Fields left out keep their value; null clears `expectedDate` and `note`. "
    "`lines` replaces every line; a new supplier alone leaves the lines' costs as they are."
)
class UpdatePurchaseOrderInput:
    id: strawberry.ID
    supplier_id: strawberry.ID | None = UNSET
    expected_date: date | None = UNSET
    note: str | None = UNSET
    lines: list[PurchaseOrderLineInput] | None = UNSET


@strawberry.input
class ReceivePurchaseOrderLineInput:
    product_id: strawberry.ID
    quantity: int = strawberry.field(description="At most what is outstanding on the order's line.")


@strawberry.input
class ReceivePurchaseOrderInput:
    id: strawberry.ID
    warehouse_id: strawberry.ID
    lines: list[ReceivePurchaseOrderLineInput] = strawberry.field(description="At most one line per product.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Send the same key to retry safely: a retry returns the first result and changes nothing.",
    )


def _product_id(line: Any, index: int) -> int:
    return decode_id(line.product_id, "Product", f"lines[{index}].productId")


def _order_lines(lines: list[PurchaseOrderLineInput] | None) -> list[purchasing.OrderLine] | None:
    if lines is None:
        return None
    return [
        {"product_id": _product_id(line, i), "quantity": line.quantity, "unit_cost": line.unit_cost}
        for i, line in enumerate(lines)
    ]


def _create_arguments(input: CreatePurchaseOrderInput) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "supplier_id": decode_id(input.supplier_id, "Supplier", "supplierId"),
        "number": input.number,
        "expected_date": input.expected_date,
        "note": input.note,
        "lines": _order_lines(input.lines),
    }


def _update_arguments(input: UpdatePurchaseOrderInput) -> Callable[[], dict[str, Any]]:
    def decode() -> dict[str, Any]:
        arguments: dict[str, Any] = {"purchase_order_id": decode_id(input.id, "PurchaseOrder", "id")}
        if input.supplier_id is not UNSET:
            arguments["supplier_id"] = decode_optional_id(input.supplier_id, "Supplier", "supplierId")
        if input.expected_date is not UNSET:
            arguments["expected_date"] = input.expected_date
        if input.note is not UNSET:
            arguments["note"] = input.note
        if input.lines is not UNSET:
            arguments["lines"] = _order_lines(input.lines)
        return arguments

    return decode


def _receive_arguments(input: ReceivePurchaseOrderInput) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "purchase_order_id": decode_id(input.id, "PurchaseOrder", "id"),
        "warehouse_id": decode_id(input.warehouse_id, "Warehouse", "warehouseId"),
        "lines": [(_product_id(line, i), line.quantity) for i, line in enumerate(input.lines)],
        "idempotency_key": input.idempotency_key,
    }


def _id_argument(global_id: strawberry.ID) -> Callable[[], dict[str, Any]]:
    return lambda: {"purchase_order_id": decode_id(global_id, "PurchaseOrder", "id")}


# --- payloads -----------------------------------------------------------------------------------


@strawberry.type
class PurchaseOrderPayload:
    purchase_order: PurchaseOrder | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(purchase_order=PurchaseOrder.from_model(row))


@strawberry.type(description="The order after a receipt, the RECEIPT entries it made and the stock levels they left.")
class ReceivePurchaseOrderPayload:
    purchase_order: PurchaseOrder | None = None
    transactions: list[InventoryTransaction] = strawberry.field(
        default_factory=list, description="One RECEIPT entry per line received, in the order of the input's lines."
    )
    stock_levels: list[StockLevel] = strawberry.field(default_factory=list)
    replayed: bool = strawberry.field(
        default=False, description="True when this is the stored result of an earlier request with the same key."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, receipt: purchasing.Receipt) -> Self:
        return cls(
            purchase_order=PurchaseOrder.from_model(receipt.order),
            transactions=[InventoryTransaction.from_model(entry) for entry in receipt.transactions],
            stock_levels=[StockLevel.of(product_id=p, warehouse_id=w, quantity=q) for p, w, q in receipt.levels],
            replayed=receipt.replayed,
        )


# --- mutations ----------------------------------------------------------------------------------


@strawberry.type
class PurchasingMutations:
    @strawberry.mutation(description="Draft a purchase order from an active supplier.")
    async def create_purchase_order(
        self, info: Info[Context, None], input: CreatePurchaseOrderInput
    ) -> PurchaseOrderPayload:
        return await write(
            info, PurchaseOrderPayload, purchasing.create_purchase_order, _create_arguments(input), records_user=True
        )

    @strawberry.mutation(description="Change a draft purchase order: supplier, expected date, note or lines.")
    async def update_purchase_order(
        self, info: Info[Context, None], input: UpdatePurchaseOrderInput
    ) -> PurchaseOrderPayload:
        return await write(info, PurchaseOrderPayload, purchasing.update_purchase_order, _update_arguments(input))

    @strawberry.mutation(description="Place a draft with its supplier: DRAFT → ORDERED. It needs at least one line.")
    async def submit_purchase_order(self, info: Info[Context, None], id: strawberry.ID) -> PurchaseOrderPayload:
        return await write(info, PurchaseOrderPayload, purchasing.submit_purchase_order, _id_argument(id))

    @strawberry.mutation(
        description="Receive goods of an ordered purchase order into a warehouse, in full or in part: RECEIPT "
        "entries at the lines' costs, and the order moves to PARTIALLY_RECEIVED or RECEIVED."
    )
    async def receive_purchase_order(
        self, info: Info[Context, None], input: ReceivePurchaseOrderInput
    ) -> ReceivePurchaseOrderPayload:
        return await write(
            info,
            ReceivePurchaseOrderPayload,
            purchasing.receive_purchase_order,
            _receive_arguments(input),
            records_user=True,
        )

    @strawberry.mutation(description="Cancel a draft, or an order of which nothing has been received.")
    async def cancel_purchase_order(self, info: Info[Context, None], id: strawberry.ID) -> PurchaseOrderPayload:
        return await write(info, PurchaseOrderPayload, purchasing.cancel_purchase_order, _id_argument(id))
