"""Purchase order mutations: draft, change, submit, receive and cancel orders, and draft them for low stock.

Each is one write transaction; a refused one rolls back and returns its `errors`.
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from strawberry.types import Info

from db import purchasing, reordering
from db.catalog import MONEY_RULE
from db.lengths import MAX_IDEMPOTENCY_KEY_LENGTH, MAX_NOTE_LENGTH, MAX_ORDER_NUMBER_LENGTH
from graph.context import Context
from graph.errors import UserError, with_error_codes
from graph.mutations.base import INPUT, changed, errors_field, money_refused, optional, result_field, write
from graph.mutations.stock import KEY_DESCRIPTION, NOTE, QUANTITY
from graph.relay import decode_id, decode_optional_id, id_input
from graph.types.catalog import Product
from graph.types.stock import InventoryTransaction, PurchaseOrder, StockLevel

UNSET: Any = strawberry.UNSET

EXPECTED_DATE = "When the goods are expected."
LINES = "The products to order, at most 500 lines, one per product."


# --- inputs -------------------------------------------------------------------------------------


@strawberry.input(description="One line of an order; without `unitCost`, the supplier's terms for the product apply.")
class PurchaseOrderLineInput:
    product_id: strawberry.ID = strawberry.field(description=f"{id_input('the product')} Not an archived one.")
    quantity: int = strawberry.field(description=QUANTITY)
    unit_cost: Decimal | None = optional(
        f"What one unit costs on this order: {MONEY_RULE}. Required when the supplier has no terms for the product."
    )


@strawberry.input(description="A new purchase order, drafted (status DRAFT).")
class CreatePurchaseOrderInput:
    supplier_id: strawberry.ID = strawberry.field(description=f"{id_input('the supplier')} An active one.")
    number: str | None = optional(
        f"Unique; up to {MAX_ORDER_NUMBER_LENGTH} letters, digits, '.', '/', '_' and '-', starting with a letter or "
        "digit; stored trimmed and uppercase. The next free PO-000001-style number when not given."
    )
    expected_date: date | None = optional(EXPECTED_DATE)
    note: str | None = optional(NOTE)
    lines: list[PurchaseOrderLineInput] = strawberry.field(default_factory=list, description=LINES)


@strawberry.input(
    description="Changes a draft. Fields left out keep their value; null clears `expectedDate` and `note`. "
    "`lines` replaces every line; a new supplier alone leaves the lines' costs as they are."
)
class UpdatePurchaseOrderInput:
    id: strawberry.ID = strawberry.field(description=id_input("the purchase order, a draft"))
    supplier_id: strawberry.ID | None = changed(f"{id_input('the supplier')} An active one; not null.")
    expected_date: date | None = changed(EXPECTED_DATE)
    note: str | None = changed(NOTE)
    lines: list[PurchaseOrderLineInput] | None = changed(
        f"{LINES} Replaces every line; `[]` removes them all, null is refused. Lines without `unitCost` take the "
        "terms of the order's supplier (the new one, if `supplierId` changes too)."
    )


@strawberry.input(description="Units of one product received against an order.")
class ReceivePurchaseOrderLineInput:
    product_id: strawberry.ID = strawberry.field(
        description=f"{id_input('the product')} It must be on the order, and not archived."
    )
    quantity: int = strawberry.field(
        description="Units received, at least 1 and at most what is outstanding on the order's line."
    )


@strawberry.input(description="Goods received against an ordered purchase order.")
class ReceivePurchaseOrderInput:
    id: strawberry.ID = strawberry.field(
        description=f"{id_input('the purchase order')} It must be ORDERED or PARTIALLY_RECEIVED."
    )
    warehouse_id: strawberry.ID = strawberry.field(
        description=f"{id_input('the warehouse receiving the goods')} Not an archived one."
    )
    lines: list[ReceivePurchaseOrderLineInput] = strawberry.field(
        description="What arrived: at least one line, at most one per product."
    )
    idempotency_key: str | None = optional(KEY_DESCRIPTION)


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


@strawberry.type(description="The result of a mutation of a purchase order.")
class PurchaseOrderPayload:
    purchase_order: PurchaseOrder | None = result_field("The order as saved")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(purchase_order=PurchaseOrder.from_model(row))


@strawberry.type(description="The order after a receipt, the RECEIPT entries it made and the stock levels they left.")
class ReceivePurchaseOrderPayload:
    purchase_order: PurchaseOrder | None = result_field("The order after the receipt (as it is now, on a replay)")
    transactions: list[InventoryTransaction] = strawberry.field(
        default_factory=list, description="One RECEIPT entry per line received, in the order of the input's lines."
    )
    stock_levels: list[StockLevel] = strawberry.field(
        default_factory=list,
        description="The stock level of each product received in the warehouse, as the entries left it; empty "
        "when refused.",
    )
    replayed: bool = strawberry.field(
        default=False, description="True when this is the stored result of an earlier request with the same key."
    )
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, receipt: purchasing.Receipt) -> Self:
        return cls(
            purchase_order=PurchaseOrder.from_model(receipt.order),
            transactions=[InventoryTransaction.from_model(entry) for entry in receipt.transactions],
            stock_levels=[StockLevel.of(product_id=p, warehouse_id=w, quantity=q) for p, w, q in receipt.levels],
            replayed=receipt.replayed,
        )


@strawberry.type(description="The purchase orders drafted for a warehouse's low stock, and what could not be ordered.")
class DraftPurchaseOrdersPayload:
    purchase_orders: list[PurchaseOrder] = strawberry.field(
        default_factory=list,
        description="The drafts created, one per preferred supplier (more for one with over 500 products to "
        "order), by supplier name; empty when nothing is low or the mutation was refused.",
    )
    products_without_supplier: list[Product] = strawberry.field(
        default_factory=list,
        description="Low products that were not ordered because they have no preferred supplier, or only an "
        "archived one, by name: order them by hand.",
    )
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, drafts: reordering.Drafts) -> Self:
        return cls(
            purchase_orders=[PurchaseOrder.from_model(order) for order in drafts.orders],
            products_without_supplier=[Product.from_model(product) for product in drafts.unsupplied],
        )


# --- mutations ----------------------------------------------------------------------------------


_OrderId = Annotated[strawberry.ID, strawberry.argument(description=id_input("the purchase order"))]
_LINE_RULES = (
    "there are more than 500 lines; `lines[n].quantity` is outside 1 to 1,000,000,000; "
    f"{money_refused('lines[n].unitCost')}; two lines name one product; a line's product is archived; a line "
    "without `unitCost` names a product the supplier has no terms for"
)


@strawberry.type
class PurchasingMutations:
    @strawberry.mutation(
        description=with_error_codes(
            "Draft a purchase order from an active supplier.",
            INVALID=f"`number` is badly formed or over {MAX_ORDER_NUMBER_LENGTH} characters; `note` is over "
            f"{MAX_NOTE_LENGTH:,} characters; the supplier "
            f"is archived; {_LINE_RULES}; or an ID is malformed.",
            NOT_FOUND="`supplierId` names no supplier, or a line's `productId` no product.",
            DUPLICATE="another order has the `number`.",
        )
    )
    async def create_purchase_order(
        self, info: Info[Context, None], input: Annotated[CreatePurchaseOrderInput, INPUT]
    ) -> PurchaseOrderPayload:
        return await write(
            info,
            PurchaseOrderPayload,
            purchasing.create_purchase_order,
            _create_arguments(input),
            records_user="created_by_id",
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Change a draft purchase order: supplier, expected date, note or lines.",
            INVALID=f"the order is not a draft; `note` is over {MAX_NOTE_LENGTH:,} characters; `supplierId` is null or "
            f"an archived supplier; `lines` is null; {_LINE_RULES}; or an ID is malformed.",
            NOT_FOUND="`id` names no purchase order, `supplierId` no supplier, or a line's `productId` no product.",
        )
    )
    async def update_purchase_order(
        self, info: Info[Context, None], input: Annotated[UpdatePurchaseOrderInput, INPUT]
    ) -> PurchaseOrderPayload:
        return await write(info, PurchaseOrderPayload, purchasing.update_purchase_order, _update_arguments(input))

    @strawberry.mutation(
        description=with_error_codes(
            "Place a draft with its supplier: DRAFT → ORDERED. It needs at least one line.",
            INVALID="the order is not a draft, has no lines, or its supplier has been archived; or `id` is "
            "malformed.",
            NOT_FOUND="`id` names no purchase order.",
        )
    )
    async def submit_purchase_order(self, info: Info[Context, None], id: _OrderId) -> PurchaseOrderPayload:
        return await write(info, PurchaseOrderPayload, purchasing.submit_purchase_order, _id_argument(id))

    @strawberry.mutation(
        description=with_error_codes(
            "Receive goods of an ordered purchase order into a warehouse, in full or in part: RECEIPT entries at "
            "the lines' costs, referencing the order's number, and the order moves to PARTIALLY_RECEIVED or "
            "RECEIVED.",
            INVALID="the order is a draft, cancelled or received in full; no lines are given; a line's `quantity` "
            "is outside 1 to 1,000,000,000 or more than is outstanding; two lines name one product; a product is "
            "not on the order or is archived; the warehouse is archived; the stock level would pass "
            f"2,147,483,647; `idempotencyKey` is blank or over {MAX_IDEMPOTENCY_KEY_LENGTH} characters; or an ID is "
            "malformed.",
            NOT_FOUND="`id` names no purchase order or `warehouseId` no warehouse, or a line's `productId` is the "
            "ID of something else than a product.",
            IDEMPOTENCY_CONFLICT="you sent `idempotencyKey` before with a different request.",
        )
    )
    async def receive_purchase_order(
        self, info: Info[Context, None], input: Annotated[ReceivePurchaseOrderInput, INPUT]
    ) -> ReceivePurchaseOrderPayload:
        return await write(
            info,
            ReceivePurchaseOrderPayload,
            purchasing.receive_purchase_order,
            _receive_arguments(input),
            records_user="created_by_id",
            idempotent=True,
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Cancel a draft, or an order of which nothing has been received.",
            INVALID="goods have been received against the order, or it is cancelled already; or `id` is malformed.",
            NOT_FOUND="`id` names no purchase order.",
        )
    )
    async def cancel_purchase_order(self, info: Info[Context, None], id: _OrderId) -> PurchaseOrderPayload:
        return await write(info, PurchaseOrderPayload, purchasing.cancel_purchase_order, _id_argument(id))

    @strawberry.mutation(
        description=with_error_codes(
            "Draft purchase orders for what a warehouse is low on: one DRAFT order per preferred supplier at its "
            "terms (unit cost; expected after the longest lead time of its lines), one line per product whose "
            "stock position is at or below its reorder point, for the quantity `lowStock` suggests "
            "(`quantityToOrder`: rounded up to whole reorder quantities). The rule is `lowStock(warehouseId:)`'s, "
            "except that drafts count as on order too: calling it again drafts only what earlier drafts do not "
            "cover, so it never orders the same shortfall twice (submit or cancel the drafts; a cancelled one no "
            "longer counts). Orders name no warehouse, so units on order anywhere count. Nothing is created when "
            "nothing is low; products without a preferred supplier are listed, not ordered.",
            INVALID="the warehouse is archived; a product would need more than 1,000,000,000 units; or "
            "`warehouseId` is malformed.",
            NOT_FOUND="`warehouseId` names no warehouse.",
        )
    )
    async def draft_purchase_orders_from_low_stock(
        self,
        info: Info[Context, None],
        warehouse_id: Annotated[
            strawberry.ID, strawberry.argument(description=id_input("the warehouse whose low stock to order"))
        ],
    ) -> DraftPurchaseOrdersPayload:
        return await write(
            info,
            DraftPurchaseOrdersPayload,
            reordering.draft_purchase_orders_from_low_stock,
            lambda: {"warehouse_id": decode_id(warehouse_id, "Warehouse", "warehouseId")},
            records_user="created_by_id",
        )
