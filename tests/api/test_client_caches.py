"""Stock levels and purchase order lines as Relay nodes, so that client caches (Apollo, Relay) keep them by
ID: the same ID in every list and payload that holds them, `node`/`nodes` fetching them by it (to viewers,
not to anonymous clients), and stock mutations' payloads carrying the levels they changed with their IDs.
tests/clients/test_apollo_cache.py drives Apollo Client itself."""

import base64
from typing import Any

import pytest

from db.engine import Database
from db.models import Role, Supplier
from tests.api.stock_helpers import RECEIVE, make_product, make_warehouse, move
from tests.utils import GraphQLClient, global_id

SHIP = """mutation($input: ShipStockInput!) {
  shipStock(input: $input) { stockLevels { id quantityOnHand } replayed errors { code } } }"""
LEVELS = """query($product: ID!, $warehouse: ID!) {
  product(id: $product) { stock { id quantityOnHand warehouse { id } } }
  warehouse(id: $warehouse) { stock { edges { node { id quantityOnHand product { id } } } } } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on StockLevel { quantityOnHand product { id } warehouse { id } }
  ... on PurchaseOrderLine { quantityOrdered quantityReceived quantityOutstanding product { id } } } }"""
NODES = """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
  ... on StockLevel { quantityOnHand } ... on PurchaseOrderLine { quantityReceived } } }"""


def level_id(product_id: int, warehouse_id: int) -> str:
    return global_id("StockLevel", f"{product_id}:{warehouse_id}")  # type: ignore[arg-type]


@pytest.fixture
async def places(database: Database) -> dict[str, Any]:
    """Two products and two warehouses: (pk, global ID) of each."""
    return {
        "p1": await make_product(database, "CACHE-1"),
        "p2": await make_product(database, "CACHE-2"),
        "w1": await make_warehouse(database, "C1"),
        "w2": await make_warehouse(database, "C2"),
    }


async def _receive(gql: GraphQLClient, places: dict[str, Any], product: str, warehouse: str, quantity: int) -> dict:
    return await move(
        gql, RECEIVE, productId=places[product][1], warehouseId=places[warehouse][1], quantity=quantity,
        unitCost="1.00",
    )


async def test_a_stock_level_has_one_id_in_lists_payloads_and_node(gql: GraphQLClient, places: dict[str, Any]) -> None:
    (p1, p1_id), (p2, _), (w1, w1_id), (w2, _) = places["p1"], places["p2"], places["w1"], places["w2"]
    received = await _receive(gql, places, "p1", "w1", 10)
    await _receive(gql, places, "p1", "w2", 4)
    await _receive(gql, places, "p2", "w1", 7)
    assert [level["quantityOnHand"] for level in received["stockLevels"]] == [10]

    data = await gql(LEVELS, {"product": p1_id, "warehouse": w1_id})
    assert data["product"]["stock"] == [
        {"id": level_id(p1, w1), "quantityOnHand": 10, "warehouse": {"id": w1_id}},
        {"id": level_id(p1, w2), "quantityOnHand": 4, "warehouse": {"id": places["w2"][1]}},
    ]
    assert [edge["node"]["id"] for edge in data["warehouse"]["stock"]["edges"]] == [level_id(p1, w1), level_id(p2, w1)]

    shipped = (await gql(SHIP, {"input": {"productId": p1_id, "warehouseId": w1_id, "quantity": 3}}))["shipStock"]
    assert shipped["stockLevels"] == [{"id": level_id(p1, w1), "quantityOnHand": 7}]

    node = (await gql(NODE, {"id": level_id(p1, w1)}))["node"]
    assert node == {
        "__typename": "StockLevel", "id": level_id(p1, w1), "quantityOnHand": 7,
        "product": {"id": p1_id}, "warehouse": {"id": w1_id},
    }


async def test_a_replayed_movement_returns_the_levels_with_their_ids(gql: GraphQLClient, places: dict[str, Any]) -> None:
    (p1, p1_id), (w1, w1_id) = places["p1"], places["w1"]
    await _receive(gql, places, "p1", "w1", 5)
    ship = {"productId": p1_id, "warehouseId": w1_id, "quantity": 2, "idempotencyKey": "cache-1"}
    first = (await gql(SHIP, {"input": ship}))["shipStock"]
    again = (await gql(SHIP, {"input": ship}))["shipStock"]
    assert first["stockLevels"] == again["stockLevels"] == [{"id": level_id(p1, w1), "quantityOnHand": 3}]
    assert again["replayed"] is True


