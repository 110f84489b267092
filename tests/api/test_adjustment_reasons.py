"""Adjustment reasons over HTTP: `adjustStock` records why a count differed on its ADJUSTMENT entry
(CORRECTION when not given), the ledger shows and filters by it, and `stockMovements` splits `adjusted` by
reason, with adjustments recorded before reasons existed (reason null) counted apart."""

from typing import Any

import pytest
from sqlalchemy import insert, text

from db.engine import Database
from db.models import InventoryTransaction, TransactionKind
from db.types import utcnow
from tests.api.stock_helpers import ADJUST, RECEIVE, make_product, make_warehouse, move
from tests.utils import GraphQLClient

ADJUST_WITH_REASON = """mutation($input: AdjustStockInput!) {
  adjustStock(input: $input) { transactions { id kind quantity reason } replayed errors { code field } } }"""
LEDGER = """query($filter: TransactionFilter) { transactions(filter: $filter) {
  totalCount nodes { quantity kind reason } } }"""
PRODUCT_LEDGER = """query($id: ID!, $filter: ProductTransactionFilter) { product(id: $id) {
  transactions(filter: $filter) { totalCount nodes { quantity reason } } } }"""
MOVEMENTS = """query($groupBy: MovementGroupBy!) { stockMovements(groupBy: $groupBy) {
  product { sku } warehouse { code } adjusted
  adjustedByReason { cycleCount damaged lost found expired correction notRecorded } } }"""


@pytest.fixture
async def counted(gql: GraphQLClient, database: Database) -> dict[str, Any]:
    """Two products in one warehouse, 100 units each received, then counts with several reasons."""
    product, product_id = await make_product(database, "REASON-1")
    other, other_id = await make_product(database, "REASON-2")
    warehouse, warehouse_id = await make_warehouse(database, "R1")
    for pid in (product_id, other_id):
        await move(gql, RECEIVE, productId=pid, warehouseId=warehouse_id, quantity=100, unitCost="1.00")

    async def count(pid: str, quantity: int, reason: str | None = None) -> dict[str, Any]:
        input = {"productId": pid, "warehouseId": warehouse_id, "countedQuantity": quantity}
        if reason is not None:
            input["reason"] = reason
        payload = (await gql(ADJUST_WITH_REASON, {"input": input}))["adjustStock"]
        assert payload["errors"] == [], payload
        return payload

    await count(product_id, 97, "DAMAGED")  # -3
    await count(product_id, 92, "LOST")  # -5
    await count(product_id, 94, "FOUND")  # +2
    await count(product_id, 90)  # -4, no reason given: CORRECTION
    await count(other_id, 99, "EXPIRED")  # -1
    await count(other_id, 109, "CYCLE_COUNT")  # +10
    return {
        "product": (product, product_id), "other": (other, other_id), "warehouse": (warehouse, warehouse_id),
        "count": count,
    }


async def test_the_reason_is_stored_on_the_entry_and_defaults_to_correction(
    gql: GraphQLClient, database: Database, counted: dict[str, Any]
) -> None:
    payload = await counted["count"](counted["product"][1], 91, "CYCLE_COUNT")
    assert [(t["kind"], t["quantity"], t["reason"]) for t in payload["transactions"]] == [
        ("ADJUSTMENT", 1, "CYCLE_COUNT")
    ]
    async with database.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT kind, quantity, reason FROM inventory_transactions WHERE product_id = :p ORDER BY id"),
                {"p": counted["product"][0]},
            )
        ).all()
    assert [tuple(row) for row in stored] == [
        ("RECEIPT", 100, None),
        ("ADJUSTMENT", -3, "DAMAGED"),
        ("ADJUSTMENT", -5, "LOST"),
        ("ADJUSTMENT", 2, "FOUND"),
        ("ADJUSTMENT", -4, "CORRECTION"),
        ("ADJUSTMENT", 1, "CYCLE_COUNT"),
    ]
    # The helpers' document, which names no reason, still works: the field is additive for clients.
    done = await move(gql, ADJUST, productId=counted["product"][1], warehouseId=counted["warehouse"][1],
                      countedQuantity=90)
    assert [t["quantity"] for t in done["transactions"]] == [-1]


