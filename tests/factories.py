"""Builds catalog rows straight in the database (not through the API), for tests that read them back."""

import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import insert, text

from db.engine import Database
from db.models import Category, Product, ProductSupplier, Supplier
from db.types import utcnow


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


async def advance_sequences(session) -> None:  # type: ignore[no-untyped-def]
    """After inserting explicit ids, move PostgreSQL's id sequences past them (SQLite needs nothing)."""
    if session.bind.dialect.name != "postgresql":
        return
    for table in ("categories", "suppliers", "products", "product_suppliers"):
        await session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        )
