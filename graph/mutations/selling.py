"""Selling mutations: customers; sales orders (draft, change, confirm, ship, cancel, return a line); and
free-standing stock holds (reserve, release).

Each is one write transaction; a refused one rolls back and returns its `errors`. Shipping, returning and
reserving take an `idempotencyKey`: a retry returns the first result (`replayed: true`) and changes nothing.
"""

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from strawberry.types import Info

from db import lengths as L
from db import selling
from db.catalog import MONEY_RULE
from db.models import ReturnDisposition as DispositionModel
from graph.context import Context
from graph.errors import UserError, with_error_codes
from graph.mutations.base import INPUT, changed, errors_field, optional, result_field, write
from graph.mutations.catalog import ADDRESS, EMAIL, PHONE, DeletePayload
from graph.mutations.stock import KEY_DESCRIPTION, NOTE, QUANTITY, REFERENCE
from graph.relay import decode_id, decode_optional_id, id_input
from graph.types.selling import Customer, Reservation, ReturnDisposition, SalesOrder, SalesOrderLine, SalesReturn
from graph.types.stock import InventoryTransaction

UNSET: Any = strawberry.UNSET

CUSTOMER_NAME = f"Up to {L.MAX_NAME_LENGTH:,} characters, trimmed; unique whatever the case."
LINES = "The products to sell, at most 500 lines, one per product and warehouse."
_MALFORMED_KEY = f"`idempotencyKey` is blank or over {L.MAX_IDEMPOTENCY_KEY_LENGTH} characters"
_CONFLICT = "you sent `idempotencyKey` before with a different request."


# --- inputs -------------------------------------------------------------------------------------


@strawberry.input(description="A new customer.")
class CreateCustomerInput:
    name: str = strawberry.field(description=CUSTOMER_NAME)
    email: str | None = optional(EMAIL)
    phone: str | None = optional(PHONE)
    shipping_address: str | None = optional(ADDRESS)
    is_active: bool = optional("False adds it archived.", True)


@strawberry.input(description="Fields left out keep their value; null clears the contact fields.")
class UpdateCustomerInput:
    id: strawberry.ID = strawberry.field(description=id_input("the customer to change"))
    name: str | None = changed(f"{CUSTOMER_NAME} Not null.")
    email: str | None = changed(EMAIL)
    phone: str | None = changed(PHONE)
    shipping_address: str | None = changed(ADDRESS)
    is_active: bool | None = changed("False archives the customer: it takes no new sales orders. Not null.")


@strawberry.input(description="One line of a sales order; without `unitPrice`, the product's price applies.")
class SalesOrderLineInput:
    product_id: strawberry.ID = strawberry.field(description=f"{id_input('the product')} Not an archived one.")
    warehouse_id: strawberry.ID = strawberry.field(description=id_input("the warehouse it ships from"))
    quantity: int = strawberry.field(description=QUANTITY)
    unit_price: Decimal | None = optional(f"What one unit sells for on this order: {MONEY_RULE}.")


@strawberry.input(description="A new sales order, drafted (status DRAFT).")
class CreateSalesOrderInput:
    customer_id: strawberry.ID = strawberry.field(description=f"{id_input('the customer')} An active one.")
    number: str | None = optional(
        f"Unique; up to {L.MAX_ORDER_NUMBER_LENGTH} letters, digits, '.', '/', '_' and '-', starting with a letter "
        "or digit; stored trimmed and uppercase. The next free SO-000001-style number when not given."
    )
    requested_date: date | None = optional("When the customer wants the goods.")
    note: str | None = optional(NOTE)
    lines: list[SalesOrderLineInput] = strawberry.field(default_factory=list, description=LINES)


@strawberry.input(description="Changes a draft. Fields left out keep their value; `lines` replaces every line.")
class UpdateSalesOrderInput:
    id: strawberry.ID = strawberry.field(description=id_input("the sales order, a draft"))
    customer_id: strawberry.ID | None = changed(f"{id_input('the customer')} An active one; not null.")
    requested_date: date | None = changed("When the customer wants the goods.")
    note: str | None = changed(NOTE)
    lines: list[SalesOrderLineInput] | None = changed(f"{LINES} Replaces every line; `[]` removes them all.")


