"""Purchase orders over HTTP: drafting, submitting, receiving into stock (levels, average cost, status),
cancelling, idempotent receipts, the list query, and every error code each mutation returns, with a
refused mutation leaving the database exactly as it was."""

import asyncio
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import text

from db import stock
from db.engine import Database
from db.models import Product, ProductSupplier, Supplier, Warehouse
from db.types import utcnow
from tests.utils import GraphQLClient, Refs, global_id, scalar, wait_until_blocked

TABLES = ("purchase_orders", "purchase_order_lines", "inventory_transactions", "stock_levels", "idempotency_keys")

LINE_FIELDS = "product { id } quantityOrdered quantityReceived quantityOutstanding unitCost"
ORDER_FIELDS = (
    f"id number status expectedDate note orderedAt receivedAt cancelledAt supplier {{ id }} lines {{ {LINE_FIELDS} }}"
)
ENTRY_FIELDS = "id kind quantity balanceAfter unitCost reference product { id } warehouse { id } purchaseOrder { id }"
ERRORS = "errors { field message code }"

CREATE = f"""
mutation($input: CreatePurchaseOrderInput!) {{
  createPurchaseOrder(input: $input) {{ purchaseOrder {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""
UPDATE = f"""
mutation($input: UpdatePurchaseOrderInput!) {{
  updatePurchaseOrder(input: $input) {{ purchaseOrder {{ {ORDER_FIELDS} }} {ERRORS} }}
}}"""
SUBMIT = f"mutation($id: ID!) {{ submitPurchaseOrder(id: $id) {{ purchaseOrder {{ {ORDER_FIELDS} }} {ERRORS} }} }}"
CANCEL = f"mutation($id: ID!) {{ cancelPurchaseOrder(id: $id) {{ purchaseOrder {{ {ORDER_FIELDS} }} {ERRORS} }} }}"
RECEIVE = f"""
mutation($input: ReceivePurchaseOrderInput!) {{
  receivePurchaseOrder(input: $input) {{
    purchaseOrder {{ {ORDER_FIELDS} }}
    transactions {{ {ENTRY_FIELDS} }}
    stockLevels {{ quantityOnHand product {{ id }} warehouse {{ id }} }}
    replayed
    {ERRORS}
  }}
}}"""
ORDERS = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: PurchaseOrderFilter) {
  purchaseOrders(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    edges { cursor node { number } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

MISSING_ORDER = global_id("PurchaseOrder", 999_999)


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
async def refs(database: Database) -> Refs:
    """Suppliers Acme, Bolt and archived Dusty; products HAMMER, NAIL and SAW, archived OLD; warehouses MAIN,
    SPARE and archived CLOSED. Acme has terms for HAMMER (4.00), NAIL (0.10) and OLD; only Bolt offers SAW."""
    suppliers = {
        "acme": Supplier(name="Acme"),
        "bolt": Supplier(name="Bolt"),
        "dusty": Supplier(name="Dusty", is_active=False),
    }
    products = {
        name.lower(): Product(sku=name, name=name.title(), unit_price=Decimal("9.99"), is_active=name != "OLD")
        for name in ("HAMMER", "NAIL", "SAW", "OLD")
    }
    warehouses = {
        "main": Warehouse(code="MAIN", name="Main"),
        "spare": Warehouse(code="SPARE", name="Spare"),
        "closed": Warehouse(code="CLOSED", name="Closed", is_active=False),
    }
    async with database.write_session() as session, session.begin():
        session.add_all([*suppliers.values(), *products.values(), *warehouses.values()])
        await session.flush()
        for supplier, product, cost in [
            ("acme", "hammer", "4.00"), ("acme", "nail", "0.10"), ("acme", "old", "1.00"), ("bolt", "saw", "12.00"),
            ("bolt", "hammer", "3.50"),
        ]:
            session.add(
                ProductSupplier(
                    supplier_id=suppliers[supplier].id, product_id=products[product].id, unit_cost=Decimal(cost)
                )
            )
    rows = {**suppliers, **products, **warehouses}
    return Refs(
        pks={name: row.id for name, row in rows.items()},
        types={name: type(row).__name__ for name, row in rows.items()},
    )


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the purchasing and stock tables, and every product's average cost, read with plain SQL."""
    async with database.engine.connect() as conn:
        rows = {
            table: [tuple(row) for row in await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
            for table in TABLES
        }
        costs = await conn.execute(text("SELECT id, average_cost FROM products ORDER BY id"))
        rows["products"] = [tuple(row) for row in costs]
        return rows


async def ok(gql: GraphQLClient, mutation: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Run a mutation that must succeed; returns its payload."""
    (payload,) = (await gql(mutation, variables)).values()
    assert payload["errors"] == [], payload["errors"]
    return payload


async def refused(
    gql: GraphQLClient, database: Database, mutation: str, variables: dict[str, Any], code: str, field: str | None
) -> list[dict[str, Any]]:
    """Run a mutation that must be refused with `code` on `field`, leaving every row as it was."""
    before = await snapshot(database)
    (payload,) = (await gql(mutation, variables)).values()
    assert payload["purchaseOrder"] is None, payload
    assert not payload.get("transactions") and not payload.get("replayed"), payload
    assert {"code": code, "field": field} in [{"code": e["code"], "field": e["field"]} for e in payload["errors"]], (
        payload["errors"]
    )
    assert await snapshot(database) == before
    return payload["errors"]


def line(refs: Refs, product: str, quantity: int, unit_cost: str | None = None) -> dict[str, Any]:
    return {"productId": refs.id(product), "quantity": quantity, "unitCost": unit_cost}


async def draft(gql: GraphQLClient, refs: Refs, *lines: dict[str, Any], supplier: str = "acme", **fields: Any) -> dict:
    payload = await ok(gql, CREATE, {"input": {"supplierId": refs.id(supplier), "lines": list(lines), **fields}})
    return payload["purchaseOrder"]


async def ordered(gql: GraphQLClient, refs: Refs, *lines: dict[str, Any], supplier: str = "acme") -> dict:
    order = await draft(gql, refs, *lines, supplier=supplier)
    return (await ok(gql, SUBMIT, {"id": order["id"]}))["purchaseOrder"]


def receipt(order: dict, warehouse: str, refs: Refs, *lines: tuple[str, int], key: str | None = None) -> dict:
    return {
        "input": {
            "id": order["id"],
            "warehouseId": refs.id(warehouse),
            "lines": [{"productId": refs.id(product), "quantity": quantity} for product, quantity in lines],
            "idempotencyKey": key,
        }
    }


def lines_of(order: dict, refs: Refs) -> dict[str, tuple[int, int, int, str]]:
    """The order's lines by product name: (ordered, received, outstanding, unit cost)."""
    names = {refs.id(name): name for name in refs.pks}
    return {
        names[entry["product"]["id"]]: (
            entry["quantityOrdered"], entry["quantityReceived"], entry["quantityOutstanding"], entry["unitCost"]
        )
        for entry in order["lines"]
    }


# --- drafting -----------------------------------------------------------------------------------


async def test_create_defaults_costs_to_the_supplier_terms(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    order = await draft(
        gql, refs, line(refs, "hammer", 10), line(refs, "nail", 500, "0.09"), line(refs, "saw", 2, "11.5"),
        expectedDate="2030-05-01", note="  rush  ",
    )
    assert order["number"] == "PO-000001"
    assert (order["status"], order["expectedDate"], order["note"]) == ("DRAFT", "2030-05-01", "rush")
    assert (order["orderedAt"], order["receivedAt"], order["cancelledAt"]) == (None, None, None)
    assert order["supplier"] == {"id": refs.id("acme")}
    assert lines_of(order, refs) == {
        "hammer": (10, 0, 10, "4.00"), "nail": (500, 0, 500, "0.09"), "saw": (2, 0, 2, "11.50"),
    }
    stored = await scalar(
        database, "SELECT unit_cost FROM purchase_order_lines WHERE product_id = :id", id=refs.pks["hammer"]
    )
    assert Decimal(str(stored)) in (Decimal("4.00"), Decimal(400))  # SQLite keeps cents as an integer
    assert await scalar(database, "SELECT count(*) FROM inventory_transactions") == 0

    empty = await draft(gql, refs)
    assert (empty["number"], empty["lines"]) == ("PO-000002", [])


async def test_create_numbers(gql: GraphQLClient, refs: Refs) -> None:
    given = await draft(gql, refs, number="  po-2030/7 ")
    assert given["number"] == "PO-2030/7"
    await draft(gql, refs, number="PO-000003")
    # Generated numbers skip those already taken.
    assert (await draft(gql, refs))["number"] == "PO-000004"
    assert (await draft(gql, refs))["number"] == "PO-000005"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"supplierId": global_id("Supplier", 999_999)}, "NOT_FOUND", "supplierId"),
        ({"supplierId": "not-an-id"}, "INVALID", "supplierId"),
        ({"supplierId": "product:hammer"}, "NOT_FOUND", "supplierId"),
        ({"supplierId": "supplier:dusty"}, "INVALID", "supplierId"),
        ({"number": "PO-000001"}, "DUPLICATE", "number"),
        ({"number": "po-000001 "}, "DUPLICATE", "number"),
        ({"number": "PO 1"}, "INVALID", "number"),
        ({"number": "P" * 33}, "INVALID", "number"),
        ({"note": "x" * 2001}, "INVALID", "note"),
        ({"lines": [["hammer", 0, None]]}, "INVALID", "lines[0].quantity"),
        ({"lines": [["hammer", 1_000_000_001, None]]}, "INVALID", "lines[0].quantity"),
        ({"lines": [["hammer", 1, "-1"]]}, "INVALID", "lines[0].unitCost"),
        ({"lines": [["hammer", 1, "1.001"]]}, "INVALID", "lines[0].unitCost"),
        ({"lines": [["hammer", 1, None], ["saw", 1, None]]}, "INVALID", "lines[1].unitCost"),
        ({"lines": [["hammer", 1, None], ["nail", 1, None], ["hammer", 2, None]]}, "INVALID", "lines[2].productId"),
        ({"lines": [["nail", 1, None], ["old", 1, None]]}, "INVALID", "lines[1].productId"),
        ({"lines": [["nail", 1, None], [global_id("Product", 999_999), 1, "1"]]}, "NOT_FOUND", "lines[1].productId"),
        ({"lines": [["nail", 1, None], ["bad", 1, "1"]]}, "INVALID", "lines[1].productId"),
    ],
)
async def test_create_refusals(
    gql: GraphQLClient, database: Database, refs: Refs, change: dict[str, Any], code: str, field: str
) -> None:
    await draft(gql, refs, line(refs, "hammer", 1))
    variables = {"supplierId": refs.id("acme"), **_resolve(refs, change)}
    await refused(gql, database, CREATE, {"input": variables}, code, field)


