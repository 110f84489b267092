"""Money comes back as the exact Decimal that went in, and timestamps as timezone-aware UTC."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, insert, select

from db.engine import Database
from db.models import Product, ProductSupplier, Supplier


async def _add_products(database: Database, prices: list[Decimal]) -> list[int]:
    async with database.write_session() as session, session.begin():
        result = await session.execute(
            insert(Product).returning(Product.id, sort_by_parameter_order=True),
            [{"sku": f"MONEY-{n}", "name": f"Product {n}", "unit_price": price} for n, price in enumerate(prices)],
        )
        return list(result.scalars())


async def test_prices_and_their_sum_are_exact(database: Database) -> None:
    ids = await _add_products(database, [Decimal("0.10"), Decimal("0.20")])

    async with database.read_session() as session:
        prices = (await session.scalars(select(Product.unit_price).order_by(Product.id))).all()
        total = await session.scalar(select(func.sum(Product.unit_price)))
        found = await session.get(Product, ids[0])

    assert prices == [Decimal("0.10"), Decimal("0.20")]
    assert all(type(price) is Decimal for price in prices)
    assert total == Decimal("0.30") and type(total) is Decimal
    assert found is not None and found.unit_price == Decimal("0.10")


async def test_offer_costs_are_exact(database: Database) -> None:
    [product_id] = await _add_products(database, [Decimal("19.99")])
    costs = [Decimal("0.10"), Decimal("0.20")]
    async with database.write_session() as session, session.begin():
        suppliers = [Supplier(name="Summit Fasteners"), Supplier(name="Union Fastener Corp.")]
        session.add_all(suppliers)
        await session.flush()
        session.add_all(
            ProductSupplier(product_id=product_id, supplier_id=supplier.id, unit_cost=cost)
            for supplier, cost in zip(suppliers, costs, strict=True)
        )

    async with database.read_session() as session:
        stored = (await session.scalars(select(ProductSupplier.unit_cost).order_by(ProductSupplier.id))).all()
        total = await session.scalar(select(func.sum(ProductSupplier.unit_cost)))
    assert stored == costs and all(type(cost) is Decimal for cost in stored)
    assert total == Decimal("0.30")


async def test_largest_price_round_trips(database: Database) -> None:
    largest = Decimal("999999999999.99")
    await _add_products(database, [largest, Decimal("0.01")])

    async with database.read_session() as session:
        stored = await session.scalar(select(func.max(Product.unit_price)))
        total = await session.scalar(select(func.sum(Product.unit_price)))
    assert stored == largest and type(stored) is Decimal
    assert total == Decimal("1000000000000.00")


async def test_timestamps_come_back_as_utc(database: Database) -> None:
    # Eight in the morning at UTC+2 is six in the morning UTC.
    written = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    async with database.write_session() as session, session.begin():
        session.add(Supplier(name="Northwind Traders", created_at=written))
        session.add(Supplier(name="Orion Audio"))

    async with database.read_session() as session:
        suppliers = (await session.scalars(select(Supplier).order_by(Supplier.id))).all()

    for supplier in suppliers:
        for stamp in (supplier.created_at, supplier.updated_at):
            assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
    assert suppliers[0].created_at == written
    assert suppliers[0].created_at.replace(tzinfo=None) == datetime(2026, 3, 1, 6, 0, 0, 123456)
    assert suppliers[1].created_at.tzinfo is UTC


async def test_new_objects_hold_money_at_the_column_scale_before_and_after_reading_back(database: Database) -> None:
    """What an object written in this session answers (a mutation's payload) has the scale a read gives."""
    async with database.write_session() as session, session.begin():
        product = Product(sku="SCALE-1", name="Scaled", unit_price=Decimal("12.5"))
        supplier = Supplier(name="Scale Supply")
        session.add_all([product, supplier])
        await session.flush()
        offer = ProductSupplier(product_id=product.id, supplier_id=supplier.id, unit_cost=0)
        session.add(offer)
        await session.flush()
        written = (str(product.unit_price), str(product.average_cost), str(offer.unit_cost))
        product.average_cost = Decimal("3")
        product.unit_price = Product.unit_price + Product.unit_price  # an expression: the database works it out
        await session.flush()
        assigned = str(product.average_cost)

    async with database.read_session() as session:
        found = await session.get(Product, product.id)
        stored_offer = await session.get(ProductSupplier, offer.id)
        assert found is not None and stored_offer is not None
        read = (str(found.unit_price), str(found.average_cost), str(stored_offer.unit_cost))

    assert written == ("12.50", "0.0000", "0.00")
    assert assigned == "3.0000"
    assert read == ("25.00", "3.0000", "0.00")
