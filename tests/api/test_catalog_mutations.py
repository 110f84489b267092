"""Catalog mutations over HTTP: what each one changes, every error code it returns, and that a refused
mutation leaves the database exactly as it was."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from db.engine import Database
from tests.utils import GraphQLClient, global_id, scalar, wait_until_blocked

TABLES = ("categories", "suppliers", "products", "product_suppliers")

CATEGORY_FIELDS = "id name slug description parent { id } createdAt updatedAt"
SUPPLIER_FIELDS = "id name email phone website address isActive createdAt updatedAt"
PRODUCT_FIELDS = (
    "id sku name description unitPrice reorderPoint reorderQuantity isActive category { id } createdAt updatedAt"
)
OFFER_FIELDS = "id supplierSku unitCost leadTimeDays isPreferred product { id } supplier { id }"
ERRORS = "errors { field message code }"

CREATE_CATEGORY = f"""
mutation($input: CreateCategoryInput!) {{
  createCategory(input: $input) {{ category {{ {CATEGORY_FIELDS} }} {ERRORS} }}
}}"""
UPDATE_CATEGORY = f"""
mutation($input: UpdateCategoryInput!) {{
  updateCategory(input: $input) {{ category {{ {CATEGORY_FIELDS} }} {ERRORS} }}
}}"""
DELETE_CATEGORY = f"mutation($id: ID!) {{ deleteCategory(id: $id) {{ deletedId {ERRORS} }} }}"
CREATE_SUPPLIER = f"""
mutation($input: CreateSupplierInput!) {{
  createSupplier(input: $input) {{ supplier {{ {SUPPLIER_FIELDS} }} {ERRORS} }}
}}"""
UPDATE_SUPPLIER = f"""
mutation($input: UpdateSupplierInput!) {{
  updateSupplier(input: $input) {{ supplier {{ {SUPPLIER_FIELDS} }} {ERRORS} }}
}}"""
DELETE_SUPPLIER = f"mutation($id: ID!) {{ deleteSupplier(id: $id) {{ deletedId {ERRORS} }} }}"
CREATE_PRODUCT = f"""
mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{ product {{ {PRODUCT_FIELDS} }} {ERRORS} }}
}}"""
UPDATE_PRODUCT = f"""
mutation($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{ product {{ {PRODUCT_FIELDS} }} {ERRORS} }}
}}"""
DELETE_PRODUCT = f"mutation($id: ID!) {{ deleteProduct(id: $id) {{ deletedId {ERRORS} }} }}"
SET_OFFER = f"""
mutation($input: SetProductSupplierInput!) {{
  setProductSupplier(input: $input) {{ productSupplier {{ {OFFER_FIELDS} }} {ERRORS} }}
}}"""
REMOVE_OFFER = f"""
mutation($productId: ID!, $supplierId: ID!) {{
  removeProductSupplier(productId: $productId, supplierId: $supplierId) {{ deletedId {ERRORS} }}
}}"""

MISSING_CATEGORY = global_id("Category", 999_999)
MISSING_SUPPLIER = global_id("Supplier", 999_999)
MISSING_PRODUCT = global_id("Product", 999_999)


# --- helpers ------------------------------------------------------------------------------------


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every catalog table, read with plain SQL."""
    async with database.engine.connect() as conn:
        return {
            table: [tuple(row) for row in await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in TABLES
        }


async def ok(gql: GraphQLClient, mutation: str, **input: Any) -> dict[str, Any]:
    """Run a mutation that must succeed; returns its payload."""
    data = await gql(mutation, {"input": input})
    (payload,) = data.values()
    assert payload["errors"] == [], payload["errors"]
    return payload


async def refused(
    gql: GraphQLClient, database: Database, mutation: str, variables: dict[str, Any], code: str, field: str | None
) -> list[dict[str, Any]]:
    """Run a mutation that must be refused with `code` on `field`, leaving every row as it was."""
    before = await snapshot(database)
    data = await gql(mutation, variables)
    (payload,) = data.values()
    entity = {key: value for key, value in payload.items() if key != "errors"}
    assert set(entity.values()) == {None}, payload
    assert {"code": code, "field": field} in [{"code": e["code"], "field": e["field"]} for e in payload["errors"]], (
        payload["errors"]
    )
    assert await snapshot(database) == before
    return payload["errors"]


async def category(gql: GraphQLClient, name: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    return (await ok(gql, CREATE_CATEGORY, name=name, parentId=parent, **fields))["category"]


async def supplier(gql: GraphQLClient, name: str, **fields: Any) -> dict[str, Any]:
    return (await ok(gql, CREATE_SUPPLIER, name=name, **fields))["supplier"]


async def product(gql: GraphQLClient, sku: str, price: str = "10.00", **fields: Any) -> dict[str, Any]:
    return (await ok(gql, CREATE_PRODUCT, sku=sku, name=f"Product {sku}", unitPrice=price, **fields))["product"]


async def offer(gql: GraphQLClient, product_id: str, supplier_id: str, **terms: Any) -> dict[str, Any]:
    payload = await ok(gql, SET_OFFER, productId=product_id, supplierId=supplier_id, **terms)
    return payload["productSupplier"]


# --- categories ---------------------------------------------------------------------------------


async def test_create_category_derives_a_unique_slug(gql: GraphQLClient, database: Database) -> None:
    tools = await category(gql, "Power Tools", description="  Drills and saws  ")
    assert tools["slug"] == "power-tools"
    assert tools["description"] == "Drills and saws"
    assert tools["parent"] is None

    garden = await category(gql, "Garden")
    nested = await category(gql, "  Power   Tools ", parent=garden["id"])
    assert nested["name"] == "Power   Tools"
    assert nested["slug"] == "power-tools-2"
    assert nested["parent"] == {"id": garden["id"]}
    third = await category(gql, "Power-Tools")
    assert third["slug"] == "power-tools-3"

    accented = await category(gql, "Café & Crème")
    assert accented["slug"] == "cafe-creme"
    assert await scalar(database, "SELECT count(*) FROM categories") == 5


async def test_create_category_with_explicit_slug(gql: GraphQLClient) -> None:
    created = await category(gql, "Hand tools", slug=" Hand-Tools ")
    assert created["slug"] == "hand-tools"


async def test_create_category_refuses_sibling_name_in_any_case(gql: GraphQLClient, database: Database) -> None:
    root = await category(gql, "Tools")
    await category(gql, "Drills", parent=root["id"])
    await category(gql, "Drills")  # a root may share a name with a subcategory

    errors = await refused(
        gql, database, CREATE_CATEGORY, {"input": {"name": "TOOLS"}}, "DUPLICATE", "name"
    )
    assert "TOOLS" in errors[0]["message"]
    await refused(
        gql, database, CREATE_CATEGORY, {"input": {"name": "drills", "parentId": root["id"]}}, "DUPLICATE", "name"
    )


async def test_create_category_refuses_taken_slug(gql: GraphQLClient, database: Database) -> None:
    await category(gql, "Tools", slug="tools")
    await refused(gql, database, CREATE_CATEGORY, {"input": {"name": "Other", "slug": "tools"}}, "DUPLICATE", "slug")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Tools", "slug": "hand tools"}, "slug"),
        ({"name": "Tools", "slug": "-tools"}, "slug"),
        ({"name": "Tools", "slug": "tools--x"}, "slug"),
        ({"name": "Tools", "slug": "t" * 121}, "slug"),
        ({"name": "Tools", "parentId": "not-an-id"}, "parentId"),
    ],
)
async def test_create_category_refuses_invalid_fields(
    gql: GraphQLClient, database: Database, fields: dict[str, Any], field: str
) -> None:
    await category(gql, "Existing")
    await refused(gql, database, CREATE_CATEGORY, {"input": fields}, "INVALID", field)


