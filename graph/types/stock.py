"""Stock types: warehouses, stock levels, ledger entries and purchase orders."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from db import models
from db import stock_reads as reads
from graph.relations import Relation
from graph.relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    decode_optional_id,
    id_input,
    id_of,
    to_global_id,
    window,
)
from graph.types.catalog import (
    CREATED_AT,
    CREATED_BY,
    CREATED_BY_USER,
    UPDATED_AT,
    UPDATED_BY,
    UPDATED_BY_USER,
    Product,
    Supplier,
)
from graph.types.users import User


WAREHOUSE_STOCK = Relation(
    lambda loaders: loaders.stock_page_by_warehouse_id,
    lambda warehouse, settings, **page: (warehouse.pk, window(settings, **page)),
    connection=True,
    convert=lambda row: StockLevel.from_model(row),
    count_loader=lambda loaders: loaders.stock_count_by_warehouse_id,
    count_key=lambda key: key[:1],
)
# Rows with a product_pk / warehouse_pk / supplier_pk: stock levels, ledger entries, order lines, orders.
PRODUCT_OF_ROW = Relation(lambda loaders: loaders.product_by_id, lambda row, _settings: row.product_pk)
WAREHOUSE_OF_ROW = Relation(lambda loaders: loaders.warehouse_by_id, lambda row, _settings: row.warehouse_pk)
SUPPLIER_OF_ORDER = Relation(lambda loaders: loaders.supplier_by_id, lambda order, _settings: order.supplier_pk)
ORDER_OF_ENTRY = Relation(
    lambda loaders: loaders.purchase_order_by_id, lambda entry, _settings: entry.purchase_order_pk
)
LEVEL_RESERVED = Relation(
    lambda loaders: loaders.held_by_level, lambda level, _settings: (level.product_pk, level.warehouse_pk)
)
ORDER_LINES = Relation(lambda loaders: loaders.lines_by_purchase_order_id, lambda order, _settings: (order.pk,))


_KIND_DESCRIPTIONS = {
    models.TransactionKind.RECEIPT: "Goods received (`receiveStock`, `receivePurchaseOrder`): a positive quantity "
    "at a unit cost, folded into the product's average cost.",
    models.TransactionKind.SHIPMENT: "Goods shipped out (`shipStock`): a negative quantity.",
    models.TransactionKind.ADJUSTMENT: "The difference a physical count found (`adjustStock`): positive or "
    "negative.",
    models.TransactionKind.TRANSFER_IN: "Stock arriving from another warehouse (`transferStock`): a positive "
    "quantity.",
    models.TransactionKind.TRANSFER_OUT: "Stock leaving for another warehouse (`transferStock`): a negative "
    "quantity.",
    models.TransactionKind.RETURN: "Goods a customer returned (`returnStock`): a positive quantity; the average "
    "cost stays as it is.",
}

def _mirror(values: type[Enum], descriptions: dict[Any, str], description: str) -> Any:
    """The GraphQL enum of a model's enum: the same names and values, each with its description."""
    members = {v.name: strawberry.enum_value(v.value, description=descriptions[v]) for v in values}
    return strawberry.enum(Enum(values.__name__, members), description=description)  # type: ignore[misc]


TransactionKind = _mirror(
    models.TransactionKind, _KIND_DESCRIPTIONS, "What moved stock: the kind of a ledger entry."
)


_REASON_DESCRIPTIONS = {
    models.AdjustmentReason.CYCLE_COUNT: "A routine count of part of the stock found a difference with no more "
    "specific cause.",
    models.AdjustmentReason.DAMAGED: "Units found damaged and taken out of stock.",
    models.AdjustmentReason.LOST: "Units missing: lost or stolen.",
    models.AdjustmentReason.FOUND: "Units found that the stock level did not count.",
    models.AdjustmentReason.EXPIRED: "Units past their expiry date, taken out of stock.",
    models.AdjustmentReason.CORRECTION: "A booking error put right; also what `adjustStock` records when no "
    "reason is given.",
}

AdjustmentReason = _mirror(
    models.AdjustmentReason,
    _REASON_DESCRIPTIONS,
    "Why a count differed from the stock level: the reason of an ADJUSTMENT entry (`adjustStock`).",
)

REASONS_FILTER = (
    "Entries recorded with any of these adjustment reasons (so ADJUSTMENT entries only; adjustments made "
    "before reasons were recorded have none and never match); all entries when empty or not given."
)