def _resolve(refs: Refs, change: dict[str, Any]) -> dict[str, Any]:
    """Test parameters name rows ("supplier:dusty", lines as [name, quantity, cost]); give them their IDs."""
    resolved = dict(change)
    if ":" in str(change.get("supplierId")):
        resolved["supplierId"] = refs.id(change["supplierId"].split(":")[1])
    if change.get("lines") is not None:
        resolved["lines"] = [
            {"productId": refs.id(p) if p in refs.pks else p, "quantity": q, "unitCost": c}
            for p, q, c in change["lines"]
        ]
    return resolved


async def test_create_reports_every_line_problem_at_once(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    errors = await refused(
        gql, database, CREATE,
        {"input": {"supplierId": refs.id("acme"), "lines": [line(refs, "saw", 0), line(refs, "old", 1)]}},
        "INVALID", "lines[0].quantity",
    )
    assert sorted(e["field"] for e in errors) == ["lines[0].quantity", "lines[0].unitCost", "lines[1].productId"]
    assert "Acme" in next(e["message"] for e in errors if e["field"] == "lines[0].unitCost")


async def test_update_a_draft(gql: GraphQLClient, refs: Refs) -> None:
    order = await draft(gql, refs, line(refs, "hammer", 10), expectedDate="2030-01-01", note="first")

    # Fields left out keep their value.
    same = (await ok(gql, UPDATE, {"input": {"id": order["id"], "note": "second"}}))["purchaseOrder"]
    assert (same["note"], same["expectedDate"], same["supplier"]) == ("second", "2030-01-01", {"id": refs.id("acme")})
    assert lines_of(same, refs) == {"hammer": (10, 0, 10, "4.00")}

    # A new supplier keeps the costs; new lines take the new supplier's terms.
    moved = (await ok(gql, UPDATE, {"input": {"id": order["id"], "supplierId": refs.id("bolt"), "expectedDate": None}}))
    assert moved["purchaseOrder"]["supplier"] == {"id": refs.id("bolt")}
    assert moved["purchaseOrder"]["expectedDate"] is None
    assert lines_of(moved["purchaseOrder"], refs) == {"hammer": (10, 0, 10, "4.00")}
    replaced = await ok(
        gql,
        UPDATE,
        {"input": {"id": order["id"], "lines": [line(refs, "saw", 3), line(refs, "hammer", 5)], "note": None}},
    )
    assert lines_of(replaced["purchaseOrder"], refs) == {"saw": (3, 0, 3, "12.00"), "hammer": (5, 0, 5, "3.50")}
    assert replaced["purchaseOrder"]["note"] is None

    cleared = (await ok(gql, UPDATE, {"input": {"id": order["id"], "lines": []}}))["purchaseOrder"]
    assert cleared["lines"] == []


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"supplierId": None}, "INVALID", "supplierId"),
        ({"supplierId": "supplier:dusty"}, "INVALID", "supplierId"),
        ({"supplierId": global_id("Supplier", 999_999)}, "NOT_FOUND", "supplierId"),
        ({"lines": None}, "INVALID", "lines"),
        ({"lines": [["saw", 1, None]]}, "INVALID", "lines[0].unitCost"),
        ({"lines": [["nail", -1, None]]}, "INVALID", "lines[0].quantity"),
        ({"lines": [["nail", 1, None], ["nail", 1, None]]}, "INVALID", "lines[1].productId"),
        ({"lines": [[global_id("Warehouse", 1), 1, None]]}, "NOT_FOUND", "lines[0].productId"),
        ({"note": "x" * 2001}, "INVALID", "note"),
    ],
)
async def test_update_refusals(
    gql: GraphQLClient, database: Database, refs: Refs, change: dict[str, Any], code: str, field: str
) -> None:
    order = await draft(gql, refs, line(refs, "hammer", 1))
    await refused(gql, database, UPDATE, {"input": {"id": order["id"], **_resolve(refs, change)}}, code, field)


