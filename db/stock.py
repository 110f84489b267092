"""Stock rules: receive, ship, adjust, transfer and return stock, each a ledger entry plus the stock level
it changes in the same transaction; and an audit of the levels against the ledger.

Levels change only through one atomic statement each: a conditional decrement (`quantity >= n`) or an
upsert increment, whose RETURNING value becomes the entry's `balance_after`. The database's
CHECK (quantity >= 0) is the safety net. Error fields are the API's input names (camelCase).

Reservations set part of a level aside (`reserved`, CHECK 0 <= reserved <= quantity): a free take
(`quantity - reserved >= n`) can only take what is available, a hold (`hold`) only reserve it, and a
shipment against a sales order takes its own reserved units (`_take(..., reserved=True)`). Each is one
conditional UPDATE of the level row, so the row's own lock orders them on PostgreSQL (a condition over the
reservations table would not be re-checked after a lock wait under READ COMMITTED). Expired holds are
released (`sweep`, which locks the row first) by whichever take or hold they would otherwise refuse, which
then tries once more.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db import live
from db.catalog import CENT, MAX_QUANTITY, _Checks
from db.errors import InsufficientStock, Invalid, NotFound
from db.lengths import MAX_NOTE_LENGTH, MAX_REFERENCE_LENGTH
from db.models import (
    AdjustmentReason,
    InventoryTransaction,
    Product,
    ProductSupplier,
    Reservation,
    StockLevel,
    TransactionKind,
    Warehouse,
)
from db.types import utcnow

# The stock_levels.quantity column is a 32-bit integer on PostgreSQL.
MAX_LEVEL = 2**31 - 1
COST_PLACES = Decimal("0.0001")

_levels = StockLevel.__table__
_reservations = Reservation.__table__


class Level(NamedTuple):
    """The quantity on hand of one product in one warehouse."""

    product_id: int
    warehouse_id: int
    quantity: int


@dataclass(frozen=True)
class AuditMismatch:
    """A (product, warehouse) whose stock level disagrees with its ledger (a missing level counts as 0)."""

    product_id: int
    warehouse_id: int
    product_sku: str
    warehouse_code: str
    level: int | None  # stock_levels.quantity; None when there is no row
    ledger_sum: int  # SUM of the entries' quantities; 0 when there are none
    last_balance: int | None  # balance_after of the newest entry; None when there are none


class _StockChecks(_Checks):
    def quantity(self, field: str, value: Any, *, minimum: int = 1) -> Any:
        if value is None:
            self.fail(field, f"`{field}` is required.")
        elif isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"`{field}` must be a whole number.")
        elif not minimum <= value <= MAX_QUANTITY:
            self.fail(field, f"`{field}` must be between {minimum} and {MAX_QUANTITY:,}.")
        return value

    def cost(self, field: str, value: Any) -> Decimal | None:
        return None if value is None else self.money(field, value)

    def remarks(self, reference: str | None, note: str | None) -> tuple[str | None, str | None]:
        return (
            self.text("reference", reference, max_length=MAX_REFERENCE_LENGTH, required=False),
            self.text("note", note, max_length=MAX_NOTE_LENGTH, required=False),
        )


# --- lookups ------------------------------------------------------------------------------------


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def _product(session: AsyncSession, product_id: int, *, lock: bool = False) -> Product:
    query = select(Product).where(Product.id == product_id).execution_options(populate_existing=True)
    if lock and _dialect(session) == "postgresql":
        # Receipts read and rewrite the average cost; concurrent receipts of one product take turns.
        # FOR NO KEY UPDATE: the foreign-key checks of other transactions' ledger inserts (FOR KEY SHARE)
        # must not wait on it, or a shipment holding a level and a receipt holding the product deadlock.
        query = query.with_for_update(key_share=True)
    product = await session.scalar(query)
    if product is None:
        raise NotFound("There is no product with this ID.", field="productId")
    return product


async def _warehouse(session: AsyncSession, warehouse_id: int, field: str) -> Warehouse:
    warehouse = await session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound("There is no warehouse with this ID.", field=field)
    return warehouse


def _require_active(product: Product, warehouse: Warehouse, *, warehouse_field: str, action: str) -> None:
    if not warehouse.is_active:
        raise Invalid(f"Warehouse {warehouse.code} is archived; it cannot {action}.", field=warehouse_field)
    if not product.is_active:
        raise Invalid(f"Product {product.sku} is archived; its stock cannot grow.", field="productId")


async def quantity_on_hand(session: AsyncSession, *, product_id: int, warehouse_id: int) -> int:
    """The quantity of a product in a warehouse (0 without a stock level)."""
    quantity = await session.scalar(
        select(StockLevel.quantity).where(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
    )
    return quantity or 0


def levels_after(entries: Iterable[InventoryTransaction]) -> list[Level]:
    """The level each (product, warehouse) was left at by the last of `entries` that moved it."""
    levels: dict[tuple[int, int], int] = {}
    for entry in entries:
        levels[(entry.product_id, entry.warehouse_id)] = entry.balance_after
    return [Level(p, w, q) for (p, w), q in levels.items()]


# --- the two level changes ----------------------------------------------------------------------


def _units(n: int) -> str:
    return f"{n} {'unit' if n == 1 else 'units'}"


async def _available(session: AsyncSession, product_id: int, warehouse_id: int) -> int:
    row = (
        await session.execute(
            select(_levels.c.quantity, _levels.c.reserved).where(
                _levels.c.product_id == product_id, _levels.c.warehouse_id == warehouse_id
            )
        )
    ).first()
    return 0 if row is None else row.quantity - row.reserved


def _of_level(product_id: int, warehouse_id: int) -> list[Any]:
    return [_levels.c.product_id == product_id, _levels.c.warehouse_id == warehouse_id]


async def sweep(session: AsyncSession, *, product_id: int, warehouse_id: int) -> int:
    """Release the level's expired holds; the units released. The level row is locked first (an UPDATE
    that changes nothing), so concurrent sweeps of one level take turns and none releases a hold twice."""
    locked = await session.scalar(
        update(_levels)
        .where(*_of_level(product_id, warehouse_id))
        .values(reserved=_levels.c.reserved, updated_at=_levels.c.updated_at)
        .returning(_levels.c.reserved)
    )
    if not locked:
        return 0  # no level, or nothing reserved: no open hold to expire
    now = utcnow()
    released = (
        await session.scalars(
            update(_reservations)
            .where(
                _reservations.c.product_id == product_id,
                _reservations.c.warehouse_id == warehouse_id,
                _reservations.c.released_at.is_(None),
                _reservations.c.expires_at.is_not(None),
                _reservations.c.expires_at <= now,
            )
            .values(released_at=now)
            .returning(_reservations.c.quantity)
        )
    ).all()
    total = sum(released)
    if total:
        await unhold(session, product_id=product_id, warehouse_id=warehouse_id, quantity=total)
    return total


async def hold(session: AsyncSession, product: Product, warehouse: Warehouse, quantity: int) -> None:
    """Reserve `quantity` units of a level's available stock in one conditional statement, or
    InsufficientStock (field `quantity`) saying how many are available. Expired holds are released first
    when they stand in the way."""
    statement = (
        update(_levels)
        .where(*_of_level(product.id, warehouse.id), _levels.c.quantity - _levels.c.reserved >= quantity)
        .values(reserved=_levels.c.reserved + quantity, updated_at=_levels.c.updated_at)
        .returning(_levels.c.reserved)
    )
    if await _unless_expired_holds_block(session, product, warehouse, statement) is None:
        await _short(session, product, warehouse, quantity, "cannot be reserved")


async def _unless_expired_holds_block(
    session: AsyncSession, product: Product, warehouse: Warehouse, statement: Any
) -> Any:
    """Run a conditional UPDATE of a level; if its condition fails, release the level's expired holds (`sweep`)
    and run it once more: what it returns, None when it is refused even so. A take that succeeds without the
    sweep was not blocked by any expired hold, so the common case costs one statement."""
    done = await session.scalar(statement)
    if done is None and await sweep(session, product_id=product.id, warehouse_id=warehouse.id):
        done = await session.scalar(statement)
    return done


async def unhold(session: AsyncSession, *, product_id: int, warehouse_id: int, quantity: int) -> None:
    """Give `quantity` reserved units of a level back to its available stock."""
    await session.execute(
        update(_levels)
        .where(*_of_level(product_id, warehouse_id))
        .values(reserved=_levels.c.reserved - quantity, updated_at=_levels.c.updated_at)
    )


async def _short(session: AsyncSession, product: Product, warehouse: Warehouse, quantity: int, verb: str) -> None:
    """Raise InsufficientStock saying how many units are available (on hand, not reserved)."""
    available = await _available(session, product.id, warehouse.id)
    raise InsufficientStock(
        f"Only {_units(available)} of {product.sku} {'is' if available == 1 else 'are'} available in "
        f"{warehouse.code}; {quantity} {verb}.",
        field="quantity",
    )


async def _take(
    session: AsyncSession, product: Product, warehouse: Warehouse, quantity: int, *, reserved: bool = False
) -> int:
    """Remove `quantity` from a level in one conditional statement; the new level, or InsufficientStock.
    Only available (unreserved) units are taken, or with `reserved`, units reserved for the caller, whose
    hold the caller reduces by as much."""
    if reserved:
        condition = _levels.c.reserved >= quantity
        values = {"reserved": _levels.c.reserved - quantity}
    else:
        condition = _levels.c.quantity - _levels.c.reserved >= quantity
        values = {}
    statement = (
        update(_levels)
        .where(*_of_level(product.id, warehouse.id), _levels.c.quantity >= quantity, condition)
        .values(quantity=_levels.c.quantity - quantity, updated_at=utcnow(), **values)
        .returning(_levels.c.quantity)
    )
    if reserved:
        remaining = await session.scalar(statement)  # the caller's own hold: no expiry in the way
    else:
        remaining = await _unless_expired_holds_block(session, product, warehouse, statement)
    if remaining is None:
        await _short(session, product, warehouse, quantity, "requested")
    return remaining


async def _put(
    session: AsyncSession, product: Product, warehouse: Warehouse, quantity: int, *, field: str = "quantity"
) -> int:
    """Add `quantity` to a level (creating it) in one upsert; the new level."""
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = insert(_levels).values(
        product_id=product.id, warehouse_id=warehouse.id, quantity=quantity, updated_at=utcnow()
    )
    statement = statement.on_conflict_do_update(
        index_elements=[_levels.c.product_id, _levels.c.warehouse_id],
        set_={
            "quantity": _levels.c.quantity + statement.excluded.quantity,
            "updated_at": statement.excluded.updated_at,
        },
        # Refused (no row back) rather than overflowing the integer column.
        where=_levels.c.quantity <= MAX_LEVEL - statement.excluded.quantity,
    ).returning(_levels.c.quantity)
    level = await session.scalar(statement)
    if level is None:
        raise Invalid(
            f"{product.sku} in {warehouse.code} would exceed the largest stock level ({MAX_LEVEL:,}).", field=field
        )
    return level


async def _record(
    session: AsyncSession, product: Product, warehouse: Warehouse, kind: TransactionKind, quantity: int, balance: int,
    **fields: Any,
) -> InventoryTransaction:
    entry = InventoryTransaction(
        product_id=product.id, warehouse_id=warehouse.id, kind=kind, quantity=quantity, balance_after=balance,
        **fields,
    )
    session.add(entry)
    await session.flush()
    await live.announce(session, newest_id=entry.id)
    return entry


# --- movements ----------------------------------------------------------------------------------


async def _default_cost(session: AsyncSession, product: Product) -> Decimal:
    preferred = await session.scalar(
        select(ProductSupplier.unit_cost).where(ProductSupplier.product_id == product.id, ProductSupplier.is_preferred)
    )
    if preferred is not None:
        return preferred
    return product.average_cost.quantize(CENT, ROUND_HALF_UP)


async def receive_stock(
    session: AsyncSession,
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    unit_cost: Decimal | None = None,
    reference: str | None = None,
    note: str | None = None,
    purchase_order_id: int | None = None,
    created_by_id: int | None = None,
) -> InventoryTransaction:
    """Put received goods into a warehouse (RECEIPT) and fold their cost into the product's average cost."""
    check = _StockChecks()
    check.quantity("quantity", quantity)
    unit_cost = check.cost("unitCost", unit_cost)
    reference, note = check.remarks(reference, note)
    check.done()
    await live.lock_appends(session)
    # On PostgreSQL the product row stays locked to commit; several receipts in one transaction (a purchase
    # order) should therefore take products in id order, as every other transaction does.
    product = await _product(session, product_id, lock=True)
    warehouse = await _warehouse(session, warehouse_id, "warehouseId")
    _require_active(product, warehouse, warehouse_field="warehouseId", action="receive stock")
    if unit_cost is None:
        unit_cost = await _default_cost(session, product)
    on_hand = await session.scalar(
        select(func.coalesce(func.sum(StockLevel.quantity), 0)).where(StockLevel.product_id == product.id)
    )
    balance = await _put(session, product, warehouse, quantity)
    product.average_cost = _average_after(product.average_cost, on_hand, unit_cost, quantity)
    return await _record(
        session, product, warehouse, TransactionKind.RECEIPT, quantity, balance,
        unit_cost=unit_cost, reference=reference, note=note, purchase_order_id=purchase_order_id,
        created_by_id=created_by_id,
    )


