"""Selling over HTTP: sales orders confirmed, shipped in parts, returned and cancelled; free-standing holds
and their expiry; and the reserve rules under concurrency (separate connections), on both databases, with the
audit of reservations and shipments against the ledger. Refused mutations leave every table as it was."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from db import selling, stock
from db.engine import Database
from db.models import Customer
from db.types import utcnow
from graph.cli import app
from tests.api.stock_helpers import RECEIVE, SHIP, make_product, make_warehouse, move
from tests.utils import GraphQLClient, global_id

CONNECTIONS = 60
TABLES = (
    "stock_levels", "inventory_transactions", "idempotency_keys", "reservations", "sales_orders",
    "sales_order_lines", "sales_returns", "customers",
)
ERRORS = "errors { field message code }"
LINE = "id quantityOrdered quantityShipped quantityReturned unitPrice lineTotal reservations { quantity isActive }"
ORDER = f"id number status total lines {{ {LINE} }}"

CREATE = f"""mutation($input: CreateSalesOrderInput!) {{
  createSalesOrder(input: $input) {{ salesOrder {{ {ORDER} }} {ERRORS} }} }}"""
CONFIRM = f"mutation($id: ID!) {{ confirmSalesOrder(id: $id) {{ salesOrder {{ {ORDER} }} {ERRORS} }} }}"
CANCEL = f"mutation($id: ID!) {{ cancelSalesOrder(id: $id) {{ salesOrder {{ {ORDER} }} {ERRORS} }} }}"
SHIP_ORDER = f"""mutation($input: ShipSalesOrderInput!) {{
  shipSalesOrder(input: $input) {{
    salesOrder {{ {ORDER} }} transactions {{ id kind quantity balanceAfter reference }} replayed {ERRORS} }} }}"""
RETURN_LINE = f"""mutation($input: ReturnSalesOrderLineInput!) {{
  returnSalesOrderLine(input: $input) {{
    line {{ {LINE} }} salesReturn {{ quantity disposition }} transaction {{ id kind quantity balanceAfter }}
    replayed {ERRORS} }} }}"""
RESERVE = f"""mutation($input: ReserveStockInput!) {{
  reserveStock(input: $input) {{ reservation {{ id quantity isActive expiresAt }} replayed {ERRORS} }} }}"""
RELEASE = f"mutation($id: ID!) {{ releaseReservation(id: $id) {{ reservation {{ id isActive }} {ERRORS} }} }}"
LEVEL = """query($id: ID!) { product(id: $id) { quantityOnHand quantityReserved quantityAvailable
  stock { quantityOnHand quantityReserved quantityAvailable warehouse { code } } } }"""


@pytest.fixture
async def wide(server: str, gql: GraphQLClient) -> AsyncIterator[GraphQLClient]:
    """A client whose requests each get a connection of their own, signed in as `gql` is."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=server, timeout=120, limits=limits) as client:
        yield GraphQLClient(client, gql.token)


async def make_customer(database: Database, name: str = "Acme") -> str:
    async with database.write_session() as session, session.begin():
        row = Customer(name=name)
        session.add(row)
    return global_id("Customer", row.id)


