"""Selling types: customers, sales orders and their lines, reservations and customer returns."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry.types import Info

from db import models
from db.types import utcnow
from graph.relations import Relation
from graph.relay import Node, id_of, to_global_id
from graph.types.catalog import CREATED_AT, CREATED_BY, CREATED_BY_USER, UPDATED_AT, UPDATED_BY, UPDATED_BY_USER, Product
from graph.types.stock import PRODUCT_OF_ROW, WAREHOUSE_OF_ROW, Warehouse
from graph.types.users import User

CUSTOMER_OF_ORDER = Relation(lambda loaders: loaders.customer_by_id, lambda order, _settings: order.customer_pk)
ORDER_OF_LINE = Relation(lambda loaders: loaders.sales_order_by_id, lambda line, _settings: line.sales_order_pk)
SALES_ORDER_LINES = Relation(lambda loaders: loaders.lines_by_sales_order_id, lambda order, _settings: (order.pk,))
LINE_RESERVATIONS = Relation(lambda loaders: loaders.reservations_by_line_id, lambda line, _settings: (line.pk,))
LINE_RETURNS = Relation(lambda loaders: loaders.returns_by_line_id, lambda line, _settings: (line.pk,))
ORDER_TOTAL = Relation(lambda loaders: loaders.total_by_sales_order_id, lambda order, _settings: order.pk)
LINE_OF_ROW = Relation(lambda loaders: loaders.sales_order_line_by_id, lambda row, _settings: row.line_pk)


def _enum(name: str, members: type[Enum], descriptions: dict[Enum, str], description: str) -> type:
    return strawberry.enum(
        Enum(name, {m.name: strawberry.enum_value(m.value, description=descriptions[m]) for m in members}),
        description=description,
    )


SalesOrderStatus = _enum(
    "SalesOrderStatus",
    models.SalesOrderStatus,
    {
        models.SalesOrderStatus.DRAFT: "Being prepared: its customer, lines, requested date and note may change "
        "(`updateSalesOrder`); nothing is reserved. `confirmSalesOrder` confirms it.",
        models.SalesOrderStatus.CONFIRMED: "Every line's units are reserved in its warehouse; nothing shipped yet.",
        models.SalesOrderStatus.PARTIALLY_SHIPPED: "Some units shipped; the rest stay reserved.",
        models.SalesOrderStatus.SHIPPED: "Every line shipped in full.",
        models.SalesOrderStatus.CANCELLED: "Cancelled: what was still reserved was released; what shipped stays "
        "shipped.",
    },
    "DRAFT → CONFIRMED → PARTIALLY_SHIPPED → SHIPPED, or CANCELLED.",
)

ReturnDisposition = _enum(
    "ReturnDisposition",
    models.ReturnDisposition,
    {
        models.ReturnDisposition.RESTOCK: "The units go back into the line's warehouse (a RETURN entry).",
        models.ReturnDisposition.SCRAP: "The units are recorded as returned but not put back in stock.",
    },
    "What happens to units a customer returned.",
)


@strawberry.type(description="Someone goods are sold to.")
class Customer(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this customer"))
    name: str = strawberry.field(description="Up to 200 characters; unique whatever the case.")
    email: str | None = strawberry.field(description="Contact email address; null when not known.")
    phone: str | None = strawberry.field(description="Contact phone number, as entered; null when not known.")
    shipping_address: str | None = strawberry.field(description="Where goods are shipped; null when not known.")
    is_active: bool = strawberry.field(
        description="False once archived: an archived customer keeps its orders but takes no new ones."
    )
    created_at: datetime = strawberry.field(description=CREATED_AT)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    pk: strawberry.Private[int]
    created_by_pk: strawberry.Private[int | None]
    updated_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Customer) -> "Customer":
        return cls(
            id=strawberry.ID(to_global_id("Customer", row.id)),
            pk=row.id,
            name=row.name,
            email=row.email,
            phone=row.phone,
            shipping_address=row.shipping_address,
            is_active=row.is_active,
            created_by_pk=row.created_by_id,
            updated_by_pk=row.updated_by_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(description=UPDATED_BY)
    def updated_by(self, info: Info) -> User | None:
        return UPDATED_BY_USER.resolve(self, info)


@strawberry.type(description="Units of one product in one warehouse set aside: for a sales order's line, or held "
                 "for a cart or a quote (`reserveStock`).")
class Reservation(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this reservation"))
    quantity: int = strawberry.field(
        description="Units still held (an order line's hold shrinks as the line ships; 0 once used up)."
    )
    expires_at: datetime | None = strawberry.field(
        description="When the hold lapses by itself; null for holds that last until released (an order's)."
    )
    reference: str | None = strawberry.field(
        description="What the hold is for: the order's number, or the reference given to `reserveStock`."
    )
    created_at: datetime = strawberry.field(description="When the hold was made.")
    released_at: datetime | None = strawberry.field(
        description="When it was released, used up by shipping, or closed after expiring; null while it holds "
        "(an expired hold not yet closed counts as released, see `isActive`)."
    )
    is_active: bool = strawberry.field(description="True while it holds: not released and not expired.")
    pk: strawberry.Private[int]
    product_pk: strawberry.Private[int]
    warehouse_pk: strawberry.Private[int]
    line_pk: strawberry.Private[int | None]
    created_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Reservation, now: datetime | None = None) -> "Reservation":
        now = now or utcnow()
        return cls(
            id=strawberry.ID(to_global_id("Reservation", row.id)),
            pk=row.id,
            product_pk=row.product_id,
            warehouse_pk=row.warehouse_id,
            line_pk=row.sales_order_line_id,
            created_by_pk=row.created_by_id,
            quantity=row.quantity,
            expires_at=row.expires_at,
            reference=row.reference,
            created_at=row.created_at,
            released_at=row.released_at,
            is_active=row.released_at is None and (row.expires_at is None or row.expires_at > now),
        )

    @strawberry.field(description="The product held.")
    def product(self, info: Info) -> Product:
        return PRODUCT_OF_ROW.resolve(self, info)

    @strawberry.field(description="The warehouse it is held in.")
    def warehouse(self, info: Info) -> Warehouse:
        return WAREHOUSE_OF_ROW.resolve(self, info)

    @strawberry.field(description="The order line it holds stock for; null for a free-standing hold.")
    def sales_order_line(self, info: Info) -> "SalesOrderLine | None":
        return LINE_OF_ROW.resolve(self, info)

    @strawberry.field(description="Who made it; null for holds written outside the API, such as demo data.")
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)


@strawberry.type(description="Units a customer sent back against a shipped order line.")
class SalesReturn:
    quantity: int = strawberry.field(description="Units returned.")
    disposition: ReturnDisposition = strawberry.field(description="Whether they went back into stock.")  # type: ignore[valid-type]
    note: str | None = strawberry.field(description="Free text; null when none was given.")
    created_at: datetime = strawberry.field(description="When the return was recorded.")
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.SalesReturn) -> "SalesReturn":
        return cls(
            pk=row.id,
            quantity=row.quantity,
            disposition=ReturnDisposition(row.disposition.value),
            note=row.note,
            created_at=row.created_at,
        )


@strawberry.type(description="One product from one warehouse on a sales order.")
class SalesOrderLine(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this line"))
    quantity_ordered: int = strawberry.field(description="Units ordered.")
    quantity_shipped: int = strawberry.field(description="Units shipped against this line so far.")
    quantity_returned: int = strawberry.field(description="Units of those returned (restocked or scrapped).")
    unit_price: Decimal = strawberry.field(description="The price of one unit on this order, with 2 decimal places.")
    pk: strawberry.Private[int]
    sales_order_pk: strawberry.Private[int]
    product_pk: strawberry.Private[int]
    warehouse_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.SalesOrderLine) -> "SalesOrderLine":
        return cls(
            id=strawberry.ID(to_global_id("SalesOrderLine", row.id)),
            pk=row.id,
            sales_order_pk=row.sales_order_id,
            product_pk=row.product_id,
            warehouse_pk=row.warehouse_id,
            quantity_ordered=row.quantity_ordered,
            quantity_shipped=row.quantity_shipped,
            quantity_returned=row.quantity_returned,
            unit_price=row.unit_price,
        )

    @strawberry.field(description="quantityOrdered × unitPrice, exact.")
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity_ordered

    @strawberry.field(description="Units still to ship: quantityOrdered - quantityShipped.")
    def quantity_outstanding(self) -> int:
        return self.quantity_ordered - self.quantity_shipped

    @strawberry.field(description="The product sold.")
    def product(self, info: Info) -> Product:
        return PRODUCT_OF_ROW.resolve(self, info)

    @strawberry.field(description="The warehouse it ships from, and where its units are reserved.")
    def warehouse(self, info: Info) -> Warehouse:
        return WAREHOUSE_OF_ROW.resolve(self, info)

    @strawberry.field(description="The order the line is on.")
    def sales_order(self, info: Info) -> "SalesOrder":
        return ORDER_OF_LINE.resolve(self, info)

    @strawberry.field(description="The line's reservation (made when the order was confirmed), open or closed.")
    def reservations(self, info: Info) -> list[Reservation]:
        return LINE_RESERVATIONS.resolve(self, info)

    @strawberry.field(description="Returns recorded against the line, oldest first.")
    def returns(self, info: Info) -> list[SalesReturn]:
        return LINE_RETURNS.resolve(self, info)


@strawberry.type(description="An order of goods by one customer, and what has shipped against it.")
class SalesOrder(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this sales order"))
    number: str = strawberry.field(
        description="Unique, uppercase: the one given when it was drafted, or the next free SO-000001-style one. "
        "`salesOrder(number:)` finds the order by it."
    )
    status: SalesOrderStatus = strawberry.field(  # type: ignore[valid-type]
        description="Where the order is: DRAFT → CONFIRMED → PARTIALLY_SHIPPED → SHIPPED, or CANCELLED."
    )
    requested_date: date | None = strawberry.field(description="When the customer wants the goods; null if not given.")
    note: str | None = strawberry.field(description="Free text, up to 2,000 characters; null when none was given.")
    confirmed_at: datetime | None = strawberry.field(description="When it was confirmed; null while a draft.")
    shipped_at: datetime | None = strawberry.field(description="When its last units shipped; null until then.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled; null unless CANCELLED.")
    created_at: datetime = strawberry.field(description=CREATED_AT)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int]
    created_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.SalesOrder) -> "SalesOrder":
        return cls(
            id=strawberry.ID(to_global_id("SalesOrder", row.id)),
            pk=row.id,
            customer_pk=row.customer_id,
            created_by_pk=row.created_by_id,
            number=row.number,
            status=SalesOrderStatus(row.status.value),
            requested_date=row.requested_date,
            note=row.note,
            confirmed_at=row.confirmed_at,
            shipped_at=row.shipped_at,
            cancelled_at=row.cancelled_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The customer who ordered.")
    def customer(self, info: Info) -> Customer:
        return CUSTOMER_OF_ORDER.resolve(self, info)

    @strawberry.field(description="Who drafted the order; null for orders written outside the API, such as demo data.")
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(description="The order's lines, in the order they were added.")
    def lines(self, info: Info) -> list[SalesOrderLine]:
        return SALES_ORDER_LINES.resolve(self, info)

    @strawberry.field(description="The sum of the lines' totals (quantityOrdered × unitPrice), exact.")
    def total(self, info: Info) -> Decimal:
        return ORDER_TOTAL.resolve(self, info)
