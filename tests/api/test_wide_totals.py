"""Totals wider than their parts, read exactly over HTTP on both read paths: sums of quantities past an Int's
32 bits (the Long scalar), a valuation past 64 bits (SQLite's integers) and past 28 significant digits
(Python's default decimal precision)."""

from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from strawberry.exceptions import StrawberryInputCoercionError

from db.config import Settings
from db.engine import Database
from db.models import Category, Product, StockLevel, Warehouse
from db.stock import MAX_LEVEL
from db.types import utcnow
from graph.app import create_app
from graph.scalars import parse_long
from tests.factories import advance_sequences
from tests.utils import GraphQLClient

RECEIPT = 1_000_000_000  # the most one receipt takes
UNIT_COST = Decimal("123456789.01")
EXACT = Context(prec=200)


def _cents(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01"), ROUND_HALF_UP, context=EXACT))


@pytest.fixture
async def reference(gql: GraphQLClient, database: Database, settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The same user's client of an app that answers every read on the reference path (no read plans)."""
    app = create_app(settings.model_copy(update={"read_plans": False, "plan_compare": False}), database=database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60) as client:
        yield GraphQLClient(client, gql.token)


async def _both(gql: GraphQLClient, reference: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The data of `query` from the read plans (the test server, which also compares with the reference path),
    after checking that the reference path alone answers the same."""
    planned = await gql(query, variables)
    assert await reference(query, variables) == planned
    return planned


async def _create(gql: GraphQLClient, mutation: str, what: str, fields: dict[str, Any]) -> str:
    data = await gql(
        f"mutation ($input: {mutation[0].upper()}{mutation[1:]}Input!) "
        f"{{ {mutation}(input: $input) {{ {what} {{ id }} errors {{ field message }} }} }}",
        {"input": fields},
    )
    assert data[mutation]["errors"] == [], data
    return str(data[mutation][what]["id"])


# --- quantities past 32 bits ----------------------------------------------------------------------

TOTALS = """query ($product: ID!) {
  node(id: $product) { ... on Product { quantityOnHand stock { quantityOnHand } } }
  inventoryValuation { totalQuantity totalValue byCategory { quantity value } }
  byProduct: stockMovements(groupBy: PRODUCT) { received net product { sku } }
  byWarehouse: stockMovements(groupBy: WAREHOUSE) { received transferredIn transferredOut net warehouse { code } }
  byCategory: stockMovements(groupBy: CATEGORY) { received net category { name } }
}"""


async def test_quantity_totals_past_32_bits_are_exact_on_both_paths(
    gql: GraphQLClient, reference: GraphQLClient
) -> None:
    category = await _create(gql, "createCategory", "category", {"name": "Bulk"})
    product = await _create(
        gql, "createProduct", "product", {"sku": "GRAIN", "name": "Grain", "unitPrice": "1.00", "categoryId": category}
    )
    warehouses = [await _create(gql, "createWarehouse", "warehouse", {"code": f"SILO{n}", "name": f"Silo {n}"})
                  for n in (1, 2)]
    # Four receipts of a billion, two per warehouse: each level stays within its 32 bits, their sums do not.
    for warehouse in warehouses * 2:
        receipt = {"productId": product, "warehouseId": warehouse, "quantity": RECEIPT, "unitCost": str(UNIT_COST)}
        data = await gql(
            "mutation ($input: ReceiveStockInput!) { receiveStock(input: $input) { errors { message } } }",
            {"input": receipt},
        )
        assert data["receiveStock"]["errors"] == []
    total = 4 * RECEIPT
    assert total > 2**31 - 1

    data = await _both(gql, reference, TOTALS, {"product": product})

    assert data["node"] == {"quantityOnHand": total, "stock": [{"quantityOnHand": 2 * RECEIPT}] * 2}
    # Past 64 bits where SQLite sums it: the value at average_cost's 4 places is 4.9 * 10**21.
    value = _cents(total * UNIT_COST)
    assert total * UNIT_COST * 10**4 > 2**63
    assert data["inventoryValuation"] == {
        "totalQuantity": total,
        "totalValue": value,
        "byCategory": [{"quantity": total, "value": value}],
    }
    assert data["byProduct"] == [{"received": total, "net": total, "product": {"sku": "GRAIN"}}]
    assert data["byWarehouse"] == [
        {"received": 2 * RECEIPT, "transferredIn": 0, "transferredOut": 0, "net": 2 * RECEIPT,
         "warehouse": {"code": f"SILO{n}"}}
        for n in (1, 2)
    ]
    assert data["byCategory"] == [{"received": total, "net": total, "category": {"name": "Bulk"}}]

    # Ship a billion from each, then move a billion back and forth three times: each warehouse sends and
    # takes in 3,000,000,000 units, which only a Long holds, and every other total is as a ledger sums it.
    for warehouse in warehouses:
        ship = {"productId": product, "warehouseId": warehouse, "quantity": RECEIPT}
        data = await gql(
            "mutation ($input: ShipStockInput!) { shipStock(input: $input) { errors { message } } }", {"input": ship}
        )
        assert data["shipStock"]["errors"] == []
    for source, target in [tuple(warehouses), tuple(warehouses[::-1])] * 3:
        move = {"productId": product, "fromWarehouseId": source, "toWarehouseId": target, "quantity": RECEIPT}
        data = await gql(
            "mutation ($input: TransferStockInput!) { transferStock(input: $input) { errors { message } } }",
            {"input": move},
        )
        assert data["transferStock"]["errors"] == []

    data = await _both(gql, reference, TOTALS, {"product": product})

    assert data["node"]["quantityOnHand"] == 2 * RECEIPT
    assert data["inventoryValuation"]["totalQuantity"] == 2 * RECEIPT
    assert data["byWarehouse"] == [
        {"received": 2 * RECEIPT, "transferredIn": 3 * RECEIPT, "transferredOut": 3 * RECEIPT, "net": RECEIPT,
         "warehouse": {"code": f"SILO{n}"}}
        for n in (1, 2)
    ]
    assert data["byProduct"] == [{"received": total, "net": 2 * RECEIPT, "product": {"sku": "GRAIN"}}]


# --- a valuation past 28 significant digits ----------------------------------------------------------

# The most a level holds, at an average cost with four places (as weighted averages have them), in
# 7 products x 71 warehouses: the total value, 1054122837213892837502236.6549, has 29 significant digits, and
# rounded to 28 first (Python's default context) it would come out a cent high.
AVERAGE_COST = Decimal("987654321098.7611")
PRODUCTS, WAREHOUSES = 7, 71
CATEGORY_OF = {n: 1 if n <= 4 else 2 for n in range(1, PRODUCTS + 1)}


def _value(levels: int) -> Decimal:
    """`levels` levels at MAX_LEVEL units of AVERAGE_COST, worked out in integers."""
    return Decimal(levels * MAX_LEVEL * int(AVERAGE_COST.scaleb(4))).scaleb(-4, context=EXACT)


async def _wide_stock(database: Database) -> None:
    """Two categories of products, every product at MAX_LEVEL in each warehouse (written straight to the
    database: the API would take 1,000 receipts)."""
    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    async with database.write_session() as session, session.begin():
        await session.execute(
            insert(Category), [{"id": n, "name": f"cat{n}", "slug": f"cat{n}", **stamps} for n in (1, 2)]
        )
        await session.execute(
            insert(Product),
            [
                {"id": n, "sku": f"WIDE-{n}", "name": f"wide {n}", "unit_price": Decimal("1.00"),
                 "category_id": CATEGORY_OF[n], "average_cost": AVERAGE_COST, **stamps}
                for n in range(1, PRODUCTS + 1)
            ],
        )
        await session.execute(
            insert(Warehouse),
            [{"id": n, "code": f"W{n}", "name": f"w{n:02d}", **stamps} for n in range(1, WAREHOUSES + 1)],
        )
        await session.execute(
            insert(StockLevel),
            [
                {"product_id": p, "warehouse_id": w, "quantity": MAX_LEVEL}
                for p in range(1, PRODUCTS + 1)
                for w in range(1, WAREHOUSES + 1)
            ],
        )
        await advance_sequences(session, ("categories", "products", "warehouses"))


VALUATION = """{
  inventoryValuation { totalQuantity totalValue byCategory { quantity value category { name } } }
  products(first: 1) { edges { node { quantityOnHand } } }
}"""


async def test_a_valuation_past_28_significant_digits_is_exact(
    gql: GraphQLClient, reference: GraphQLClient, database: Database
) -> None:
    await _wide_stock(database)
    exact = _value(PRODUCTS * WAREHOUSES)
    assert len(exact.as_tuple().digits) > 28
    assert _cents(+exact) != _cents(exact)  # the unary plus rounds to the default context's 28 digits

    data = await _both(gql, reference, VALUATION, {})

    in_category = {n: sum(1 for c in CATEGORY_OF.values() if c == n) * WAREHOUSES for n in (1, 2)}
    assert data["inventoryValuation"] == {
        "totalQuantity": PRODUCTS * WAREHOUSES * MAX_LEVEL,
        "totalValue": "1054122837213892837502236.65",
        "byCategory": [
            {"quantity": in_category[n] * MAX_LEVEL, "value": _cents(_value(in_category[n])),
             "category": {"name": f"cat{n}"}}
            for n in (1, 2)
        ],
    }
    assert _cents(exact) == "1054122837213892837502236.65"
    assert data["products"]["edges"] == [{"node": {"quantityOnHand": WAREHOUSES * MAX_LEVEL}}]


# --- the scalar ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0, 4_000_000_000])
def test_long_takes_whole_numbers_within_64_bits(value: int) -> None:
    assert parse_long(value) == value


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 1.5, 4e9, "4000000000", True, None])
def test_long_refuses_anything_else(value: object) -> None:
    with pytest.raises(StrawberryInputCoercionError):
        parse_long(value)