@strawberry.input(description="Units of one order line to ship.")
class ShipSalesOrderLineInput:
    line_id: strawberry.ID = strawberry.field(description=f"{id_input('the order line')} A line of the order.")
    quantity: int = strawberry.field(description="Units to ship, at least 1 and at most what is outstanding.")


@strawberry.input(description="A shipment against a confirmed sales order.")
class ShipSalesOrderInput:
    id: strawberry.ID = strawberry.field(
        description=f"{id_input('the sales order')} It must be CONFIRMED or PARTIALLY_SHIPPED."
    )
    lines: list[ShipSalesOrderLineInput] = strawberry.field(description="What ships: at least one line, each once.")
    idempotency_key: str | None = optional(KEY_DESCRIPTION)


@strawberry.input(description="Units a customer sent back against a shipped order line.")
class ReturnSalesOrderLineInput:
    line_id: strawberry.ID = strawberry.field(description=id_input("the order line"))
    quantity: int = strawberry.field(description="Units returned, at most those shipped and not yet returned.")
    disposition: ReturnDisposition = strawberry.field(  # type: ignore[valid-type]
        description="RESTOCK puts them back in the line's warehouse; SCRAP records them only."
    )
    note: str | None = optional(NOTE)
    idempotency_key: str | None = optional(KEY_DESCRIPTION)


@strawberry.input(description="Units set aside for a cart or a quote.")
class ReserveStockInput:
    product_id: strawberry.ID = strawberry.field(description=id_input("the product"))
    warehouse_id: strawberry.ID = strawberry.field(description=id_input("the warehouse"))
    quantity: int = strawberry.field(description=f"{QUANTITY} At most what is available.")
    expires_at: datetime | None = optional(
        "When the hold lapses by itself; in the future. Without it, it holds until released."
    )
    reference: str | None = optional(REFERENCE)
    idempotency_key: str | None = optional(KEY_DESCRIPTION)


def _customer_arguments(input: Any) -> Callable[[], dict[str, Any]]:
    def decode() -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for field in dataclasses.fields(input):
            value = getattr(input, field.name)
            if value is UNSET:
                continue
            if field.name == "id":
                arguments["customer_id"] = decode_id(value, "Customer", "id")
            else:
                arguments[field.name] = value
        return arguments

    return decode


def _lines(lines: list[SalesOrderLineInput] | None) -> list[selling.OrderLine] | None:
    if lines is None:
        return None
    return [
        {
            "product_id": decode_id(line.product_id, "Product", f"lines[{i}].productId"),
            "warehouse_id": decode_id(line.warehouse_id, "Warehouse", f"lines[{i}].warehouseId"),
            "quantity": line.quantity,
            "unit_price": line.unit_price,
        }
        for i, line in enumerate(lines)
    ]


def _create_arguments(input: CreateSalesOrderInput) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "customer_id": decode_id(input.customer_id, "Customer", "customerId"),
        "number": input.number,
        "requested_date": input.requested_date,
        "note": input.note,
        "lines": _lines(input.lines),
    }


def _update_arguments(input: UpdateSalesOrderInput) -> Callable[[], dict[str, Any]]:
    def decode() -> dict[str, Any]:
        arguments: dict[str, Any] = {"sales_order_id": decode_id(input.id, "SalesOrder", "id")}
        if input.customer_id is not UNSET:
            arguments["customer_id"] = decode_optional_id(input.customer_id, "Customer", "customerId")
        if input.requested_date is not UNSET:
            arguments["requested_date"] = input.requested_date
        if input.note is not UNSET:
            arguments["note"] = input.note
        if input.lines is not UNSET:
            arguments["lines"] = _lines(input.lines)
        return arguments

    return decode


