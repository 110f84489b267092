"""Selling rules: customers, sales orders (draft, confirm, ship, cancel, return), free-standing stock holds,
and the audit of reservations and shipments against the ledger.

DRAFT → CONFIRMED → PARTIALLY_SHIPPED → SHIPPED, or CANCELLED. Confirming reserves every line's units in its
warehouse (db/stock.py `hold`); shipping takes the line's own reserved units; cancelling releases what is
still reserved. Every rule is a conditional UPDATE on the row it guards plus a CHECK in the database. Error
fields are the API's input names (camelCase); a line's field is named by its position, e.g. `lines[1].quantity`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Required, TypedDict

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import changes as change_log
from db import idempotency, live
from db.catalog import KEEP, Keep, _assign, _Checks, _count, _exists, _given, _guarded, _plural, _stamp
from db.catalog_reads import by_ids
from db.errors import DomainError, Duplicate, FieldError, InUse, Invalid, NotFound
from db.lengths import (
    MAX_ADDRESS_LENGTH,
    MAX_NAME_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_REFERENCE_LENGTH,
)
from db.models import (
    Customer,
    InventoryTransaction,
    Product,
    Reservation,
    ReturnDisposition,
    SalesOrder,
    SalesOrderLine,
    SalesOrderStatus,
    SalesReturn,
    StockLevel,
    TransactionKind,
    Warehouse,
)
from db.purchasing import _next_number, _number
from db.stock import _put, _record, _require_active, _StockChecks, _take, hold, sweep, unhold
from db.types import utcnow

Status = SalesOrderStatus

NUMBER_PREFIX = "SO-"
MAX_LINES = 500
SHIP_OPERATION = "shipSalesOrder"
RETURN_OPERATION = "returnSalesOrderLine"
RESERVE_OPERATION = "reserveStock"
_NUMBER_ATTEMPTS = 5

_reservations = Reservation.__table__
_lines_table = SalesOrderLine.__table__


class OrderLine(TypedDict, total=False):
    """One line of a new or replaced order; without `unit_price`, the product's price applies."""

    product_id: Required[int]
    warehouse_id: Required[int]
    quantity: Required[int]
    unit_price: Decimal | None


@dataclass
class Shipment:
    """What shipping against an order did: the order and its SHIPMENT entries, in the input's line order."""

    order: SalesOrder
    transactions: list[InventoryTransaction]
    replayed: bool = False


@dataclass
class Return:
    """A return against an order line: the line, the return's record and, for RESTOCK, its RETURN entry."""

    line: SalesOrderLine
    sales_return: SalesReturn
    transaction: InventoryTransaction | None
    replayed: bool = False


@dataclass
class Hold:
    """A free-standing reservation, and whether it is the stored result of an earlier request."""

    reservation: Reservation
    replayed: bool = False


# --- customers ----------------------------------------------------------------------------------


def _customer_changes(*, name: Any, email: Any, phone: Any, shipping_address: Any, is_active: Any) -> dict[str, Any]:
    check = _Checks()
    changes = _given(
        {
            "name": check.text("name", name, max_length=MAX_NAME_LENGTH),
            "email": check.email("email", email),
            "phone": check.text("phone", phone, max_length=MAX_PHONE_LENGTH, required=False),
            "shipping_address": check.text(
                "shippingAddress", shipping_address, max_length=MAX_ADDRESS_LENGTH, required=False
            ),
            "is_active": check.flag("isActive", is_active),
        }
    )
    check.done()
    return changes


def _customer_conflicts(name: str) -> dict[str, DomainError]:
    return {"uq_customers_lower_name": Duplicate(f"A customer named “{name}” already exists.", field="name")}


async def _check_customer_name_free(session: AsyncSession, name: str, exclude_id: int | None = None) -> None:
    same_name = func.lower(Customer.name) == func.lower(name)
    if await _exists(session, Customer, same_name, Customer.id != exclude_id):
        raise Duplicate(f"A customer named “{name}” already exists.", field="name")


async def _customer(session: AsyncSession, customer_id: int | None, field: str) -> Customer:
    customer = None if customer_id is None else await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("There is no customer with this ID.", field=field)
    return customer


