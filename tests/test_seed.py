"""The demo data and the `inventory` commands that migrate a database and load it."""

import re
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from db.engine import Database
from db import selling as selling_rules
from db import stock as stock_rules
from db.models import (
    Category,
    Customer,
    InventoryTransaction,
    Product,
    ProductSupplier,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Reservation,
    SalesOrder,
    SalesOrderLine,
    SalesOrderStatus,
    SalesReturn,
    StockLevel,
    Supplier,
    TransactionKind,
    Warehouse,
)
from db.reports import low_stock_count
from db.seed import HISTORY_DAYS, has_products, seed_demo
from db.types import utcnow
from graph.cli import app

SKU = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,63}")
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


async def _delete_catalog(database: Database) -> None:
    """Delete every demo row, categories leaves first (parent links forbid other orders on SQLite)."""
    async with database.write_session() as session, session.begin():
        selling = (SalesReturn, Reservation)
        stock = (InventoryTransaction, StockLevel, SalesOrderLine, SalesOrder, Customer, PurchaseOrderLine, PurchaseOrder,
                 Warehouse)
        for model in (*selling, *stock, ProductSupplier, Product, Supplier):
            await session.execute(delete(model))
        parents = select(Category.parent_id).where(Category.parent_id.is_not(None))
        while await session.scalar(select(func.count(Category.id))):
            await session.execute(delete(Category).where(Category.id.not_in(parents)))


async def test_demo_catalog(database: Database) -> None:
    async with database.write_session() as session, session.begin():
        assert not await has_products(session)
        summary = await seed_demo(session)
        assert await has_products(session)

    async with database.read_session() as session:
        categories = (await session.scalars(select(Category))).all()
        suppliers = (await session.scalars(select(Supplier))).all()
        products = (await session.scalars(select(Product))).all()
        offers = (await session.scalars(select(ProductSupplier))).all()

    assert (summary.categories, summary.suppliers, summary.products, summary.offers) == (
        len(categories),
        len(suppliers),
        len(products),
        len(offers),
    )

    by_id = {c.id: c for c in categories}

    def depth(category: Category) -> int:
        return 1 if category.parent_id is None else 1 + depth(by_id[category.parent_id])

    assert {depth(c) for c in categories} == {1, 2, 3}
    assert all(SLUG.fullmatch(c.slug) for c in categories)
    assert len({c.slug for c in categories}) == len(categories)
    assert len({(c.parent_id, c.name.lower()) for c in categories}) == len(categories)

    assert len(suppliers) >= 24
    assert len({s.name for s in suppliers}) == len({s.email for s in suppliers}) == len(suppliers)
    assert any(not s.is_active for s in suppliers) and sum(s.is_active for s in suppliers) > len(suppliers) / 2

    assert len(products) >= 200
    assert all(SKU.fullmatch(p.sku) for p in products)
    parents = {c.parent_id for c in categories}
    in_leaves = sum(p.category_id not in parents for p in products)
    assert in_leaves > 0.9 * len(products)
    assert all(p.unit_price > 0 and p.unit_price == p.unit_price.quantize(Decimal("0.01")) for p in products)

    price = {p.id: p.unit_price for p in products}
    offers_per_product = Counter(o.product_id for o in offers)
    preferred_per_product = Counter(o.product_id for o in offers if o.is_preferred)
    assert set(offers_per_product) == set(price)
    assert set(offers_per_product.values()) <= {1, 2, 3, 4}
    assert all(preferred_per_product[product_id] == 1 for product_id in price)
    assert all(0 < o.unit_cost < price[o.product_id] for o in offers)
    assert len({(o.product_id, o.supplier_id) for o in offers}) == len(offers)