async def test_create_category_reports_every_invalid_field_at_once(gql: GraphQLClient, database: Database) -> None:
    errors = await refused(
        gql, database, CREATE_CATEGORY, {"input": {"name": " ", "slug": "Bad Slug!"}}, "INVALID", "name"
    )
    assert sorted(e["field"] for e in errors) == ["name", "slug"]


async def test_create_category_refuses_missing_parent(gql: GraphQLClient, database: Database) -> None:
    await refused(
        gql, database, CREATE_CATEGORY, {"input": {"name": "A", "parentId": MISSING_CATEGORY}}, "NOT_FOUND", "parentId"
    )
    await refused(
        gql,
        database,
        CREATE_CATEGORY,
        {"input": {"name": "A", "parentId": global_id("Product", 1)}},
        "NOT_FOUND",
        "parentId",
    )


async def test_update_category_changes_only_given_fields(gql: GraphQLClient, database: Database) -> None:
    root = await category(gql, "Tools")
    other = await category(gql, "Garden")
    drills = await category(gql, "Drills", parent=root["id"], description="Cordless")

    moved = (await ok(gql, UPDATE_CATEGORY, id=drills["id"], parentId=other["id"]))["category"]
    assert moved["parent"] == {"id": other["id"]}
    assert (moved["name"], moved["slug"], moved["description"]) == ("Drills", "drills", "Cordless")
    assert moved["createdAt"] == drills["createdAt"]
    assert moved["updatedAt"] > drills["updatedAt"]

    renamed = (
        await ok(gql, UPDATE_CATEGORY, id=drills["id"], name="Power drills", slug="power-drills", description=None)
    )["category"]
    assert (renamed["name"], renamed["slug"], renamed["description"]) == ("Power drills", "power-drills", None)
    assert renamed["parent"] == {"id": other["id"]}

    root_again = (await ok(gql, UPDATE_CATEGORY, id=drills["id"], parentId=None))["category"]
    assert root_again["parent"] is None
    assert await scalar(database, "SELECT parent_id FROM categories WHERE slug = 'power-drills'") is None

    # A change of case only is not a clash with itself.
    recased = (await ok(gql, UPDATE_CATEGORY, id=root["id"], name="TOOLS"))["category"]
    assert recased["name"] == "TOOLS"