async def create_customer(
    session: AsyncSession,
    *,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    shipping_address: str | None = None,
    is_active: bool = True,
    created_by_id: int | None = None,
) -> Customer:
    """Add a customer; its name must be unique, whatever the case."""
    fields = _customer_changes(
        name=name, email=email, phone=phone, shipping_address=shipping_address, is_active=is_active
    )
    await _check_customer_name_free(session, fields["name"])
    customer = Customer(**fields, created_by_id=created_by_id, updated_by_id=created_by_id)
    async with _guarded(session, _customer_conflicts(fields["name"])):
        session.add(customer)
    await change_log.created(session, customer)
    return customer


async def update_customer(
    session: AsyncSession,
    *,
    customer_id: int,
    name: str | Keep = KEEP,
    email: str | None | Keep = KEEP,
    phone: str | None | Keep = KEEP,
    shipping_address: str | None | Keep = KEEP,
    is_active: bool | Keep = KEEP,
    updated_by_id: int | None = None,
) -> Customer:
    """Change the given fields of a customer; None clears the contact fields; `isActive: false` archives it."""
    customer = await _customer(session, customer_id, "id")
    before = change_log.snapshot(customer)
    changes = _customer_changes(
        name=name, email=email, phone=phone, shipping_address=shipping_address, is_active=is_active
    )
    if "name" in changes and changes["name"].lower() != customer.name.lower():
        await _check_customer_name_free(session, changes["name"], exclude_id=customer.id)
    _stamp(customer, changes, updated_by_id)
    async with _guarded(session, _customer_conflicts(changes.get("name", customer.name))):
        _assign(customer, changes)
    await change_log.record(session, customer, before, change_log.snapshot(customer))
    return customer


async def delete_customer(session: AsyncSession, *, customer_id: int) -> Customer:
    """Delete a customer no sales order refers to; one with orders is archived instead (IN_USE)."""
    customer = await _customer(session, customer_id, "id")
    orders = await _count(session, SalesOrder, SalesOrder.customer_id == customer.id)
    if orders:
        raise InUse(
            f"Customer “{customer.name}” has {_plural(orders, 'sales order', 'sales orders')}; archive it instead "
            "(isActive: false).",
            field="id",
        )
    in_use = InUse(f"Customer “{customer.name}” was just given a sales order.", field="id")
    await change_log.deleted(session, customer)
    async with _guarded(session, {"foreign key": in_use}):
        await session.delete(customer)
    return customer


# --- orders: lookups and checks -----------------------------------------------------------------


async def _order(session: AsyncSession, sales_order_id: int, *, lock: bool = False, field: str = "id") -> SalesOrder:
    query = select(SalesOrder).where(SalesOrder.id == sales_order_id).execution_options(populate_existing=True)
    if lock:
        # PostgreSQL: changes of one order take turns (SQLite writers are serialized at BEGIN already).
        query = query.with_for_update()
    order = await session.scalar(query)
    if order is None:
        raise NotFound("There is no sales order with this ID.", field=field)
    return order


