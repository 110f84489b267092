"""Who created a row and who changed it last (`createdBy`, `updatedBy`): recorded by every catalog and
warehouse mutation, read back on the read plans and on the reference path (mutation payloads, and every read
in the tests' compare mode), with the user's email kept to that user and administrators."""

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from db import catalog, users, warehouses
from db.engine import Database
from db.models import Role
from tests.utils import TEST_PASSWORD, GraphQLClient

SignIn = Callable[..., Awaitable[GraphQLClient]]
ACTORS = "createdBy { username } updatedBy { username }"


async def _user(database: Database, username: str, role: Role, email: str | None = None) -> None:
    async with database.write_session() as session, session.begin():
        await users.create_user(
            session, security=users.Security.from_settings(database.settings), username=username,
            password=TEST_PASSWORD, role=role, email=email,
        )


def _who(created: str | None, updated: str | None) -> dict[str, Any]:
    return {
        "createdBy": None if created is None else {"username": created},
        "updatedBy": None if updated is None else {"username": updated},
    }


@pytest.fixture
async def ann_and_bob(database: Database, gql_as: SignIn) -> tuple[GraphQLClient, GraphQLClient]:
    """Two managers: Ann creates, Bob changes."""
    return await gql_as(Role.MANAGER, username="ann"), await gql_as(Role.MANAGER, username="bob")


async def test_creating_names_the_creator_as_the_last_to_change_it(
    ann_and_bob: tuple[GraphQLClient, GraphQLClient],
) -> None:
    ann, _bob = ann_and_bob
    created = await ann(
        f"""mutation {{
          createCategory(input: {{name: "Garden"}}) {{ category {{ {ACTORS} }} }}
          createSupplier(input: {{name: "Bolt"}}) {{ supplier {{ {ACTORS} }} }}
          createProduct(input: {{sku: "RAKE-1", name: "Rake", unitPrice: "5"}}) {{ product {{ {ACTORS} }} }}
          createWarehouse(input: {{code: "NORTH", name: "North"}}) {{ warehouse {{ {ACTORS} }} }}
        }}"""
    )
    assert created == {
        "createCategory": {"category": _who("ann", "ann")},
        "createSupplier": {"supplier": _who("ann", "ann")},
        "createProduct": {"product": _who("ann", "ann")},
        "createWarehouse": {"warehouse": _who("ann", "ann")},
    }