async def test_nodes_finds_levels_by_their_pair_and_nothing_else(gql: GraphQLClient, places: dict[str, Any]) -> None:
    (p1, _), (p2, _), (w1, _), (w2, _) = places["p1"], places["p2"], places["w1"], places["w2"]
    await _receive(gql, places, "p1", "w1", 10)
    await _receive(gql, places, "p2", "w2", 6)
    ids = [
        level_id(p2, w2),
        level_id(p1, w2),  # both exist, but not as a pair: no level
        level_id(p1, w1),
        global_id("StockLevel", p1),  # a key of one number is no stock level's
        global_id("StockLevel", f"{p1}:{w1}:1"),  # type: ignore[arg-type]
        level_id(p1, 0),
        global_id("Product", f"{p1}:{w1}"),  # type: ignore[arg-type]
    ]
    nodes = (await gql(NODES, {"ids": ids}))["nodes"]
    assert nodes == [
        {"__typename": "StockLevel", "id": level_id(p2, w2), "quantityOnHand": 6},
        None,
        {"__typename": "StockLevel", "id": level_id(p1, w1), "quantityOnHand": 10},
        None, None, None, None,
    ]
    assert (await gql(NODE, {"id": level_id(p1, w2)}))["node"] is None


async def _order(gql: GraphQLClient, database: Database, places: dict[str, Any]) -> dict[str, Any]:
    """An ORDERED purchase order of 5 × CACHE-1 and 8 × CACHE-2."""
    async with database.write_session() as session, session.begin():
        supplier = Supplier(name="Cache supplier")
        session.add(supplier)
    lines = [
        {"productId": places["p1"][1], "quantity": 5, "unitCost": "2.00"},
        {"productId": places["p2"][1], "quantity": 8, "unitCost": "3.00"},
    ]
    created = await gql(
        """mutation($input: CreatePurchaseOrderInput!) { createPurchaseOrder(input: $input) {
          purchaseOrder { id lines { id } } errors { code } } }""",
        {"input": {"supplierId": global_id("Supplier", supplier.id), "lines": lines}},
    )
    order = created["createPurchaseOrder"]["purchaseOrder"]
    submitted = await gql("mutation($id: ID!) { submitPurchaseOrder(id: $id) { errors { code } } }", {"id": order["id"]})
    assert submitted["submitPurchaseOrder"]["errors"] == []
    return order


async def test_purchase_order_lines_are_nodes_and_receipts_return_them_by_id(
    gql: GraphQLClient, database: Database, places: dict[str, Any]
) -> None:
    order = await _order(gql, database, places)
    line_ids = [line["id"] for line in order["lines"]]
    assert [base64.b64decode(i).decode().split(":")[0] for i in line_ids] == ["PurchaseOrderLine"] * 2

    received = await gql(
        """mutation($input: ReceivePurchaseOrderInput!) { receivePurchaseOrder(input: $input) {
          purchaseOrder { lines { id quantityReceived } } stockLevels { id quantityOnHand } errors { code } } }""",
        {"input": {"id": order["id"], "warehouseId": places["w2"][1],
                   "lines": [{"productId": places["p2"][1], "quantity": 3}]}},
    )
    payload = received["receivePurchaseOrder"]
    assert payload["errors"] == []
    assert payload["purchaseOrder"]["lines"] == [
        {"id": line_ids[0], "quantityReceived": 0}, {"id": line_ids[1], "quantityReceived": 3}
    ]
    assert payload["stockLevels"] == [{"id": level_id(places["p2"][0], places["w2"][0]), "quantityOnHand": 3}]

    node = (await gql(NODE, {"id": line_ids[1]}))["node"]
    assert node == {
        "__typename": "PurchaseOrderLine", "id": line_ids[1], "quantityOrdered": 8, "quantityReceived": 3,
        "quantityOutstanding": 5, "product": {"id": places["p2"][1]},
    }
    nodes = (await gql(NODES, {"ids": [line_ids[1], global_id("PurchaseOrderLine", 999_999), line_ids[0]]}))["nodes"]
    assert nodes == [
        {"__typename": "PurchaseOrderLine", "id": line_ids[1], "quantityReceived": 3},
        None,
        {"__typename": "PurchaseOrderLine", "id": line_ids[0], "quantityReceived": 0},
    ]


async def test_levels_and_lines_by_id_need_the_role_their_lists_need(
    gql: GraphQLClient, gql_as: Any, anonymous_gql: GraphQLClient, database: Database, places: dict[str, Any]
) -> None:
    await _receive(gql, places, "p1", "w1", 2)
    order = await _order(gql, database, places)
    ids = [level_id(places["p1"][0], places["w1"][0]), order["lines"][0]["id"]]
    viewer = await gql_as(Role.VIEWER)
    found = (await viewer(NODES, {"ids": ids}))["nodes"]
    assert [node["id"] for node in found] == ids
    assert (await viewer(NODE, {"id": ids[0]}))["node"]["quantityOnHand"] == 2
    for field, query, variables in (("node", NODE, {"id": ids[0]}), ("node", NODE, {"id": ids[1]}),
                                    ("nodes", NODES, {"ids": ids})):
        body = await anonymous_gql.post(query, variables)
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("UNAUTHENTICATED", [field])]
        assert body["data"] is None or body["data"][field] is None
        assert "quantity" not in str(body["data"])
