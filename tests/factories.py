"""Builds catalog and stock rows straight in the database (not through the API), for tests that read
them back."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, text, update

from db.engine import Database
from db.models import Category, InventoryTransaction, Product, ProductSupplier, StockLevel, Supplier, Warehouse
from db.types import utcnow

CATALOG_TABLES = ("categories", "suppliers", "products", "product_suppliers")
STOCK_TABLES = ("warehouses", "inventory_transactions")


@dataclass
class Catalog:
    """What was inserted, as plain dicts keyed by primary key, for computing expected answers."""

    categories: dict[int, dict] = field(default_factory=dict)
    suppliers: dict[int, dict] = field(default_factory=dict)
    products: dict[int, dict] = field(default_factory=dict)
    offers: list[dict] = field(default_factory=list)

    def descendants(self, category_id: int) -> set[int]:
        found = {category_id}
        changed = True
        while changed:
            more = {c for c, row in self.categories.items() if row["parent_id"] in found} - found
            changed = bool(more)
            found |= more
        return found


async def build_catalog(
    database: Database, *, products: int = 60, suppliers: int = 8, offers_per_product: int = 2, seed: int = 7
) -> Catalog:
    """A three-level category tree, suppliers, products spread over the tree, and supplier terms."""
    rng = random.Random(seed)
    now = utcnow()
    catalog = Catalog()
    tree = [(1, "tools", None), (2, "hand", 1), (3, "saws", 2), (4, "power", 1), (5, "office", None), (6, "paper", 5)]
    for pk, name, parent in tree:
        catalog.categories[pk] = dict(
            id=pk, name=name, slug=name, parent_id=parent, description=None, created_at=now, updated_at=now
        )
    for pk in range(1, suppliers + 1):
        catalog.suppliers[pk] = dict(
            id=pk, name=f"supplier{pk:02d}", email=f"s{pk}@example.com", phone=None, website=None, address=None,
            is_active=pk % 4 != 0, created_at=now, updated_at=now,
        )
    category_ids = list(catalog.categories)
    for pk in range(1, products + 1):
        # Names and prices repeat so that ordering must break ties by id.
        catalog.products[pk] = dict(
            id=pk,
            sku=f"SKU-{rng.randrange(10**6):06d}-{pk}",
            name=f"item{rng.randrange(products // 2):03d}",
            description=None,
            unit_price=Decimal(rng.randrange(100, 5000)) / 100 if pk % 5 else Decimal("9.99"),
            category_id=rng.choice(category_ids) if pk % 7 else None,
            reorder_point=0,
            reorder_quantity=0,
            is_active=pk % 6 != 0,
            created_at=now - timedelta(minutes=rng.randrange(10_000)),
            updated_at=now,
        )
        for index, supplier_id in enumerate(rng.sample(list(catalog.suppliers), offers_per_product)):
            catalog.offers.append(
                dict(
                    id=len(catalog.offers) + 1, product_id=pk, supplier_id=supplier_id, supplier_sku=f"V{pk}-{supplier_id}",
                    unit_cost=Decimal("1.25"), lead_time_days=index + 1, is_preferred=index == 0,
                    created_at=now, updated_at=now,
                )
            )
    async with database.write_session() as session, session.begin():
        await session.execute(insert(Category), list(catalog.categories.values()))  # parents first
        await session.execute(insert(Supplier), list(catalog.suppliers.values()))
        await session.execute(insert(Product), list(catalog.products.values()))
        if catalog.offers:
            await session.execute(insert(ProductSupplier), catalog.offers)
        await advance_sequences(session)
    return catalog


async def advance_sequences(session, tables: tuple[str, ...] = CATALOG_TABLES) -> None:  # type: ignore[no-untyped-def]
    """After inserting explicit ids, move PostgreSQL's id sequences past them (SQLite needs nothing)."""
    if session.bind.dialect.name != "postgresql":
        return
    for table in tables:
        await session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        )


@dataclass
class Stock:
    """Warehouses, ledger entries (in id order, which is time order) and the levels they add up to."""

    warehouses: dict[int, dict] = field(default_factory=dict)
    entries: list[dict] = field(default_factory=list)
    levels: dict[tuple[int, int], int] = field(default_factory=dict)
    start: datetime = field(default_factory=utcnow)