def _average_after(average: Decimal, on_hand: int, unit_cost: Decimal, quantity: int) -> Decimal:
    """The average unit cost once `quantity` units at `unit_cost` join `on_hand` units at `average`."""
    return ((average * on_hand + unit_cost * quantity) / (on_hand + quantity)).quantize(COST_PLACES, ROUND_HALF_UP)


@dataclass(frozen=True)
class Receipt:
    """One checked receipt of `receive_many`."""

    product_id: int
    warehouse_id: int
    quantity: int
    unit_cost: Decimal
    reference: str | None


def check_receipt(
    product: Product, warehouse: Warehouse, *, quantity: Any, unit_cost: Any, reference: str | None
) -> Receipt:
    """The receipt `receive_stock` would accept for these inputs (with a unit cost given), or the same errors
    (InvalidInput for the fields, Invalid for an archived product or warehouse)."""
    check = _StockChecks()
    check.quantity("quantity", quantity)
    if unit_cost is None:
        check.fail("unitCost", "`unitCost` is required.")
    cost = check.cost("unitCost", unit_cost)
    reference, _note = check.remarks(reference, None)
    check.done()
    _require_active(product, warehouse, warehouse_field="warehouseId", action="receive stock")
    return Receipt(product.id, warehouse.id, quantity, cost, reference)


