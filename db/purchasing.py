"""Purchase order rules: draft, change, submit, receive (into the stock ledger) and cancel orders.

DRAFT → ORDERED → PARTIALLY_RECEIVED → RECEIVED, or CANCELLED before anything is received. Error fields
are the API's input names (camelCase); a line's field is named by its position, e.g. `lines[1].unitCost`.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Required, TypedDict

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import changes as change_log
from db import idempotency, live
from db.catalog import KEEP, Keep, _Checks, _exists, _get, _guarded
from db.catalog_reads import by_ids
from db.errors import DomainError, Duplicate, FieldError, Invalid, NotFound
from db.models import (
    InventoryTransaction,
    Product,
    ProductSupplier,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
)
from db.lengths import MAX_NOTE_LENGTH, MAX_ORDER_NUMBER_LENGTH
from db.stock import Level, _StockChecks, levels_after, receive_stock
from db.types import utcnow

Status = PurchaseOrderStatus

NUMBER_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._/-]{0,31}")
NUMBER_PREFIX = "PO-"
MAX_LINES = 500
RECEIVE_OPERATION = "receivePurchaseOrder"
# Generated numbers can collide with one a concurrent transaction has just taken; retry with the next.
_NUMBER_ATTEMPTS = 5


class OrderLine(TypedDict, total=False):
    """One line of a new or replaced order; without `unit_cost`, the supplier's terms for the product apply."""

    product_id: Required[int]
    quantity: Required[int]
    unit_cost: Decimal | None


@dataclass
class Receipt:
    """What receiving against an order did: the order, its RECEIPT entries and the stock levels they left."""

    order: PurchaseOrder
    transactions: list[InventoryTransaction]
    levels: list[Level]
    replayed: bool = False


# --- lookups ------------------------------------------------------------------------------------


async def _order(session: AsyncSession, purchase_order_id: int, *, lock: bool = False) -> PurchaseOrder:
    query = select(PurchaseOrder).where(PurchaseOrder.id == purchase_order_id)
    if lock:
        # PostgreSQL: state changes of one order take turns (SQLite writers are serialized at BEGIN already).
        query = query.with_for_update()
    order = await session.scalar(query)
    if order is None:
        raise NotFound("There is no purchase order with this ID.", field="id")
    return order


async def _lines(session: AsyncSession, order: PurchaseOrder) -> list[PurchaseOrderLine]:
    rows = await session.scalars(
        select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == order.id).order_by(PurchaseOrderLine.id)
    )
    return list(rows)


async def _active_supplier(session: AsyncSession, supplier_id: int | None) -> Supplier:
    if supplier_id is None:
        raise Invalid("`supplierId` is required.", field="supplierId")
    supplier = await _get(session, Supplier, supplier_id, "supplierId")
    if not supplier.is_active:
        raise Invalid(f"Supplier “{supplier.name}” is archived; it cannot take new orders.", field="supplierId")
    return supplier


def _refuse_unless_draft(order: PurchaseOrder, action: str) -> None:
    if order.status is not Status.DRAFT:
        raise Invalid(
            f"Purchase order {order.number} is {order.status.value}; only a draft can be {action}.", field="id"
        )


# --- checks -------------------------------------------------------------------------------------


def _number(check: _Checks, number: str | None) -> str | None:
    """A given order number, cleaned (trimmed, uppercase); problems go to `check`."""
    cleaned = check.text("number", number, max_length=MAX_ORDER_NUMBER_LENGTH, required=False)
    if cleaned is None:
        return None
    cleaned = cleaned.upper()
    if len(cleaned) <= MAX_ORDER_NUMBER_LENGTH and not NUMBER_PATTERN.fullmatch(cleaned):
        check.fail("number", "`number` may hold only letters, digits, '.', '/', '_' and '-', and must start with a "
                   "letter or digit.")
    return cleaned