async def test_update_category_refuses_cycles(gql: GraphQLClient, database: Database) -> None:
    a = await category(gql, "A")
    b = await category(gql, "B", parent=a["id"])
    c = await category(gql, "C", parent=b["id"])

    for new_parent in (a["id"], b["id"], c["id"]):
        errors = await refused(
            gql, database, UPDATE_CATEGORY, {"input": {"id": a["id"], "parentId": new_parent}}, "INVALID", "parentId"
        )
        assert "subcategories" in errors[0]["message"]
    # Moving down a branch that is not its own is fine.
    await ok(gql, UPDATE_CATEGORY, id=c["id"], parentId=a["id"])


async def test_update_category_refusals(gql: GraphQLClient, database: Database) -> None:
    tools = await category(gql, "Tools", slug="tools")
    garden = await category(gql, "Garden")
    sub = await category(gql, "Tools", parent=garden["id"])
    update = UPDATE_CATEGORY

    await refused(gql, database, update, {"input": {"id": MISSING_CATEGORY, "name": "X"}}, "NOT_FOUND", "id")
    await refused(gql, database, update, {"input": {"id": garden["id"], "name": "tools"}}, "DUPLICATE", "name")
    await refused(gql, database, update, {"input": {"id": sub["id"], "parentId": None}}, "DUPLICATE", "name")
    await refused(gql, database, update, {"input": {"id": garden["id"], "slug": "tools"}}, "DUPLICATE", "slug")
    await refused(gql, database, update, {"input": {"id": garden["id"], "name": None}}, "INVALID", "name")
    await refused(gql, database, update, {"input": {"id": garden["id"], "name": "  "}}, "INVALID", "name")
    await refused(gql, database, update, {"input": {"id": garden["id"], "slug": None}}, "INVALID", "slug")
    await refused(gql, database, update, {"input": {"id": garden["id"], "slug": "a_b"}}, "INVALID", "slug")
    await refused(
        gql, database, update, {"input": {"id": garden["id"], "parentId": MISSING_CATEGORY}}, "NOT_FOUND", "parentId"
    )
    await refused(gql, database, update, {"input": {"id": "bogus"}}, "INVALID", "id")
    await refused(gql, database, update, {"input": {"id": tools["id"], "parentId": "bogus"}}, "INVALID", "parentId")


async def test_delete_category(gql: GraphQLClient, database: Database) -> None:
    doomed = await category(gql, "Doomed")
    data = await gql(DELETE_CATEGORY, {"id": doomed["id"]})
    assert data["deleteCategory"] == {"deletedId": doomed["id"], "errors": []}
    assert await scalar(database, "SELECT count(*) FROM categories") == 0

    await refused(gql, database, DELETE_CATEGORY, {"id": doomed["id"]}, "NOT_FOUND", "id")
    await refused(gql, database, DELETE_CATEGORY, {"id": global_id("Supplier", 1)}, "NOT_FOUND", "id")