async def payload(gql: GraphQLClient, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    (result,) = (await gql(document, variables)).values()
    return result


async def ok(gql: GraphQLClient, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    result = await payload(gql, document, variables)
    assert result["errors"] == [], result["errors"]
    return result


async def draft(gql: GraphQLClient, customer: str, lines: list[tuple[str, str, int]]) -> dict[str, Any]:
    lines_input = [{"productId": p, "warehouseId": w, "quantity": q} for p, w, q in lines]
    result = await ok(gql, CREATE, {"input": {"customerId": customer, "lines": lines_input}})
    return result["salesOrder"]


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the selling and stock tables, read with plain SQL."""
    async with database.engine.connect() as conn:
        return {
            table: [tuple(row) for row in await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
            for table in TABLES
        }


async def levels(database: Database, product_id: int) -> dict[int, tuple[int, int]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT warehouse_id, quantity, reserved FROM stock_levels WHERE product_id = :p"), {"p": product_id}
        )
        return {w: (q, r) for w, q, r in rows}


async def assert_audits_pass(database: Database) -> None:
    async with database.read_session() as session:
        assert await stock.audit(session) == []
        assert await selling.audit_reservations(session) == []
        assert await selling.audit_order_lines(session) == []


# --- done-when 1: concurrent confirmations ------------------------------------------------------


async def test_concurrent_confirmations_reserve_exactly_what_stock_allows(
    gql: GraphQLClient, wide: GraphQLClient, database: Database, database_url: str
) -> None:
    product, product_id = await make_product(database, "SCARCE")
    warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await move(gql, RECEIVE, productId=product_id, warehouseId=warehouse_id, quantity=45)
    customer = await make_customer(database)
    orders = [await draft(gql, customer, [(product_id, warehouse_id, 1 + i % 2)]) for i in range(CONNECTIONS)]

    results = await asyncio.gather(*(payload(wide, CONFIRM, {"id": order["id"]}) for order in orders))

    confirmed = [r for r, o in zip(results, orders, strict=True) if not r["errors"]]
    wanted = {o["id"]: o["lines"][0]["quantityOrdered"] for o in orders}
    reserved = sum(wanted[r["salesOrder"]["id"]] for r in confirmed)
    for result in results:
        if result["errors"]:
            [error] = result["errors"]
            assert (error["code"], error["field"]) == ("INSUFFICIENT_STOCK", "lines[0].quantity")
            assert "available in MAIN" in error["message"]
    # 90 units asked for, 45 on hand: every refusal wanted more than was left, so at most 1 unit stays free.
    assert 44 <= reserved <= 45
    left = 45 - reserved
    assert all(wanted[o["id"]] > left for r, o in zip(results, orders, strict=True) if r["errors"])
    assert all(r["salesOrder"]["status"] == "CONFIRMED" for r in confirmed)
    assert await levels(database, product) == {warehouse: (45, reserved)}
    await assert_audits_pass(database)
    assert await cli_audit(database_url) == (0, "stock levels match the ledger")

    # The audit does look at reservations: a reserved count that no hold explains fails it.
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE stock_levels SET reserved = reserved - 1"))
    code, output = await cli_audit(database_url)
    assert code == 1
    assert f"product {product} in warehouse {warehouse}: {reserved - 1} reserved, {reserved} held" in output


async def cli_audit(database_url: str) -> tuple[int, str]:
    # The CLI runs its own event loop, so it gets a thread of its own.
    result = await asyncio.to_thread(CliRunner().invoke, app, ["audit"], env={"INVENTORY_DATABASE_URL": database_url})
    return result.exit_code, result.output.strip()


# --- done-when 2: shipStock against confirmations -----------------------------------------------


async def test_concurrent_shipments_and_confirmations_never_take_reserved_stock(
    gql: GraphQLClient, wide: GraphQLClient, database: Database
) -> None:
    product, product_id = await make_product(database, "CONTESTED")
    warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await move(gql, RECEIVE, productId=product_id, warehouseId=warehouse_id, quantity=30)
    customer = await make_customer(database)
    orders = [await draft(gql, customer, [(product_id, warehouse_id, 2)]) for _ in range(CONNECTIONS // 2)]
    ship_input = {"productId": product_id, "warehouseId": warehouse_id, "quantity": 1}

    confirmations = [payload(wide, CONFIRM, {"id": order["id"]}) for order in orders]
    shipments = [payload(wide, SHIP, {"input": ship_input}) for _ in range(CONNECTIONS // 2)]
    mixed = [call for pair in zip(confirmations, shipments, strict=True) for call in pair]
    results = await asyncio.gather(*mixed)

    confirmed = sum(1 for r in results[0::2] if not r["errors"])
    shipped = sum(1 for r in results[1::2] if not r["errors"])
    on_hand, reserved = (await levels(database, product))[warehouse]
    assert on_hand == 30 - shipped
    assert reserved == 2 * confirmed
    assert 0 <= on_hand - reserved <= 1  # every refusal found less available than it asked for
    await assert_audits_pass(database)


# --- done-when 3: the life of an order ----------------------------------------------------------


async def test_confirm_ship_in_two_parts_return_and_cancel(gql: GraphQLClient, database: Database) -> None:
    bolt, bolt_id = await make_product(database, "BOLT")
    nut, nut_id = await make_product(database, "NUT")
    warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await move(gql, RECEIVE, productId=bolt_id, warehouseId=warehouse_id, quantity=10)
    await move(gql, RECEIVE, productId=nut_id, warehouseId=warehouse_id, quantity=10)
    order = await draft(gql, await make_customer(database), [(bolt_id, warehouse_id, 4), (nut_id, warehouse_id, 6)])
    bolt_line, nut_line = (line["id"] for line in order["lines"])
    assert order["status"] == "DRAFT"
    assert order["lines"][0]["lineTotal"] == "40.00"  # the product's price, 10.00, by default
    assert order["total"] == "100.00"

    confirmed = (await ok(gql, CONFIRM, {"id": order["id"]}))["salesOrder"]
    assert confirmed["status"] == "CONFIRMED"
    assert [line["reservations"] for line in confirmed["lines"]] == [
        [{"quantity": 4, "isActive": True}], [{"quantity": 6, "isActive": True}]
    ]
    assert await levels(database, bolt) == {warehouse: (10, 4)}
    stock_read = (await gql(LEVEL, {"id": bolt_id}))["product"]
    assert (stock_read["quantityOnHand"], stock_read["quantityReserved"], stock_read["quantityAvailable"]) == (10, 4, 6)

    first = {"id": order["id"], "lines": [{"lineId": bolt_line, "quantity": 4}, {"lineId": nut_line, "quantity": 2}],
             "idempotencyKey": "ship-1"}
    shipped = await ok(gql, SHIP_ORDER, {"input": first})
    assert shipped["salesOrder"]["status"] == "PARTIALLY_SHIPPED"
    assert [(t["kind"], t["quantity"], t["balanceAfter"], t["reference"]) for t in shipped["transactions"]] == [
        ("SHIPMENT", -4, 6, order["number"]), ("SHIPMENT", -2, 8, order["number"])
    ]
    before_replay = await snapshot(database)
    replay = await ok(gql, SHIP_ORDER, {"input": first})
    assert replay["replayed"] is True
    assert replay["transactions"] == shipped["transactions"]
    assert await snapshot(database) == before_replay

    second = {"id": order["id"], "lines": [{"lineId": nut_line, "quantity": 1}], "idempotencyKey": "ship-2"}
    partly = await ok(gql, SHIP_ORDER, {"input": second})
    assert partly["salesOrder"]["status"] == "PARTIALLY_SHIPPED"
    assert [line["quantityShipped"] for line in partly["salesOrder"]["lines"]] == [4, 3]
    assert await levels(database, bolt) == {warehouse: (6, 0)}
    assert await levels(database, nut) == {warehouse: (7, 3)}

    back = {"lineId": bolt_line, "quantity": 1, "disposition": "RESTOCK", "idempotencyKey": "return-1"}
    returned = await ok(gql, RETURN_LINE, {"input": back})
    assert returned["line"]["quantityReturned"] == 1
    assert (returned["transaction"]["kind"], returned["transaction"]["quantity"]) == ("RETURN", 1)
    assert returned["transaction"]["balanceAfter"] == 7
    before_replay = await snapshot(database)
    assert (await ok(gql, RETURN_LINE, {"input": back}))["replayed"] is True
    assert await snapshot(database) == before_replay
    scrapped = await ok(gql, RETURN_LINE, {"input": {"lineId": nut_line, "quantity": 1, "disposition": "SCRAP"}})
    assert scrapped["transaction"] is None
    assert scrapped["salesReturn"] == {"quantity": 1, "disposition": "SCRAP"}

    cancelled = (await ok(gql, CANCEL, {"id": order["id"]}))["salesOrder"]
    assert cancelled["status"] == "CANCELLED"
    assert [line["quantityShipped"] for line in cancelled["lines"]] == [4, 3]
    assert [line["reservations"] for line in cancelled["lines"]] == [
        [{"quantity": 0, "isActive": False}], [{"quantity": 3, "isActive": False}]
    ]
    assert await levels(database, bolt) == {warehouse: (7, 0)}
    assert await levels(database, nut) == {warehouse: (7, 0)}
    async with database.engine.connect() as conn:
        entries = (await conn.execute(text(
            "SELECT kind, quantity, sales_order_line_id IS NOT NULL FROM inventory_transactions "
            "WHERE sales_order_id IS NOT NULL ORDER BY id"
        ))).all()
    assert [tuple(e) for e in entries] == [
        ("SHIPMENT", -4, True), ("SHIPMENT", -2, True), ("SHIPMENT", -1, True), ("RETURN", 1, True)
    ]
    await assert_audits_pass(database)


# --- done-when 4: an expired hold -------------------------------------------------------------


async def test_an_expired_hold_no_longer_blocks_a_shipment(gql: GraphQLClient, database: Database) -> None:
    product, product_id = await make_product(database, "HELD")
    warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await move(gql, RECEIVE, productId=product_id, warehouseId=warehouse_id, quantity=5)
    hold_input = {"productId": product_id, "warehouseId": warehouse_id, "quantity": 5}

    past = await payload(gql, RESERVE, {"input": {**hold_input, "expiresAt": (utcnow() - timedelta(1)).isoformat()}})
    assert [(e["field"], e["code"]) for e in past["errors"]] == [("expiresAt", "INVALID")]
    expires_at = utcnow() + timedelta(seconds=1)
    held = await ok(gql, RESERVE, {"input": {**hold_input, "expiresAt": expires_at.isoformat()}})
    assert held["reservation"]["isActive"] is True
    refused = await payload(gql, SHIP, {"input": {**hold_input, "quantity": 1}})
    assert [e["code"] for e in refused["errors"]] == ["INSUFFICIENT_STOCK"]
    assert "Only 0 units of HELD are available" in refused["errors"][0]["message"]

    while utcnow() <= expires_at + timedelta(milliseconds=50):
        await asyncio.sleep(0.1)
    # Reads count it released before any write has closed it.
    read = (await gql(LEVEL, {"id": product_id}))["product"]
    assert (read["quantityReserved"], read["quantityAvailable"]) == (0, 5)
    assert await levels(database, product) == {warehouse: (5, 5)}  # not swept yet: no job ran
    await ok(gql, SHIP, {"input": {**hold_input, "quantity": 5}})
    assert await levels(database, product) == {warehouse: (0, 0)}
    released = await payload(gql, RELEASE, {"id": held["reservation"]["id"]})
    assert [e["code"] for e in released["errors"]] == ["INVALID"]
    await assert_audits_pass(database)


async def test_a_hold_released_gives_its_units_back(gql: GraphQLClient, database: Database) -> None:
    product, product_id = await make_product(database, "CART")
    warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await move(gql, RECEIVE, productId=product_id, warehouseId=warehouse_id, quantity=5)
    hold_input = {"productId": product_id, "warehouseId": warehouse_id, "quantity": 3, "idempotencyKey": "cart-1"}
    held = await ok(gql, RESERVE, {"input": hold_input})
    again = await ok(gql, RESERVE, {"input": hold_input})
    assert (again["replayed"], again["reservation"]["id"]) == (True, held["reservation"]["id"])
    assert await levels(database, product) == {warehouse: (5, 3)}
    released = await ok(gql, RELEASE, {"id": held["reservation"]["id"]})
    assert released["reservation"]["isActive"] is False
    assert await levels(database, product) == {warehouse: (5, 0)}
    await assert_audits_pass(database)


# --- done-when 6: refusals change nothing --------------------------------------------------------


async def test_refusals_change_nothing(gql: GraphQLClient, database: Database) -> None:
    product, product_id = await make_product(database, "GUARDED")
    _warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await move(gql, RECEIVE, productId=product_id, warehouseId=warehouse_id, quantity=10)
    customer = await make_customer(database)
    shipping = await draft(gql, customer, [(product_id, warehouse_id, 3)])
    await ok(gql, CONFIRM, {"id": shipping["id"]})
    line = shipping["lines"][0]["id"]
    await ok(gql, SHIP_ORDER, {"input": {"id": shipping["id"], "lines": [{"lineId": line, "quantity": 1}]}})
    still_draft = await draft(gql, customer, [(product_id, warehouse_id, 1)])
    cancelled = await draft(gql, customer, [(product_id, warehouse_id, 1)])
    await ok(gql, CONFIRM, {"id": cancelled["id"]})
    await ok(gql, CANCEL, {"id": cancelled["id"]})
    too_big = await draft(gql, customer, [(product_id, warehouse_id, 8)])

    refusals = [
        (SHIP_ORDER, {"input": {"id": shipping["id"], "lines": [{"lineId": line, "quantity": 3}],
                                "idempotencyKey": "over"}}, "lines[0].quantity", "INVALID"),
        (SHIP_ORDER, {"input": {"id": still_draft["id"], "lines": [{"lineId": still_draft["lines"][0]["id"],
                                                                    "quantity": 1}]}}, "id", "INVALID"),
        (SHIP_ORDER, {"input": {"id": cancelled["id"], "lines": [{"lineId": cancelled["lines"][0]["id"],
                                                                  "quantity": 1}]}}, "id", "INVALID"),
        (RETURN_LINE, {"input": {"lineId": line, "quantity": 2, "disposition": "RESTOCK", "idempotencyKey": "r"}},
         "quantity", "INVALID"),
        (RESERVE, {"input": {"productId": product_id, "warehouseId": warehouse_id, "quantity": 9,
                             "idempotencyKey": "too-many"}}, "quantity", "INSUFFICIENT_STOCK"),
        (CONFIRM, {"id": too_big["id"]}, "lines[0].quantity", "INSUFFICIENT_STOCK"),
        (CANCEL, {"id": cancelled["id"]}, "id", "INVALID"),
    ]
    for document, variables, field, code in refusals:
        before = await snapshot(database)
        result = await payload(gql, document, variables)
        assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)], result["errors"]
        assert await snapshot(database) == before
    confirm_refusal = await payload(gql, CONFIRM, {"id": too_big["id"]})
    assert "Only 8 units of GUARDED are available in MAIN; 8 cannot be reserved" not in str(confirm_refusal)
    assert "Only 7 units of GUARDED are available in MAIN" in confirm_refusal["errors"][0]["message"]
    await assert_audits_pass(database)


# --- customers and reads ------------------------------------------------------------------------


async def test_customers_with_orders_are_archived_not_deleted(gql: GraphQLClient, database: Database) -> None:
    created = await ok(gql, """mutation { createCustomer(input: {name: "Zed", email: "z@example.com"}) {
        customer { id name email isActive } errors { field message code } } }""", {})
    customer = created["customer"]["id"]
    duplicate = await payload(gql, 'mutation { createCustomer(input: {name: "zed"}) { errors { field code } } }', {})
    assert duplicate["errors"] == [{"field": "name", "code": "DUPLICATE"}]
    product, product_id = await make_product(database, "SOLD")
    _warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    await draft(gql, customer, [(product_id, warehouse_id, 1)])
    delete = "mutation($id: ID!) { deleteCustomer(id: $id) { deletedId errors { field code } } }"
    assert (await payload(gql, delete, {"id": customer}))["errors"] == [{"field": "id", "code": "IN_USE"}]
    archived = await ok(gql, """mutation($id: ID!) { updateCustomer(input: {id: $id, isActive: false}) {
        customer { isActive } errors { field message code } } }""", {"id": customer})
    assert archived["customer"]["isActive"] is False
    listed = await gql("""{ customers(filter: {isActive: false}) { totalCount edges { node { name } } }
        salesOrders(filter: {status: DRAFT}) { totalCount edges { node { customer { name } total lines { lineTotal } } } }
        reservations { totalCount } }""")
    assert listed["customers"] == {"totalCount": 1, "edges": [{"node": {"name": "Zed"}}]}
    assert listed["salesOrders"]["edges"] == [
        {"node": {"customer": {"name": "Zed"}, "total": "10.00", "lines": [{"lineTotal": "10.00"}]}}
    ]
    assert listed["reservations"] == {"totalCount": 0}
    other = await make_customer(database, "Unused")
    assert (await ok(gql, delete, {"id": other}))["deletedId"] == other
