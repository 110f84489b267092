"""The change log over HTTP: every mutation that is not a stock movement logs what it did to which object,
by whom and in which request, in its own transaction (a refused one logs nothing); `changes` lists the log
newest first, filtered and paged, for managers and administrators only."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text, update

from db.engine import Database
from db.models import Change, Role
from graph.schema import schema
from tests.utils import TEST_PASSWORD, GraphQLClient, global_id, run_command

ERRORS = "errors { field code }"
CHANGE = "id operation entityType entityId requestId at actor { username } fields { field old new }"
CHANGES = f"""
query($filter: ChangeFilter, $first: Int, $after: String, $last: Int, $before: String) {{
  changes(filter: $filter, first: $first, after: $after, last: $last, before: $before) {{
    totalCount
    edges {{ cursor node {{ {CHANGE} }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
  }}
}}
"""


async def _changes(gql: GraphQLClient, **variables: Any) -> dict[str, Any]:
    return (await gql(CHANGES, variables))["changes"]


async def _nodes(gql: GraphQLClient, **variables: Any) -> list[dict[str, Any]]:
    return [edge["node"] for edge in (await _changes(gql, **{"first": 100, **variables}))["edges"]]


async def _ok(gql: GraphQLClient, mutation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    (payload,) = (await gql(mutation, variables)).values()
    assert payload["errors"] == [], payload["errors"]
    return payload


def _fields(change: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {field["field"]: (field["old"], field["new"]) for field in change["fields"]}


async def _post(gql: GraphQLClient, query: str, variables: dict[str, Any], request_id: str) -> dict[str, Any]:
    """`query` sent with an `X-Request-ID` header; its data."""
    response = await gql.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers={**gql.headers, "X-Request-ID": request_id}
    )
    assert response.status_code == 200 and response.headers["X-Request-ID"] == request_id, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


CREATE_CATEGORY = f"mutation($input: CreateCategoryInput!) {{ createCategory(input: $input) {{ category {{ id }} {ERRORS} }} }}"
CREATE_SUPPLIER = f"mutation($input: CreateSupplierInput!) {{ createSupplier(input: $input) {{ supplier {{ id }} {ERRORS} }} }}"
CREATE_PRODUCT = f"mutation($input: CreateProductInput!) {{ createProduct(input: $input) {{ product {{ id }} {ERRORS} }} }}"
UPDATE_PRODUCT = f"mutation($input: UpdateProductInput!) {{ updateProduct(input: $input) {{ product {{ id }} {ERRORS} }} }}"
CREATE_WAREHOUSE = f"mutation($input: CreateWarehouseInput!) {{ createWarehouse(input: $input) {{ warehouse {{ id }} {ERRORS} }} }}"
UPDATE_WAREHOUSE = f"mutation($input: UpdateWarehouseInput!) {{ updateWarehouse(input: $input) {{ warehouse {{ id }} {ERRORS} }} }}"
CREATE_ORDER = (
    f"mutation($input: CreatePurchaseOrderInput!) {{ createPurchaseOrder(input: $input) {{ purchaseOrder {{ id }} "
    f"{ERRORS} }} }}"
)
SUBMIT_ORDER = f"mutation($id: ID!) {{ submitPurchaseOrder(id: $id) {{ purchaseOrder {{ id }} {ERRORS} }} }}"
CREATE_USER = f"mutation($input: CreateUserInput!) {{ createUser(input: $input) {{ user {{ id }} {ERRORS} }} }}"
UPDATE_USER = f"mutation($input: UpdateUserInput!) {{ updateUser(input: $input) {{ user {{ id }} {ERRORS} }} }}"


async def _catalog(gql: GraphQLClient) -> dict[str, str]:
    """A category, a supplier, a product in the category and a warehouse, made through the API."""
    category = (await _ok(gql, CREATE_CATEGORY, {"input": {"name": "Tools"}}))["category"]["id"]
    supplier = (await _ok(gql, CREATE_SUPPLIER, {"input": {"name": "Acme"}}))["supplier"]["id"]
    product = (
        await _ok(gql, CREATE_PRODUCT, {"input": {"sku": "HAM-1", "name": "Hammer", "unitPrice": "10"}})
    )["product"]["id"]
    warehouse = (await _ok(gql, CREATE_WAREHOUSE, {"input": {"code": "MAIN", "name": "Main"}}))["warehouse"]["id"]
    return {"category": category, "supplier": supplier, "product": product, "warehouse": warehouse}


async def test_update_product_logs_the_actor_the_old_and_new_values_and_the_request(gql, gql_as):
    refs = await _catalog(gql)
    manager = await gql_as(Role.MANAGER)
    before = datetime.now(UTC)
    given = {"id": refs["product"], "unitPrice": "12.5", "categoryId": refs["category"], "name": "Hammer"}
    await _post(manager, UPDATE_PRODUCT, {"input": given}, "req-update-product-1")

    [change, *older] = await _nodes(gql)
    assert {key: change[key] for key in ("operation", "entityType", "entityId", "requestId", "actor")} == {
        "operation": "updateProduct",
        "entityType": "Product",
        "entityId": refs["product"],
        "requestId": "req-update-product-1",
        "actor": {"username": "manager"},
    }
    # Only what changed (the name stayed), amounts as decimal text, the category by its global ID.
    assert change["fields"] == [
        {"field": "unitPrice", "old": "10.00", "new": "12.50"},
        {"field": "categoryId", "old": None, "new": refs["category"]},
    ]
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(change["at"]) <= datetime.now(UTC)
    # The product's creation, logged before, with every field it was given.
    created = next(c for c in older if c["operation"] == "createProduct")
    assert created["actor"] == {"username": "admin"}
    assert _fields(created) == {
        "sku": (None, "HAM-1"),
        "name": (None, "Hammer"),
        "unitPrice": (None, "10.00"),
        "reorderPoint": (None, 0),
        "reorderQuantity": (None, 0),
        "isActive": (None, True),
    }


def _pk(change_id: str) -> int:
    type_name, _, pk = base64.b64decode(change_id).decode().partition(":")
    assert type_name == "Change", change_id
    return int(pk)


async def test_update_warehouse_and_submit_purchase_order_are_logged(gql):
    refs = await _catalog(gql)
    await _ok(gql, UPDATE_WAREHOUSE, {"input": {"id": refs["warehouse"], "name": "Main hall", "address": "1 Dock"}})
    [change] = await _nodes(gql, filter={"entityId": refs["warehouse"]}, first=1)
    assert (change["operation"], _fields(change)) == (
        "updateWarehouse",
        {"name": ("Main", "Main hall"), "address": (None, "1 Dock")},
    )

    line = {"productId": refs["product"], "quantity": 4, "unitCost": "2.5"}
    order = (await _ok(gql, CREATE_ORDER, {"input": {"supplierId": refs["supplier"], "lines": [line]}}))
    order_id = order["purchaseOrder"]["id"]
    await _ok(gql, SUBMIT_ORDER, {"id": order_id})
    submitted, created = await _nodes(gql, filter={"entityId": order_id})
    assert created["operation"] == "createPurchaseOrder"
    assert _fields(created)["lines"] == (None, [{"productId": refs["product"], "quantity": 4, "unitCost": "2.50"}])
    assert _fields(created)["status"] == (None, "DRAFT")
    assert submitted["operation"] == "submitPurchaseOrder"
    fields = _fields(submitted)
    assert fields.keys() == {"status", "orderedAt"}
    assert fields["status"] == ("DRAFT", "ORDERED")
    assert fields["orderedAt"][0] is None and datetime.fromisoformat(fields["orderedAt"][1]).tzinfo is not None


async def test_update_user_logs_the_role_and_that_the_password_changed_never_the_password(gql, database):
    user = (
        await _ok(gql, CREATE_USER, {"input": {"username": "dana", "password": TEST_PASSWORD, "role": "VIEWER"}})
    )["user"]["id"]
    new_password = "another long password"
    await _ok(gql, UPDATE_USER, {"input": {"id": user, "role": "CLERK", "password": new_password}})

    updated, created = await _nodes(gql, filter={"entityId": user})
    assert (updated["operation"], updated["actor"]) == ("updateUser", {"username": "admin"})
    assert updated["fields"] == [
        {"field": "role", "old": "VIEWER", "new": "CLERK"},
        {"field": "password", "old": "[redacted]", "new": "[redacted]"},
    ]
    assert _fields(created) == {
        "username": (None, "dana"),
        "role": (None, "VIEWER"),
        "isActive": (None, True),
        "password": (None, "[redacted]"),
    }
    # Neither a password nor a hash reaches the log.
    async with database.engine.connect() as conn:
        logged = " ".join(str(row[0]) for row in await conn.execute(text("SELECT fields FROM changes")))
        hashes = [row[0] for row in await conn.execute(text("SELECT password_hash FROM users"))]
    for secret in (TEST_PASSWORD, new_password, *hashes, "argon2"):
        assert secret not in logged


async def test_a_users_email_in_the_log_shows_only_to_that_user_and_administrators(gql, gql_as):
    """As `User.email`: a manager reads another user's email changes as "[hidden]", their own as they are."""
    manager = await gql_as(Role.MANAGER)
    manager_id = (await manager("{ me { id } }"))["me"]["id"]
    dana = (
        await _ok(
            gql,
            CREATE_USER,
            {"input": {"username": "dana", "password": TEST_PASSWORD, "role": "VIEWER", "email": "dana@example.com"}},
        )
    )["user"]["id"]
    await _ok(gql, UPDATE_USER, {"input": {"id": dana, "email": "dana@example.org"}})
    await _ok(gql, UPDATE_USER, {"input": {"id": manager_id, "email": "mia@example.org"}})

    def emails(changes: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
        return [_fields(change)["email"] for change in changes if "email" in _fields(change)]

    assert emails(await _nodes(gql, filter={"entityId": dana})) == [
        ("dana@example.com", "dana@example.org"),
        (None, "dana@example.com"),
    ]
    assert emails(await _nodes(manager, filter={"entityId": dana})) == [("[hidden]", "[hidden]"), (None, "[hidden]")]
    assert emails(await _nodes(manager, filter={"entityId": manager_id})) == [(None, "mia@example.org")]
    [change] = [c for c in await _nodes(manager, filter={"entityId": dana}) if c["operation"] == "updateUser"]
    node = "query($id: ID!) { node(id: $id) { ... on Change { fields { field old new } } } }"
    assert (await manager(node, {"id": change["id"]}))["node"]["fields"] == [
        {"field": "email", "old": "[hidden]", "new": "[hidden]"}
    ]


async def test_a_refused_mutation_logs_nothing(gql, database):
    refs = await _catalog(gql)
    admin = await _admin_id(database)
    order = (await _ok(gql, CREATE_ORDER, {"input": {"supplierId": refs["supplier"]}}))["purchaseOrder"]["id"]
    logged = (await _changes(gql, first=0))["totalCount"]
    refusals = [
        (UPDATE_PRODUCT, {"input": {"id": refs["product"], "name": "Claw hammer", "unitPrice": "-1"}}),
        (f"mutation($id: ID!) {{ deleteCategory(id: $id) {{ deletedId {ERRORS} }} }}", {"id": global_id("Category", 999)}),
        (SUBMIT_ORDER, {"id": order}),  # no lines
        (UPDATE_USER, {"input": {"id": global_id("User", admin), "role": "VIEWER"}}),  # the last ADMIN
        (UPDATE_WAREHOUSE, {"input": {"id": refs["warehouse"], "name": "Renamed", "code": "bad code"}}),
    ]
    for mutation, variables in refusals:
        (payload,) = (await gql(mutation, variables)).values()
        assert payload["errors"], (mutation, payload)
    assert (await _changes(gql, first=0))["totalCount"] == logged
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM changes"))).scalar() == logged


async def _admin_id(database: Database) -> int:
    async with database.engine.connect() as conn:
        return (await conn.execute(text("SELECT id FROM users WHERE username = 'admin'"))).scalar_one()


def _mutations() -> set[str]:
    root = schema._schema.mutation_type
    assert root is not None
    return set(root.fields)


async def test_every_mutation_but_stock_movements_and_tokens_writes_a_change(gql, gql_as, anonymous_gql):
    """Each mutation of the schema in turn, and the changes it logged: (operation, type, object)."""
    clerk = await gql_as(Role.CLERK)
    seen: set[str] = set()

    async def logged(
        name: str, arguments: str, variables: dict[str, Any], result: str = "", client: GraphQLClient = gql
    ) -> tuple[Any, list[tuple[str, str, str]]]:
        """Run mutation `name` (its arguments declared as in `arguments`, the payload's `result` selected);
        its payload's `result`, and the changes logged since, oldest first (paged back from the newest
        change before it)."""
        newest = (await _changes(gql, first=1))["edges"]
        since = {"last": 100, "before": newest[0]["cursor"]} if newest else {"first": 100}
        variables_list = [a.split(":")[0] for a in arguments.split(", ")] if arguments else []
        declared = f"({arguments})" if arguments else ""
        passed = f"({', '.join(f'{v[1:]}: {v}' for v in variables_list)})" if arguments else ""
        selection = f"{result} {ERRORS}" if name not in ("login", "logout") else result
        (payload,) = (await client(f"mutation{declared} {{ {name}{passed} {{ {selection} }} }}", variables)).values()
        assert not payload.get("errors"), (name, payload)
        seen.add(name)
        nodes = [edge["node"] for edge in (await _changes(gql, **since))["edges"]]
        found = [(n["operation"], n["entityType"], n["entityId"]) for n in reversed(nodes)]
        assert all(operation == name for operation, _, _ in found), (name, found)
        value = next(iter(payload.values())) if result else None
        while isinstance(value, dict) and len(value) == 1:
            value = next(iter(value.values()))
        return value, [(type_name, entity) for _, type_name, entity in found]

    async def one(name: str, arguments: str, variables: dict[str, Any], result: str = "", **more: Any) -> Any:
        value, found = await logged(name, arguments, variables, result, **more)
        assert len(found) == 1, (name, found)
        return value, found[0]

    def same(found: tuple[str, str], type_name: str, entity: str) -> None:
        assert found == (type_name, entity)

    # The catalog.
    category, found = await one("createCategory", "$input: CreateCategoryInput!", {"input": {"name": "Tools"}}, "category { id }")
    same(found, "Category", category)
    _, found = await one("updateCategory", "$input: UpdateCategoryInput!", {"input": {"id": category, "name": "Hand tools"}})
    same(found, "Category", category)
    supplier, found = await one("createSupplier", "$input: CreateSupplierInput!", {"input": {"name": "Acme"}}, "supplier { id }")
    same(found, "Supplier", supplier)
    _, found = await one("updateSupplier", "$input: UpdateSupplierInput!", {"input": {"id": supplier, "phone": "555"}})
    same(found, "Supplier", supplier)
    other_supplier, _ = await one("createSupplier", "$input: CreateSupplierInput!", {"input": {"name": "Bolt"}}, "supplier { id }")
    product, found = await one(
        "createProduct", "$input: CreateProductInput!",
        {"input": {"sku": "HAM-1", "name": "Hammer", "unitPrice": "10", "categoryId": category}}, "product { id }",
    )
    same(found, "Product", product)
    _, found = await one("updateProduct", "$input: UpdateProductInput!", {"input": {"id": product, "reorderPoint": 5}})
    same(found, "Product", product)
    offer, found = await one(
        "setProductSupplier", "$input: SetProductSupplierInput!",
        {"input": {"productId": product, "supplierId": supplier, "unitCost": "3.50", "isPreferred": True}},
        "productSupplier { id }",
    )
    same(found, "ProductSupplier", offer)
    other_offer, _ = await one(
        "setProductSupplier", "$input: SetProductSupplierInput!",
        {"input": {"productId": product, "supplierId": other_supplier, "unitCost": "3.00"}}, "productSupplier { id }",
    )
    # Preferring the other offer un-prefers the first: both are logged, by the one mutation.
    _, found = await logged(
        "setProductSupplier", "$input: SetProductSupplierInput!",
        {"input": {"productId": product, "supplierId": other_supplier, "isPreferred": True}},
    )
    assert sorted(found) == sorted([("ProductSupplier", offer), ("ProductSupplier", other_offer)])
    # An import logs each product it creates or changes, in the one request.
    inserted, found = await logged(
        "importProducts", "$csv: String, $mode: ImportMode",
        {"csv": "sku,name,unit_price\nHAM-1,Hammer,12\nNEW-1,New,1\n", "mode": "UPSERT"}, "inserted",
    )
    assert inserted == 1 and len(found) == 2 and ("Product", product) in found, found
    assert {type_name for type_name, _ in found} == {"Product"}

    # Warehouses.
    warehouse, found = await one("createWarehouse", "$input: CreateWarehouseInput!", {"input": {"code": "MAIN", "name": "Main"}}, "warehouse { id }")
    same(found, "Warehouse", warehouse)
    _, found = await one("updateWarehouse", "$input: UpdateWarehouseInput!", {"input": {"id": warehouse, "name": "Main hall"}})
    same(found, "Warehouse", warehouse)
    second, _ = await one("createWarehouse", "$input: CreateWarehouseInput!", {"input": {"code": "EAST", "name": "East"}}, "warehouse { id }")

    # Stock movements are the ledger's: nothing is logged.
    at_main = {"productId": product, "warehouseId": warehouse}
    for name, input_type, input in (
        ("receiveStock", "ReceiveStockInput", at_main | {"quantity": 10, "unitCost": "2.00"}),
        ("shipStock", "ShipStockInput", at_main | {"quantity": 1}),
        ("adjustStock", "AdjustStockInput", at_main | {"countedQuantity": 8}),
        ("transferStock", "TransferStockInput",
         {"productId": product, "fromWarehouseId": warehouse, "toWarehouseId": second, "quantity": 2}),
        ("returnStock", "ReturnStockInput", at_main | {"quantity": 1}),
    ):
        _, found = await logged(name, f"$input: {input_type}!", {"input": input}, client=clerk)
        assert found == [], name
    stock_csv = "sku,warehouse,quantity,unit_cost\nNEW-1,MAIN,3,0.50\n"
    _, found = await logged("importStock", "$csv: String", {"csv": stock_csv})
    assert found == []

    # Purchase orders: their lines and status changes; receiving logs the order's, not the ledger's.
    line = {"productId": product, "quantity": 5}
    order, found = await one(
        "createPurchaseOrder", "$input: CreatePurchaseOrderInput!", {"input": {"supplierId": supplier, "lines": [line]}},
        "purchaseOrder { id }",
    )
    same(found, "PurchaseOrder", order)
    _, found = await one("updatePurchaseOrder", "$input: UpdatePurchaseOrderInput!", {"input": {"id": order, "note": "Urgent"}})
    same(found, "PurchaseOrder", order)
    _, found = await one("submitPurchaseOrder", "$id: ID!", {"id": order})
    same(found, "PurchaseOrder", order)
    _, found = await one(
        "receivePurchaseOrder", "$input: ReceivePurchaseOrderInput!",
        {"input": {"id": order, "warehouseId": warehouse, "lines": [{"productId": product, "quantity": 2}]}},
        client=clerk,
    )
    same(found, "PurchaseOrder", order)
    draft, _ = await one("createPurchaseOrder", "$input: CreatePurchaseOrderInput!", {"input": {"supplierId": supplier}}, "purchaseOrder { id }")
    _, found = await one("cancelPurchaseOrder", "$id: ID!", {"id": draft})
    same(found, "PurchaseOrder", draft)
    # Drafting for low stock logs each order it drafts, as createPurchaseOrder does: HAM-1, 9 at MAIN and 3 on
    # order, is low once its reorder point is 20; Bolt is its preferred supplier.
    await one("updateProduct", "$input: UpdateProductInput!", {"input": {"id": product, "reorderPoint": 20}})
    drafted, found = await one(
        "draftPurchaseOrdersFromLowStock", "$warehouseId: ID!", {"warehouseId": warehouse}, "purchaseOrders { id }"
    )
    same(found, "PurchaseOrder", drafted[0]["id"])

    # Selling: customers and orders are logged; holds and returns are the reservations' and the ledger's.
    customer, found = await one(
        "createCustomer", "$input: CreateCustomerInput!", {"input": {"name": "Buyer"}}, "customer { id }"
    )
    same(found, "Customer", customer)
    _, found = await one("updateCustomer", "$input: UpdateCustomerInput!", {"input": {"id": customer, "phone": "1"}})
    same(found, "Customer", customer)
    sale_line = at_main | {"quantity": 2}
    sale, found = await one(
        "createSalesOrder", "$input: CreateSalesOrderInput!", {"input": {"customerId": customer, "lines": [sale_line]}},
        "salesOrder { id }",
    )
    same(found, "SalesOrder", sale)
    _, found = await one("updateSalesOrder", "$input: UpdateSalesOrderInput!", {"input": {"id": sale, "note": "Gift"}})
    same(found, "SalesOrder", sale)
    lines, found = await one("confirmSalesOrder", "$id: ID!", {"id": sale}, "salesOrder { lines { id } }", client=clerk)
    same(found, "SalesOrder", sale)
    sold_line = lines[0]["id"]
    ship = {"id": sale, "lines": [{"lineId": sold_line, "quantity": 1}]}
    _, found = await one("shipSalesOrder", "$input: ShipSalesOrderInput!", {"input": ship}, client=clerk)
    same(found, "SalesOrder", sale)
    _, found = await one("cancelSalesOrder", "$id: ID!", {"id": sale})
    same(found, "SalesOrder", sale)
    back = {"lineId": sold_line, "quantity": 1, "disposition": "RESTOCK"}
    _, found = await logged("returnSalesOrderLine", "$input: ReturnSalesOrderLineInput!", {"input": back})
    assert found == []
    hold, found = await logged(
        "reserveStock", "$input: ReserveStockInput!", {"input": at_main | {"quantity": 1}}, "reservation { id }",
        client=clerk,
    )
    assert found == []
    _, found = await logged("releaseReservation", "$id: ID!", {"id": hold}, client=clerk)
    assert found == []
    idle, _ = await one("createCustomer", "$input: CreateCustomerInput!", {"input": {"name": "Idle"}}, "customer { id }")
    _, found = await one("deleteCustomer", "$id: ID!", {"id": idle})
    same(found, "Customer", idle)

    # Archiving and deleting: a delete logs the old values, the new ones null.
    _, found = await one("archiveWarehouse", "$id: ID!", {"id": second})
    same(found, "Warehouse", second)
    empty, _ = await one("createWarehouse", "$input: CreateWarehouseInput!", {"input": {"code": "TEMP", "name": "Temp"}}, "warehouse { id }")
    _, found = await one("deleteWarehouse", "$id: ID!", {"id": empty})
    same(found, "Warehouse", empty)
    _, found = await one("removeProductSupplier", "$productId: ID!, $supplierId: ID!", {"productId": product, "supplierId": supplier})
    same(found, "ProductSupplier", offer)
    bare, _ = await one("createProduct", "$input: CreateProductInput!", {"input": {"sku": "BARE", "name": "Bare", "unitPrice": "1"}}, "product { id }")
    _, found = await one("deleteProduct", "$id: ID!", {"id": bare})
    same(found, "Product", bare)
    spare, _ = await one("createCategory", "$input: CreateCategoryInput!", {"input": {"name": "Spare"}}, "category { id }")
    _, found = await one("deleteCategory", "$id: ID!", {"id": spare})
    same(found, "Category", spare)
    idle, _ = await one("createSupplier", "$input: CreateSupplierInput!", {"input": {"name": "Idle"}}, "supplier { id }")
    _, found = await one("deleteSupplier", "$id: ID!", {"id": idle})
    same(found, "Supplier", idle)
    [deleted] = await _nodes(gql, filter={"entityId": idle}, first=1)
    assert deleted["fields"] == [
        {"field": "name", "old": "Idle", "new": None},
        {"field": "isActive", "old": True, "new": None},
    ]

    # Users.
    user, found = await one(
        "createUser", "$input: CreateUserInput!",
        {"input": {"username": "erin", "password": TEST_PASSWORD, "role": "VIEWER"}}, "user { id }",
    )
    same(found, "User", user)
    _, found = await one("updateUser", "$input: UpdateUserInput!", {"input": {"id": user, "email": "erin@example.com"}})
    same(found, "User", user)
    _, found = await one("deactivateUser", "$id: ID!", {"id": user})
    same(found, "User", user)

    # Webhook endpoints (switched off: the test server's deliverer leaves them alone); the secret only redacted.
    hook, found = await one(
        "createWebhookEndpoint", "$input: CreateWebhookEndpointInput!",
        {"input": {"url": "http://127.0.0.1:9/hook", "events": ["STOCK_CHANGED"], "isActive": False,
                   "secret": "a-secret-nobody-reads"}},
        "webhookEndpoint { id }",
    )
    same(found, "WebhookEndpoint", hook)
    _, found = await one(
        "updateWebhookEndpoint", "$input: UpdateWebhookEndpointInput!", {"input": {"id": hook, "rotateSecret": True}}
    )
    same(found, "WebhookEndpoint", hook)
    [rotated, created] = await _nodes(gql, filter={"entityId": hook}, first=2)
    assert rotated["fields"] == [{"field": "secret", "old": "[redacted]", "new": "[redacted]"}]
    assert {"field": "secret", "old": None, "new": "[redacted]"} in created["fields"]
    assert "a-secret-nobody-reads" not in str(created)
    _, found = await one("deleteWebhookEndpoint", "$id: ID!", {"id": hook})
    same(found, "WebhookEndpoint", hook)

    # Tokens are no objects of the API: signing in and out logs nothing.
    token, found = await logged(
        "login", "$username: String!, $password: String!", {"username": "clerk", "password": TEST_PASSWORD},
        "token errors { code }", client=anonymous_gql,
    )
    assert found == []
    _, found = await logged("logout", "", {}, "user { username }", client=GraphQLClient(gql.http, token))
    assert found == []

    assert seen == _mutations(), sorted(_mutations() - seen)


async def test_the_inventory_command_logs_user_changes_without_an_actor(gql, database, database_url):
    code, _out, err = await run_command(
        database_url, "users", "create", "frank", "--role", "CLERK", "--password-stdin", stdin=f"{TEST_PASSWORD}\n"
    )
    assert code == 0, err
    code, _out, err = await run_command(database_url, "users", "deactivate", "frank")
    assert code == 0, err
    deactivated, created = await _nodes(gql)
    assert (created["operation"], created["actor"], created["requestId"]) == ("users create", None, None)
    assert _fields(created)["role"] == (None, "CLERK")
    assert (deactivated["operation"], deactivated["actor"]) == ("users deactivate", None)
    assert _fields(deactivated) == {"isActive": (True, False)}


async def test_filters_by_object_actor_and_time(gql, gql_as, database):
    refs = await _catalog(gql)
    manager = await gql_as(Role.MANAGER)
    await _ok(manager, UPDATE_PRODUCT, {"input": {"id": refs["product"], "name": "Claw hammer"}})
    await _ok(manager, UPDATE_WAREHOUSE, {"input": {"id": refs["warehouse"], "name": "Main hall"}})
    everything = await _nodes(gql)
    assert [c["operation"] for c in everything] == [
        "updateWarehouse", "updateProduct", "createWarehouse", "createProduct", "createSupplier", "createCategory",
    ]

    of_product = await _nodes(gql, filter={"entityId": refs["product"]})
    assert [c["operation"] for c in of_product] == ["updateProduct", "createProduct"]
    manager_id = (await manager("{ me { id } }"))["me"]["id"]
    by_manager = await _nodes(gql, filter={"actorId": manager_id})
    assert [c["operation"] for c in by_manager] == ["updateWarehouse", "updateProduct"]
    both = await _nodes(gql, filter={"actorId": manager_id, "entityId": refs["warehouse"]})
    assert [c["operation"] for c in both] == ["updateWarehouse"]
    assert await _nodes(gql, filter={"entityId": global_id("Product", 999)}) == []

    # Times: set apart in the database (an hour each, oldest first), so that the bounds fall between them.
    base = datetime(2026, 1, 1, tzinfo=UTC)
    async with database.engine.begin() as conn:
        for hours, change in enumerate(reversed(everything)):
            at = base + timedelta(hours=hours)
            await conn.execute(update(Change).where(Change.id == _pk(change["id"])).values(created_at=at))
    # From 01:00 (inclusive) to 04:00 (exclusive), the latter written at another offset.
    window = {"from": "2026-01-01T01:00:00Z", "to": "2026-01-01T06:00:00+02:00"}
    assert [c["operation"] for c in await _nodes(gql, filter=window)] == [
        "createWarehouse", "createProduct", "createSupplier",
    ]
    assert [c["at"] for c in await _nodes(gql, filter={"from": "2026-01-01T05:00:00Z"})] == [
        "2026-01-01T05:00:00+00:00"
    ]
    of_product = await _nodes(gql, filter={"entityId": refs["product"], "to": "2026-01-01T03:00:00Z"})
    assert [c["operation"] for c in of_product] == ["createProduct"]

    # A time without an offset, a period that ends before it starts and an ID that is none are refused.
    for bad, field in (
        ({"from": "2026-01-01T01:00:00"}, None),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "filter.to"),
        ({"entityId": "not an id"}, "filter.entityId"),
        ({"actorId": refs["product"]}, "filter.actorId"),
    ):
        body = await gql.post(CHANGES, {"filter": bad})
        assert body["data"] is None or body["data"]["changes"] is None, bad
        [error] = body["errors"]
        assert error["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND"), (bad, error)
        if field is not None:
            assert field in error["message"], (bad, error)


async def test_only_managers_and_administrators_read_the_log(gql, gql_as, anonymous_gql):
    refs = await _catalog(gql)
    [change] = await _nodes(gql, filter={"entityId": refs["product"]})
    node = "query($id: ID!) { node(id: $id) { id ... on Change { operation entityId } } }"
    nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Change { operation } } }"
    for role in (Role.VIEWER, Role.CLERK):
        client = await gql_as(role)
        body = await client.post(CHANGES, {"first": 5})
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("FORBIDDEN", ["changes"])]
        # By its ID, a change is null for them, as a user other than oneself is for non-administrators.
        assert (await client(node, {"id": change["id"]}))["node"] is None
        assert (await client(nodes, {"ids": [change["id"], refs["product"]]}))["nodes"] == [None, {"id": refs["product"]}]
    body = await anonymous_gql.post(CHANGES, {"first": 5})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for role in (Role.MANAGER, Role.ADMIN):
        client = await gql_as(role)
        assert (await _changes(client, first=0))["totalCount"] == 4
        expected = {"id": change["id"], "operation": "createProduct", "entityId": refs["product"]}
        assert (await client(node, {"id": change["id"]}))["node"] == expected
        assert (await client(nodes, {"ids": [change["id"]]}))["nodes"] == [{"id": change["id"], "operation": "createProduct"}]