async def test_delete_category_in_use(gql: GraphQLClient, database: Database) -> None:
    tools = await category(gql, "Tools")
    await category(gql, "Drills", parent=tools["id"])
    await category(gql, "Saws", parent=tools["id"])
    await product(gql, "P-1", categoryId=tools["id"])

    errors = await refused(gql, database, DELETE_CATEGORY, {"id": tools["id"]}, "IN_USE", "id")
    assert "2 subcategories" in errors[0]["message"]
    assert "1 product" in errors[0]["message"]

    empty = await category(gql, "Empty")
    await product(gql, "P-2", categoryId=empty["id"])
    await product(gql, "P-3", categoryId=empty["id"])
    errors = await refused(gql, database, DELETE_CATEGORY, {"id": empty["id"]}, "IN_USE", "id")
    assert "2 products" in errors[0]["message"]
    assert "subcategor" not in errors[0]["message"]


# --- suppliers ----------------------------------------------------------------------------------


async def test_create_supplier(gql: GraphQLClient, database: Database) -> None:
    created = await supplier(
        gql, " Acme Ltd ", email="sales@acme.example", phone="+44 20 7946 0000", website="https://acme.example"
    )
    assert created["name"] == "Acme Ltd"
    assert created["email"] == "sales@acme.example"
    assert created["isActive"] is True
    assert created["address"] is None
    assert await scalar(database, "SELECT name FROM suppliers") == "Acme Ltd"

    inactive = await supplier(gql, "Dormant", isActive=False, email="  ")
    assert inactive["isActive"] is False
    assert inactive["email"] is None


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": "acme ltd"}, "DUPLICATE", "name"),
        ({"name": " "}, "INVALID", "name"),
        ({"name": "x" * 201}, "INVALID", "name"),
        ({"name": "New", "email": "not-an-email"}, "INVALID", "email"),
        ({"name": "New", "email": "a@b"}, "INVALID", "email"),
        ({"name": "New", "email": "a" * 250 + "@b.co"}, "INVALID", "email"),
        ({"name": "New", "phone": "1" * 51}, "INVALID", "phone"),
        ({"name": "New", "website": "https://" + "w" * 500}, "INVALID", "website"),
    ],
)
async def test_create_supplier_refusals(
    gql: GraphQLClient, database: Database, fields: dict[str, Any], code: str, field: str
) -> None:
    await supplier(gql, "Acme Ltd")
    await refused(gql, database, CREATE_SUPPLIER, {"input": fields}, code, field)


async def test_update_supplier(gql: GraphQLClient, database: Database) -> None:
    acme = await supplier(gql, "Acme", email="a@acme.example", phone="123")
    updated = (await ok(gql, UPDATE_SUPPLIER, id=acme["id"], phone=None, address="1 Road", isActive=False))["supplier"]
    assert updated["phone"] is None
    assert updated["address"] == "1 Road"
    assert updated["isActive"] is False
    assert updated["email"] == "a@acme.example"
    assert updated["name"] == "Acme"
    assert updated["updatedAt"] > acme["updatedAt"]
    assert await scalar(database, "SELECT phone FROM suppliers") is None

    recased = (await ok(gql, UPDATE_SUPPLIER, id=acme["id"], name="ACME"))["supplier"]
    assert recased["name"] == "ACME"


async def test_update_supplier_refusals(gql: GraphQLClient, database: Database) -> None:
    acme = await supplier(gql, "Acme")
    await supplier(gql, "Bolt Co")
    update = UPDATE_SUPPLIER
    await refused(gql, database, update, {"input": {"id": MISSING_SUPPLIER, "name": "X"}}, "NOT_FOUND", "id")
    await refused(gql, database, update, {"input": {"id": acme["id"], "name": "BOLT CO"}}, "DUPLICATE", "name")
    await refused(gql, database, update, {"input": {"id": acme["id"], "name": None}}, "INVALID", "name")
    await refused(gql, database, update, {"input": {"id": acme["id"], "isActive": None}}, "INVALID", "isActive")
    await refused(gql, database, update, {"input": {"id": acme["id"], "email": "nope"}}, "INVALID", "email")