async def receive_many(session: AsyncSession, receipts: list[Receipt], *, created_by_id: int | None = None) -> int:
    """Record checked receipts (`check_receipt`) as `receive_stock` does, in bulk statements: the RECEIPT
    entries with their balances, the levels and the products' average costs; the number of entries."""
    if not receipts:
        return 0
    await live.lock_appends(session)
    product_ids = sorted({r.product_id for r in receipts})
    averages = await _lock_products(session, product_ids)
    levels = await levels_of(session, product_ids, lock=True)
    missing = sorted({(r.product_id, r.warehouse_id) for r in receipts} - levels.keys())
    if missing:
        # A level that does not exist cannot be locked: it is made at 0 first, then locked and read as the
        # others are. A level another transaction made meanwhile is kept, and read with its quantity.
        await _create_levels(session, missing)
        levels.update(await levels_of(session, sorted({p for p, _w in missing}), lock=True))
    on_hand = dict.fromkeys(product_ids, 0)
    for (product_id, _warehouse_id), quantity in levels.items():
        on_hand[product_id] += quantity
    entries = []
    for r in receipts:
        pair = (r.product_id, r.warehouse_id)
        balance = levels[pair] + r.quantity
        if balance > MAX_LEVEL:
            raise Invalid(f"A stock level would exceed the largest stock level ({MAX_LEVEL:,}).", field="quantity")
        averages[r.product_id] = _average_after(averages[r.product_id], on_hand[r.product_id], r.unit_cost, r.quantity)
        levels[pair] = balance
        on_hand[r.product_id] += r.quantity
        entries.append(
            {
                "product_id": r.product_id, "warehouse_id": r.warehouse_id, "kind": TransactionKind.RECEIPT,
                "quantity": r.quantity, "balance_after": balance, "unit_cost": r.unit_cost,
                "reference": r.reference, "created_by_id": created_by_id,
            }
        )
    now = utcnow()
    touched = sorted({(r.product_id, r.warehouse_id) for r in receipts})
    await session.execute(
        update(StockLevel),
        [{"product_id": p, "warehouse_id": w, "quantity": levels[(p, w)], "updated_at": now} for p, w in touched],
    )
    await session.execute(
        update(Product), [{"id": p, "average_cost": averages[p], "updated_at": now} for p in product_ids]
    )
    await session.execute(InventoryTransaction.__table__.insert(), entries)
    await live.announce(session)
    return len(entries)