async def test_update_refused_once_submitted_and_for_unknown_orders(
    gql: GraphQLClient, database: Database, refs: Refs
) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 1))
    errors = await refused(gql, database, UPDATE, {"input": {"id": order["id"], "note": "late"}}, "INVALID", "id")
    assert "ORDERED" in errors[0]["message"] and "draft" in errors[0]["message"]
    await refused(gql, database, UPDATE, {"input": {"id": MISSING_ORDER, "note": "x"}}, "NOT_FOUND", "id")
    await refused(gql, database, UPDATE, {"input": {"id": refs.id("acme"), "note": "x"}}, "NOT_FOUND", "id")
    await refused(gql, database, UPDATE, {"input": {"id": "nope", "note": "x"}}, "INVALID", "id")


# --- submitting ---------------------------------------------------------------------------------


async def test_submit(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 1))
    assert order["status"] == "ORDERED"
    assert order["orderedAt"] is not None
    assert await scalar(database, "SELECT status FROM purchase_orders") == "ORDERED"

    errors = await refused(gql, database, SUBMIT, {"id": order["id"]}, "INVALID", "id")
    assert "only a draft" in errors[0]["message"]
    empty = await draft(gql, refs)
    errors = await refused(gql, database, SUBMIT, {"id": empty["id"]}, "INVALID", "id")
    assert "no lines" in errors[0]["message"]
    await refused(gql, database, SUBMIT, {"id": MISSING_ORDER}, "NOT_FOUND", "id")
    await refused(gql, database, SUBMIT, {"id": "nope"}, "INVALID", "id")