async def test_delete_supplier(gql: GraphQLClient, database: Database) -> None:
    acme = await supplier(gql, "Acme")
    busy = await supplier(gql, "Busy")
    for sku in ("A-1", "A-2"):
        await offer(gql, (await product(gql, sku))["id"], busy["id"], unitCost="1.00")

    errors = await refused(gql, database, DELETE_SUPPLIER, {"id": busy["id"]}, "IN_USE", "id")
    assert "2 products" in errors[0]["message"]

    data = await gql(DELETE_SUPPLIER, {"id": acme["id"]})
    assert data["deleteSupplier"] == {"deletedId": acme["id"], "errors": []}
    assert await scalar(database, "SELECT count(*) FROM suppliers") == 1
    await refused(gql, database, DELETE_SUPPLIER, {"id": acme["id"]}, "NOT_FOUND", "id")
    await refused(gql, database, DELETE_SUPPLIER, {"id": "###"}, "INVALID", "id")


# --- products -----------------------------------------------------------------------------------


async def test_create_product(gql: GraphQLClient, database: Database) -> None:
    tools = await category(gql, "Tools")
    created = (
        await ok(
            gql,
            CREATE_PRODUCT,
            sku="  ab-12.x_y ",
            name=" Hammer ",
            unitPrice="19.9",
            categoryId=tools["id"],
            reorderPoint=5,
            reorderQuantity=20,
        )
    )["product"]
    assert created["sku"] == "AB-12.X_Y"
    assert created["name"] == "Hammer"
    assert created["unitPrice"] == "19.90"
    assert created["category"] == {"id": tools["id"]}
    assert (created["reorderPoint"], created["reorderQuantity"], created["isActive"]) == (5, 20, True)
    assert await scalar(database, "SELECT sku FROM products") == "AB-12.X_Y"

    free = await product(gql, "FREE", price="0")
    assert free["unitPrice"] == "0.00"
    assert free["category"] is None
    dear = await product(gql, "DEAR", price="999999999999.99")
    assert dear["unitPrice"] == "999999999999.99"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sku": "AB 12"}, "sku"),
        ({"sku": "-AB"}, "sku"),
        ({"sku": "AB/12"}, "sku"),
        ({"sku": "Ä1"}, "sku"),
        ({"sku": "A" * 65}, "sku"),
        ({"sku": "   "}, "sku"),
        ({"name": "  "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"unitPrice": "-0.01"}, "unitPrice"),
        ({"unitPrice": "1.234"}, "unitPrice"),
        ({"unitPrice": "1000000000000"}, "unitPrice"),
        ({"reorderPoint": -1}, "reorderPoint"),
        ({"reorderQuantity": -5}, "reorderQuantity"),
        ({"reorderQuantity": 2_000_000_000}, "reorderQuantity"),
        ({"categoryId": "garbage"}, "categoryId"),
    ],
)
async def test_create_product_refuses_invalid_fields(
    gql: GraphQLClient, database: Database, fields: dict[str, Any], field: str
) -> None:
    await product(gql, "EXISTING")
    base = {"sku": "NEW-1", "name": "New", "unitPrice": "1.00"}
    await refused(gql, database, CREATE_PRODUCT, {"input": base | fields}, "INVALID", field)


async def test_create_product_reports_every_invalid_field_at_once(gql: GraphQLClient, database: Database) -> None:
    bad = {"sku": "bad sku", "name": "", "unitPrice": "-1.005", "reorderPoint": -1}
    errors = await refused(gql, database, CREATE_PRODUCT, {"input": bad}, "INVALID", "sku")
    assert sorted(e["field"] for e in errors) == ["name", "reorderPoint", "sku", "unitPrice"]
    assert all(e["code"] == "INVALID" for e in errors)


async def test_trailing_zeros_are_not_extra_decimal_places(gql: GraphQLClient) -> None:
    assert (await product(gql, "Z", price="2.500"))["unitPrice"] == "2.50"


async def test_create_product_refusals(gql: GraphQLClient, database: Database) -> None:
    await product(gql, "AB-12")
    base = {"name": "New", "unitPrice": "1.00"}
    errors = await refused(gql, database, CREATE_PRODUCT, {"input": base | {"sku": " ab-12"}}, "DUPLICATE", "sku")
    assert "AB-12" in errors[0]["message"]
    await refused(
        gql,
        database,
        CREATE_PRODUCT,
        {"input": base | {"sku": "NEW", "categoryId": MISSING_CATEGORY}},
        "NOT_FOUND",
        "categoryId",
    )