async def test_pages_newest_first_with_cursors(gql):
    for n in range(7):
        await _ok(gql, CREATE_CATEGORY, {"input": {"name": f"Category {n}"}})
    everything = [c["id"] for c in await _nodes(gql)]
    assert len(everything) == 7 and [_pk(i) for i in everything] == sorted((_pk(i) for i in everything), reverse=True)

    first = await _changes(gql, first=3)
    assert [e["node"]["id"] for e in first["edges"]] == everything[:3]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"], first["pageInfo"]["hasPreviousPage"]) == (7, True, False)
    second = await _changes(gql, first=3, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in second["edges"]] == everything[3:6]
    third = await _changes(gql, first=3, after=second["edges"][-1]["cursor"])
    assert [e["node"]["id"] for e in third["edges"]] == everything[6:]
    assert third["pageInfo"]["hasNextPage"] is False

    back = await _changes(gql, last=2, before=third["pageInfo"]["startCursor"])
    assert [e["node"]["id"] for e in back["edges"]] == everything[4:6]
    assert back["pageInfo"]["hasPreviousPage"] is True
    # A cursor of another list's order is refused.
    users = await gql("{ users(first: 1) { pageInfo { endCursor } } }")
    body = await gql.post(CHANGES, {"first": 1, "after": users["users"]["pageInfo"]["endCursor"]})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