async def test_submit_refused_when_the_supplier_was_archived(
    gql: GraphQLClient, database: Database, refs: Refs
) -> None:
    order = await draft(gql, refs, line(refs, "hammer", 1))
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE suppliers SET is_active = false WHERE id = :id"), {"id": refs.pks["acme"]})
    errors = await refused(gql, database, SUBMIT, {"id": order["id"]}, "INVALID", "id")
    assert "Acme" in errors[0]["message"]


# --- receiving ----------------------------------------------------------------------------------


def _average(*receipts: tuple[int, str]) -> Decimal:
    """The weighted average cost of the given (quantity, unit cost) receipts, to four places."""
    quantity = sum(q for q, _ in receipts)
    value = sum(q * Decimal(c) for q, c in receipts)
    return (value / quantity).quantize(Decimal("0.0001"), ROUND_HALF_UP)


async def _average_cost(database: Database, refs: Refs, product: str) -> Decimal:
    async with database.read_session() as session:
        row = await session.get(Product, refs.pks[product])
        assert row is not None
        return row.average_cost


async def _level(database: Database, refs: Refs, product: str, warehouse: str) -> int | None:
    return await scalar(
        database,
        "SELECT quantity FROM stock_levels WHERE product_id = :p AND warehouse_id = :w",
        p=refs.pks[product], w=refs.pks[warehouse],
    )