async def test_update_product(gql: GraphQLClient, database: Database) -> None:
    tools = await category(gql, "Tools")
    hammer = await product(gql, "HAMMER", categoryId=tools["id"], description="Steel")

    updated = (await ok(gql, UPDATE_PRODUCT, id=hammer["id"], unitPrice="12.50", sku="hammer-2"))["product"]
    assert updated["unitPrice"] == "12.50"
    assert updated["sku"] == "HAMMER-2"
    assert updated["description"] == "Steel"
    assert updated["category"] == {"id": tools["id"]}
    assert updated["createdAt"] == hammer["createdAt"]
    assert updated["updatedAt"] > hammer["updatedAt"]

    cleared = (await ok(gql, UPDATE_PRODUCT, id=hammer["id"], categoryId=None, description=None))["product"]
    assert cleared["category"] is None
    assert cleared["description"] is None
    assert await scalar(database, "SELECT category_id FROM products") is None

    same = (await ok(gql, UPDATE_PRODUCT, id=hammer["id"], sku="HAMMER-2", isActive=False))["product"]
    assert same["isActive"] is False


async def test_update_product_refusals(gql: GraphQLClient, database: Database) -> None:
    a = await product(gql, "A-1")
    await product(gql, "B-1")
    update = UPDATE_PRODUCT
    await refused(gql, database, update, {"input": {"id": MISSING_PRODUCT, "name": "X"}}, "NOT_FOUND", "id")
    await refused(gql, database, update, {"input": {"id": global_id("Category", 1)}}, "NOT_FOUND", "id")
    await refused(gql, database, update, {"input": {"id": a["id"], "sku": "b-1"}}, "DUPLICATE", "sku")
    await refused(gql, database, update, {"input": {"id": a["id"], "sku": "b 1"}}, "INVALID", "sku")
    await refused(gql, database, update, {"input": {"id": a["id"], "unitPrice": None}}, "INVALID", "unitPrice")
    await refused(gql, database, update, {"input": {"id": a["id"], "unitPrice": "-3"}}, "INVALID", "unitPrice")
    await refused(gql, database, update, {"input": {"id": a["id"], "unitPrice": "0.001"}}, "INVALID", "unitPrice")
    await refused(gql, database, update, {"input": {"id": a["id"], "reorderPoint": None}}, "INVALID", "reorderPoint")
    await refused(gql, database, update, {"input": {"id": a["id"], "sku": None}}, "INVALID", "sku")
    await refused(
        gql, database, update, {"input": {"id": a["id"], "categoryId": MISSING_CATEGORY}}, "NOT_FOUND", "categoryId"
    )


async def test_delete_product(gql: GraphQLClient, database: Database) -> None:
    plain = await product(gql, "PLAIN")
    offered = await product(gql, "OFFERED")
    for name in ("S1", "S2", "S3"):
        await offer(gql, offered["id"], (await supplier(gql, name))["id"], unitCost="1")

    errors = await refused(gql, database, DELETE_PRODUCT, {"id": offered["id"]}, "IN_USE", "id")
    assert "3 suppliers" in errors[0]["message"]
    assert "OFFERED" in errors[0]["message"]

    data = await gql(DELETE_PRODUCT, {"id": plain["id"]})
    assert data["deleteProduct"] == {"deletedId": plain["id"], "errors": []}
    assert await scalar(database, "SELECT count(*) FROM products") == 1
    await refused(gql, database, DELETE_PRODUCT, {"id": plain["id"]}, "NOT_FOUND", "id")


# --- supplier terms -----------------------------------------------------------------------------


async def test_set_product_supplier_creates_then_changes_only_given_terms(
    gql: GraphQLClient, database: Database
) -> None:
    hammer = await product(gql, "HAMMER")
    acme = await supplier(gql, "Acme")

    created = await offer(gql, hammer["id"], acme["id"], unitCost="4.25", supplierSku=" AC-9 ", leadTimeDays=7)
    assert created["product"] == {"id": hammer["id"]}
    assert created["supplier"] == {"id": acme["id"]}
    assert (created["unitCost"], created["supplierSku"], created["leadTimeDays"], created["isPreferred"]) == (
        "4.25",
        "AC-9",
        7,
        False,
    )

    changed = await offer(gql, hammer["id"], acme["id"], leadTimeDays=3)
    assert changed["id"] == created["id"]
    assert (changed["unitCost"], changed["supplierSku"], changed["leadTimeDays"]) == ("4.25", "AC-9", 3)

    cleared = await offer(gql, hammer["id"], acme["id"], supplierSku=None, unitCost="5")
    assert (cleared["unitCost"], cleared["supplierSku"]) == ("5.00", None)
    assert await scalar(database, "SELECT count(*) FROM product_suppliers") == 1