async def test_demo_catalog_is_deterministic(database: Database) -> None:
    async def load() -> list[tuple[object, ...]]:
        async with database.write_session() as session, session.begin():
            await seed_demo(session, seed=7)
        async with database.read_session() as session:
            rows = await session.execute(
                select(Product.sku, Product.name, Product.unit_price, Category.slug, func.count(ProductSupplier.id))
                .join(Category, Product.category_id == Category.id)
                .join(ProductSupplier, ProductSupplier.product_id == Product.id)
                .group_by(Product.sku, Product.name, Product.unit_price, Category.slug)
                .order_by(Product.sku)
            )
            return [tuple(row) for row in rows]

    async def load_history() -> list[list[tuple[object, ...]]]:
        async with database.read_session() as session:
            entries = await session.execute(
                select(
                    Product.sku, Warehouse.code, InventoryTransaction.kind, InventoryTransaction.quantity,
                    InventoryTransaction.balance_after, InventoryTransaction.unit_cost, InventoryTransaction.reference,
                )
                .join(Product, Product.id == InventoryTransaction.product_id)
                .join(Warehouse, Warehouse.id == InventoryTransaction.warehouse_id)
                .order_by(InventoryTransaction.id)
            )
            orders = await session.execute(
                select(PurchaseOrder.number, PurchaseOrder.status, Product.sku, PurchaseOrderLine.quantity_ordered,
                       PurchaseOrderLine.quantity_received)
                .join(PurchaseOrderLine, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
                .join(Product, Product.id == PurchaseOrderLine.product_id)
                .order_by(PurchaseOrder.number, Product.sku)
            )
            costs = await session.execute(select(Product.sku, Product.average_cost).order_by(Product.sku))
            return [[tuple(row) for row in rows] for rows in (entries, orders, costs)]

    first = await load(), await load_history()
    await _delete_catalog(database)
    assert (await load(), await load_history()) == first


async def test_demo_stock_history(database: Database) -> None:
    async with database.write_session() as session, session.begin():
        summary = await seed_demo(session)
    async with database.read_session() as session:
        warehouses = {w.id: w for w in await session.scalars(select(Warehouse))}
        products = {p.id: p for p in await session.scalars(select(Product))}
        entries = (await session.scalars(select(InventoryTransaction).order_by(InventoryTransaction.id))).all()
        levels = {(s.product_id, s.warehouse_id): s.quantity for s in await session.scalars(select(StockLevel))}
        orders = {o.id: o for o in await session.scalars(select(PurchaseOrder))}
        lines = (await session.scalars(select(PurchaseOrderLine))).all()
        low = await low_stock_count(session, warehouse_id=None)
    assert (summary.warehouses, summary.transactions, summary.purchase_orders) == (
        len(warehouses), len(entries), len(orders)
    )

    # Warehouses: a few, one closed (archived) with its stock moved out and no history after it closed.
    assert 3 <= len(warehouses) <= 4
    [closed] = [w for w in warehouses.values() if not w.is_active]
    assert all(e.created_at <= closed.updated_at for e in entries if e.warehouse_id == closed.id)
    assert sum(q for (_, w), q in levels.items() if w == closed.id) == 0

    # A few thousand entries of every kind over the last HISTORY_DAYS days, in time order.
    assert 2000 <= len(entries) <= 8000
    assert set(Counter(e.kind for e in entries)) == set(TransactionKind)
    now = utcnow()
    assert now - timedelta(days=HISTORY_DAYS + 1) <= entries[0].created_at
    assert entries[-1].created_at <= now
    assert all(a.created_at <= b.created_at for a, b in zip(entries, entries[1:]))
    transfers = Counter(e.reference for e in entries if e.kind in (TransactionKind.TRANSFER_IN, TransactionKind.TRANSFER_OUT))
    assert set(transfers.values()) == {2}

    # Balances add up entry by entry, never below zero, and the levels are the ledger's sums.
    balances: dict[tuple[int, int], int] = defaultdict(int)
    for entry in entries:
        balances[(entry.product_id, entry.warehouse_id)] += entry.quantity
        assert entry.balance_after == balances[(entry.product_id, entry.warehouse_id)] >= 0
    assert levels == dict(balances)

    # Average costs are the receipts' weighted average, as receiving stock computes it.
    on_hand: dict[int, int] = defaultdict(int)
    average: dict[int, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if entry.kind is TransactionKind.RECEIPT:
            held = on_hand[entry.product_id]
            total = held + entry.quantity
            average[entry.product_id] = ((average[entry.product_id] * held + entry.unit_cost * entry.quantity) / total
                                         ).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        on_hand[entry.product_id] += entry.quantity
    assert {pid: p.average_cost for pid, p in products.items()} == {pid: average[pid] for pid in products}
    active = [p for p in products.values() if p.is_active]
    assert sum(p.average_cost > 0 for p in active) > 0.95 * len(active)  # all but those added since yesterday

    # Purchase orders in every status; what their lines received is what the ledger received for them.
    assert set(Counter(o.status for o in orders.values())) == set(PurchaseOrderStatus)
    assert all(re.fullmatch(r"PO-\d{6}", o.number) for o in orders.values())
    received: Counter[tuple[int, int]] = Counter()
    for entry in entries:
        if entry.purchase_order_id is not None:
            assert entry.kind is TransactionKind.RECEIPT
            assert entry.reference == orders[entry.purchase_order_id].number
            received[(entry.purchase_order_id, entry.product_id)] += entry.quantity
    by_order: dict[int, list[PurchaseOrderLine]] = defaultdict(list)
    for line in lines:
        assert line.quantity_received == received[(line.purchase_order_id, line.product_id)]
        by_order[line.purchase_order_id].append(line)
    assert set(by_order) == set(orders)
    for order_id, order in orders.items():
        got = [(line.quantity_received, line.quantity_ordered) for line in by_order[order_id]]
        full = all(r == o for r, o in got)
        nothing = all(r == 0 for r, _ in got)
        assert {
            PurchaseOrderStatus.DRAFT: nothing and order.ordered_at is None,
            PurchaseOrderStatus.ORDERED: nothing and order.ordered_at is not None,
            PurchaseOrderStatus.PARTIALLY_RECEIVED: not full and not nothing,
            PurchaseOrderStatus.RECEIVED: full and order.received_at is not None,
            PurchaseOrderStatus.CANCELLED: nothing and order.cancelled_at is not None,
        }[order.status], (order.number, order.status, got)

    assert low > 0  # the low stock report has something to show


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Runs `inventory` against a SQLite file of its own."""
    monkeypatch.setenv("INVENTORY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def test_db_upgrade_and_current(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["db", "current"])
    assert result.exit_code == 1, result.output
    assert "There is no SQLite database" in result.output and "`inventory db upgrade` creates it" in result.output
    assert not (tmp_path / "cli.db").exists()

    result = cli.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output

    result = cli.invoke(app, ["db", "current"])
    assert result.exit_code == 0, result.output
    assert "(head)" in result.output

    result = cli.invoke(app, ["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert "base" in cli.invoke(app, ["db", "current"]).output


def test_seed_demo_loads_once(cli: CliRunner) -> None:
    result = cli.invoke(app, ["seed", "--demo"])
    assert result.exit_code == 1
    assert "inventory db upgrade" in result.output

    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    first = cli.invoke(app, ["seed", "--demo"])
    assert first.exit_code == 0, first.output
    assert "Loaded the demo catalog" in first.output
    products = int(re.search(r"(\d+) products", first.output).group(1))  # type: ignore[union-attr]
    assert products >= 200

    second = cli.invoke(app, ["seed", "--demo"])
    assert second.exit_code == 0, second.output
    assert "already has products" in second.output


def test_seed_needs_something_to_load(cli: CliRunner) -> None:
    result = cli.invoke(app, ["seed"])
    assert result.exit_code == 2


async def test_demo_sales(database: Database) -> None:
    """Customers (one archived) and sales orders in every status, made by the selling rules: reservations,
    shipments and returns agree with the levels and the ledger as `inventory audit` checks them."""
    async with database.write_session() as session, session.begin():
        summary = await seed_demo(session)
    async with database.read_session() as session:
        customers = (await session.scalars(select(Customer))).all()
        orders = (await session.scalars(select(SalesOrder))).all()
        holds = (await session.scalars(select(Reservation))).all()
        kinds = {e.kind for e in await session.scalars(
            select(InventoryTransaction).where(InventoryTransaction.sales_order_id.is_not(None))
        )}
        assert await stock_rules.audit(session) == []
        assert await selling_rules.audit_reservations(session) == []
        assert await selling_rules.audit_order_lines(session) == []
    assert (summary.customers, summary.sales_orders) == (len(customers), len(orders))
    assert any(not c.is_active for c in customers)
    assert {o.status for o in orders} == set(SalesOrderStatus)
    assert any(h.sales_order_line_id is None and h.released_at is None for h in holds)
    assert kinds == {TransactionKind.SHIPMENT, TransactionKind.RETURN}