async def test_receive_partially_then_fully(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    # Stock already on hand at another cost, so the average has something to blend with.
    async with database.write_session() as session, session.begin():
        await stock.receive_stock(
            session, product_id=refs.pks["hammer"], warehouse_id=refs.pks["main"], quantity=10, unit_cost=Decimal(2)
        )
    order = await ordered(gql, refs, line(refs, "hammer", 10), line(refs, "nail", 300, "0.12"))

    first = await ok(gql, RECEIVE, receipt(order, "main", refs, ("nail", 100), ("hammer", 4)))
    assert first["replayed"] is False
    assert first["purchaseOrder"]["status"] == "PARTIALLY_RECEIVED"
    assert first["purchaseOrder"]["receivedAt"] is None
    assert lines_of(first["purchaseOrder"], refs) == {"hammer": (10, 4, 6, "4.00"), "nail": (300, 100, 200, "0.12")}
    assert [
        (t["kind"], t["product"]["id"], t["quantity"], t["balanceAfter"], t["unitCost"], t["reference"])
        for t in first["transactions"]
    ] == [
        ("RECEIPT", refs.id("nail"), 100, 100, "0.12", "PO-000001"),
        ("RECEIPT", refs.id("hammer"), 4, 14, "4.00", "PO-000001"),
    ]
    assert {t["purchaseOrder"]["id"] for t in first["transactions"]} == {order["id"]}
    assert {t["warehouse"]["id"] for t in first["transactions"]} == {refs.id("main")}
    assert sorted((s["product"]["id"], s["quantityOnHand"]) for s in first["stockLevels"]) == sorted(
        [(refs.id("nail"), 100), (refs.id("hammer"), 14)]
    )
    assert await _level(database, refs, "hammer", "main") == 14
    assert await _average_cost(database, refs, "hammer") == _average((10, "2.00"), (4, "4.00"))
    assert await _average_cost(database, refs, "nail") == Decimal("0.1200")

    # The rest, into another warehouse and in two steps.
    second = await ok(gql, RECEIVE, receipt(order, "spare", refs, ("hammer", 6), ("nail", 150)))
    assert second["purchaseOrder"]["status"] == "PARTIALLY_RECEIVED"
    third = await ok(gql, RECEIVE, receipt(order, "spare", refs, ("nail", 50)))
    done = third["purchaseOrder"]
    assert done["status"] == "RECEIVED"
    assert done["receivedAt"] is not None
    assert lines_of(done, refs) == {"hammer": (10, 10, 0, "4.00"), "nail": (300, 300, 0, "0.12")}

    assert (await _level(database, refs, "hammer", "main"), await _level(database, refs, "hammer", "spare")) == (14, 6)
    assert (await _level(database, refs, "nail", "main"), await _level(database, refs, "nail", "spare")) == (100, 200)
    assert await _average_cost(database, refs, "hammer") == _average((10, "2.00"), (10, "4.00"))
    receipts = await scalar(
        database, "SELECT count(*) FROM inventory_transactions WHERE purchase_order_id IS NOT NULL AND kind = 'RECEIPT'"
    )
    assert receipts == 5
    assert await scalar(database, "SELECT sum(quantity) FROM inventory_transactions") == 10 + 10 + 300
    async with database.read_session() as session:
        assert await stock.audit(session) == []

    errors = await refused(gql, database, RECEIVE, receipt(order, "main", refs, ("nail", 1)), "INVALID", "id")
    assert "received in full" in errors[0]["message"]


async def test_over_receiving_is_refused_and_changes_nothing(
    gql: GraphQLClient, database: Database, refs: Refs
) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 10), line(refs, "nail", 5))
    errors = await refused(
        gql, database, RECEIVE, receipt(order, "main", refs, ("hammer", 10), ("nail", 6)),
        "INVALID", "lines[1].quantity",
    )
    assert "Only 5 of 5 NAIL are outstanding" in errors[0]["message"]

    await ok(gql, RECEIVE, receipt(order, "main", refs, ("hammer", 7)))
    errors = await refused(
        gql, database, RECEIVE, receipt(order, "main", refs, ("hammer", 4)), "INVALID", "lines[0].quantity"
    )
    assert "Only 3 of 10 HAMMER" in errors[0]["message"]
    assert await _level(database, refs, "hammer", "main") == 7


@pytest.mark.parametrize(
    ("lines", "code", "field"),
    [
        ([], "INVALID", "lines"),
        ([("hammer", 0)], "INVALID", "lines[0].quantity"),
        ([("hammer", -2)], "INVALID", "lines[0].quantity"),
        ([("hammer", 1), ("saw", 1)], "INVALID", "lines[1].productId"),
        ([("hammer", 1), ("hammer", 1)], "INVALID", "lines[1].productId"),
    ],
)
async def test_receive_line_refusals(
    gql: GraphQLClient, database: Database, refs: Refs, lines: list[tuple[str, int]], code: str, field: str
) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 10))
    await refused(gql, database, RECEIVE, receipt(order, "main", refs, *lines), code, field)