async def _lock_products(session: AsyncSession, product_ids: list[int]) -> dict[int, Decimal]:
    """The average cost of each product, the products locked (PostgreSQL) in id order, as receive_stock locks
    them (FOR NO KEY UPDATE) and before any of their levels, as every writer of a level does."""
    averages: dict[int, Decimal] = {}
    for start in range(0, len(product_ids), _CHUNK):
        query = select(Product.id, Product.average_cost).where(Product.id.in_(product_ids[start : start + _CHUNK]))
        if _dialect(session) == "postgresql":
            query = query.with_for_update(key_share=True)
        averages.update({p: a for p, a in await session.execute(query.order_by(Product.id))})
    return averages


async def levels_of(
    session: AsyncSession, product_ids: list[int], *, lock: bool = False
) -> dict[tuple[int, int], int]:
    """Every level of these products by (product id, warehouse id); with `lock`, locked (PostgreSQL) in
    (product, warehouse) order, for levels written back as computed from what is read here. SQLite's write
    transaction excludes other writers already."""
    levels: dict[tuple[int, int], int] = {}
    for start in range(0, len(product_ids), _CHUNK):
        query = select(_levels.c.product_id, _levels.c.warehouse_id, _levels.c.quantity).where(
            _levels.c.product_id.in_(product_ids[start : start + _CHUNK])
        )
        if lock and _dialect(session) == "postgresql":
            query = query.with_for_update()
        query = query.order_by(_levels.c.product_id, _levels.c.warehouse_id)
        levels.update({(p, w): q for p, w, q in await session.execute(query)})
    return levels