async def test_a_change_names_the_user_who_made_it_last(
    ann_and_bob: tuple[GraphQLClient, GraphQLClient], gql_as: SignIn
) -> None:
    ann, bob = ann_and_bob
    created = await ann(
        """mutation {
          createCategory(input: {name: "Garden"}) { category { id } }
          createSupplier(input: {name: "Bolt"}) { supplier { id } }
          other: createSupplier(input: {name: "Nuts"}) { supplier { id } }
          createProduct(input: {sku: "RAKE-1", name: "Rake", unitPrice: "5"}) { product { id } }
          createWarehouse(input: {code: "NORTH", name: "North"}) { warehouse { id } }
        }"""
    )
    ids = {
        "category": created["createCategory"]["category"]["id"],
        "supplier": created["createSupplier"]["supplier"]["id"],
        "other": created["other"]["supplier"]["id"],
        "product": created["createProduct"]["product"]["id"],
        "warehouse": created["createWarehouse"]["warehouse"]["id"],
    }
    offer = """mutation($product: ID!, $supplier: ID!, $preferred: Boolean) {
      setProductSupplier(input: {productId: $product, supplierId: $supplier, unitCost: "2", isPreferred: $preferred})
      { productSupplier { updatedBy { username } } errors { code } } }"""
    made = await ann(offer, {"product": ids["product"], "supplier": ids["supplier"], "preferred": True})
    assert made["setProductSupplier"] == {"productSupplier": {"updatedBy": {"username": "ann"}}, "errors": []}

    changed = await bob(
        f"""mutation($category: ID!, $supplier: ID!, $product: ID!, $warehouse: ID!) {{
          updateCategory(input: {{id: $category, description: "Outdoors"}}) {{ category {{ {ACTORS} }} }}
          updateSupplier(input: {{id: $supplier, phone: "555"}}) {{ supplier {{ {ACTORS} }} }}
          updateProduct(input: {{id: $product, unitPrice: "6"}}) {{ product {{ {ACTORS} }} }}
          updateWarehouse(input: {{id: $warehouse, name: "North yard"}}) {{ warehouse {{ {ACTORS} }} }}
        }}""",
        {k: ids[k] for k in ("category", "supplier", "product", "warehouse")},
    )
    assert changed == {
        "updateCategory": {"category": _who("ann", "bob")},
        "updateSupplier": {"supplier": _who("ann", "bob")},
        "updateProduct": {"product": _who("ann", "bob")},
        "updateWarehouse": {"warehouse": _who("ann", "bob")},
    }
    # Bob prefers another supplier: Ann's terms lose their preference, a change of Bob's too.
    made = await bob(offer, {"product": ids["product"], "supplier": ids["other"], "preferred": True})
    assert made["setProductSupplier"]["errors"] == []

    # A refused change records nobody.
    carl = await gql_as(Role.MANAGER, username="carl")
    refused = await carl(
        "mutation($id: ID!) { updateProduct(input: {id: $id, name: \"  \"}) { errors { code } } }",
        {"id": ids["product"]},
    )
    assert refused["updateProduct"]["errors"] == [{"code": "INVALID"}]

    viewer = await gql_as(Role.VIEWER)
    read = await viewer(
        f"""query($category: ID!, $supplier: ID!, $warehouse: ID!) {{
          category(id: $category) {{ {ACTORS} }}
          supplier(id: $supplier) {{ {ACTORS} offers {{ nodes {{ updatedBy {{ username }} }} }} }}
          product(sku: "RAKE-1") {{ {ACTORS} suppliers {{ supplier {{ name }} updatedBy {{ username }} }} }}
          warehouse(id: $warehouse) {{ {ACTORS} }}
          warehouses {{ nodes {{ code {ACTORS} }} }}
        }}""",
        {k: ids[k] for k in ("category", "supplier", "warehouse")},
    )
    assert read["category"] == _who("ann", "bob")
    assert read["supplier"] == {**_who("ann", "bob"), "offers": {"nodes": [{"updatedBy": {"username": "bob"}}]}}
    assert read["product"] == {
        **_who("ann", "bob"),
        "suppliers": [
            {"supplier": {"name": "Nuts"}, "updatedBy": {"username": "bob"}},
            {"supplier": {"name": "Bolt"}, "updatedBy": {"username": "bob"}},
        ],
    }
    assert read["warehouse"] == _who("ann", "bob")
    assert read["warehouses"]["nodes"] == [{"code": "NORTH", **_who("ann", "bob")}]

    # Archiving is a change; archiving an archived warehouse changes nothing, and so records no one.
    archive = "mutation($id: ID!) { archiveWarehouse(id: $id) { warehouse { isActive updatedBy { username } } } }"
    archived = await carl(archive, {"id": ids["warehouse"]})
    assert archived["archiveWarehouse"]["warehouse"] == {"isActive": False, "updatedBy": {"username": "carl"}}
    again = await bob(archive, {"id": ids["warehouse"]})
    assert again["archiveWarehouse"]["warehouse"] == {"isActive": False, "updatedBy": {"username": "carl"}}


async def test_an_update_that_changes_nothing_names_no_one(
    ann_and_bob: tuple[GraphQLClient, GraphQLClient],
) -> None:
    """Setting what is there already is no change: updatedBy stays the last user who changed something, as
    the change log records nothing."""
    ann, bob = ann_and_bob
    created = await ann(
        """mutation {
          createCategory(input: {name: "Garden"}) { category { id } }
          createSupplier(input: {name: "Bolt"}) { supplier { id } }
          createProduct(input: {sku: "RAKE-1", name: "Rake", unitPrice: "5"}) { product { id } }
          createWarehouse(input: {code: "NORTH", name: "North"}) { warehouse { id } }
        }"""
    )
    ids = {name: next(iter(payload.values()))["id"] for name, payload in created.items()}
    offer = """mutation($product: ID!, $supplier: ID!) {
      setProductSupplier(input: {productId: $product, supplierId: $supplier, unitCost: "2.00"})
      { productSupplier { updatedBy { username } } } }"""
    await ann(offer, {"product": ids["createProduct"], "supplier": ids["createSupplier"]})
    same = await bob(
        f"""mutation($category: ID!, $supplier: ID!, $product: ID!, $warehouse: ID!) {{
          updateCategory(input: {{id: $category, name: "Garden"}}) {{ category {{ {ACTORS} }} }}
          updateSupplier(input: {{id: $supplier, name: "Bolt"}}) {{ supplier {{ {ACTORS} }} }}
          updateProduct(input: {{id: $product, unitPrice: "5.00"}}) {{ product {{ {ACTORS} }} }}
          updateWarehouse(input: {{id: $warehouse, name: "North"}}) {{ warehouse {{ {ACTORS} }} }}
        }}""",
        {
            "category": ids["createCategory"],
            "supplier": ids["createSupplier"],
            "product": ids["createProduct"],
            "warehouse": ids["createWarehouse"],
        },
    )
    assert same == {
        "updateCategory": {"category": _who("ann", "ann")},
        "updateSupplier": {"supplier": _who("ann", "ann")},
        "updateProduct": {"product": _who("ann", "ann")},
        "updateWarehouse": {"warehouse": _who("ann", "ann")},
    }
    again = await bob(offer, {"product": ids["createProduct"], "supplier": ids["createSupplier"]})
    assert again["setProductSupplier"]["productSupplier"] == {"updatedBy": {"username": "ann"}}