async def test_receive_refusals(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 10), line(refs, "nail", 1))
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE products SET is_active = false WHERE id = :id"), {"id": refs.pks["nail"]})
    variables = receipt(order, "main", refs, ("hammer", 1))["input"]

    await refused(gql, database, RECEIVE, {"input": {**variables, "id": MISSING_ORDER}}, "NOT_FOUND", "id")
    await refused(gql, database, RECEIVE, {"input": {**variables, "id": "x"}}, "INVALID", "id")
    missing_warehouse = {**variables, "warehouseId": global_id("Warehouse", 999_999)}
    await refused(gql, database, RECEIVE, {"input": missing_warehouse}, "NOT_FOUND", "warehouseId")
    await refused(gql, database, RECEIVE, receipt(order, "closed", refs, ("hammer", 1)), "INVALID", "warehouseId")
    errors = await refused(
        gql, database, RECEIVE, receipt(order, "main", refs, ("hammer", 1), ("nail", 1)),
        "INVALID", "lines[1].productId",
    )
    assert "archived" in errors[0]["message"]
    bad_product = {**variables, "lines": [{"productId": "bad", "quantity": 1}]}
    await refused(gql, database, RECEIVE, {"input": bad_product}, "INVALID", "lines[0].productId")
    for key in ("  ", "k" * 201):
        with_key = {**variables, "idempotencyKey": key}
        await refused(gql, database, RECEIVE, {"input": with_key}, "INVALID", "idempotencyKey")


async def test_a_failure_in_the_middle_of_a_receipt_changes_nothing(
    gql: GraphQLClient, database: Database, refs: Refs
) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 10), line(refs, "nail", 10))
    # NAIL's level is at the column's limit, so its entry fails after HAMMER's has been written.
    async with database.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO stock_levels (product_id, warehouse_id, quantity, updated_at) VALUES (:p, :w, :q, :t)"),
            {"p": refs.pks["nail"], "w": refs.pks["main"], "q": stock.MAX_LEVEL, "t": utcnow()},
        )
    assert refs.pks["hammer"] < refs.pks["nail"]
    errors = await refused(
        gql, database, RECEIVE, receipt(order, "main", refs, ("nail", 5), ("hammer", 5)), "INVALID", "lines[0].quantity"
    )
    assert "NAIL" in errors[0]["message"]
    assert await _level(database, refs, "hammer", "main") is None


async def test_receiving_a_draft_or_cancelled_order_is_refused(
    gql: GraphQLClient, database: Database, refs: Refs
) -> None:
    order = await draft(gql, refs, line(refs, "hammer", 10))
    errors = await refused(gql, database, RECEIVE, receipt(order, "main", refs, ("hammer", 1)), "INVALID", "id")
    assert "draft" in errors[0]["message"]

    await ok(gql, SUBMIT, {"id": order["id"]})
    await ok(gql, CANCEL, {"id": order["id"]})
    errors = await refused(gql, database, RECEIVE, receipt(order, "main", refs, ("hammer", 1)), "INVALID", "id")
    assert "cancelled" in errors[0]["message"]
    assert await scalar(database, "SELECT count(*) FROM stock_levels") == 0


async def test_idempotent_receipt(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 10), line(refs, "nail", 10))
    request = receipt(order, "main", refs, ("hammer", 4), ("nail", 2), key="delivery-1")
    first = await ok(gql, RECEIVE, request)
    before = await snapshot(database)

    retry = await ok(gql, RECEIVE, request)
    assert retry["replayed"] is True
    assert retry["transactions"] == first["transactions"]
    assert retry["stockLevels"] == first["stockLevels"]
    assert retry["purchaseOrder"] == first["purchaseOrder"]
    assert await snapshot(database) == before

    other = receipt(order, "main", refs, ("hammer", 5), ("nail", 2), key="delivery-1")
    errors = await refused(gql, database, RECEIVE, other, "IDEMPOTENCY_CONFLICT", "idempotencyKey")
    assert "different request" in errors[0]["message"]
    elsewhere = receipt(order, "spare", refs, ("hammer", 4), ("nail", 2), key="delivery-1")
    await refused(gql, database, RECEIVE, elsewhere, "IDEMPOTENCY_CONFLICT", "idempotencyKey")

    # Without a key, the same request is a second delivery.
    again = await ok(gql, RECEIVE, receipt(order, "main", refs, ("hammer", 4), ("nail", 2)))
    assert again["replayed"] is False
    assert lines_of(again["purchaseOrder"], refs)["hammer"] == (10, 8, 2, "4.00")


