"""Warehouse mutations over HTTP: what each one changes, the errors it returns, and that a refused one
leaves the warehouses as they were."""

from typing import Any

import pytest
from sqlalchemy import insert, text

from db.engine import Database
from db.models import InventoryTransaction, StockLevel
from tests.factories import build_catalog
from tests.utils import GraphQLClient, global_id

FIELDS = "id code name address isActive"
ERRORS = "errors { field message code }"
CREATE = f"mutation($input: CreateWarehouseInput!) {{ createWarehouse(input: $input) {{ warehouse {{ {FIELDS} }} {ERRORS} }} }}"
UPDATE = f"mutation($input: UpdateWarehouseInput!) {{ updateWarehouse(input: $input) {{ warehouse {{ {FIELDS} }} {ERRORS} }} }}"
ARCHIVE = f"mutation($id: ID!) {{ archiveWarehouse(id: $id) {{ warehouse {{ {FIELDS} }} {ERRORS} }} }}"
DELETE = f"mutation($id: ID!) {{ deleteWarehouse(id: $id) {{ deletedId {ERRORS} }} }}"


async def _rows(database: Database) -> list[tuple[Any, ...]]:
    async with database.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text("SELECT * FROM warehouses ORDER BY id"))]


async def _create(gql: GraphQLClient, **input: Any) -> dict[str, Any]:
    payload = (await gql(CREATE, {"input": {"name": "Main", **input}}))["createWarehouse"]
    assert payload["errors"] == [], payload["errors"]
    return payload["warehouse"]


async def _refused(gql: GraphQLClient, database: Database, mutation: str, variables: dict) -> list[dict]:
    before = await _rows(database)
    (payload,) = (await gql(mutation, variables)).values()
    assert payload.get("warehouse") is None and payload.get("deletedId") is None
    assert await _rows(database) == before
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def test_create_normalizes_the_code(gql, database):
    warehouse = await _create(gql, code="  east-1_b ", name=" East ", address="1 Dock Rd")
    assert warehouse | {"id": None} == {"id": None, "code": "EAST-1_B", "name": "East", "address": "1 Dock Rd", "isActive": True}
    found = await gql('{ warehouse(code: "east-1_b") { id } }')
    assert found["warehouse"]["id"] == warehouse["id"]


@pytest.mark.parametrize(
    ("input", "errors"),
    [
        ({"code": "-EAST"}, [("code", "INVALID")]),
        ({"code": "EAST WING"}, [("code", "INVALID")]),
        ({"code": "E" * 33}, [("code", "INVALID")]),
        ({"code": " "}, [("code", "INVALID")]),
        ({"code": "ÉAST"}, [("code", "INVALID")]),
        ({"code": "OK", "name": "  "}, [("name", "INVALID")]),
        ({"code": "", "name": ""}, [("code", "INVALID"), ("name", "INVALID")]),
    ],
)
async def test_create_refuses_bad_input(gql, database, input, errors):
    assert await _refused(gql, database, CREATE, {"input": {"name": "Main", **input}}) == errors


async def test_codes_are_unique_whatever_the_case(gql, database):
    await _create(gql, code="EAST")
    assert await _refused(gql, database, CREATE, {"input": {"code": "east", "name": "Other"}}) == [("code", "DUPLICATE")]
    west = await _create(gql, code="WEST")
    variables = {"input": {"id": west["id"], "code": "East"}}
    assert await _refused(gql, database, UPDATE, variables) == [("code", "DUPLICATE")]


async def test_update_changes_only_what_is_given(gql, database):
    warehouse = await _create(gql, code="EAST", address="1 Dock Rd")
    payload = (await gql(UPDATE, {"input": {"id": warehouse["id"], "name": "East Wing"}}))["updateWarehouse"]
    assert payload["warehouse"] == warehouse | {"name": "East Wing"}
    payload = (await gql(UPDATE, {"input": {"id": warehouse["id"], "address": None, "code": "e2"}}))["updateWarehouse"]
    assert payload["warehouse"] == warehouse | {"name": "East Wing", "address": None, "code": "E2"}
    payload = (await gql(UPDATE, {"input": {"id": warehouse["id"], "isActive": False}}))["updateWarehouse"]
    assert payload["warehouse"]["isActive"] is False
    missing = {"input": {"id": global_id("Warehouse", 999), "name": "x"}}
    assert await _refused(gql, database, UPDATE, missing) == [("id", "NOT_FOUND")]
    wrong_type = {"input": {"id": global_id("Product", 1), "name": "x"}}
    assert await _refused(gql, database, UPDATE, wrong_type) == [("id", "NOT_FOUND")]


async def _give_history(database: Database, warehouse_id: int) -> None:
    """A product with one receipt into the warehouse, written straight to the tables."""
    await build_catalog(database, products=2, suppliers=2, offers_per_product=1)
    async with database.write_session() as session, session.begin():
        await session.execute(
            insert(InventoryTransaction).values(
                product_id=1, warehouse_id=warehouse_id, kind="RECEIPT", quantity=4, balance_after=4
            )
        )
        await session.execute(insert(StockLevel).values(product_id=1, warehouse_id=warehouse_id, quantity=4))


async def test_a_warehouse_with_history_is_archived_not_deleted(gql, database):
    warehouse = await _create(gql, code="EAST")
    pk = int(await _pk(database, "EAST"))
    await _give_history(database, pk)

    errors = await _refused(gql, database, DELETE, {"id": warehouse["id"]})
    assert errors == [("id", "IN_USE")]
    body = await gql(DELETE, {"id": warehouse["id"]})
    assert "archive it instead" in body["deleteWarehouse"]["errors"][0]["message"]

    archived = (await gql(ARCHIVE, {"id": warehouse["id"]}))["archiveWarehouse"]
    assert archived["errors"] == [] and archived["warehouse"] == warehouse | {"isActive": False}
    again = (await gql(ARCHIVE, {"id": warehouse["id"]}))["archiveWarehouse"]
    assert again["warehouse"]["isActive"] is False

    history = await gql(
        'query ($id: ID!) { warehouse(id: $id) { isActive stock { totalCount edges { node { quantityOnHand } } } } '
        "transactions { totalCount } }",
        {"id": warehouse["id"]},
    )
    assert history["warehouse"] == {"isActive": False, "stock": {"totalCount": 1, "edges": [{"node": {"quantityOnHand": 4}}]}}
    assert history["transactions"]["totalCount"] == 1
    listed = await gql("{ active: warehouses(filter: {isActive: true}) { totalCount } all: warehouses { totalCount } }")
    assert listed == {"active": {"totalCount": 0}, "all": {"totalCount": 1}}


async def test_an_unused_warehouse_can_be_deleted(gql, database):
    warehouse = await _create(gql, code="TEMP")
    payload = (await gql(DELETE, {"id": warehouse["id"]}))["deleteWarehouse"]
    assert payload == {"deletedId": warehouse["id"], "errors": []}
    assert await _rows(database) == []
    assert await _refused(gql, database, DELETE, {"id": warehouse["id"]}) == [("id", "NOT_FOUND")]
    assert await _refused(gql, database, ARCHIVE, {"id": warehouse["id"]}) == [("id", "NOT_FOUND")]


async def _pk(database: Database, code: str) -> int:
    async with database.engine.connect() as conn:
        return (await conn.execute(text("SELECT id FROM warehouses WHERE code = :c"), {"c": code})).scalar_one()
