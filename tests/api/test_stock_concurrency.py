"""Concurrent stock requests over separate HTTP connections: stock never goes below zero, exactly as many
shipments succeed as the stock allows, and the levels still match the ledger afterwards."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from db import stock
from db.engine import Database
from graph.cli import app
from tests.api.stock_helpers import RECEIVE, SHIP, TRANSFER, ledger_sum, level, make_product, make_warehouse, move
from tests.utils import GraphQLClient

CONNECTIONS = 60


@pytest.fixture
async def wide(server: str, gql: GraphQLClient) -> AsyncIterator[GraphQLClient]:
    """A client whose requests each get a connection of their own, signed in as `gql` is."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=server, timeout=60, limits=limits) as client:
        yield GraphQLClient(client, gql.token)


async def fire(client: GraphQLClient, mutation: str, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send every input at once; the payloads, in input order."""
    results = await asyncio.gather(*(client(mutation, {"input": input}) for input in inputs))
    return [next(iter(data.values())) for data in results]


async def assert_audit_passes(database: Database, database_url: str) -> None:
    async with database.read_session() as session:
        assert await stock.audit(session) == []
    # The CLI runs its own event loop, so it gets a thread of its own.
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["audit"], env={"INVENTORY_DATABASE_URL": database_url}
    )
    assert (result.exit_code, result.output.strip()) == (0, "stock levels match the ledger"), result.output


async def test_concurrent_shipments_never_oversell(
    gql: GraphQLClient, wide: GraphQLClient, database: Database, database_url: str
) -> None:
    product, product_id = await make_product(database, "LAST-UNITS")
    warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await move(gql, RECEIVE, productId=product_id, warehouseId=warehouse_id, quantity=20)

    inputs = [{"productId": product_id, "warehouseId": warehouse_id, "quantity": 1} for _ in range(CONNECTIONS)]
    payloads = await fire(wide, SHIP, inputs)

    shipped = [p for p in payloads if not p["errors"]]
    refused = [p for p in payloads if p["errors"]]
    assert len(shipped) == 20
    assert len(refused) == CONNECTIONS - 20
    for payload in refused:
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == ("INSUFFICIENT_STOCK", "quantity")
        assert "Only 0 units of LAST-UNITS are available in MAIN" in error["message"]
        assert payload["transactions"] == []
    # Every successful shipment saw a distinct balance: 19, 18, ... 0.
    assert sorted(p["transactions"][0]["balanceAfter"] for p in shipped) == list(range(20))
    assert await level(database, product, warehouse) == 0
    assert await ledger_sum(database, product, warehouse) == 0
    await assert_audit_passes(database, database_url)


async def test_concurrent_shipments_of_mixed_quantities(
    gql: GraphQLClient, wide: GraphQLClient, database: Database, database_url: str
) -> None:
    product, product_id = await make_product(database, "MIXED")
    warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await move(gql, RECEIVE, productId=product_id, warehouseId=warehouse_id, quantity=50)

    quantities = [1 + i % 4 for i in range(CONNECTIONS)]  # 150 units asked for, 50 on hand
    inputs = [{"productId": product_id, "warehouseId": warehouse_id, "quantity": q} for q in quantities]
    payloads = await fire(wide, SHIP, inputs)

    final = await level(database, product, warehouse)
    shipped = sum(q for q, p in zip(quantities, payloads, strict=True) if not p["errors"])
    assert final is not None and final >= 0
    assert shipped + final == 50
    for quantity, payload in zip(quantities, payloads, strict=True):
        if payload["errors"]:
            assert [e["code"] for e in payload["errors"]] == ["INSUFFICIENT_STOCK"]
            # Levels only fell, so whatever it saw, the request wanted more than is left now.
            assert quantity > final
        else:
            [entry] = payload["transactions"]
            assert entry["quantity"] == -quantity and entry["balanceAfter"] >= 0
    # Any request still refused asked for more than the remainder, and the remainder is less than 4.
    assert final < 4
    assert await ledger_sum(database, product, warehouse) == final
    await assert_audit_passes(database, database_url)


async def test_concurrent_opposite_transfers_and_shipments(
    gql: GraphQLClient, wide: GraphQLClient, database: Database, database_url: str
) -> None:
    product, product_id = await make_product(database, "SHUTTLE")
    east, east_id = await make_warehouse(database, "EAST")
    west, west_id = await make_warehouse(database, "WEST")
    await move(gql, RECEIVE, productId=product_id, warehouseId=east_id, quantity=15)
    await move(gql, RECEIVE, productId=product_id, warehouseId=west_id, quantity=15)

    def transfer(source: str, target: str) -> dict[str, Any]:
        return {"productId": product_id, "fromWarehouseId": source, "toWarehouseId": target, "quantity": 2}

    transfers = [transfer(east_id, west_id) if i % 2 else transfer(west_id, east_id) for i in range(40)]
    shipments = [{"productId": product_id, "warehouseId": east_id if i % 2 else west_id, "quantity": 1}
                 for i in range(20)]
    moved, shipped = await asyncio.gather(fire(wide, TRANSFER, transfers), fire(wide, SHIP, shipments))

    for payload in [*moved, *shipped]:
        assert [e["code"] for e in payload["errors"]] in ([], ["INSUFFICIENT_STOCK"])
    units_shipped = sum(1 for p in shipped if not p["errors"])
    levels = [await level(database, product, east), await level(database, product, west)]
    assert min(levels) >= 0
    assert sum(levels) == 30 - units_shipped
    assert await ledger_sum(database, product, east) == levels[0]
    assert await ledger_sum(database, product, west) == levels[1]
    await assert_audit_passes(database, database_url)


async def test_concurrent_receipts_and_shipments_of_one_product(
    gql: GraphQLClient, wide: GraphQLClient, database: Database, database_url: str
) -> None:
    """A receipt locks the product (average cost) while shipments hold its level and insert ledger rows
    that reference the product: neither may deadlock the other."""
    product, product_id = await make_product(database, "BUSY")
    warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await move(gql, RECEIVE, productId=product_id, warehouseId=warehouse_id, quantity=30)

    receipts = [{"productId": product_id, "warehouseId": warehouse_id, "quantity": 2, "unitCost": "1.00"}] * 25
    shipments = [{"productId": product_id, "warehouseId": warehouse_id, "quantity": 1}] * 25
    received, shipped = await asyncio.gather(fire(wide, RECEIVE, receipts), fire(wide, SHIP, shipments))

    assert [p["errors"] for p in [*received, *shipped]] == [[]] * 50
    assert await level(database, product, warehouse) == 30 + 50 - 25
    assert await ledger_sum(database, product, warehouse) == 55
    await assert_audit_passes(database, database_url)