async def test_a_retry_with_another_reason_is_another_request(gql: GraphQLClient, counted: dict[str, Any]) -> None:
    input = {"productId": counted["product"][1], "warehouseId": counted["warehouse"][1], "countedQuantity": 80,
             "reason": "DAMAGED", "idempotencyKey": "count-1"}
    first = (await gql(ADJUST_WITH_REASON, {"input": input}))["adjustStock"]
    again = (await gql(ADJUST_WITH_REASON, {"input": input}))["adjustStock"]
    assert again["replayed"] and again["transactions"] == first["transactions"]
    assert first["transactions"][0]["reason"] == "DAMAGED"
    other = (await gql(ADJUST_WITH_REASON, {"input": {**input, "reason": "LOST"}}))["adjustStock"]
    assert [e["code"] for e in other["errors"]] == ["IDEMPOTENCY_CONFLICT"]


async def test_an_unknown_reason_is_refused_before_anything_runs(gql: GraphQLClient, counted: dict[str, Any]) -> None:
    input = {"productId": counted["product"][1], "warehouseId": counted["warehouse"][1], "countedQuantity": 1,
             "reason": "STOLEN"}
    body = await gql.post(ADJUST_WITH_REASON, {"input": input})
    assert body.get("data") is None and "STOLEN" in body["errors"][0]["message"]


async def test_the_ledger_filters_by_reason(gql: GraphQLClient, counted: dict[str, Any]) -> None:
    data = (await gql(LEDGER, {"filter": {"reasons": ["LOST", "DAMAGED"]}}))["transactions"]
    assert data["totalCount"] == 2
    assert [(n["quantity"], n["reason"]) for n in data["nodes"]] == [(-5, "LOST"), (-3, "DAMAGED")]

    data = (await gql(LEDGER, {"filter": {"reasons": ["CORRECTION"], "kinds": ["ADJUSTMENT"]}}))["transactions"]
    assert [(n["quantity"], n["reason"]) for n in data["nodes"]] == [(-4, "CORRECTION")]
    # Other kinds have no reason: a reason filter never matches them.
    data = (await gql(LEDGER, {"filter": {"reasons": ["FOUND"], "kinds": ["RECEIPT"]}}))["transactions"]
    assert data == {"totalCount": 0, "nodes": []}
    # Empty or absent: no condition.
    assert (await gql(LEDGER, {"filter": {"reasons": []}}))["transactions"]["totalCount"] == 8
    data = (await gql(LEDGER, {"filter": {"kinds": ["RECEIPT"]}}))["transactions"]
    assert [n["reason"] for n in data["nodes"]] == [None, None]

    product = await gql(PRODUCT_LEDGER, {"id": counted["other"][1], "filter": {"reasons": ["EXPIRED", "FOUND"]}})
    assert product["product"]["transactions"] == {"totalCount": 1, "nodes": [{"quantity": -1, "reason": "EXPIRED"}]}


async def test_stock_movements_split_adjustments_by_reason(
    gql: GraphQLClient, database: Database, counted: dict[str, Any]
) -> None:
    # An adjustment recorded before reasons were: written as migration 0010 leaves old entries (reason null).
    async with database.engine.begin() as conn:
        await conn.execute(
            insert(InventoryTransaction).values(
                product_id=counted["other"][0], warehouse_id=counted["warehouse"][0], kind=TransactionKind.ADJUSTMENT,
                quantity=-2, balance_after=107, created_at=utcnow(),
            )
        )
        await conn.execute(
            text("UPDATE stock_levels SET quantity = 107 WHERE product_id = :p AND warehouse_id = :w"),
            {"p": counted["other"][0], "w": counted["warehouse"][0]},
        )
    rows = (await gql(MOVEMENTS, {"groupBy": "PRODUCT"}))["stockMovements"]
    zero = dict.fromkeys(("cycleCount", "damaged", "lost", "found", "expired", "correction", "notRecorded"), 0)
    assert rows == [
        {"product": {"sku": "REASON-1"}, "warehouse": None, "adjusted": -10,
         "adjustedByReason": {**zero, "damaged": -3, "lost": -5, "found": 2, "correction": -4}},
        {"product": {"sku": "REASON-2"}, "warehouse": None, "adjusted": 7,
         "adjustedByReason": {**zero, "expired": -1, "cycleCount": 10, "notRecorded": -2}},
    ]
    (warehouse,) = (await gql(MOVEMENTS, {"groupBy": "WAREHOUSE"}))["stockMovements"]
    assert warehouse["adjusted"] == -3 == sum(warehouse["adjustedByReason"].values())
    assert warehouse["adjustedByReason"] == {
        "cycleCount": 10, "damaged": -3, "lost": -5, "found": 2, "expired": -1, "correction": -4, "notRecorded": -2
    }