async def _order_lines(
    session: AsyncSession, check: _StockChecks, supplier: Supplier, lines: Sequence[OrderLine]
) -> list[PurchaseOrderLine]:
    """The lines as rows (not yet added), costs defaulted to the supplier's terms; problems go to `check`."""
    if len(lines) > MAX_LINES:
        check.fail("lines", f"An order may have at most {MAX_LINES} lines.")
        return []
    first_line: dict[int, int] = {}
    costs = []
    for i, line in enumerate(lines):
        check.quantity(f"lines[{i}].quantity", line["quantity"])
        costs.append(check.cost(f"lines[{i}].unitCost", line.get("unit_cost")))
        if line["product_id"] in first_line:
            check.fail(
                f"lines[{i}].productId", f"The product is on line {first_line[line['product_id']]} already; "
                "an order has one line per product."
            )
        else:
            first_line[line["product_id"]] = i
    products = await by_ids(session, Product, list(first_line))
    offered = select(ProductSupplier.product_id, ProductSupplier.unit_cost).where(
        ProductSupplier.supplier_id == supplier.id, ProductSupplier.product_id.in_(list(first_line))
    )
    terms = {product_id: cost for product_id, cost in (await session.execute(offered)).all()}
    rows = []
    for i, line in enumerate(lines):
        product = products.get(line["product_id"])
        if product is None:
            check.errors.append(FieldError(f"lines[{i}].productId", "There is no product with this ID.", "NOT_FOUND"))
            continue
        if not product.is_active:
            check.fail(f"lines[{i}].productId", f"Product {product.sku} is archived; it cannot be ordered.")
        unit_cost = costs[i]
        if line.get("unit_cost") is None:
            unit_cost = terms.get(product.id)
            if unit_cost is None:
                check.fail(
                    f"lines[{i}].unitCost",
                    f"Supplier “{supplier.name}” has no terms for {product.sku}; give `lines[{i}].unitCost`.",
                )
        rows.append(PurchaseOrderLine(product_id=product.id, quantity_ordered=line["quantity"], unit_cost=unit_cost))
    return rows


def _logged_lines(rows: Sequence[PurchaseOrderLine]) -> list[dict[str, object]]:
    """An order's lines as the change log keeps them (what was ordered; receipts are the ledger's)."""
    return [
        {"product_id": row.product_id, "quantity": row.quantity_ordered, "unit_cost": str(row.unit_cost)}
        for row in rows
    ]


async def _add_lines(session: AsyncSession, order: PurchaseOrder, rows: list[PurchaseOrderLine]) -> None:
    for row in rows:
        row.purchase_order_id = order.id
    session.add_all(rows)
    await session.flush()


def _conflicts(number: str) -> dict[str, DomainError]:
    duplicate = Duplicate(f"Another purchase order already has the number {number}.", field="number")
    return {
        "uq_purchase_orders_number": duplicate,  # PostgreSQL
        "purchase_orders.number": duplicate,  # SQLite names the column
        "foreign key": NotFound("The supplier or a product of the order was just deleted.", field=None),
    }


async def _next_number(session: AsyncSession, model: Any = PurchaseOrder, prefix: str = NUMBER_PREFIX) -> str:
    """The first free number PO-n (`prefix`-n) from one past the highest order id (taken numbers are skipped)."""
    n = (await session.scalar(select(func.max(model.id)))) or 0
    while True:
        n += 1
        number = f"{prefix}{n:06d}"
        if not await _exists(session, model, model.number == number):
            return number


# --- drafting -----------------------------------------------------------------------------------


