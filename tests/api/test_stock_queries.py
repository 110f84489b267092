"""Stock reads over HTTP: statement counts of nested stock queries on lists, warehouses, product stock and
the ledger with its filters, each checked against answers computed here from the inserted rows."""

from decimal import Decimal

import pytest

from tests.factories import Catalog, Stock, build_catalog, build_stock
from tests.utils import GraphQLClient, global_id


@pytest.fixture
async def catalog(database) -> Catalog:  # type: ignore[no-untyped-def]
    return await build_catalog(database, products=150, suppliers=12)


@pytest.fixture
async def stock(database, catalog) -> Stock:  # type: ignore[no-untyped-def]
    return await build_stock(database, catalog, warehouses=5)


def _by_name(catalog: Catalog) -> list[dict]:
    return sorted(catalog.products.values(), key=lambda p: (p["name"], p["id"]))


def _levels_of(stock: Stock, product_id: int) -> list[tuple[str, int]]:
    """(warehouse code, quantity) of a product's levels, in warehouse name order."""
    warehouses = sorted(stock.warehouses.values(), key=lambda w: (w["name"], w["id"]))
    return [(w["code"], stock.levels[(product_id, w["id"])]) for w in warehouses if (product_id, w["id"]) in stock.levels]


def _newest_first(stock: Stock, **conditions) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = sorted(stock.entries, key=lambda e: e["id"], reverse=True)
    return [e for e in rows if all(test(e) for test in conditions.values())]


PRODUCT_STOCK = """
query ($first: Int!) {
  products(first: $first) { edges { node { sku quantityOnHand stock { quantityOnHand warehouse { code } } } } }
}"""

PRODUCT_TRANSACTIONS = """
query ($first: Int!) {
  products(first: $first) { edges { node { sku transactions(first: 5) {
    totalCount pageInfo { hasNextPage }
    edges { node { kind quantity balanceAfter warehouse { code } } } } } } }
}"""

WAREHOUSE_STOCK = """
query ($first: Int!) {
  warehouses(first: $first) { edges { node { code stock(first: 5) {
    totalCount pageInfo { hasNextPage } edges { node { quantityOnHand product { sku } } } } } } }
}"""


async def test_products_with_stock_per_warehouse_take_a_constant_number_of_statements(gql, statements, catalog, stock):
    counts = {}
    for first in (10, 50):
        with statements.count(sign_in=False) as executed:
            data = await gql(PRODUCT_STOCK, {"first": first})
        counts[first] = len(executed)
        expected = _by_name(catalog)[:first]
        assert len(data["products"]["edges"]) == first
        for edge, product in zip(data["products"]["edges"], expected, strict=True):
            node = edge["node"]
            levels = _levels_of(stock, product["id"])
            assert node["sku"] == product["sku"]
            assert [(s["warehouse"]["code"], s["quantityOnHand"]) for s in node["stock"]] == levels
            assert node["quantityOnHand"] == sum(q for _, q in levels)
    # one statement for the root field, whatever the page size
    assert counts[10] == counts[50] == 1, counts


async def test_product_transactions_under_a_list_take_a_constant_number_of_statements(gql, statements, catalog, stock):
    codes = {pk: w["code"] for pk, w in stock.warehouses.items()}
    counts = {}
    for first in (10, 50):
        with statements.count(sign_in=False) as executed:
            data = await gql(PRODUCT_TRANSACTIONS, {"first": first})
        counts[first] = len(executed)
        for edge, product in zip(data["products"]["edges"], _by_name(catalog)[:first], strict=True):
            history = _newest_first(stock, product=lambda e, pk=product["id"]: e["product_id"] == pk)
            page = edge["node"]["transactions"]
            assert page["totalCount"] == len(history)
            assert page["pageInfo"]["hasNextPage"] is (len(history) > 5)
            assert [e["node"] for e in page["edges"]] == [
                {"kind": e["kind"], "quantity": e["quantity"], "balanceAfter": e["balance_after"],
                 "warehouse": {"code": codes[e["warehouse_id"]]}}
                for e in history[:5]
            ]
    assert any(len(_newest_first(stock, p=lambda e, pk=pk: e["product_id"] == pk)) > 5 for pk in catalog.products)
    # every product's page of entries and its count are subqueries of the products' statement
    assert counts[10] == counts[50] == 1, counts


