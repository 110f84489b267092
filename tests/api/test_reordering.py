"""Reordering that knows the pipeline, over HTTP: units on order (submitted, not drafts, cancelled or received
units), `lowStock` on available + on order, and `draftPurchaseOrdersFromLowStock`: one draft per preferred
supplier, quantities in whole reorder lots, drafts counted so a second call orders nothing twice, products
without a supplier reported, managers only, all or nothing."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from db import stock
from db.engine import Database
from db.models import Product, ProductSupplier, Role, Supplier, Warehouse
from db.types import utcnow
from tests.utils import GraphQLClient, Refs, global_id, scalar

ERRORS = "errors { field message code }"
CREATE = f"""mutation($input: CreatePurchaseOrderInput!) {{
  createPurchaseOrder(input: $input) {{ purchaseOrder {{ id }} {ERRORS} }} }}"""
SUBMIT = f"mutation($id: ID!) {{ submitPurchaseOrder(id: $id) {{ purchaseOrder {{ id }} {ERRORS} }} }}"
CANCEL = f"mutation($id: ID!) {{ cancelPurchaseOrder(id: $id) {{ purchaseOrder {{ id }} {ERRORS} }} }}"
RECEIVE = f"""mutation($input: ReceivePurchaseOrderInput!) {{
  receivePurchaseOrder(input: $input) {{ purchaseOrder {{ status }} {ERRORS} }} }}"""
DRAFT = f"""mutation($warehouse: ID!) {{
  draftPurchaseOrdersFromLowStock(warehouseId: $warehouse) {{
    purchaseOrders {{
      number status expectedDate note supplier {{ name }} createdBy {{ username }}
      lines {{ product {{ sku }} quantityOrdered unitCost }}
    }}
    productsWithoutSupplier {{ sku }}
    {ERRORS}
  }}
}}"""
LOW_STOCK = """query($warehouse: ID) {
  lowStock(warehouseId: $warehouse) {
    totalCount
    nodes { product { sku quantityOnOrder } quantityOnHand quantityAvailable quantityReserved quantityOnOrder
      quantityToOrder }
  }
}"""
ON_ORDER = """query($id: ID!) {
  product(id: $id) { quantityOnOrder }
  products(first: 50) { nodes { sku quantityOnOrder } }
}"""
TABLES = ("purchase_orders", "purchase_order_lines", "changes")


@pytest.fixture
async def refs(database: Database) -> Refs:
    """In MAIN, low: HAMMER (8 on hand, point 20, lots of 10; Acme, lead 3 days), NAIL (30, point 100, lots of
    50; Acme, lead 5), SAW (2, point 5, no lot size; Bolt, lead 7), FILE (3, point 10; Acme offers it, not
    preferred) and RASP (1, point 10; only archived Dusty, preferred). Not low: PLENTY (50, point 5) and
    IDLE (no reorder point). SPARE holds 100 HAMMER, and nothing there is low."""
    suppliers = {
        "acme": Supplier(name="Acme"),
        "bolt": Supplier(name="Bolt"),
        "dusty": Supplier(name="Dusty", is_active=False),
    }
    terms = {  # sku: reorder point, reorder quantity, stock in MAIN
        "HAMMER": (20, 10, 8), "NAIL": (100, 50, 30), "SAW": (5, 0, 2), "FILE": (10, 10, 3), "RASP": (10, 5, 1),
        "PLENTY": (5, 10, 50), "IDLE": (0, 0, 0),
    }
    products = {
        sku.lower(): Product(
            sku=sku, name=sku.title(), unit_price=Decimal("9.99"), reorder_point=point, reorder_quantity=lot
        )
        for sku, (point, lot, _) in terms.items()
    }
    warehouses = {"main": Warehouse(code="MAIN", name="Main"), "spare": Warehouse(code="SPARE", name="Spare"),
                  "closed": Warehouse(code="CLOSED", name="Closed", is_active=False)}
    async with database.write_session() as session, session.begin():
        session.add_all([*suppliers.values(), *products.values(), *warehouses.values()])
        await session.flush()
        for supplier, product, cost, lead, preferred in [
            ("acme", "hammer", "4.00", 3, True), ("bolt", "hammer", "3.50", 1, False),
            ("acme", "nail", "0.10", 5, True), ("bolt", "saw", "12.00", 7, True),
            ("acme", "file", "2.00", 2, False), ("dusty", "rasp", "6.00", 1, True),
            ("acme", "plenty", "1.00", 1, True),
        ]:
            session.add(ProductSupplier(
                supplier_id=suppliers[supplier].id, product_id=products[product].id, unit_cost=Decimal(cost),
                lead_time_days=lead, is_preferred=preferred,
            ))
        for sku, (_, _, quantity) in terms.items():
            if quantity:
                await stock.receive_stock(
                    session, product_id=products[sku.lower()].id, warehouse_id=warehouses["main"].id,
                    quantity=quantity,
                )
        await stock.receive_stock(
            session, product_id=products["hammer"].id, warehouse_id=warehouses["spare"].id, quantity=100
        )
    rows = {**suppliers, **products, **warehouses}
    return Refs({name: row.id for name, row in rows.items()}, {name: type(row).__name__ for name, row in rows.items()})


async def ok(gql: GraphQLClient, mutation: str, variables: dict[str, Any]) -> dict[str, Any]:
    (payload,) = (await gql(mutation, variables)).values()
    assert payload["errors"] == [], payload["errors"]
    return payload


async def order(gql: GraphQLClient, refs: Refs, product: str, quantity: int, *, submit: bool = True,
                supplier: str = "acme") -> str:
    lines = [{"productId": refs.id(product), "quantity": quantity}]
    created = await ok(gql, CREATE, {"input": {"supplierId": refs.id(supplier), "lines": lines}})
    order_id = created["purchaseOrder"]["id"]
    if submit:
        await ok(gql, SUBMIT, {"id": order_id})
    return order_id


async def low_stock(gql: GraphQLClient, refs: Refs, warehouse: str | None = "main") -> dict[str, dict[str, Any]]:
    data = (await gql(LOW_STOCK, {"warehouse": warehouse and refs.id(warehouse)}))["lowStock"]
    assert data["totalCount"] == len(data["nodes"])
    return {node["product"]["sku"]: node for node in data["nodes"]}


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with database.engine.connect() as conn:
        return {
            table: [tuple(row) for row in await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in TABLES
        }


# --- units on order -------------------------------------------------------------------------------


async def test_on_order_counts_what_submitted_orders_still_await(gql: GraphQLClient, refs: Refs) -> None:
    await order(gql, refs, "hammer", 7, submit=False)  # a draft: not on order
    await order(gql, refs, "hammer", 5)  # submitted: 5
    cancelled = await order(gql, refs, "hammer", 4)
    await ok(gql, CANCEL, {"id": cancelled})  # cancelled: nothing
    partial = await order(gql, refs, "hammer", 10)
    receive = {"warehouseId": refs.id("spare"), "lines": [{"productId": refs.id("hammer"), "quantity": 6}]}
    assert (await ok(gql, RECEIVE, {"input": {"id": partial, **receive}}))["purchaseOrder"]["status"] == (
        "PARTIALLY_RECEIVED"
    )  # 4 still outstanding
    full = await order(gql, refs, "hammer", 3)
    receive["lines"][0]["quantity"] = 3
    assert (await ok(gql, RECEIVE, {"input": {"id": full, **receive}}))["purchaseOrder"]["status"] == "RECEIVED"
    await order(gql, refs, "saw", 2, supplier="bolt")

    data = await gql(ON_ORDER, {"id": refs.id("hammer")})

    assert data["product"] == {"quantityOnOrder": 5 + 4}
    listed = {node["sku"]: node["quantityOnOrder"] for node in data["products"]["nodes"]}
    assert listed == {"FILE": 0, "HAMMER": 9, "IDLE": 0, "NAIL": 0, "PLENTY": 0, "RASP": 0, "SAW": 2}


# --- lowStock ---------------------------------------------------------------------------------------


async def test_low_stock_counts_units_on_order_and_shows_them(gql: GraphQLClient, refs: Refs) -> None:
    low = await low_stock(gql, refs)
    assert sorted(low) == ["FILE", "HAMMER", "NAIL", "RASP", "SAW"]
    assert low["HAMMER"] == {
        "product": {"sku": "HAMMER", "quantityOnOrder": 0}, "quantityOnHand": 8, "quantityAvailable": 8,
        "quantityReserved": 0, "quantityOnOrder": 0, "quantityToOrder": 20,  # 13 short: two lots of 10
    }
    assert low["SAW"]["quantityToOrder"] == 4  # no lot size: just above the point
    assert low["NAIL"]["quantityToOrder"] == 100  # 71 short: two lots of 50

    await order(gql, refs, "hammer", 100, submit=False)  # a draft lifts nothing
    await order(gql, refs, "hammer", 12)  # 8 + 12 = 20: still at the point
    low = await low_stock(gql, refs)
    assert low["HAMMER"]["quantityOnOrder"] == 12 and low["HAMMER"]["product"]["quantityOnOrder"] == 12
    assert low["HAMMER"]["quantityToOrder"] == 10  # 1 short: one lot

    await order(gql, refs, "hammer", 1)  # 21: above the point
    low = await low_stock(gql, refs)
    assert sorted(low) == ["FILE", "NAIL", "RASP", "SAW"]
    assert await low_stock(gql, refs, "spare") == {}


# --- draftPurchaseOrdersFromLowStock --------------------------------------------------------------


async def test_drafts_one_order_per_preferred_supplier_in_whole_lots(
    gql: GraphQLClient, database: Database, refs: Refs
) -> None:
    payload = await ok(gql, DRAFT, {"warehouse": refs.id("main")})

    today = utcnow().date()
    note = "Drafted for the low stock of warehouse MAIN."
    assert payload["purchaseOrders"] == [
        {
            "number": "PO-000001", "status": "DRAFT", "expectedDate": str(today + timedelta(days=5)), "note": note,
            "supplier": {"name": "Acme"}, "createdBy": {"username": "admin"},
            "lines": [
                {"product": {"sku": "HAMMER"}, "quantityOrdered": 20, "unitCost": "4.00"},
                {"product": {"sku": "NAIL"}, "quantityOrdered": 100, "unitCost": "0.10"},
            ],
        },
        {
            "number": "PO-000002", "status": "DRAFT", "expectedDate": str(today + timedelta(days=7)), "note": note,
            "supplier": {"name": "Bolt"}, "createdBy": {"username": "admin"},
            "lines": [{"product": {"sku": "SAW"}, "quantityOrdered": 4, "unitCost": "12.00"}],
        },
    ]
    # FILE has no preferred supplier, RASP's is archived: reported, not ordered
    assert payload["productsWithoutSupplier"] == [{"sku": "FILE"}, {"sku": "RASP"}]
    logged = await scalar(
        database,
        "SELECT count(*) FROM changes WHERE operation = 'draftPurchaseOrdersFromLowStock' "
        "AND entity_type = 'PurchaseOrder'",
    )
    assert logged == 2
    # Drafts are not on order: lowStock still lists the products
    assert sorted(await low_stock(gql, refs)) == ["FILE", "HAMMER", "NAIL", "RASP", "SAW"]


async def test_drafting_again_orders_nothing_twice(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    first = await ok(gql, DRAFT, {"warehouse": refs.id("main")})
    acme, bolt = (o["number"] for o in first["purchaseOrders"])
    before = await snapshot(database)

    again = await ok(gql, DRAFT, {"warehouse": refs.id("main")})

    assert again["purchaseOrders"] == []
    assert again["productsWithoutSupplier"] == [{"sku": "FILE"}, {"sku": "RASP"}]
    assert await snapshot(database) == before

    # Submitted drafts still count; a cancelled one no longer does, so its products are drafted anew.
    ids = {row["number"]: global_id("PurchaseOrder", row["id"]) for row in await _orders(database)}
    await ok(gql, SUBMIT, {"id": ids[bolt]})
    await ok(gql, CANCEL, {"id": ids[acme]})
    third = await ok(gql, DRAFT, {"warehouse": refs.id("main")})
    assert [(o["supplier"]["name"], [(line["product"]["sku"], line["quantityOrdered"]) for line in o["lines"]])
            for o in third["purchaseOrders"]] == [("Acme", [("HAMMER", 20), ("NAIL", 100)])]


async def _orders(database: Database) -> list[dict[str, Any]]:
    async with database.engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(text("SELECT id, number FROM purchase_orders"))]


async def test_drafting_counts_what_is_on_order(gql: GraphQLClient, refs: Refs) -> None:
    await order(gql, refs, "hammer", 5)  # 8 + 5 = 13: 8 short, one lot
    await order(gql, refs, "nail", 80)  # 30 + 80 = 110: not low

    payload = await ok(gql, DRAFT, {"warehouse": refs.id("main")})

    assert [(o["supplier"]["name"], [(line["product"]["sku"], line["quantityOrdered"]) for line in o["lines"]])
            for o in payload["purchaseOrders"]] == [("Acme", [("HAMMER", 10)]), ("Bolt", [("SAW", 4)])]


async def test_nothing_low_creates_nothing(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    before = await snapshot(database)
    payload = await ok(gql, DRAFT, {"warehouse": refs.id("spare")})
    assert payload == {"purchaseOrders": [], "productsWithoutSupplier": [], "errors": []}
    assert await snapshot(database) == before


async def test_all_or_nothing(gql: GraphQLClient, database: Database, refs: Refs) -> None:
    # SAW (Bolt's, drafted after Acme's order) would need 1,200,000,000 units: more than a line may take.
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE products SET reorder_point = 1000000000, reorder_quantity = 600000000 WHERE sku = 'SAW'")
        )
    before = await snapshot(database)

    (payload,) = (await gql(DRAFT, {"warehouse": refs.id("main")})).values()

    assert payload["purchaseOrders"] == [] and payload["productsWithoutSupplier"] == []
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("INVALID", "warehouseId") and "SAW" in error["message"]
    assert await snapshot(database) == before  # Acme's order, made first, is gone too


@pytest.mark.parametrize(
    ("warehouse", "code"),
    [("closed", "INVALID"), (None, "NOT_FOUND")],
)
async def test_refusals_change_nothing(
    gql: GraphQLClient, database: Database, refs: Refs, warehouse: str | None, code: str
) -> None:
    before = await snapshot(database)
    target = refs.id(warehouse) if warehouse else global_id("Warehouse", 999_999)
    (payload,) = (await gql(DRAFT, {"warehouse": target})).values()
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, "warehouseId")]
    assert await snapshot(database) == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CLERK])
async def test_only_managers_draft(gql_as: Any, database: Database, refs: Refs, role: Role) -> None:
    client = await gql_as(role)
    before = await snapshot(database)
    body = await client.post(DRAFT, {"warehouse": refs.id("main")})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await snapshot(database) == before
    manager = await gql_as(Role.MANAGER)
    assert len((await ok(manager, DRAFT, {"warehouse": refs.id("main")}))["purchaseOrders"]) == 2