async def test_a_refused_receipt_leaves_its_key_free(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 10))
    await refused(
        gql, database, RECEIVE, receipt(order, "main", refs, ("hammer", 11), key="k1"), "INVALID", "lines[0].quantity"
    )
    payload = await ok(gql, RECEIVE, receipt(order, "main", refs, ("hammer", 10), key="k1"))
    assert (payload["replayed"], payload["purchaseOrder"]["status"]) == (False, "RECEIVED")


async def test_concurrent_receipts_never_over_receive(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 10))
    payloads = await asyncio.gather(
        *(gql(RECEIVE, receipt(order, "main", refs, ("hammer", 3))) for _ in range(8))
    )
    results = [p["receivePurchaseOrder"] for p in payloads]
    succeeded = [r for r in results if not r["errors"]]
    assert len(succeeded) == 3
    assert {(e["code"], e["field"]) for r in results if r["errors"] for e in r["errors"]} == {
        ("INVALID", "lines[0].quantity")
    }
    assert await scalar(database, "SELECT quantity_received FROM purchase_order_lines") == 9
    assert await _level(database, refs, "hammer", "main") == 9
    assert await scalar(database, "SELECT count(*) FROM inventory_transactions") == 3


async def test_concurrent_retries_with_one_key_receive_once(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 10))
    payloads = await asyncio.gather(
        *(gql(RECEIVE, receipt(order, "main", refs, ("hammer", 3), key="same")) for _ in range(6))
    )
    results = [p["receivePurchaseOrder"] for p in payloads]
    assert all(r["errors"] == [] for r in results)
    assert sorted(r["replayed"] for r in results) == [False] + [True] * 5
    assert len({r["transactions"][0]["id"] for r in results}) == 1
    assert await _level(database, refs, "hammer", "main") == 3