async def _create_levels(session: AsyncSession, pairs: list[tuple[int, int]]) -> None:
    """Levels at 0 for these (product, warehouse) pairs, leaving any that exist by now as they are."""
    # Made after the existing levels are locked, never before: a transfer that holds one of those and goes on
    # to create its target level would otherwise wait on this transaction while it waits on the transfer.
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = insert(_levels).on_conflict_do_nothing(index_elements=[_levels.c.product_id, _levels.c.warehouse_id])
    now = utcnow()
    for start in range(0, len(pairs), _CHUNK):
        await session.execute(
            statement, [{"product_id": p, "warehouse_id": w, "quantity": 0, "updated_at": now}
                        for p, w in pairs[start : start + _CHUNK]]
        )


# Rows per IN (...) list: far below asyncpg's 32,767 parameters.
_CHUNK = 5_000


async def ship_stock(
    session: AsyncSession,
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    reference: str | None = None,
    note: str | None = None,
    created_by_id: int | None = None,
) -> InventoryTransaction:
    """Take shipped goods out of a warehouse (SHIPMENT); never below zero, whatever runs concurrently."""
    check = _StockChecks()
    check.quantity("quantity", quantity)
    reference, note = check.remarks(reference, note)
    check.done()
    await live.lock_appends(session)
    product = await _product(session, product_id)
    warehouse = await _warehouse(session, warehouse_id, "warehouseId")
    balance = await _take(session, product, warehouse, quantity)
    return await _record(
        session, product, warehouse, TransactionKind.SHIPMENT, -quantity, balance,
        reference=reference, note=note, created_by_id=created_by_id,
    )


