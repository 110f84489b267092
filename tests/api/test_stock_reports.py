"""The stock reports over HTTP, each checked against values computed here from the inserted ledger,
levels and products: products to reorder, inventory valuation and stock movements."""

import math
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.factories import Catalog, Stock, build_catalog, build_stock
from tests.utils import GraphQLClient, global_id


@pytest.fixture
async def catalog(database) -> Catalog:  # type: ignore[no-untyped-def]
    return await build_catalog(database, products=150, suppliers=12)


@pytest.fixture
async def stock(database, catalog) -> Stock:  # type: ignore[no-untyped-def]
    return await build_stock(database, catalog, warehouses=4, entries=1200)


def _cents(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01"), ROUND_HALF_UP))


# --- low stock ----------------------------------------------------------------------------------

LOW_STOCK = """query ($warehouse: ID, $after: String) {
  lowStock(warehouseId: $warehouse, first: 7, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { product { sku quantityOnOrder } warehouse { code } quantityOnHand quantityAvailable quantityReserved
      quantityOnOrder reorderPoint reorderQuantity quantityToOrder
      preferredSupplier { unitCost leadTimeDays supplier { name } } } } } }"""


def _expected_low_stock(catalog: Catalog, stock: Stock, warehouse_id: int | None) -> list[dict]:
    rows = []
    for product in sorted(catalog.products.values(), key=lambda p: (p["name"], p["id"])):
        point, batch = product["reorder_point"], product["reorder_quantity"]
        if not product["is_active"] or point == 0:
            continue
        if warehouse_id is None:
            on_hand = sum(q for (p, _), q in stock.levels.items() if p == product["id"])
        elif (product["id"], warehouse_id) in stock.levels:
            on_hand = stock.levels[(product["id"], warehouse_id)]
        else:
            continue  # never held there
        if on_hand > point:
            continue
        [offer] = [o for o in catalog.offers if o["product_id"] == product["id"] and o["is_preferred"]]
        rows.append(
            {
                "product": {"sku": product["sku"], "quantityOnOrder": 0},
                "warehouse": None if warehouse_id is None else {"code": stock.warehouses[warehouse_id]["code"]},
                "quantityOnHand": on_hand,
                # nothing is reserved and nothing is on order in these fixtures (see test_reordering.py)
                "quantityAvailable": on_hand,
                "quantityReserved": 0,
                "quantityOnOrder": 0,
                "reorderPoint": point,
                "reorderQuantity": batch,
                # whole reorder quantities that end above the reorder point
                "quantityToOrder": batch * math.ceil((point + 1 - on_hand) / batch) if batch else point + 1 - on_hand,
                "preferredSupplier": {
                    "unitCost": str(offer["unit_cost"]),
                    "leadTimeDays": offer["lead_time_days"],
                    "supplier": {"name": catalog.suppliers[offer["supplier_id"]]["name"]},
                },
            }
        )
    return rows


async def _walk_low_stock(gql: GraphQLClient, warehouse: str | None) -> tuple[list[dict], int]:
    rows: list[dict] = []
    cursor = None
    while True:
        data = (await gql(LOW_STOCK, {"warehouse": warehouse, "after": cursor}))["lowStock"]
        rows += [e["node"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return rows, data["totalCount"]
        cursor = data["pageInfo"]["endCursor"]


@pytest.mark.parametrize("warehouse_id", [None, 1, 2, 4])
async def test_low_stock_lists_the_products_to_reorder(gql, catalog, stock, warehouse_id):
    expected = _expected_low_stock(catalog, stock, warehouse_id)
    assert len(expected) > 7, "the case must span pages"
    warehouse = None if warehouse_id is None else global_id("Warehouse", warehouse_id)
    rows, total = await _walk_low_stock(gql, warehouse)
    assert rows == expected
    assert total == len(expected)


async def test_low_stock_cases_are_all_there(catalog, stock):
    """The data covers what the rule distinguishes: out of stock, exactly at and below the point, never stocked."""
    overall = _expected_low_stock(catalog, stock, None)
    on_hand = [row["quantityOnHand"] for row in overall]
    assert 0 in on_hand and any(0 < q for q in on_hand)
    assert any(row["quantityOnHand"] == row["reorderPoint"] for w in (None, 1, 2, 3, 4)
               for row in _expected_low_stock(catalog, stock, w))
    assert any(row["quantityToOrder"] > row["reorderQuantity"] for row in overall)
    assert any(row["quantityToOrder"] == row["reorderQuantity"] for row in overall)


async def test_low_stock_takes_a_constant_number_of_statements(gql, statements, catalog, stock):
    query = """query ($first: Int!) { lowStock(first: $first) { edges { node { product { sku } quantityToOrder
        preferredSupplier { unitCost supplier { name } } } } } }"""
    counts = {}
    for first in (5, 25):
        with statements.count(sign_in=False) as executed:
            data = await gql(query, {"first": first})
        assert len(data["lowStock"]["edges"]) == first
        counts[first] = len(executed)
    # the page with its quantities on hand, offers and suppliers: one statement
    assert counts[5] == counts[25] == 1, counts


# --- valuation ----------------------------------------------------------------------------------

VALUATION = """query ($warehouse: ID, $category: ID) {
  inventoryValuation(warehouseId: $warehouse, categoryId: $category) {
    totalQuantity totalValue byCategory { category { name } quantity value } } }"""


def _expected_valuation(catalog: Catalog, stock: Stock, warehouse_id: int | None, category_id: int | None) -> dict:
    members = None if category_id is None else catalog.descendants(category_id)
    quantity: Counter = Counter()
    value: dict[int | None, Decimal] = {}
    for (product_id, w), q in stock.levels.items():
        product = catalog.products[product_id]
        if q == 0 or (warehouse_id is not None and w != warehouse_id):
            continue
        if members is not None and product["category_id"] not in members:
            continue
        key = product["category_id"]
        quantity[key] += q
        value[key] = value.get(key, Decimal(0)) + q * product["average_cost"]

    def order(key: int | None) -> tuple:
        return (1, "", 0) if key is None else (0, catalog.categories[key]["name"], key)

    return {
        "totalQuantity": sum(quantity.values()),
        "totalValue": _cents(sum(value.values(), Decimal(0))),
        "byCategory": [
            {
                "category": None if key is None else {"name": catalog.categories[key]["name"]},
                "quantity": quantity[key],
                "value": _cents(value[key]),
            }
            for key in sorted(quantity, key=order)
        ],
    }


@pytest.mark.parametrize(("warehouse_id", "category_id"), [(None, None), (3, None), (None, 1), (2, 5), (None, 3)])
async def test_inventory_valuation(gql, catalog, stock, warehouse_id, category_id):
    expected = _expected_valuation(catalog, stock, warehouse_id, category_id)
    assert expected["totalQuantity"] > 0
    variables = {
        "warehouse": None if warehouse_id is None else global_id("Warehouse", warehouse_id),
        "category": None if category_id is None else global_id("Category", category_id),
    }
    assert (await gql(VALUATION, variables))["inventoryValuation"] == expected


async def test_valuation_rounds_once_at_the_end(gql, database, catalog, stock):
    """Exact sums of quantity × a four-place cost, rounded to cents only at the end."""
    exact = sum(
        (q * catalog.products[p]["average_cost"] for (p, _), q in stock.levels.items()), Decimal(0)
    )
    rounded_each = sum(
        (Decimal(_cents(q * catalog.products[p]["average_cost"])) for (p, _), q in stock.levels.items()), Decimal(0)
    )
    data = (await gql(VALUATION, {}))["inventoryValuation"]
    assert data["totalValue"] == _cents(exact)
    assert exact != rounded_each  # the data is such that rounding early would show


async def test_valuation_of_nothing(gql, database):
    data = (await gql(VALUATION, {}))["inventoryValuation"]
    assert data == {"totalQuantity": 0, "totalValue": "0.00", "byCategory": []}


# --- movements ----------------------------------------------------------------------------------

MOVEMENTS = """query ($groupBy: MovementGroupBy!, $from: DateTime, $to: DateTime, $warehouse: ID, $category: ID) {
  stockMovements(groupBy: $groupBy, from: $from, to: $to, warehouseId: $warehouse, categoryId: $category) {
    product { sku } category { name } warehouse { code }
    received returned shipped adjusted transferredIn transferredOut net } }"""


def _expected_movements(
    catalog: Catalog, stock: Stock, group_by: str, start, end, warehouse_id=None, category_id=None  # type: ignore[no-untyped-def]
) -> list[dict]:
    members = None if category_id is None else catalog.descendants(category_id)
    sums: dict[int | None, Counter] = {}
    for entry in stock.entries:
        product = catalog.products[entry["product_id"]]
        if start is not None and entry["created_at"] < start or end is not None and entry["created_at"] >= end:
            continue
        if warehouse_id is not None and entry["warehouse_id"] != warehouse_id:
            continue
        if members is not None and product["category_id"] not in members:
            continue
        key = {"PRODUCT": entry["product_id"], "CATEGORY": product["category_id"],
               "WAREHOUSE": entry["warehouse_id"]}[group_by]
        sums.setdefault(key, Counter())[entry["kind"]] += entry["quantity"]

    def describe(key: int | None) -> tuple[tuple, dict]:
        none = {"product": None, "category": None, "warehouse": None}
        if group_by == "PRODUCT":
            product = catalog.products[key]  # type: ignore[index]
            return (0, product["name"], key), none | {"product": {"sku": product["sku"]}}
        if group_by == "WAREHOUSE":
            warehouse = stock.warehouses[key]  # type: ignore[index]
            return (0, warehouse["name"], key), none | {"warehouse": {"code": warehouse["code"]}}
        if key is None:
            return (1, "", 0), none
        return (0, catalog.categories[key]["name"], key), none | {"category": {"name": catalog.categories[key]["name"]}}

    rows = []
    for key, kinds in sums.items():
        order, group = describe(key)
        rows.append((order, group | {
            "received": kinds["RECEIPT"],
            "returned": kinds["RETURN"],
            "shipped": -kinds["SHIPMENT"],
            "adjusted": kinds["ADJUSTMENT"],
            "transferredIn": kinds["TRANSFER_IN"],
            "transferredOut": -kinds["TRANSFER_OUT"],
            "net": sum(kinds.values()),
        }))
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


@pytest.mark.parametrize("group_by", ["PRODUCT", "CATEGORY", "WAREHOUSE"])
@pytest.mark.parametrize("bounds", ["none", "both", "from", "to"])
async def test_stock_movements(gql, catalog, stock, group_by, bounds):
    entries = stock.entries
    # Bounds fall on entries' own timestamps: `from` takes its entry in, `to` leaves its entry out.
    start = entries[len(entries) // 3]["created_at"] if bounds in ("both", "from") else None
    end = entries[2 * len(entries) // 3]["created_at"] if bounds in ("both", "to") else None
    expected = _expected_movements(catalog, stock, group_by, start, end)
    assert expected
    variables = {"groupBy": group_by, "from": start and start.isoformat(), "to": end and end.isoformat()}
    assert (await gql(MOVEMENTS, variables))["stockMovements"] == expected


async def test_stock_movements_of_one_warehouse_and_category(gql, catalog, stock):
    expected = _expected_movements(catalog, stock, "CATEGORY", None, None, warehouse_id=1, category_id=1)
    kinds_seen = {k for row in expected for k, v in row.items() if isinstance(v, int) and v}
    assert {"received", "shipped", "transferredIn", "transferredOut"} <= kinds_seen
    variables = {"groupBy": "CATEGORY", "warehouse": global_id("Warehouse", 1), "category": global_id("Category", 1)}
    assert (await gql(MOVEMENTS, variables))["stockMovements"] == expected


async def test_stock_movements_net_is_the_change_in_stock(gql, catalog, stock):
    """Over the whole ledger, each warehouse's net movement is what it holds now."""
    rows = (await gql(MOVEMENTS, {"groupBy": "WAREHOUSE"}))["stockMovements"]
    held = Counter()
    for (_, w), q in stock.levels.items():
        held[stock.warehouses[w]["code"]] += q
    assert {row["warehouse"]["code"]: row["net"] for row in rows} == dict(held)


async def test_report_arguments_are_checked(gql, database):
    body = await gql.post('{ stockMovements(groupBy: PRODUCT, from: "2024-01-01T00:00:00") { net } }')
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "from"}
    body = await gql.post(
        '{ stockMovements(groupBy: PRODUCT, from: "2024-01-02T00:00:00Z", to: "2024-01-01T00:00:00Z") { net } }'
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "to"}
    body = await gql.post('{ lowStock(warehouseId: "garbage") { totalCount } }')
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "warehouseId"}
    body = await gql.post(f'{{ inventoryValuation(categoryId: "{global_id("Product", 1)}") {{ totalValue }} }}')
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "categoryId"}