async def test_rows_written_outside_the_api_name_no_one(database: Database, gql_as: SignIn) -> None:
    async with database.write_session() as session, session.begin():
        product = await catalog.create_product(session, sku="SEED-1", name="Seeded", unit_price=Decimal("1.00"))
        supplier = await catalog.create_supplier(session, name="Seeded supplier")
        await catalog.set_product_supplier(
            session, product_id=product.id, supplier_id=supplier.id, unit_cost=Decimal("0.50")
        )
        await warehouses.create_warehouse(session, code="SEEDED", name="Seeded")
    viewer = await gql_as(Role.VIEWER)
    read = await viewer(
        f"""{{ product(sku: "SEED-1") {{ {ACTORS} suppliers {{ updatedBy {{ username }} }} }}
              warehouse(code: "SEEDED") {{ {ACTORS} }} }}"""
    )
    assert read == {
        "product": {**_who(None, None), "suppliers": [{"updatedBy": None}]},
        "warehouse": _who(None, None),
    }


async def test_a_viewer_sees_who_changed_a_row_but_not_their_email(database: Database, gql_as: SignIn) -> None:
    await _user(database, "dora", Role.MANAGER, "dora@example.com")
    await _user(database, "eve", Role.MANAGER, "eve@example.com")
    dora = await gql_as(Role.MANAGER, username="dora")
    eve = await gql_as(Role.MANAGER, username="eve")
    made = await dora(
        """mutation {
          createProduct(input: {sku: "LAMP-1", name: "Lamp", unitPrice: "12"}) { product { id } }
          createSupplier(input: {name: "Glow"}) { supplier { id } }
          createWarehouse(input: {code: "EAST", name: "East"}) { warehouse { id } }
        }"""
    )
    product = made["createProduct"]["product"]["id"]
    supplier = made["createSupplier"]["supplier"]["id"]
    await eve(
        """mutation($product: ID!, $supplier: ID!) {
          updateProduct(input: {id: $product, name: "Desk lamp"}) { errors { code } }
          setProductSupplier(input: {productId: $product, supplierId: $supplier, unitCost: "7"}) { errors { code } }
        }""",
        {"product": product, "supplier": supplier},
    )

    who = "{ username email }"
    query = f"""{{
      product(sku: "LAMP-1") {{ createdBy {who} updatedBy {who} suppliers {{ updatedBy {who} }} }}
      warehouse(code: "EAST") {{ createdBy {who} updatedBy {who} }}
    }}"""
    viewer, admin = await gql_as(Role.VIEWER), await gql_as(Role.ADMIN)

    def seen(dora_email: str | None, eve_email: str | None) -> dict[str, Any]:
        dora_, eve_ = {"username": "dora", "email": dora_email}, {"username": "eve", "email": eve_email}
        return {
            "product": {"createdBy": dora_, "updatedBy": eve_, "suppliers": [{"updatedBy": eve_}]},
            "warehouse": {"createdBy": dora_, "updatedBy": dora_},
        }

    assert await viewer(query) == seen(None, None)
    assert await dora(query) == seen("dora@example.com", None)
    assert await eve(query) == seen(None, "eve@example.com")
    assert await admin(query) == seen("dora@example.com", "eve@example.com")
    # The node interface reads the same fields.
    by_id = f"query($id: ID!) {{ node(id: $id) {{ ... on Product {{ updatedBy {who} }} }} }}"
    assert await viewer(by_id, {"id": product}) == {"node": {"updatedBy": {"username": "eve", "email": None}}}