async def adjust_stock(
    session: AsyncSession,
    *,
    product_id: int,
    warehouse_id: int,
    counted_quantity: int,
    reason: AdjustmentReason = AdjustmentReason.CORRECTION,
    note: str | None = None,
    created_by_id: int | None = None,
) -> InventoryTransaction | None:
    """Set a level to a physical count by recording the difference (ADJUSTMENT, with why it differed); None
    when nothing differs."""
    check = _StockChecks()
    check.quantity("countedQuantity", counted_quantity, minimum=0)
    note = check.text("note", note, max_length=MAX_NOTE_LENGTH, required=False)
    check.done()
    await live.lock_appends(session)
    # Allowed in archived warehouses and for archived products: a count must always be recordable.
    product = await _product(session, product_id)
    warehouse = await _warehouse(session, warehouse_id, "warehouseId")
    current = await _locked_level(session, product, warehouse)
    if current is None and counted_quantity > 0:
        await _put(session, product, warehouse, 0, field="countedQuantity")  # a row to lock, created at 0
        current = await _locked_level(session, product, warehouse)
    difference = counted_quantity - (current or 0)
    if difference == 0:
        return None
    if difference > 0:
        balance = await _put(session, product, warehouse, difference, field="countedQuantity")
    else:
        balance = await _take(session, product, warehouse, -difference)
    return await _record(
        session, product, warehouse, TransactionKind.ADJUSTMENT, difference, balance,
        reason=reason, note=note, created_by_id=created_by_id,
    )


async def _locked_level(session: AsyncSession, product: Product, warehouse: Warehouse) -> int | None:
    # The row lock (PostgreSQL; SQLite's write transactions are serialized already) keeps the level
    # still between reading it and recording the difference.
    return await session.scalar(
        select(StockLevel.quantity)
        .where(StockLevel.product_id == product.id, StockLevel.warehouse_id == warehouse.id)
        .with_for_update()
    )