async def test_preferring_a_supplier_unprefers_the_others(gql: GraphQLClient, database: Database) -> None:
    hammer = await product(gql, "HAMMER")
    saw = await product(gql, "SAW")
    s1, s2, s3 = [await supplier(gql, name) for name in ("S1", "S2", "S3")]

    await offer(gql, hammer["id"], s1["id"], unitCost="1", isPreferred=True)
    await offer(gql, hammer["id"], s2["id"], unitCost="2")
    await offer(gql, saw["id"], s1["id"], unitCost="3", isPreferred=True)
    third = await offer(gql, hammer["id"], s3["id"], unitCost="3", isPreferred=True)
    assert third["isPreferred"] is True

    async def preferred() -> list[tuple[Any, ...]]:
        async with database.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT p.sku, s.name FROM product_suppliers o JOIN products p ON p.id = o.product_id "
                    "JOIN suppliers s ON s.id = o.supplier_id WHERE o.is_preferred ORDER BY p.sku"
                )
            )
            return [tuple(row) for row in rows]

    assert await preferred() == [("HAMMER", "S3"), ("SAW", "S1")]
    # Moving the flag onto an existing offer.
    await offer(gql, hammer["id"], s2["id"], isPreferred=True)
    assert await preferred() == [("HAMMER", "S2"), ("SAW", "S1")]
    # Unsetting it leaves the product without a preferred supplier; nothing else is promoted.
    await offer(gql, hammer["id"], s2["id"], isPreferred=False)
    assert await preferred() == [("SAW", "S1")]

    data = await gql('{ product(sku: "SAW") { suppliers { supplier { id } isPreferred } } }')
    assert data["product"]["suppliers"] == [{"supplier": {"id": s1["id"]}, "isPreferred": True}]


async def test_set_product_supplier_refusals(gql: GraphQLClient, database: Database) -> None:
    hammer = await product(gql, "HAMMER")
    acme = await supplier(gql, "Acme")
    await offer(gql, hammer["id"], acme["id"], unitCost="1.00", isPreferred=True)
    bolt = await supplier(gql, "Bolt")
    new = {"productId": hammer["id"], "supplierId": bolt["id"]}
    old = {"productId": hammer["id"], "supplierId": acme["id"]}

    await refused(gql, database, SET_OFFER, {"input": new}, "INVALID", "unitCost")
    await refused(gql, database, SET_OFFER, {"input": new | {"unitCost": "-1"}}, "INVALID", "unitCost")
    await refused(gql, database, SET_OFFER, {"input": new | {"unitCost": "1.001"}}, "INVALID", "unitCost")
    await refused(gql, database, SET_OFFER, {"input": old | {"unitCost": None}}, "INVALID", "unitCost")
    await refused(gql, database, SET_OFFER, {"input": old | {"leadTimeDays": -1}}, "INVALID", "leadTimeDays")
    await refused(gql, database, SET_OFFER, {"input": old | {"leadTimeDays": 100_000}}, "INVALID", "leadTimeDays")
    await refused(gql, database, SET_OFFER, {"input": old | {"supplierSku": "s" * 65}}, "INVALID", "supplierSku")
    await refused(gql, database, SET_OFFER, {"input": old | {"isPreferred": None}}, "INVALID", "isPreferred")
    # Validation fails before anything is written, so the other offer stays preferred.
    await refused(
        gql, database, SET_OFFER, {"input": new | {"unitCost": "-1", "isPreferred": True}}, "INVALID", "unitCost"
    )
    await refused(
        gql,
        database,
        SET_OFFER,
        {"input": new | {"productId": MISSING_PRODUCT, "unitCost": "1"}},
        "NOT_FOUND",
        "productId",
    )
    await refused(
        gql,
        database,
        SET_OFFER,
        {"input": new | {"supplierId": MISSING_SUPPLIER, "unitCost": "1"}},
        "NOT_FOUND",
        "supplierId",
    )
    await refused(
        gql,
        database,
        SET_OFFER,
        {"input": new | {"supplierId": hammer["id"], "unitCost": "1"}},
        "NOT_FOUND",
        "supplierId",
    )