def _reasons(reasons: "list[Any] | None") -> frozenset[models.AdjustmentReason]:
    return frozenset(models.AdjustmentReason(r.value) for r in reasons or ())


_WAREHOUSE_ENTRIES = f"{id_input('a warehouse')} Only its entries are listed."


@strawberry.input(description="Narrows a product's ledger entries; every condition given must hold.")
class ProductTransactionFilter:
    warehouse_id: strawberry.ID | None = strawberry.field(default=None, description=_WAREHOUSE_ENTRIES)
    kinds: list[TransactionKind] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Entries of any of these kinds; all kinds when empty."
    )
    created_from: datetime | None = strawberry.field(
        default=None, name="from", description="Entries made at or after this time."
    )
    created_to: datetime | None = strawberry.field(default=None, name="to", description="Entries made before this time.")
    reference: str | None = strawberry.field(default=None, description="Entries with exactly this reference.")
    reasons: list[AdjustmentReason] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description=REASONS_FILTER
    )

    def spec(self, product_id: int | None = None) -> reads.TransactionFilter:
        reads.check_period(self.created_from, self.created_to, start_field="filter.from", end_field="filter.to")
        return reads.TransactionFilter(
            product_id=product_id,
            warehouse_id=decode_optional_id(self.warehouse_id, "Warehouse", "filter.warehouseId"),
            kinds=frozenset(models.TransactionKind(k.value) for k in self.kinds or ()),
            created_from=self.created_from,
            created_to=self.created_to,
            reference=self.reference,
            reasons=_reasons(self.reasons),
        )


@strawberry.input(description="Narrows the ledger; every condition given must hold.")
class TransactionFilter:
    product_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a product')} Only its entries are listed."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(default=None, description=_WAREHOUSE_ENTRIES)
    kinds: list[TransactionKind] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Entries of any of these kinds; all kinds when empty."
    )
    created_from: datetime | None = strawberry.field(
        default=None, name="from", description="Entries made at or after this time."
    )
    created_to: datetime | None = strawberry.field(default=None, name="to", description="Entries made before this time.")
    reference: str | None = strawberry.field(default=None, description="Entries with exactly this reference.")
    reasons: list[AdjustmentReason] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description=REASONS_FILTER
    )

    def spec(self) -> reads.TransactionFilter:
        product_id = decode_optional_id(self.product_id, "Product", "filter.productId")
        within = ProductTransactionFilter(
            warehouse_id=self.warehouse_id,
            kinds=self.kinds,
            created_from=self.created_from,
            created_to=self.created_to,
            reference=self.reference,
            reasons=self.reasons,
        )
        return within.spec(product_id)


_STATUS_DESCRIPTIONS = {
    models.PurchaseOrderStatus.DRAFT: "Being prepared: its supplier, lines, expected date and note may change "
    "(`updatePurchaseOrder`); `submitPurchaseOrder` places it.",
    models.PurchaseOrderStatus.ORDERED: "Placed with the supplier; nothing received yet.",
    models.PurchaseOrderStatus.PARTIALLY_RECEIVED: "Some goods received, some still outstanding.",
    models.PurchaseOrderStatus.RECEIVED: "Every line received in full.",
    models.PurchaseOrderStatus.CANCELLED: "Cancelled before anything was received.",
}

PurchaseOrderStatus = _mirror(
    models.PurchaseOrderStatus, _STATUS_DESCRIPTIONS, "DRAFT → ORDERED → PARTIALLY_RECEIVED → RECEIVED, or CANCELLED."
)


