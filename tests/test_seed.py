"""The demo catalog and the `inventory` commands that migrate a database and load it."""

import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from db.engine import Database
from db.models import Category, Product, ProductSupplier, Supplier
from db.seed import has_products, seed_demo
from graph.cli import app

SKU = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,63}")
SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


async def _delete_catalog(database: Database) -> None:
    """Delete every catalog row, categories leaves first (parent links forbid other orders on SQLite)."""
    async with database.write_session() as session, session.begin():
        for model in (ProductSupplier, Product, Supplier):
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

    first = await load()
    await _delete_catalog(database)
    assert await load() == first


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Runs `inventory` against a SQLite file of its own."""
    monkeypatch.setenv("INVENTORY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def test_db_upgrade_and_current(cli: CliRunner) -> None:
    result = cli.invoke(app, ["db", "current"])
    assert result.exit_code == 0, result.output
    assert "base" in result.output

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