async def test_remove_product_supplier(gql: GraphQLClient, database: Database) -> None:
    hammer = await product(gql, "HAMMER")
    acme = await supplier(gql, "Acme")
    terms = await offer(gql, hammer["id"], acme["id"], unitCost="1.00", isPreferred=True)
    ids = {"productId": hammer["id"], "supplierId": acme["id"]}

    data = await gql(REMOVE_OFFER, ids)
    assert data["removeProductSupplier"] == {"deletedId": terms["id"], "errors": []}
    assert await scalar(database, "SELECT count(*) FROM product_suppliers") == 0

    await refused(gql, database, REMOVE_OFFER, ids, "NOT_FOUND", "supplierId")
    await refused(gql, database, REMOVE_OFFER, ids | {"productId": MISSING_PRODUCT}, "NOT_FOUND", "productId")
    await refused(gql, database, REMOVE_OFFER, ids | {"supplierId": MISSING_SUPPLIER}, "NOT_FOUND", "supplierId")
    await refused(gql, database, REMOVE_OFFER, ids | {"productId": "zz"}, "INVALID", "productId")

    # With its terms gone, both ends can be deleted.
    assert (await gql(DELETE_PRODUCT, {"id": hammer["id"]}))["deleteProduct"]["errors"] == []
    assert (await gql(DELETE_SUPPLIER, {"id": acme["id"]}))["deleteSupplier"]["errors"] == []


# --- concurrent writers -------------------------------------------------------------------------


async def test_concurrent_duplicate_sku_is_reported_as_duplicate(gql: GraphQLClient, database: Database) -> None:
    from db import catalog

    async with database.write_session() as session, session.begin():
        await catalog.create_product(session, sku="RACE-1", name="First", unit_price=1)
        racing = asyncio.create_task(
            gql(CREATE_PRODUCT, {"input": {"sku": "race-1", "name": "Second", "unitPrice": "2"}})
        )
        await wait_until_blocked(database)
    payload = (await racing)["createProduct"]
    assert payload["product"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("DUPLICATE", "sku")]
    assert await scalar(database, "SELECT name FROM products") == "First"


async def test_concurrent_offer_conflict_rolls_back_the_whole_mutation(
    gql: GraphQLClient, database: Database
) -> None:
    from db import catalog

    hammer = await product(gql, "HAMMER")
    acme = await supplier(gql, "Acme")
    bolt = await supplier(gql, "Bolt")
    await offer(gql, hammer["id"], acme["id"], unitCost="1", isPreferred=True)

    hammer_pk = await scalar(database, "SELECT id FROM products")
    bolt_pk = await scalar(database, "SELECT id FROM suppliers WHERE name = 'Bolt'")
    async with database.write_session() as session, session.begin():
        await catalog.set_product_supplier(session, product_id=hammer_pk, supplier_id=bolt_pk, unit_cost=2)
        racing = asyncio.create_task(
            gql(
                SET_OFFER,
                {"input": {"productId": hammer["id"], "supplierId": bolt["id"], "unitCost": "3", "isPreferred": True}},
            )
        )
        await wait_until_blocked(database)
    payload = (await racing)["setProductSupplier"]
    offers = await scalar(database, "SELECT count(*) FROM product_suppliers")
    bolt_cost = await scalar(database, "SELECT unit_cost FROM product_suppliers WHERE supplier_id = :id", id=bolt_pk)
    preferred = await scalar(
        database, "SELECT s.name FROM product_suppliers o JOIN suppliers s ON s.id = o.supplier_id WHERE o.is_preferred"
    )
    assert offers == 2

    if database.settings.is_sqlite:
        # Writers are serialized at BEGIN: the mutation ran after the commit and changed the new offer.
        assert payload["errors"] == []
        assert (payload["productSupplier"]["unitCost"], payload["productSupplier"]["isPreferred"]) == ("3.00", True)
        assert preferred == "Bolt"
    else:
        # It cleared Acme's flag, then hit the committed offer's key: all of it must be undone.
        assert payload["productSupplier"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("DUPLICATE", "supplierId")]
        assert preferred == "Acme"
        assert str(bolt_cost) == "2.00"