async def create_purchase_order(
    session: AsyncSession,
    *,
    supplier_id: int,
    lines: Sequence[OrderLine] = (),
    number: str | None = None,
    expected_date: date | None = None,
    note: str | None = None,
    created_by_id: int | None = None,
) -> PurchaseOrder:
    """Draft an order from an active supplier; without a number, the next free PO-000001-style one is given."""
    check = _StockChecks()
    number = _number(check, number)
    note = check.text("note", note, max_length=MAX_NOTE_LENGTH, required=False)
    check.done()
    supplier = await _active_supplier(session, supplier_id)
    rows = await _order_lines(session, check, supplier, lines)
    check.done()
    if number is not None and await _exists(session, PurchaseOrder, PurchaseOrder.number == number):
        raise Duplicate(f"Another purchase order already has the number {number}.", field="number")
    attempts = _NUMBER_ATTEMPTS
    while True:
        order = PurchaseOrder(
            number=number or await _next_number(session),
            supplier_id=supplier.id,
            status=Status.DRAFT,
            expected_date=expected_date,
            note=note,
            created_by_id=created_by_id,
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


def _copy(row: PurchaseOrderLine) -> PurchaseOrderLine:
    return PurchaseOrderLine(product_id=row.product_id, quantity_ordered=row.quantity_ordered, unit_cost=row.unit_cost)


async def update_purchase_order(
    session: AsyncSession,
    *,
    purchase_order_id: int,
    supplier_id: int | Keep = KEEP,
    expected_date: date | None | Keep = KEEP,
    note: str | None | Keep = KEEP,
    lines: Sequence[OrderLine] | None | Keep = KEEP,
) -> PurchaseOrder:
    """Change a draft; given `lines` replace all of its lines. A new supplier leaves the lines' costs as they are."""
    order = await _order(session, purchase_order_id, lock=True)
    _refuse_unless_draft(order, "changed")
    before = change_log.snapshot(order)
    check = _StockChecks()
    if note is not KEEP:
        note = check.text("note", note, max_length=MAX_NOTE_LENGTH, required=False)
    if lines is None:
        check.fail("lines", "`lines` must not be null; pass an empty list to remove every line.")
    check.done()
    supplier = await _active_supplier(session, supplier_id) if supplier_id is not KEEP else None
    rows = None
    if lines is not KEEP and lines is not None:
        supplier = supplier or await _get(session, Supplier, order.supplier_id, "supplierId")
        rows = await _order_lines(session, check, supplier, lines)
        check.done()
    after: dict[str, object] = {}
    if rows is not None:
        before["lines"] = _logged_lines(await _lines(session, order))
        after["lines"] = _logged_lines(rows)
    async with _guarded(session, _conflicts(order.number)):
        if supplier is not None:
            order.supplier_id = supplier.id
        if expected_date is not KEEP:
            order.expected_date = expected_date
        if note is not KEEP:
            order.note = note
        order.updated_at = utcnow()
        if rows is not None:
            await session.execute(
                delete(PurchaseOrderLine)
                .where(PurchaseOrderLine.purchase_order_id == order.id)
                .execution_options(synchronize_session=False)
            )
            await _add_lines(session, order, rows)
    await change_log.record(session, order, before, change_log.snapshot(order) | after)
    return order


async def submit_purchase_order(session: AsyncSession, *, purchase_order_id: int) -> PurchaseOrder:
    """Send a draft to its supplier: DRAFT → ORDERED; it needs at least one line and an active supplier."""
    order = await _order(session, purchase_order_id, lock=True)
    _refuse_unless_draft(order, "submitted")
    if not await _exists(session, PurchaseOrderLine, PurchaseOrderLine.purchase_order_id == order.id):
        raise Invalid(f"Purchase order {order.number} has no lines; add some before submitting it.", field="id")
    supplier = await _get(session, Supplier, order.supplier_id, "supplierId")
    if not supplier.is_active:
        raise Invalid(
            f"Supplier “{supplier.name}” has been archived; choose another before submitting.", field="id"
        )
    before = change_log.snapshot(order)
    order.status = Status.ORDERED
    order.ordered_at = utcnow()
    await session.flush()
    await change_log.record(session, order, before, change_log.snapshot(order))
    return order


async def cancel_purchase_order(session: AsyncSession, *, purchase_order_id: int) -> PurchaseOrder:
    """Cancel a draft, or an order of which nothing has been received yet."""
    order = await _order(session, purchase_order_id, lock=True)
    refusals = {
        Status.PARTIALLY_RECEIVED: "has goods received against it; it can no longer be cancelled",
        Status.RECEIVED: "has been received in full; it can no longer be cancelled",
        Status.CANCELLED: "is cancelled already",
    }
    if order.status in refusals:
        raise Invalid(f"Purchase order {order.number} {refusals[order.status]}.", field="id")
    before = change_log.snapshot(order)
    order.status = Status.CANCELLED
    order.cancelled_at = utcnow()
    await session.flush()
    await change_log.record(session, order, before, change_log.snapshot(order))
    return order


# --- receiving ----------------------------------------------------------------------------------


def _name_line(error: DomainError, index: int) -> None:
    """Point the per-line fields of an error from receive_stock at the receipt's line."""
    for problem in error.errors:
        if problem.field in ("productId", "quantity", "unitCost"):
            problem.field = f"lines[{index}].{problem.field}"


_NOT_RECEIVABLE = {
    Status.DRAFT: "is still a draft; submit it before receiving goods",
    Status.CANCELLED: "is cancelled; nothing can be received against it",
    Status.RECEIVED: "has been received in full; nothing is outstanding",
}


def _check_receipt(
    order: PurchaseOrder,
    ordered: dict[int, PurchaseOrderLine],
    products: dict[int, Product],
    lines: Sequence[tuple[int, int]],
) -> dict[int, int]:
    """Refuse a receipt with any line the order cannot take; the position of each product's line."""
    check = _StockChecks()
    if not lines:
        check.fail("lines", "Give at least one line to receive.")
    positions: dict[int, int] = {}
    for i, (product_id, quantity) in enumerate(lines):
        check.quantity(f"lines[{i}].quantity", quantity)
        line = ordered.get(product_id)
        if product_id in positions:
            check.fail(f"lines[{i}].productId", f"The product is on line {positions[product_id]} already.")
            continue
        positions[product_id] = i
        if line is None:
            check.fail(f"lines[{i}].productId", f"The product is not on purchase order {order.number}.")
            continue
        product = products[product_id]
        outstanding = line.quantity_ordered - line.quantity_received
        if isinstance(quantity, int) and quantity > outstanding:
            check.fail(
                f"lines[{i}].quantity",
                f"Only {outstanding} of {line.quantity_ordered} {product.sku} are outstanding on {order.number}; "
                f"{quantity} cannot be received.",
            )
        if not product.is_active:
            check.fail(f"lines[{i}].productId", f"Product {product.sku} is archived; its stock cannot grow.")
    check.done()
    return positions


async def receive_purchase_order(
    session: AsyncSession,
    *,
    purchase_order_id: int,
    warehouse_id: int,
    lines: Sequence[tuple[int, int]],
    idempotency_key: str | None = None,
    key_ttl: timedelta | None = None,
    created_by_id: int | None = None,
) -> Receipt:
    """Receive goods of an ordered order into a warehouse: one RECEIPT entry per (product_id, quantity) line at
    the line's cost, referencing the order's number; the order moves to PARTIALLY_RECEIVED or RECEIVED.

    With an `idempotency_key` (of the user `created_by_id`, kept for `key_ttl`), a retry of the same request
    returns the first receipt (with the order as it is now) and changes nothing."""
    request = {
        "purchase_order_id": purchase_order_id,
        "warehouse_id": warehouse_id,
        "lines": [list(line) for line in lines],
    }
    replay = await idempotency.claim(
        session,
        key=idempotency_key,
        user_id=created_by_id,
        operation=RECEIVE_OPERATION,
        payload=request,
        ttl=key_ttl,
    )
    if replay is not None:
        entries = await idempotency.replayed_transactions(session, replay)
        order = await _order(session, purchase_order_id)
        return Receipt(order, entries, idempotency.replayed_levels(replay, entries), replayed=True)

    # Before any row lock, as every ledger writer (receive_stock takes it again below, a no-op).
    await live.lock_appends(session)
    # Locked before the lines are read, so two receipts against one order cannot both see the same
    # outstanding quantity (SQLite serializes write transactions at BEGIN).
    order = await _order(session, purchase_order_id, lock=True)
    if order.status in _NOT_RECEIVABLE:
        raise Invalid(f"Purchase order {order.number} {_NOT_RECEIVABLE[order.status]}.", field="id")
    ordered = {line.product_id: line for line in await _lines(session, order)}
    products = await by_ids(session, Product, list(ordered))
    positions = _check_receipt(order, ordered, products, lines)
    before = change_log.snapshot(order)

    entries: dict[int, InventoryTransaction] = {}
    # In product order: receive_stock locks each product row (PostgreSQL), as every other transaction does.
    for product_id, quantity in sorted(lines):
        line = ordered[product_id]
        try:
            entries[product_id] = await receive_stock(
                session,
                product_id=product_id,
                warehouse_id=warehouse_id,
                quantity=quantity,
                unit_cost=line.unit_cost,
                reference=order.number,
                purchase_order_id=order.id,
                created_by_id=created_by_id,
            )
        except DomainError as error:
            _name_line(error, positions[product_id])
            raise
        line.quantity_received += quantity
    now = utcnow()
    if all(line.quantity_received == line.quantity_ordered for line in ordered.values()):
        order.status, order.received_at = Status.RECEIVED, now
    else:
        order.status = Status.PARTIALLY_RECEIVED
    order.updated_at = now
    await session.flush()
    # The order's new status is logged; the RECEIPT entries are the ledger's own record.
    await change_log.record(session, order, before, change_log.snapshot(order))
    transactions = [entries[product_id] for product_id, _ in lines]
    levels = levels_after(transactions)
    await idempotency.remember(
        session,
        key=idempotency_key,
        user_id=created_by_id,
        transaction_ids=[entry.id for entry in transactions],
        levels=levels,
    )
    return Receipt(order, transactions, levels)