async def transfer_stock(
    session: AsyncSession,
    *,
    product_id: int,
    from_warehouse_id: int,
    to_warehouse_id: int,
    quantity: int,
    note: str | None = None,
    created_by_id: int | None = None,
) -> tuple[InventoryTransaction, InventoryTransaction]:
    """Move stock between warehouses: a TRANSFER_OUT and a TRANSFER_IN entry, both or neither."""
    check = _StockChecks()
    check.quantity("quantity", quantity)
    note = check.text("note", note, max_length=MAX_NOTE_LENGTH, required=False)
    if from_warehouse_id == to_warehouse_id:
        check.fail("toWarehouseId", "`toWarehouseId` must be another warehouse than `fromWarehouseId`.")
    check.done()
    await live.lock_appends(session)
    product = await _product(session, product_id)
    source = await _warehouse(session, from_warehouse_id, "fromWarehouseId")
    target = await _warehouse(session, to_warehouse_id, "toWarehouseId")
    _require_active(product, target, warehouse_field="toWarehouseId", action="receive stock")
    if _dialect(session) == "postgresql":
        # Both levels locked in warehouse order, so opposite transfers cannot deadlock.
        await session.execute(
            select(_levels.c.quantity)
            .where(_levels.c.product_id == product.id, _levels.c.warehouse_id.in_([source.id, target.id]))
            .order_by(_levels.c.warehouse_id)
            .with_for_update()
        )
    fields = {"note": note, "created_by_id": created_by_id}
    out_balance = await _take(session, product, source, quantity)
    out = await _record(session, product, source, TransactionKind.TRANSFER_OUT, -quantity, out_balance, **fields)
    in_balance = await _put(session, product, target, quantity)
    into = await _record(session, product, target, TransactionKind.TRANSFER_IN, quantity, in_balance, **fields)
    return out, into


async def return_stock(
    session: AsyncSession,
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    unit_cost: Decimal | None = None,
    reference: str | None = None,
    note: str | None = None,
    created_by_id: int | None = None,
) -> InventoryTransaction:
    """Put goods a customer returned back into stock (RETURN); the average cost stays as it is."""
    # Returned goods re-enter at the cost they left at, the average, so the average does not move;
    # `unit_cost` is kept on the entry for the record only.
    check = _StockChecks()
    check.quantity("quantity", quantity)
    unit_cost = check.cost("unitCost", unit_cost)
    reference, note = check.remarks(reference, note)
    check.done()
    await live.lock_appends(session)
    product = await _product(session, product_id)
    warehouse = await _warehouse(session, warehouse_id, "warehouseId")
    _require_active(product, warehouse, warehouse_field="warehouseId", action="take returns")
    balance = await _put(session, product, warehouse, quantity)
    return await _record(
        session, product, warehouse, TransactionKind.RETURN, quantity, balance,
        unit_cost=unit_cost, reference=reference, note=note, created_by_id=created_by_id,
    )


# --- audit --------------------------------------------------------------------------------------


async def audit(session: AsyncSession) -> list[AuditMismatch]:
    """Every (product, warehouse) whose stock level differs from the sum or the last balance of its ledger."""
    entries = InventoryTransaction.__table__
    sums = (
        select(
            entries.c.product_id,
            entries.c.warehouse_id,
            func.sum(entries.c.quantity).label("total"),
            func.max(entries.c.id).label("last_id"),
        )
        .group_by(entries.c.product_id, entries.c.warehouse_id)
        .subquery()
    )
    last = entries.alias("last_entry")
    product_id = func.coalesce(_levels.c.product_id, sums.c.product_id)
    warehouse_id = func.coalesce(_levels.c.warehouse_id, sums.c.warehouse_id)
    level = func.coalesce(_levels.c.quantity, 0)
    total = func.coalesce(sums.c.total, 0)
    rows = await session.execute(
        select(
            product_id, warehouse_id, Product.sku, Warehouse.code, _levels.c.quantity, total, last.c.balance_after
        )
        .select_from(
            _levels.join(
                sums,
                (sums.c.product_id == _levels.c.product_id) & (sums.c.warehouse_id == _levels.c.warehouse_id),
                full=True,
            )
            .outerjoin(last, last.c.id == sums.c.last_id)
            .join(Product, Product.id == product_id)
            .join(Warehouse, Warehouse.id == warehouse_id)
        )
        .where((level != total) | (last.c.balance_after.is_not(None) & (last.c.balance_after != total)))
        .order_by(product_id, warehouse_id)
    )
    return [AuditMismatch(*row) for row in rows]