@strawberry.type(description="A place that holds stock.")
class Warehouse(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this warehouse"))
    code: str = strawberry.field(
        description="Unique short code, uppercase: up to 32 letters, digits, '_' and '-', starting with a letter "
        "or digit. `warehouse(code:)` finds the warehouse by it."
    )
    name: str = strawberry.field(description="Up to 200 characters.")
    address: str | None = strawberry.field(description="Postal address, free text; null when not known.")
    is_active: bool = strawberry.field(
        description="False once archived: an archived warehouse keeps its stock and history, and its stock can "
        "still be shipped, counted and transferred out, but it takes in nothing (no receipts, returns or "
        "transfers in)."
    )
    created_at: datetime = strawberry.field(description=CREATED_AT)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    pk: strawberry.Private[int]
    created_by_pk: strawberry.Private[int | None]
    updated_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Warehouse) -> "Warehouse":
        return cls(
            id=strawberry.ID(to_global_id("Warehouse", row.id)),
            pk=row.id,
            code=row.code,
            name=row.name,
            address=row.address,
            is_active=row.is_active,
            created_by_pk=row.created_by_id,
            updated_by_pk=row.updated_by_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(description=f"{UPDATED_BY} Archiving it (`archiveWarehouse`) changes it.")
    def updated_by(self, info: Info) -> User | None:
        return UPDATED_BY_USER.resolve(self, info)

    @strawberry.field(description="This warehouse's stock level of each product it holds or has held, by product.")
    def stock(
        self, info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> "Connection[StockLevel]":
        return WAREHOUSE_STOCK.resolve(self, info, first=first, after=after, last=last, before=before)

STOCK_LEVEL_ID = (
    "The global ID of this stock level: an opaque string, unique across all types; `node(id:)` fetches it too. "
    "A stock level is one product's in one warehouse, so its ID stands for that pair and never changes: the "
    "same in `Product.stock`, `Warehouse.stock`, `node` and the `stockLevels` of every stock mutation's payload, "
    "which lets a client cache (Apollo, Relay) update the level it holds in place."
)


@strawberry.type(description="How many units of a product one warehouse holds.")
class StockLevel(Node):
    id: strawberry.ID = strawberry.field(description=STOCK_LEVEL_ID)
    quantity_on_hand: int = strawberry.field(description="Units in the warehouse; never below 0.")
    product_pk: strawberry.Private[int]
    warehouse_pk: strawberry.Private[int]

    @classmethod
    def of(cls, *, product_id: int, warehouse_id: int, quantity: int) -> "StockLevel":
        return cls(
            id=strawberry.ID(to_global_id("StockLevel", product_id, warehouse_id)),
            quantity_on_hand=quantity,
            product_pk=product_id,
            warehouse_pk=warehouse_id,
        )

    @classmethod
    def from_model(cls, row: models.StockLevel) -> "StockLevel":
        return cls.of(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=row.quantity)

    @strawberry.field(
        description="Units of it set aside by reservations that still hold (sales orders' and unexpired "
        "free-standing holds)."
    )
    def quantity_reserved(self, info: Info) -> int:
        return LEVEL_RESERVED.resolve(self, info)

    @strawberry.field(description="Units that can be promised, shipped or moved: quantityOnHand - quantityReserved.")
    async def quantity_available(self, info: Info) -> int:
        return self.quantity_on_hand - await LEVEL_RESERVED.resolve(self, info)

    @strawberry.field(description="The product held.")
    def product(self, info: Info) -> Product:
        return PRODUCT_OF_ROW.resolve(self, info)

    @strawberry.field(description="The warehouse that holds it.")
    def warehouse(self, info: Info) -> Warehouse:
        return WAREHOUSE_OF_ROW.resolve(self, info)


@strawberry.type(description="One entry of the stock ledger; entries are never changed or removed.")
class InventoryTransaction(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this entry"))
    kind: TransactionKind = strawberry.field(description="What moved the stock.")
    quantity: int = strawberry.field(description="Signed: positive into the warehouse, negative out of it.")
    balance_after: int = strawberry.field(description="Quantity on hand in the warehouse after this entry.")
    unit_cost: Decimal | None = strawberry.field(
        description="The cost of one unit, with 2 decimal places: on RECEIPT entries always, on RETURN entries "
        "when one was given; null otherwise."
    )
    reference: str | None = strawberry.field(
        description="Up to 100 characters naming a document, such as a delivery note; on receipts against a "
        "purchase order, its number. Null when none was given."
    )
    note: str | None = strawberry.field(description="Free text, up to 2,000 characters; null when none was given.")
    reason: AdjustmentReason | None = strawberry.field(  # type: ignore[valid-type]
        description="Why the count differed, on ADJUSTMENT entries (CORRECTION when `adjustStock` was given "
        "none). Null on every other kind, and on adjustments recorded before reasons were (their reason is "
        "not known)."
    )
    created_at: datetime = strawberry.field(description="When the entry was made.")
    pk: strawberry.Private[int]
    product_pk: strawberry.Private[int]
    warehouse_pk: strawberry.Private[int]
    purchase_order_pk: strawberry.Private[int | None]
    created_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.InventoryTransaction) -> "InventoryTransaction":
        return cls(
            id=strawberry.ID(to_global_id("InventoryTransaction", row.id)),
            pk=row.id,
            product_pk=row.product_id,
            warehouse_pk=row.warehouse_id,
            purchase_order_pk=row.purchase_order_id,
            created_by_pk=row.created_by_id,
            kind=TransactionKind(row.kind.value),
            quantity=row.quantity,
            balance_after=row.balance_after,
            unit_cost=row.unit_cost,
            reference=row.reference,
            note=row.note,
            reason=None if row.reason is None else AdjustmentReason(row.reason.value),
            created_at=row.created_at,
        )

    @strawberry.field(description="The product moved.")
    def product(self, info: Info) -> Product:
        return PRODUCT_OF_ROW.resolve(self, info)

    @strawberry.field(description="The warehouse whose stock moved.")
    def warehouse(self, info: Info) -> Warehouse:
        return WAREHOUSE_OF_ROW.resolve(self, info)

    @strawberry.field(description="Who made the entry; null for entries written outside the API, such as demo data.")
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(
        description="The purchase order this RECEIPT was received against (`receivePurchaseOrder`); null for "
        "every other entry."
    )
    def purchase_order(self, info: Info) -> "PurchaseOrder | None":
        return ORDER_OF_ENTRY.resolve(self, info)


@strawberry.type(description="One product on a purchase order: how many units were ordered and received, at what cost.")
class PurchaseOrderLine(Node):
    id: strawberry.ID = strawberry.field(
        description=f"{id_of('this line')} Receipts (`receivePurchaseOrder`) return the order with its lines, so "
        "a client cache updates the line's quantities in place. Replacing a draft's lines "
        "(`updatePurchaseOrder(input: {lines})`) gives the new lines new IDs."
    )
    quantity_ordered: int = strawberry.field(description="Units ordered.")
    quantity_received: int = strawberry.field(description="Units received against this line so far.")
    unit_cost: Decimal = strawberry.field(
        description="The cost of one unit on this order, with 2 decimal places; receipts against the line record it."
    )
    pk: strawberry.Private[int]
    product_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.PurchaseOrderLine) -> "PurchaseOrderLine":
        return cls(
            id=strawberry.ID(to_global_id("PurchaseOrderLine", row.id)),
            pk=row.id,
            product_pk=row.product_id,
            quantity_ordered=row.quantity_ordered,
            quantity_received=row.quantity_received,
            unit_cost=row.unit_cost,
        )

    @strawberry.field(description="Units still to receive: quantityOrdered - quantityReceived.")
    def quantity_outstanding(self) -> int:
        return self.quantity_ordered - self.quantity_received

    @strawberry.field(description="The product ordered.")
    def product(self, info: Info) -> Product:
        return PRODUCT_OF_ROW.resolve(self, info)


@strawberry.type(description="An order of goods from one supplier, and what has been received against it.")
class PurchaseOrder(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this purchase order"))
    number: str = strawberry.field(
        description="Unique, uppercase: the one given when it was drafted, or the next free PO-000001-style one. "
        "`purchaseOrder(number:)` finds the order by it."
    )
    status: PurchaseOrderStatus = strawberry.field(
        description="Where the order is: DRAFT → ORDERED → PARTIALLY_RECEIVED → RECEIVED, or CANCELLED."
    )
    expected_date: date | None = strawberry.field(description="When the goods are expected; null when not given.")
    note: str | None = strawberry.field(description="Free text, up to 2,000 characters; null when none was given.")
    ordered_at: datetime | None = strawberry.field(
        description="When it was submitted (DRAFT → ORDERED); null while a draft."
    )
    received_at: datetime | None = strawberry.field(
        description="When its last outstanding units were received (→ RECEIVED); null until then."
    )
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled; null unless CANCELLED.")
    created_at: datetime = strawberry.field(description=CREATED_AT)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    pk: strawberry.Private[int]
    supplier_pk: strawberry.Private[int]
    created_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.PurchaseOrder) -> "PurchaseOrder":
        return cls(
            id=strawberry.ID(to_global_id("PurchaseOrder", row.id)),
            pk=row.id,
            supplier_pk=row.supplier_id,
            created_by_pk=row.created_by_id,
            number=row.number,
            status=PurchaseOrderStatus(row.status.value),
            expected_date=row.expected_date,
            note=row.note,
            ordered_at=row.ordered_at,
            received_at=row.received_at,
            cancelled_at=row.cancelled_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The supplier the order is placed with.")
    def supplier(self, info: Info) -> Supplier:
        return SUPPLIER_OF_ORDER.resolve(self, info)

    @strawberry.field(description="Who drafted the order; null for orders written outside the API, such as demo data.")
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(description="The order's lines, in the order they were added.")
    def lines(self, info: Info) -> list[PurchaseOrderLine]:
        return ORDER_LINES.resolve(self, info)