async def test_a_number_taken_concurrently_is_skipped(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    from db import purchasing

    async with database.write_session() as session, session.begin():
        first = await purchasing.create_purchase_order(session, supplier_id=refs.pks["acme"])
        assert first.number == "PO-000001"
        racing = asyncio.create_task(gql(CREATE, {"input": {"supplierId": refs.id("acme")}}))
        await wait_until_blocked(database)
    payload = (await racing)["createPurchaseOrder"]
    assert payload["errors"] == []
    assert payload["purchaseOrder"]["number"] == "PO-000002"


# --- cancelling ---------------------------------------------------------------------------------


async def test_cancel_rules(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    drafted = await draft(gql, refs, line(refs, "hammer", 1))
    cancelled = (await ok(gql, CANCEL, {"id": drafted["id"]}))["purchaseOrder"]
    assert (cancelled["status"], cancelled["cancelledAt"] is not None) == ("CANCELLED", True)
    errors = await refused(gql, database, CANCEL, {"id": drafted["id"]}, "INVALID", "id")
    assert "cancelled already" in errors[0]["message"]
    await refused(gql, database, SUBMIT, {"id": drafted["id"]}, "INVALID", "id")
    await refused(gql, database, UPDATE, {"input": {"id": drafted["id"], "note": "x"}}, "INVALID", "id")

    placed = await ordered(gql, refs, line(refs, "hammer", 5))
    assert (await ok(gql, CANCEL, {"id": placed["id"]}))["purchaseOrder"]["status"] == "CANCELLED"

    partial = await ordered(gql, refs, line(refs, "hammer", 5))
    await ok(gql, RECEIVE, receipt(partial, "main", refs, ("hammer", 2)))
    errors = await refused(gql, database, CANCEL, {"id": partial["id"]}, "INVALID", "id")
    assert "received" in errors[0]["message"]
    await ok(gql, RECEIVE, receipt(partial, "main", refs, ("hammer", 3)))
    await refused(gql, database, CANCEL, {"id": partial["id"]}, "INVALID", "id")

    await refused(gql, database, CANCEL, {"id": MISSING_ORDER}, "NOT_FOUND", "id")
    await refused(gql, database, CANCEL, {"id": refs.id("hammer")}, "NOT_FOUND", "id")


# --- queries ------------------------------------------------------------------------------------


async def _numbers(gql: GraphQLClient, **variables: Any) -> list[str]:
    data = await gql(ORDERS, {"first": 100, **variables})
    return [edge["node"]["number"] for edge in data["purchaseOrders"]["edges"]]


async def test_purchase_orders_filter_and_page_newest_first(gql: GraphQLClient, refs: Refs) -> None:
    one = await draft(gql, refs, line(refs, "hammer", 1))                        # PO-000001 draft, acme
    two = await ordered(gql, refs, line(refs, "saw", 1), supplier="bolt")        # PO-000002 ordered, bolt
    three = await ordered(gql, refs, line(refs, "nail", 1))                      # PO-000003 ordered, acme
    await ok(gql, CANCEL, {"id": three["id"]})                                  # cancelled
    four = await ordered(gql, refs, line(refs, "hammer", 2), line(refs, "nail", 1))  # PO-000004, acme
    await ok(gql, RECEIVE, receipt(four, "main", refs, ("hammer", 1)))          # partially received
    await draft(gql, refs, supplier="bolt")                                     # PO-000005 draft, bolt
    assert one and two

    assert await _numbers(gql) == ["PO-000005", "PO-000004", "PO-000003", "PO-000002", "PO-000001"]
    assert await _numbers(gql, filter={"status": "DRAFT"}) == ["PO-000005", "PO-000001"]
    assert await _numbers(gql, filter={"status": "CANCELLED"}) == ["PO-000003"]
    assert await _numbers(gql, filter={"status": "PARTIALLY_RECEIVED"}) == ["PO-000004"]
    assert await _numbers(gql, filter={"status": "RECEIVED"}) == []
    assert await _numbers(gql, filter={"supplierId": refs.id("bolt")}) == ["PO-000005", "PO-000002"]
    assert await _numbers(gql, filter={"supplierId": refs.id("acme"), "status": "ORDERED"}) == []
    assert await _numbers(gql, filter={"productId": refs.id("nail")}) == ["PO-000004", "PO-000003"]

    seen: dict[str, str] = {}
    after = None
    while True:
        data = (await gql(ORDERS, {"first": 2, "after": after}))["purchaseOrders"]
        assert data["totalCount"] == 5
        seen |= {edge["node"]["number"]: edge["cursor"] for edge in data["edges"]}
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert list(seen) == ["PO-000005", "PO-000004", "PO-000003", "PO-000002", "PO-000001"]

    back = (await gql(ORDERS, {"last": 2, "before": seen["PO-000003"]}))["purchaseOrders"]
    assert [edge["node"]["number"] for edge in back["edges"]] == ["PO-000005", "PO-000004"]
    assert (back["pageInfo"]["hasPreviousPage"], back["pageInfo"]["hasNextPage"]) == (False, True)


async def test_purchase_order_lookups(gql: GraphQLClient, refs: Refs) -> None:
    order = await ordered(gql, refs, line(refs, "hammer", 3))
    query = f"""
    query($id: ID, $number: String) {{ purchaseOrder(id: $id, number: $number) {{ {ORDER_FIELDS} }} }}"""
    assert (await gql(query, {"id": order["id"]}))["purchaseOrder"] == order
    assert (await gql(query, {"number": " po-000001"}))["purchaseOrder"] == order
    assert (await gql(query, {"number": "PO-999"}))["purchaseOrder"] is None
    assert (await gql(query, {"id": MISSING_ORDER}))["purchaseOrder"] is None
    node = await gql("query($id: ID!) { node(id: $id) { ... on PurchaseOrder { number } } }", {"id": order["id"]})
    assert node["node"] == {"number": "PO-000001"}

    body = await gql.post(query, {"id": order["id"], "number": "PO-000001"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql.post(ORDERS, {"filter": {"supplierId": refs.id("hammer")}})
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "filter.supplierId"}


async def test_a_supplier_with_purchase_orders_cannot_be_deleted(gql: GraphQLClient, refs: Refs) -> None:
    await draft(gql, refs, line(refs, "saw", 1), supplier="bolt")
    body = await gql(
        "mutation($id: ID!) { deleteSupplier(id: $id) { deletedId errors { field message code } } }",
        {"id": refs.id("bolt")},
    )
    [error] = body["deleteSupplier"]["errors"]
    assert (error["code"], error["field"]) == ("IN_USE", "id")
    assert "1 purchase order" in error["message"] and "archive it instead" in error["message"]
    assert body["deleteSupplier"]["deletedId"] is None
    assert (await gql("query($id: ID!) { supplier(id: $id) { name } }", {"id": refs.id("bolt")}))["supplier"]