async def test_warehouse_stock_under_a_list_takes_a_constant_number_of_statements(gql, statements, catalog, stock):
    by_name = sorted(stock.warehouses.values(), key=lambda w: (w["name"], w["id"]))
    counts = {}
    for first in (2, 5):
        with statements.count(sign_in=False) as executed:
            data = await gql(WAREHOUSE_STOCK, {"first": first})
        counts[first] = len(executed)
        edges = data["warehouses"]["edges"]
        assert [e["node"]["code"] for e in edges] == [w["code"] for w in by_name[:first]]
        for edge, warehouse in zip(edges, by_name, strict=False):
            held = sorted((p, q) for (p, w), q in stock.levels.items() if w == warehouse["id"])
            page = edge["node"]["stock"]
            assert page["totalCount"] == len(held)
            assert page["pageInfo"]["hasNextPage"] is (len(held) > 5)
            assert [(e["node"]["product"]["sku"], e["node"]["quantityOnHand"]) for e in page["edges"]] == [
                (catalog.products[p]["sku"], q) for p, q in held[:5]
            ]
    # every warehouse's page of levels and its count are subqueries of the warehouses' statement
    assert counts[2] == counts[5] == 1, counts


async def test_warehouse_stock_pages_follow_cursors(gql, catalog, stock):
    warehouse = stock.warehouses[1]
    held = sorted((p, q) for (p, w), q in stock.levels.items() if w == 1)
    query = """query ($id: ID!, $after: String) { warehouse(id: $id) { stock(first: 9, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { quantityOnHand product { id } } } } } }"""
    seen: list[tuple[str, int]] = []
    cursor = None
    while True:
        page = (await gql(query, {"id": global_id("Warehouse", 1), "after": cursor}))["warehouse"]["stock"]
        seen += [(e["node"]["product"]["id"], e["node"]["quantityOnHand"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert warehouse["code"] == "WH01"
    assert seen == [(global_id("Product", p), q) for p, q in held]


async def test_warehouse_lookups_and_list(gql, stock):
    data = await gql(
        'query ($id: ID!) { byId: warehouse(id: $id) { code name isActive } '
        'byCode: warehouse(code: " wh02 ") { id } missing: warehouse(code: "NOPE") { id } }',
        {"id": global_id("Warehouse", 3)},
    )
    assert data["byId"] == {"code": "WH03", "name": stock.warehouses[3]["name"], "isActive": True}
    assert data["byCode"] == {"id": global_id("Warehouse", 2)}
    assert data["missing"] is None

    listing = await gql("{ warehouses { totalCount edges { node { code } } } }")
    by_name = sorted(stock.warehouses.values(), key=lambda w: (w["name"], w["id"]))
    assert listing["warehouses"]["totalCount"] == 5
    assert [e["node"]["code"] for e in listing["warehouses"]["edges"]] == [w["code"] for w in by_name]

    active = await gql("{ warehouses(filter: {isActive: false}) { edges { node { code } } } }")
    assert [e["node"]["code"] for e in active["warehouses"]["edges"]] == ["WH05"]
    searched = await gql('{ warehouses(filter: {search: "05"}) { edges { node { code } } } }')
    assert [e["node"]["code"] for e in searched["warehouses"]["edges"]] == ["WH05"]
    by_name_search = await gql('{ warehouses(filter: {search: "HOUSE E"}) { edges { node { code } } } }')
    assert [e["node"]["code"] for e in by_name_search["warehouses"]["edges"]] == ["WH01"]

    body = await gql.post('{ warehouse(id: "V2FyZWhvdXNlOjE=", code: "WH01") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_nodes_resolve_warehouses_and_ledger_entries(gql, stock):
    entry = stock.entries[10]
    ids = [global_id("Warehouse", 2), global_id("InventoryTransaction", entry["id"])]
    query = """query ($ids: [ID!]!) { nodes(ids: $ids) { __typename
      ... on Warehouse { code } ... on InventoryTransaction { kind quantity balanceAfter product { id } } } }"""
    nodes = (await gql(query, {"ids": ids}))["nodes"]
    assert nodes == [
        {"__typename": "Warehouse", "code": "WH02"},
        {"__typename": "InventoryTransaction", "kind": entry["kind"], "quantity": entry["quantity"],
         "balanceAfter": entry["balance_after"], "product": {"id": global_id("Product", entry["product_id"])}},
    ]


async def test_product_average_cost(gql, catalog, stock):
    data = await gql('query ($id: ID!) { product(id: $id) { averageCost } }', {"id": global_id("Product", 7)})
    assert Decimal(data["product"]["averageCost"]) == catalog.products[7]["average_cost"]


LEDGER = """query ($filter: TransactionFilter, $after: String, $before: String, $first: Int, $last: Int) {
  transactions(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id } } } }"""


async def _walk_ledger(gql: GraphQLClient, filter: dict | None, backward: bool = False) -> tuple[list[str], int]:
    ids: list[str] = []
    cursor = None
    while True:
        variables = {"filter": filter, "last" if backward else "first": 37, "before" if backward else "after": cursor}
        data = (await gql(LEDGER, variables))["transactions"]
        page = [e["node"]["id"] for e in data["edges"]]
        ids = page + ids if backward else ids + page
        info = data["pageInfo"]
        if not (info["hasPreviousPage"] if backward else info["hasNextPage"]):
            return ids, data["totalCount"]
        cursor = info["startCursor"] if backward else info["endCursor"]


def _ledger_cases(stock: Stock) -> list[tuple[dict, dict]]:
    """(GraphQL filter, conditions on an entry) pairs; the bounds are timestamps of actual entries."""
    entries = stock.entries
    start, end = entries[len(entries) // 4]["created_at"], entries[len(entries) // 2]["created_at"]
    shipped_product = next(e["product_id"] for e in entries if e["kind"] == "SHIPMENT")
    return [
        ({}, {}),
        ({"productId": global_id("Product", shipped_product)}, {"p": lambda e: e["product_id"] == shipped_product}),
        ({"warehouseId": global_id("Warehouse", 2)}, {"w": lambda e: e["warehouse_id"] == 2}),
        ({"kinds": ["SHIPMENT", "RETURN"]}, {"k": lambda e: e["kind"] in ("SHIPMENT", "RETURN")}),
        ({"from": start.isoformat(), "to": end.isoformat()}, {"t": lambda e: start <= e["created_at"] < end}),
        ({"from": start.isoformat()}, {"t": lambda e: start <= e["created_at"]}),
        ({"reference": "REF-07"}, {"r": lambda e: e["reference"] == "REF-07"}),
        (
            {"warehouseId": global_id("Warehouse", 1), "kinds": ["TRANSFER_OUT"], "to": end.isoformat()},
            {"w": lambda e: e["warehouse_id"] == 1, "k": lambda e: e["kind"] == "TRANSFER_OUT",
             "t": lambda e: e["created_at"] < end},
        ),
    ]


async def test_ledger_filters_and_pages_match_the_inserted_entries(gql, stock):
    for graphql_filter, conditions in _ledger_cases(stock):
        expected = [global_id("InventoryTransaction", e["id"]) for e in _newest_first(stock, **conditions)]
        assert expected, graphql_filter
        assert await _walk_ledger(gql, graphql_filter) == (expected, len(expected)), graphql_filter
    everything = [global_id("InventoryTransaction", e["id"]) for e in _newest_first(stock)]
    assert await _walk_ledger(gql, None, backward=True) == (everything, len(everything))


async def test_product_transactions_filter_and_pages(gql, catalog, stock):
    product_id = max(catalog.products, key=lambda pk: sum(e["product_id"] == pk for e in stock.entries))
    warehouse_id = next(e["warehouse_id"] for e in stock.entries if e["product_id"] == product_id)
    expected = _newest_first(
        stock,
        p=lambda e: e["product_id"] == product_id,
        w=lambda e: e["warehouse_id"] == warehouse_id,
        k=lambda e: e["kind"] != "ADJUSTMENT",
    )
    assert len(expected) > 3
    query = """query ($id: ID!, $filter: ProductTransactionFilter, $after: String) { product(id: $id) {
        transactions(first: 3, after: $after, filter: $filter) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { id balanceAfter } } } } }"""
    kinds = ["RECEIPT", "SHIPMENT", "TRANSFER_IN", "TRANSFER_OUT", "RETURN"]
    variables = {"id": global_id("Product", product_id),
                 "filter": {"warehouseId": global_id("Warehouse", warehouse_id), "kinds": kinds}}
    seen: list[tuple[str, int]] = []
    while True:
        page = (await gql(query, variables))["product"]["transactions"]
        assert page["totalCount"] == len(expected)
        seen += [(e["node"]["id"], e["node"]["balanceAfter"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["pageInfo"]["endCursor"]
    assert seen == [(global_id("InventoryTransaction", e["id"]), e["balance_after"]) for e in expected]


@pytest.mark.parametrize(
    ("filter", "field"),
    [
        ({"from": "2024-05-01T00:00:00"}, "filter.from"),
        ({"from": "2024-05-02T00:00:00Z", "to": "2024-05-01T00:00:00Z"}, "filter.to"),
        ({"warehouseId": global_id("Product", 1)}, "filter.warehouseId"),
        ({"productId": "garbage"}, "filter.productId"),
    ],
)
async def test_bad_ledger_filters_are_refused(gql, database, filter, field):
    body = await gql.post(LEDGER, {"filter": filter})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["field"] == field


async def test_balances_add_up_along_the_ledger(gql, catalog, stock):
    """Each entry's balance is the previous one's plus its quantity, per product and warehouse."""
    query = """query ($after: String) { transactions(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { quantity balanceAfter createdAt product { id } warehouse { id } } } } }"""
    rows, cursor = [], None
    while True:
        page = (await gql(query, {"after": cursor}))["transactions"]
        rows += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    balances: dict[tuple[str, str], int] = {}
    for row in reversed(rows):
        key = (row["product"]["id"], row["warehouse"]["id"])
        balances[key] = balances.get(key, 0) + row["quantity"]
        assert row["balanceAfter"] == balances[key]
    assert balances == {
        (global_id("Product", p), global_id("Warehouse", w)): q for (p, w), q in stock.levels.items()
    }
    assert rows[-1]["createdAt"] < rows[0]["createdAt"]