def _order_id(global_id: strawberry.ID) -> Callable[[], dict[str, Any]]:
    return lambda: {"sales_order_id": decode_id(global_id, "SalesOrder", "id")}


def _ship_arguments(input: ShipSalesOrderInput) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "sales_order_id": decode_id(input.id, "SalesOrder", "id"),
        "lines": [
            (decode_id(line.line_id, "SalesOrderLine", f"lines[{i}].lineId"), line.quantity)
            for i, line in enumerate(input.lines)
        ],
        "idempotency_key": input.idempotency_key,
    }


def _return_arguments(input: ReturnSalesOrderLineInput) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "line_id": decode_id(input.line_id, "SalesOrderLine", "lineId"),
        "quantity": input.quantity,
        "disposition": DispositionModel(input.disposition.value),
        "note": input.note,
        "idempotency_key": input.idempotency_key,
    }


def _reserve_arguments(input: ReserveStockInput) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "product_id": decode_id(input.product_id, "Product", "productId"),
        "warehouse_id": decode_id(input.warehouse_id, "Warehouse", "warehouseId"),
        "quantity": input.quantity,
        "expires_at": input.expires_at,
        "reference": input.reference,
        "idempotency_key": input.idempotency_key,
    }


# --- payloads -----------------------------------------------------------------------------------


@strawberry.type(description="The result of a mutation of a customer.")
class CustomerPayload:
    customer: Customer | None = result_field("The customer as saved")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(customer=Customer.from_model(row))


@strawberry.type(description="The result of a mutation of a sales order.")
class SalesOrderPayload:
    sales_order: SalesOrder | None = result_field("The order as saved")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(sales_order=SalesOrder.from_model(row))


_REPLAYED = "True when this is the stored result of an earlier request with the same key."


@strawberry.type(description="The order after a shipment, and the SHIPMENT entries it made.")
class ShipSalesOrderPayload:
    sales_order: SalesOrder | None = result_field("The order after the shipment (as it is now, on a replay)")
    transactions: list[InventoryTransaction] = strawberry.field(
        default_factory=list, description="One SHIPMENT entry per line shipped, in the order of the input's lines."
    )
    replayed: bool = strawberry.field(default=False, description=_REPLAYED)
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, shipment: selling.Shipment) -> Self:
        return cls(
            sales_order=SalesOrder.from_model(shipment.order),
            transactions=[InventoryTransaction.from_model(entry) for entry in shipment.transactions],
            replayed=shipment.replayed,
        )


@strawberry.type(description="The line after a return, the return's record and, for RESTOCK, its RETURN entry.")
class ReturnSalesOrderLinePayload:
    line: SalesOrderLine | None = result_field("The order line after the return (as it is now, on a replay)")
    sales_return: SalesReturn | None = result_field("The return as recorded")
    transaction: InventoryTransaction | None = strawberry.field(
        default=None, description="The RETURN entry that put the units back; null for SCRAP and when refused."
    )
    replayed: bool = strawberry.field(default=False, description=_REPLAYED)
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, back: selling.Return) -> Self:
        return cls(
            line=SalesOrderLine.from_model(back.line),
            sales_return=SalesReturn.from_model(back.sales_return),
            transaction=None if back.transaction is None else InventoryTransaction.from_model(back.transaction),
            replayed=back.replayed,
        )


@strawberry.type(description="The result of `reserveStock` or `releaseReservation`.")
class ReservationPayload:
    reservation: Reservation | None = result_field("The reservation as saved")
    replayed: bool = strawberry.field(default=False, description=_REPLAYED)
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, result: Any) -> Self:
        if isinstance(result, selling.Hold):
            return cls(reservation=Reservation.from_model(result.reservation), replayed=result.replayed)
        return cls(reservation=Reservation.from_model(result))


# --- mutations ----------------------------------------------------------------------------------