# Kinds of movement and how often each is drawn.
_MOVES = (("RECEIPT", 5), ("SHIPMENT", 8), ("ADJUSTMENT", 2), ("TRANSFER", 2), ("RETURN", 1))


async def build_stock(
    database: Database, catalog: Catalog, *, warehouses: int = 3, entries: int = 1500, days: int = 60, seed: int = 11
) -> Stock:
    """Warehouses and a ledger over `days` days that never takes a level below zero, the stock levels it
    sums to, and reorder points and average costs on the catalog's products (updated in `catalog` too).

    A sixth of the products never get stock; the last warehouse is inactive.
    """
    rng = random.Random(seed)
    stock = Stock(start=utcnow() - timedelta(days=days))
    for pk in range(1, warehouses + 1):
        stock.warehouses[pk] = dict(
            id=pk, code=f"WH{pk:02d}", name=f"warehouse {chr(ord('a') + (warehouses - pk))}", address=None,
            is_active=pk < warehouses or warehouses == 1, created_at=stock.start, updated_at=stock.start,
        )
    for product in catalog.products.values():
        product["reorder_point"] = rng.choice((0, 5, 10, 20, 40))
        product["reorder_quantity"] = rng.choice((0, 10, 25, 50))
        product["average_cost"] = Decimal(rng.randrange(1, 10**6)) / 10**4
    stocked = [pk for pk in catalog.products if pk % 6 != 1]
    homes = {pk: rng.sample(list(stock.warehouses), rng.randint(1, warehouses)) for pk in stocked}
    kinds, weights = zip(*_MOVES, strict=True)
    moment = stock.start

    def record(product_id: int, warehouse_id: int, kind: str, quantity: int, **extra: object) -> None:
        level = stock.levels.get((product_id, warehouse_id), 0) + quantity
        stock.levels[(product_id, warehouse_id)] = level
        stock.entries.append(
            dict(
                id=len(stock.entries) + 1, product_id=product_id, warehouse_id=warehouse_id, kind=kind,
                quantity=quantity, balance_after=level, unit_cost=extra.get("unit_cost"),
                reference=extra.get("reference"), note=None, purchase_order_id=None, created_at=moment,
            )
        )

    step = timedelta(days=days) / (entries + 1)
    while len(stock.entries) < entries:
        moment += step * rng.uniform(0.2, 1.8)
        product_id = rng.choice(stocked)
        warehouse_id = rng.choice(homes[product_id])
        on_hand = stock.levels.get((product_id, warehouse_id), 0)
        kind = rng.choices(kinds, weights)[0]
        reference = f"REF-{rng.randrange(40):02d}" if rng.random() < 0.3 else None
        if kind == "RECEIPT" or on_hand == 0:
            cost = Decimal(rng.randrange(100, 20_000)) / 100
            record(product_id, warehouse_id, "RECEIPT", rng.randint(1, 60), unit_cost=cost, reference=reference)
        elif kind == "SHIPMENT":
            record(product_id, warehouse_id, "SHIPMENT", -rng.randint(1, on_hand), reference=reference)
        elif kind == "ADJUSTMENT":
            change = rng.randint(-min(on_hand, 5), 5) or 1
            record(product_id, warehouse_id, "ADJUSTMENT", change)
        elif kind == "RETURN" or len(stock.warehouses) == 1:
            record(product_id, warehouse_id, "RETURN", rng.randint(1, 3), reference=reference)
        else:
            destination = rng.choice([w for w in stock.warehouses if w != warehouse_id])
            quantity = rng.randint(1, on_hand)
            record(product_id, warehouse_id, "TRANSFER_OUT", -quantity, reference=reference)
            record(product_id, destination, "TRANSFER_IN", quantity, reference=reference)

    async with database.write_session() as session, session.begin():
        await session.execute(insert(Warehouse), list(stock.warehouses.values()))
        await session.execute(insert(InventoryTransaction), stock.entries)
        await session.execute(
            insert(StockLevel),
            [dict(product_id=p, warehouse_id=w, quantity=q, updated_at=moment) for (p, w), q in stock.levels.items()],
        )
        await session.execute(
            update(Product),
            [
                dict(id=pk, reorder_point=p["reorder_point"], reorder_quantity=p["reorder_quantity"],
                     average_cost=p["average_cost"])
                for pk, p in catalog.products.items()
            ],
        )
        await advance_sequences(session, STOCK_TABLES)
    return stock