async def order_lines(session: AsyncSession, order: SalesOrder) -> list[SalesOrderLine]:
    rows = await session.scalars(
        select(SalesOrderLine)
        .where(SalesOrderLine.sales_order_id == order.id)
        .order_by(SalesOrderLine.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _active_customer(session: AsyncSession, customer_id: int | None) -> Customer:
    customer = await _customer(session, customer_id, "customerId")
    if not customer.is_active:
        raise Invalid(f"Customer “{customer.name}” is archived; it cannot take new orders.", field="customerId")
    return customer


async def _order_lines(session: AsyncSession, check: _StockChecks, lines: Sequence[OrderLine]) -> list[SalesOrderLine]:
    """The lines as rows (not yet added), prices defaulted to the products'; problems go to `check`."""
    if len(lines) > MAX_LINES:
        check.fail("lines", f"An order may have at most {MAX_LINES} lines.")
        return []
    first_line: dict[tuple[int, int], int] = {}
    prices = []
    for i, line in enumerate(lines):
        check.quantity(f"lines[{i}].quantity", line["quantity"])
        prices.append(None if line.get("unit_price") is None else check.money(f"lines[{i}].unitPrice", line["unit_price"]))
        pair = (line["product_id"], line["warehouse_id"])
        if pair in first_line:
            check.fail(f"lines[{i}].productId", f"The product is on line {first_line[pair]} already, from the same "
                       "warehouse; an order has one line per product and warehouse.")
        else:
            first_line[pair] = i
    products = await by_ids(session, Product, list({p for p, _w in first_line}))
    warehouses = await by_ids(session, Warehouse, list({w for _p, w in first_line}))
    rows = []
    for i, line in enumerate(lines):
        product, warehouse = products.get(line["product_id"]), warehouses.get(line["warehouse_id"])
        if product is None:
            check.errors.append(FieldError(f"lines[{i}].productId", "There is no product with this ID.", "NOT_FOUND"))
        if warehouse is None:
            check.errors.append(
                FieldError(f"lines[{i}].warehouseId", "There is no warehouse with this ID.", "NOT_FOUND")
            )
        if product is None or warehouse is None:
            continue
        if not product.is_active:
            check.fail(f"lines[{i}].productId", f"Product {product.sku} is archived; it cannot be sold.")
        price = prices[i] if prices[i] is not None else product.unit_price
        rows.append(
            SalesOrderLine(
                product_id=product.id, warehouse_id=warehouse.id, quantity_ordered=line["quantity"],
                quantity_shipped=0, quantity_returned=0, unit_price=price,
            )
        )
    return rows


def _logged_lines(rows: Sequence[SalesOrderLine]) -> list[dict[str, object]]:
    return [
        {
            "product_id": row.product_id, "warehouse_id": row.warehouse_id, "quantity": row.quantity_ordered,
            "unit_price": str(row.unit_price),
        }
        for row in rows
    ]


async def _add_lines(session: AsyncSession, order: SalesOrder, rows: list[SalesOrderLine]) -> None:
    for row in rows:
        row.sales_order_id = order.id
    session.add_all(rows)
    await session.flush()


def _conflicts(number: str) -> dict[str, DomainError]:
    duplicate = Duplicate(f"Another sales order already has the number {number}.", field="number")
    return {
        "uq_sales_orders_number": duplicate,  # PostgreSQL
        "sales_orders.number": duplicate,  # SQLite names the column
        "foreign key": NotFound("The customer or a product of the order was just deleted.", field=None),
    }


def _refuse_unless_draft(order: SalesOrder, action: str) -> None:
    if order.status is not Status.DRAFT:
        raise Invalid(f"Sales order {order.number} is {order.status.value}; only a draft can be {action}.", field="id")


# --- drafting -----------------------------------------------------------------------------------


async def create_sales_order(
    session: AsyncSession,
    *,
    customer_id: int,
    lines: Sequence[OrderLine] = (),
    number: str | None = None,
    requested_date: date | None = None,
    note: str | None = None,
    created_by_id: int | None = None,
) -> SalesOrder:
    """Draft an order for an active customer; without a number, the next free SO-000001-style one is given."""
    check = _StockChecks()
    number = _number(check, number)
    note = check.text("note", note, max_length=MAX_NOTE_LENGTH, required=False)
    check.done()
    customer = await _active_customer(session, customer_id)
    rows = await _order_lines(session, check, lines)
    check.done()
    if number is not None and await _exists(session, SalesOrder, SalesOrder.number == number):
        raise Duplicate(f"Another sales order already has the number {number}.", field="number")
    attempts = _NUMBER_ATTEMPTS
    while True:
        order = SalesOrder(
            number=number or await _next_number(session, SalesOrder, NUMBER_PREFIX), customer_id=customer.id, status=Status.DRAFT,
            requested_date=requested_date, note=note, created_by_id=created_by_id,
        )
        try:
            async with _guarded(session, _conflicts(order.number)):
                session.add(order)
                await session.flush()
                await _add_lines(session, order, rows)
        except Duplicate:
            attempts -= 1
            if number is not None or not attempts:
                raise
            rows = [_copy(row) for row in rows]  # the rolled-back savepoint took the first ones with it
        else:
            await change_log.created(session, order, lines=_logged_lines(rows))
            return order


def _copy(row: SalesOrderLine) -> SalesOrderLine:
    return SalesOrderLine(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity_ordered=row.quantity_ordered,
        quantity_shipped=0, quantity_returned=0, unit_price=row.unit_price,
    )


async def update_sales_order(
    session: AsyncSession,
    *,
    sales_order_id: int,
    customer_id: int | Keep = KEEP,
    requested_date: date | None | Keep = KEEP,
    note: str | None | Keep = KEEP,
    lines: Sequence[OrderLine] | None | Keep = KEEP,
) -> SalesOrder:
    """Change a draft; given `lines` replace all of its lines."""
    order = await _order(session, sales_order_id, lock=True)
    _refuse_unless_draft(order, "changed")
    before = change_log.snapshot(order)
    check = _StockChecks()
    if note is not KEEP:
        note = check.text("note", note, max_length=MAX_NOTE_LENGTH, required=False)
    if lines is None:
        check.fail("lines", "`lines` must not be null; pass an empty list to remove every line.")
    check.done()
    customer = await _active_customer(session, customer_id) if customer_id is not KEEP else None
    rows = None
    if lines is not KEEP and lines is not None:
        rows = await _order_lines(session, check, lines)
        check.done()
    after: dict[str, object] = {}
    if rows is not None:
        before["lines"] = _logged_lines(await order_lines(session, order))
        after["lines"] = _logged_lines(rows)
    if customer is not None:
        order.customer_id = customer.id
    if requested_date is not KEEP:
        order.requested_date = requested_date
    if note is not KEEP:
        order.note = note
    order.updated_at = utcnow()
    await session.flush()
    if rows is not None:
        await session.execute(
            delete(SalesOrderLine)
            .where(SalesOrderLine.sales_order_id == order.id)
            .execution_options(synchronize_session=False)
        )
        await _add_lines(session, order, rows)
    await change_log.record(session, order, before, change_log.snapshot(order) | after)
    return order


# --- confirming: reserve every line -------------------------------------------------------------


def _by_level(lines: Sequence[SalesOrderLine]) -> list[tuple[int, SalesOrderLine]]:
    """The lines with their positions, in (product, warehouse) order: the order every writer locks levels in."""
    return sorted(enumerate(lines), key=lambda item: (item[1].product_id, item[1].warehouse_id))


async def confirm_sales_order(session: AsyncSession, *, sales_order_id: int, created_by_id: int | None = None) -> SalesOrder:
    """DRAFT → CONFIRMED: reserve every line's units in its warehouse, all or nothing; a short line is
    refused with INSUFFICIENT_STOCK naming it (`lines[n].quantity`) and how many units are available."""
    order = await _order(session, sales_order_id, lock=True)
    _refuse_unless_draft(order, "confirmed")
    lines = await order_lines(session, order)
    if not lines:
        raise Invalid(f"Sales order {order.number} has no lines; add some before confirming it.", field="id")
    customer = await _customer(session, order.customer_id, "id")
    if not customer.is_active:
        raise Invalid(f"Customer “{customer.name}” has been archived; the order cannot be confirmed.", field="id")
    products = await by_ids(session, Product, list({line.product_id for line in lines}))
    warehouses = await by_ids(session, Warehouse, list({line.warehouse_id for line in lines}))
    before = change_log.snapshot(order)
    now = utcnow()
    for position, line in _by_level(lines):
        try:
            await hold(session, products[line.product_id], warehouses[line.warehouse_id], line.quantity_ordered)
        except DomainError as error:
            for problem in error.errors:
                problem.field = f"lines[{position}].quantity"
            raise
        session.add(
            Reservation(
                product_id=line.product_id, warehouse_id=line.warehouse_id, quantity=line.quantity_ordered,
                reference=order.number, sales_order_line_id=line.id, created_by_id=created_by_id, created_at=now,
            )
        )
    order.status, order.confirmed_at, order.updated_at = Status.CONFIRMED, now, now
    await session.flush()
    await change_log.record(session, order, before, change_log.snapshot(order))
    return order


# --- shipping -----------------------------------------------------------------------------------


_NOT_SHIPPABLE = {
    Status.DRAFT: "is still a draft; confirm it before shipping",
    Status.CANCELLED: "is cancelled; nothing can be shipped against it",
    Status.SHIPPED: "has been shipped in full; nothing is outstanding",
}


def _check_shipment(
    order: SalesOrder, by_id: dict[int, SalesOrderLine], products: dict[int, Product], lines: Sequence[tuple[int, int]]
) -> dict[int, int]:
    """Refuse a shipment with any line the order cannot take; the position of each order line's input line."""
    check = _StockChecks()
    if not lines:
        check.fail("lines", "Give at least one line to ship.")
    positions: dict[int, int] = {}
    for i, (line_id, quantity) in enumerate(lines):
        check.quantity(f"lines[{i}].quantity", quantity)
        if line_id in positions:
            check.fail(f"lines[{i}].lineId", f"The line is on line {positions[line_id]} already.")
            continue
        positions[line_id] = i
        line = by_id.get(line_id)
        if line is None:
            check.fail(f"lines[{i}].lineId", f"The line is not on sales order {order.number}.")
            continue
        outstanding = line.quantity_ordered - line.quantity_shipped
        if isinstance(quantity, int) and quantity > outstanding:
            check.fail(
                f"lines[{i}].quantity",
                f"Only {outstanding} of {line.quantity_ordered} {products[line.product_id].sku} are outstanding on "
                f"{order.number}; {quantity} cannot be shipped.",
            )
    check.done()
    return positions


async def _consume(session: AsyncSession, line: SalesOrderLine, quantity: int, now: datetime) -> None:
    """Take `quantity` off the line's open reservation; a hold used up is closed."""
    left = await session.scalar(
        update(_reservations)
        .where(
            _reservations.c.sales_order_line_id == line.id,
            _reservations.c.released_at.is_(None),
            _reservations.c.quantity >= quantity,
        )
        .values(quantity=_reservations.c.quantity - quantity)
        .returning(_reservations.c.quantity)
    )
    if left is None:
        raise RuntimeError(f"sales order line {line.id} has no open reservation of {quantity} units")
    if left == 0:
        await session.execute(
            update(_reservations)
            .where(_reservations.c.sales_order_line_id == line.id, _reservations.c.released_at.is_(None))
            .values(released_at=now)
        )


async def ship_sales_order(
    session: AsyncSession,
    *,
    sales_order_id: int,
    lines: Sequence[tuple[int, int]],
    idempotency_key: str | None = None,
    key_ttl: timedelta | None = None,
    created_by_id: int | None = None,
) -> Shipment:
    """Ship (line id, quantity) pairs of a confirmed order: one SHIPMENT entry per line, linked to the order
    and its line, taking the line's reserved units; the order moves to PARTIALLY_SHIPPED or SHIPPED. Never more
    than ordered. With an `idempotency_key`, a retry returns the first shipment and changes nothing."""
    request = {"sales_order_id": sales_order_id, "lines": [list(line) for line in lines]}
    replay = await idempotency.claim(
        session, key=idempotency_key, user_id=created_by_id, operation=SHIP_OPERATION, payload=request, ttl=key_ttl
    )
    if replay is not None:
        entries = await idempotency.replayed_transactions(session, replay)
        return Shipment(await _order(session, sales_order_id), entries, replayed=True)
    await live.lock_appends(session)
    order = await _order(session, sales_order_id, lock=True)
    if order.status in _NOT_SHIPPABLE:
        raise Invalid(f"Sales order {order.number} {_NOT_SHIPPABLE[order.status]}.", field="id")
    by_id = {line.id: line for line in await order_lines(session, order)}
    products = await by_ids(session, Product, list({line.product_id for line in by_id.values()}))
    warehouses = await by_ids(session, Warehouse, list({line.warehouse_id for line in by_id.values()}))
    positions = _check_shipment(order, by_id, products, lines)
    before = change_log.snapshot(order)
    now = utcnow()
    wanted = dict(lines)
    entries: dict[int, InventoryTransaction] = {}
    for _position, line in _by_level([by_id[line_id] for line_id in wanted]):
        quantity = wanted[line.id]
        product, warehouse = products[line.product_id], warehouses[line.warehouse_id]
        try:
            balance = await _take(session, product, warehouse, quantity, reserved=True)
        except DomainError as error:
            for problem in error.errors:
                problem.field = f"lines[{positions[line.id]}].quantity"
            raise
        await _consume(session, line, quantity, now)
        shipped = await session.scalar(
            update(_lines_table)
            .where(
                _lines_table.c.id == line.id,
                _lines_table.c.quantity_shipped + quantity <= _lines_table.c.quantity_ordered,
            )
            .values(quantity_shipped=_lines_table.c.quantity_shipped + quantity)
            .returning(_lines_table.c.quantity_shipped)
        )
        if shipped is None:
            raise RuntimeError(f"sales order line {line.id} would ship more than ordered")
        line.quantity_shipped = shipped
        entries[line.id] = await _record(
            session, product, warehouse, TransactionKind.SHIPMENT, -quantity, balance,
            reference=order.number, sales_order_id=order.id, sales_order_line_id=line.id,
            created_by_id=created_by_id,
        )
    if all(line.quantity_shipped == line.quantity_ordered for line in by_id.values()):
        order.status, order.shipped_at = Status.SHIPPED, now
    else:
        order.status = Status.PARTIALLY_SHIPPED
    order.updated_at = now
    await session.flush()
    await change_log.record(session, order, before, change_log.snapshot(order))
    transactions = [entries[line_id] for line_id, _ in lines]
    await idempotency.remember(
        session, key=idempotency_key, user_id=created_by_id, transaction_ids=[entry.id for entry in transactions]
    )
    return Shipment(order, transactions)


# --- cancelling ---------------------------------------------------------------------------------


async def _release_line_holds(session: AsyncSession, lines: Sequence[SalesOrderLine], now: datetime) -> None:
    for _position, line in _by_level(lines):
        released = await session.scalar(
            update(_reservations)
            .where(_reservations.c.sales_order_line_id == line.id, _reservations.c.released_at.is_(None))
            .values(released_at=now)
            .returning(_reservations.c.quantity)
        )
        if released:
            await unhold(session, product_id=line.product_id, warehouse_id=line.warehouse_id, quantity=released)


async def cancel_sales_order(session: AsyncSession, *, sales_order_id: int) -> SalesOrder:
    """Cancel an order not yet shipped in full: what is still reserved is released; what shipped stays shipped."""
    order = await _order(session, sales_order_id, lock=True)
    refusals = {
        Status.SHIPPED: "has been shipped in full; it can no longer be cancelled (return its lines instead)",
        Status.CANCELLED: "is cancelled already",
    }
    if order.status in refusals:
        raise Invalid(f"Sales order {order.number} {refusals[order.status]}.", field="id")
    before = change_log.snapshot(order)
    now = utcnow()
    await _release_line_holds(session, await order_lines(session, order), now)
    order.status, order.cancelled_at, order.updated_at = Status.CANCELLED, now, now
    await session.flush()
    await change_log.record(session, order, before, change_log.snapshot(order))
    return order


# --- returns ------------------------------------------------------------------------------------


async def return_sales_order_line(
    session: AsyncSession,
    *,
    line_id: int,
    quantity: int,
    disposition: ReturnDisposition,
    note: str | None = None,
    idempotency_key: str | None = None,
    key_ttl: timedelta | None = None,
    created_by_id: int | None = None,
) -> Return:
    """Take back units of a shipped line, at most what shipped and is not yet returned: RESTOCK puts them back
    in the line's warehouse (a RETURN entry linked to the line), SCRAP records them without stock."""
    check = _StockChecks()
    check.quantity("quantity", quantity)
    note = check.text("note", note, max_length=MAX_NOTE_LENGTH, required=False)
    check.done()
    request = {"line_id": line_id, "quantity": quantity, "disposition": disposition, "note": note}
    replay = await idempotency.claim(
        session, key=idempotency_key, user_id=created_by_id, operation=RETURN_OPERATION, payload=request, ttl=key_ttl
    )
    if replay is not None:
        entries = await idempotency.replayed_transactions(session, replay)
        sales_return = await session.get(SalesReturn, replay.data["return_id"])
        line = await session.get(SalesOrderLine, line_id, populate_existing=True)
        return Return(line, sales_return, entries[0] if entries else None, replayed=True)
    line = await session.get(SalesOrderLine, line_id)
    if line is None:
        raise NotFound("There is no sales order line with this ID.", field="lineId")
    await live.lock_appends(session)
    order = await _order(session, line.sales_order_id, lock=True, field="lineId")
    returned = await session.scalar(
        update(_lines_table)
        .where(
            _lines_table.c.id == line.id,
            _lines_table.c.quantity_returned + quantity <= _lines_table.c.quantity_shipped,
        )
        .values(quantity_returned=_lines_table.c.quantity_returned + quantity)
        .returning(_lines_table.c.quantity_returned)
    )
    await session.refresh(line)
    if returned is None:
        returnable = line.quantity_shipped - line.quantity_returned
        raise Invalid(
            f"Only {returnable} of the {line.quantity_shipped} units shipped on {order.number}'s line can still be "
            f"returned; {quantity} cannot be.",
            field="quantity",
        )
    entry = None
    if disposition is ReturnDisposition.RESTOCK:
        product = await session.get(Product, line.product_id)
        warehouse = await session.get(Warehouse, line.warehouse_id)
        _require_active(product, warehouse, warehouse_field="lineId", action="take returns")
        balance = await _put(session, product, warehouse, quantity)
        entry = await _record(
            session, product, warehouse, TransactionKind.RETURN, quantity, balance,
            reference=order.number, note=note, sales_order_id=order.id, sales_order_line_id=line.id,
            created_by_id=created_by_id,
        )
    sales_return = SalesReturn(
        sales_order_line_id=line.id, quantity=quantity, disposition=disposition, note=note,
        transaction_id=None if entry is None else entry.id, created_by_id=created_by_id, created_at=utcnow(),
    )
    session.add(sales_return)
    await session.flush()
    await idempotency.remember(
        session, key=idempotency_key, user_id=created_by_id,
        transaction_ids=[] if entry is None else [entry.id], data={"return_id": sales_return.id},
    )
    return Return(line, sales_return, entry)


# --- free-standing holds ------------------------------------------------------------------------


async def reserve_stock(
    session: AsyncSession,
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    expires_at: datetime | None = None,
    reference: str | None = None,
    idempotency_key: str | None = None,
    key_ttl: timedelta | None = None,
    created_by_id: int | None = None,
) -> Hold:
    """Set available units aside (a cart, a quote) until released or until `expires_at` (in the future)."""
    check = _StockChecks()
    check.quantity("quantity", quantity)
    reference = check.text("reference", reference, max_length=MAX_REFERENCE_LENGTH, required=False)
    if expires_at is not None and expires_at <= utcnow():
        check.fail("expiresAt", "`expiresAt` must be in the future.")
    check.done()
    request = {
        "product_id": product_id, "warehouse_id": warehouse_id, "quantity": quantity, "expires_at": expires_at,
        "reference": reference,
    }
    replay = await idempotency.claim(
        session, key=idempotency_key, user_id=created_by_id, operation=RESERVE_OPERATION, payload=request, ttl=key_ttl
    )
    if replay is not None:
        return Hold(await session.get(Reservation, replay.data["reservation_id"]), replayed=True)
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound("There is no product with this ID.", field="productId")
    warehouse = await session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound("There is no warehouse with this ID.", field="warehouseId")
    await hold(session, product, warehouse, quantity)
    reservation = Reservation(
        product_id=product.id, warehouse_id=warehouse.id, quantity=quantity, expires_at=expires_at,
        reference=reference, created_by_id=created_by_id, created_at=utcnow(),
    )
    session.add(reservation)
    await session.flush()
    await idempotency.remember(
        session, key=idempotency_key, user_id=created_by_id, transaction_ids=[],
        data={"reservation_id": reservation.id},
    )
    return Hold(reservation)


async def release_reservation(session: AsyncSession, *, reservation_id: int) -> Reservation:
    """Release a free-standing hold; an order's holds go with the order (ship or cancel it)."""
    reservation = await session.get(Reservation, reservation_id)
    if reservation is None:
        raise NotFound("There is no reservation with this ID.", field="id")
    if reservation.sales_order_line_id is not None:
        raise Invalid("This reservation holds stock for a sales order; cancel the order to release it.", field="id")
    # The level first, as every writer of it: an expired hold is closed by the sweep.
    await sweep(session, product_id=reservation.product_id, warehouse_id=reservation.warehouse_id)
    now = utcnow()
    released = await session.scalar(
        update(_reservations)
        .where(_reservations.c.id == reservation.id, _reservations.c.released_at.is_(None))
        .values(released_at=now)
        .returning(_reservations.c.quantity)
    )
    await session.refresh(reservation)
    if released is None:
        raise Invalid("This reservation has been released already, or has expired.", field="id")
    await unhold(
        session, product_id=reservation.product_id, warehouse_id=reservation.warehouse_id, quantity=released
    )
    return reservation


# --- audit --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReservationMismatch:
    """A level whose `reserved` differs from the sum of its unreleased holds (expired, unswept ones included)."""

    product_id: int
    warehouse_id: int
    reserved: int
    held: int


@dataclass(frozen=True)
class LineMismatch:
    """An order line whose shipped (or restocked) quantity differs from its ledger entries."""

    line_id: int
    quantity_shipped: int
    ledger_shipped: int
    quantity_restocked: int
    ledger_restocked: int


async def audit_reservations(session: AsyncSession) -> list[ReservationMismatch]:
    """Every level whose reserved quantity is not the sum of its unreleased reservations."""
    held = (
        select(
            _reservations.c.product_id, _reservations.c.warehouse_id, func.sum(_reservations.c.quantity).label("held")
        )
        .where(_reservations.c.released_at.is_(None))
        .group_by(_reservations.c.product_id, _reservations.c.warehouse_id)
        .subquery()
    )
    levels = StockLevel.__table__
    rows = await session.execute(
        select(levels.c.product_id, levels.c.warehouse_id, levels.c.reserved, func.coalesce(held.c.held, 0))
        .select_from(
            levels.outerjoin(
                held, (held.c.product_id == levels.c.product_id) & (held.c.warehouse_id == levels.c.warehouse_id)
            )
        )
        .where(levels.c.reserved != func.coalesce(held.c.held, 0))
        .order_by(levels.c.product_id, levels.c.warehouse_id)
    )
    orphans = await session.execute(
        select(held.c.product_id, held.c.warehouse_id, func.coalesce(levels.c.reserved, 0), held.c.held)
        .select_from(
            held.outerjoin(
                levels, (held.c.product_id == levels.c.product_id) & (held.c.warehouse_id == levels.c.warehouse_id)
            )
        )
        .where(levels.c.product_id.is_(None))
    )
    return [ReservationMismatch(*row) for row in [*rows, *orphans]]


async def audit_order_lines(session: AsyncSession) -> list[LineMismatch]:
    """Every order line whose shipped quantity is not what its SHIPMENT entries took, or whose restocked
    returns are not what its RETURN entries put back."""
    entries = InventoryTransaction.__table__
    returns = SalesReturn.__table__
    shipped = (
        select(entries.c.sales_order_line_id.label("line_id"), func.sum(-entries.c.quantity).label("total"))
        .where(entries.c.kind == TransactionKind.SHIPMENT, entries.c.sales_order_line_id.is_not(None))
        .group_by(entries.c.sales_order_line_id)
        .subquery()
    )
    restocked_ledger = (
        select(entries.c.sales_order_line_id.label("line_id"), func.sum(entries.c.quantity).label("total"))
        .where(entries.c.kind == TransactionKind.RETURN, entries.c.sales_order_line_id.is_not(None))
        .group_by(entries.c.sales_order_line_id)
        .subquery()
    )
    restocked = (
        select(returns.c.sales_order_line_id.label("line_id"), func.sum(returns.c.quantity).label("total"))
        .where(returns.c.disposition == ReturnDisposition.RESTOCK)
        .group_by(returns.c.sales_order_line_id)
        .subquery()
    )
    lines = _lines_table
    ledger_shipped = func.coalesce(shipped.c.total, 0)
    ledger_back = func.coalesce(restocked_ledger.c.total, 0)
    recorded_back = func.coalesce(restocked.c.total, 0)
    rows = await session.execute(
        select(lines.c.id, lines.c.quantity_shipped, ledger_shipped, recorded_back, ledger_back)
        .select_from(
            lines.outerjoin(shipped, shipped.c.line_id == lines.c.id)
            .outerjoin(restocked_ledger, restocked_ledger.c.line_id == lines.c.id)
            .outerjoin(restocked, restocked.c.line_id == lines.c.id)
        )
        .where((lines.c.quantity_shipped != ledger_shipped) | (recorded_back != ledger_back))
        .order_by(lines.c.id)
    )
    return [LineMismatch(*row) for row in rows]