_OrderId = Annotated[strawberry.ID, strawberry.argument(description=id_input("the sales order"))]
_CustomerId = Annotated[strawberry.ID, strawberry.argument(description=id_input("the customer"))]
_ReservationId = Annotated[strawberry.ID, strawberry.argument(description=id_input("the reservation"))]
_CUSTOMER_RULES = (
    f"`name` is blank or over {L.MAX_NAME_LENGTH:,} characters; `email` is not an email address; `phone` or "
    "`shippingAddress` is too long; or an ID is malformed"
)
_LINE_RULES = (
    "there are more than 500 lines; a line's `quantity` is outside 1 to 1,000,000,000 or its `unitPrice` is "
    "refused; two lines name one product and warehouse; a line's product is archived"
)


@strawberry.type
class SellingMutations:
    @strawberry.mutation(
        description=with_error_codes(
            "Add a customer.", INVALID=_CUSTOMER_RULES + ".", DUPLICATE="another customer has the name."
        )
    )
    async def create_customer(
        self, info: Info[Context, None], input: Annotated[CreateCustomerInput, INPUT]
    ) -> CustomerPayload:
        return await write(
            info, CustomerPayload, selling.create_customer, _customer_arguments(input), records_user="created_by_id"
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Change a customer; `isActive: false` archives it.",
            INVALID=_CUSTOMER_RULES + ".",
            NOT_FOUND="`id` names no customer.",
            DUPLICATE="another customer has the name.",
        )
    )
    async def update_customer(
        self, info: Info[Context, None], input: Annotated[UpdateCustomerInput, INPUT]
    ) -> CustomerPayload:
        return await write(
            info, CustomerPayload, selling.update_customer, _customer_arguments(input), records_user="updated_by_id"
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Delete a customer no sales order refers to.",
            INVALID="`id` is malformed.",
            NOT_FOUND="`id` names no customer.",
            IN_USE="sales orders refer to the customer (archive it instead: `updateCustomer` with `isActive: false`).",
        )
    )
    async def delete_customer(self, info: Info[Context, None], id: _CustomerId) -> DeletePayload:
        return await write(
            info, DeletePayload, selling.delete_customer, lambda: {"customer_id": decode_id(id, "Customer", "id")}
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Draft a sales order for an active customer; nothing is reserved until it is confirmed.",
            INVALID=f"`number` is badly formed; `note` is too long; the customer is archived; {_LINE_RULES}; or an "
            "ID is malformed.",
            NOT_FOUND="`customerId` names no customer, or a line's `productId` no product or `warehouseId` no "
            "warehouse.",
            DUPLICATE="another order has the `number`.",
        )
    )
    async def create_sales_order(
        self, info: Info[Context, None], input: Annotated[CreateSalesOrderInput, INPUT]
    ) -> SalesOrderPayload:
        return await write(
            info, SalesOrderPayload, selling.create_sales_order, _create_arguments(input), records_user="created_by_id"
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Change a draft sales order: customer, requested date, note or lines.",
            INVALID=f"the order is not a draft; `note` is too long; `customerId` is null or archived; `lines` is "
            f"null; {_LINE_RULES}; or an ID is malformed.",
            NOT_FOUND="`id` names no sales order, `customerId` no customer, or a line's ID nothing of its kind.",
        )
    )
    async def update_sales_order(
        self, info: Info[Context, None], input: Annotated[UpdateSalesOrderInput, INPUT]
    ) -> SalesOrderPayload:
        return await write(info, SalesOrderPayload, selling.update_sales_order, _update_arguments(input))

    @strawberry.mutation(
        description=with_error_codes(
            "Confirm a draft: DRAFT → CONFIRMED, reserving every line's units in its warehouse, all or nothing.",
            INVALID="the order is not a draft, has no lines, or its customer is archived; or `id` is malformed.",
            NOT_FOUND="`id` names no sales order.",
            INSUFFICIENT_STOCK="a line's warehouse has fewer units available than the line wants; the error's "
            "field names the line (`lines[n].quantity`) and its message how many are available.",
        )
    )
    async def confirm_sales_order(self, info: Info[Context, None], id: _OrderId) -> SalesOrderPayload:
        return await write(
            info, SalesOrderPayload, selling.confirm_sales_order, _order_id(id), records_user="created_by_id"
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Ship units of a confirmed order, in full or in part: one SHIPMENT entry per line, linked to the order "
            "and referencing its number, taken from the line's reservation; the order moves to PARTIALLY_SHIPPED "
            "or SHIPPED.",
            INVALID="the order is a draft, cancelled or shipped in full; no lines are given; a line is not on the "
            f"order, given twice, or its `quantity` is outside 1 to 1,000,000,000 or above what is outstanding; "
            f"{_MALFORMED_KEY}; or an ID is malformed.",
            NOT_FOUND="`id` names no sales order.",
            IDEMPOTENCY_CONFLICT=_CONFLICT,
        )
    )
    async def ship_sales_order(
        self, info: Info[Context, None], input: Annotated[ShipSalesOrderInput, INPUT]
    ) -> ShipSalesOrderPayload:
        return await write(
            info, ShipSalesOrderPayload, selling.ship_sales_order, _ship_arguments(input),
            records_user="created_by_id", idempotent=True,
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Cancel an order not shipped in full: what is still reserved is released; what shipped stays shipped.",
            INVALID="the order is shipped in full or cancelled already; or `id` is malformed.",
            NOT_FOUND="`id` names no sales order.",
        )
    )
    async def cancel_sales_order(self, info: Info[Context, None], id: _OrderId) -> SalesOrderPayload:
        return await write(info, SalesOrderPayload, selling.cancel_sales_order, _order_id(id))

    @strawberry.mutation(
        description=with_error_codes(
            "Record units a customer sent back against a shipped order line: RESTOCK puts them back (a RETURN "
            "entry linked to the line), SCRAP records them only.",
            INVALID="`quantity` is outside 1 to 1,000,000,000 or above what shipped and is not yet returned; "
            f"`note` is too long; the line's warehouse or product is archived (RESTOCK); {_MALFORMED_KEY}; or "
            "`lineId` is malformed.",
            NOT_FOUND="`lineId` names no order line.",
            IDEMPOTENCY_CONFLICT=_CONFLICT,
        )
    )
    async def return_sales_order_line(
        self, info: Info[Context, None], input: Annotated[ReturnSalesOrderLineInput, INPUT]
    ) -> ReturnSalesOrderLinePayload:
        return await write(
            info, ReturnSalesOrderLinePayload, selling.return_sales_order_line, _return_arguments(input),
            records_user="created_by_id", idempotent=True,
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Set available units aside for a cart or a quote, until released or until `expiresAt`; an expired "
            "hold counts as released at once.",
            INVALID=f"`quantity` is outside 1 to 1,000,000,000; `expiresAt` is not in the future; `reference` is "
            f"over {L.MAX_REFERENCE_LENGTH} characters; {_MALFORMED_KEY}; or an ID is malformed.",
            NOT_FOUND="`productId` names no product or `warehouseId` no warehouse.",
            INSUFFICIENT_STOCK="fewer units are available than `quantity`.",
            IDEMPOTENCY_CONFLICT=_CONFLICT,
        )
    )
    async def reserve_stock(
        self, info: Info[Context, None], input: Annotated[ReserveStockInput, INPUT]
    ) -> ReservationPayload:
        return await write(
            info, ReservationPayload, selling.reserve_stock, _reserve_arguments(input),
            records_user="created_by_id", idempotent=True,
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Release a free-standing hold, giving its units back to available stock.",
            INVALID="the hold belongs to a sales order (cancel the order instead), has been released already or "
            "has expired; or `id` is malformed.",
            NOT_FOUND="`id` names no reservation.",
        )
    )
    async def release_reservation(self, info: Info[Context, None], id: _ReservationId) -> ReservationPayload:
        return await write(
            info, ReservationPayload, selling.release_reservation,
            lambda: {"reservation_id": decode_id(id, "Reservation", "id")},
        )
