"""Who may use what: every root query field and every mutation of the schema, sent by anonymous clients and
by users of each role, is allowed or refused exactly as the issue's role table says; and what the API
writes names the user who wrote it (`createdBy`)."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from sqlalchemy import select

from db import catalog, purchasing, selling, stock, users, warehouses, webhooks
from db.engine import Database
from db.models import ApiToken, Base, IdempotencyKey, Role, User
from graph.schema import schema
from tests.utils import TEST_PASSWORD, GraphQLClient, global_id


class Anyone(Enum):
    ANYONE = "anyone"
    SIGNED_IN = "signed in"


ANYONE, SIGNED_IN = Anyone.ANYONE, Anyone.SIGNED_IN
VIEWER, CLERK, MANAGER, ADMIN = Role.VIEWER, Role.CLERK, Role.MANAGER, Role.ADMIN

# Written from the issue, independently of graph/schema.py: VIEWER reads everything; CLERK also records
# stock movements (receiving a purchase order is one); MANAGER also manages the catalog, suppliers,
# warehouses and purchase orders (importing products and opening stock too), and reads the change log; ADMIN
# also manages users. Anonymous clients may only log in.
EXPECTED: dict[str, dict[str, Role | Anyone]] = {
    "query": {
        "me": ANYONE,
        "node": VIEWER,
        "nodes": VIEWER,
        "product": VIEWER,
        "products": VIEWER,
        "category": VIEWER,
        "categories": VIEWER,
        "supplier": VIEWER,
        "suppliers": VIEWER,
        "warehouse": VIEWER,
        "warehouses": VIEWER,
        "transactions": VIEWER,
        "lowStock": VIEWER,
        "inventoryValuation": VIEWER,
        "stockMovements": VIEWER,
        "purchaseOrder": VIEWER,
        "purchaseOrders": VIEWER,
        "customer": VIEWER,
        "customers": VIEWER,
        "salesOrder": VIEWER,
        "salesOrders": VIEWER,
        "reservations": VIEWER,
        "changes": MANAGER,
        "users": ADMIN,
        "webhookEndpoints": ADMIN,
        "webhookDeliveries": ADMIN,
    },
    "mutation": {
        "login": ANYONE,
        "logout": SIGNED_IN,
        "receiveStock": CLERK,
        "shipStock": CLERK,
        "adjustStock": CLERK,
        "transferStock": CLERK,
        "returnStock": CLERK,
        "receivePurchaseOrder": CLERK,
        "createCategory": MANAGER,
        "updateCategory": MANAGER,
        "deleteCategory": MANAGER,
        "createSupplier": MANAGER,
        "updateSupplier": MANAGER,
        "deleteSupplier": MANAGER,
        "createProduct": MANAGER,
        "updateProduct": MANAGER,
        "deleteProduct": MANAGER,
        "setProductSupplier": MANAGER,
        "removeProductSupplier": MANAGER,
        "createWarehouse": MANAGER,
        "updateWarehouse": MANAGER,
        "archiveWarehouse": MANAGER,
        "deleteWarehouse": MANAGER,
        "createPurchaseOrder": MANAGER,
        "updatePurchaseOrder": MANAGER,
        "submitPurchaseOrder": MANAGER,
        "cancelPurchaseOrder": MANAGER,
        "draftPurchaseOrdersFromLowStock": MANAGER,
        "importProducts": MANAGER,
        "importStock": MANAGER,
        # Selling: clerks sell (draft, confirm and ship orders, hold stock for carts and quotes); managers keep
        # the customers and undo sales (cancel orders, take returns).
        "createSalesOrder": CLERK,
        "updateSalesOrder": CLERK,
        "confirmSalesOrder": CLERK,
        "shipSalesOrder": CLERK,
        "reserveStock": CLERK,
        "releaseReservation": CLERK,
        "createCustomer": MANAGER,
        "updateCustomer": MANAGER,
        "deleteCustomer": MANAGER,
        "cancelSalesOrder": MANAGER,
        "returnSalesOrderLine": MANAGER,
        "createUser": ADMIN,
        "updateUser": ADMIN,
        "deactivateUser": ADMIN,
        "createWebhookEndpoint": ADMIN,
        "updateWebhookEndpoint": ADMIN,
        "deleteWebhookEndpoint": ADMIN,
    },
}

CLIENTS = [None, VIEWER, CLERK, MANAGER, ADMIN]  # None: no token

SignIn = Callable[..., Awaitable[GraphQLClient]]  # the `gql_as` fixture


def _schema_fields(operation: str) -> set[str]:
    root = schema._schema.query_type if operation == "query" else schema._schema.mutation_type
    assert root is not None
    return set(root.fields)


def test_every_root_field_has_an_expected_role() -> None:
    for operation, expected in EXPECTED.items():
        fields = _schema_fields(operation)
        assert fields - expected.keys() == set(), f"{operation} fields missing from EXPECTED: add them, with a role"
        assert expected.keys() - fields == set(), f"EXPECTED names {operation} fields the schema lacks"


# --- the rows every operation works on ----------------------------------------------------------


@dataclass
class Rows:
    """Global IDs of rows made straight in the database, chosen so that every mutation below succeeds."""

    category: str
    empty_category: str
    supplier: str
    idle_supplier: str
    product: str
    bare_product: str
    warehouse: str
    other_warehouse: str
    empty_warehouse: str
    draft_order: str
    ordered_order: str
    customer: str
    idle_customer: str
    draft_sale: str
    confirmed_sale: str
    confirmed_line: str
    shipped_line: str
    hold: str
    user: str
    webhook: str


@pytest.fixture
async def rows(database: Database) -> Rows:
    security = users.Security.from_settings(database.settings)
    async with database.write_session() as session, session.begin():
        category = await catalog.create_category(session, name="Hand tools")
        empty_category = await catalog.create_category(session, name="Nothing yet")
        supplier = await catalog.create_supplier(session, name="Acme")
        idle_supplier = await catalog.create_supplier(session, name="Idle")
        product = await catalog.create_product(
            session, sku="ROLE-1", name="Hammer", unit_price=Decimal("9.90"), category_id=category.id,
            reorder_point=50,
        )
        bare_product = await catalog.create_product(session, sku="ROLE-2", name="Spare", unit_price=Decimal("1.00"))
        await catalog.set_product_supplier(
            session, product_id=product.id, supplier_id=supplier.id, unit_cost=Decimal("4.00"), is_preferred=True
        )
        warehouse = await warehouses.create_warehouse(session, code="MAIN", name="Main")
        other_warehouse = await warehouses.create_warehouse(session, code="WEST", name="West")
        empty_warehouse = await warehouses.create_warehouse(session, code="EMPTY", name="Empty")
        await stock.receive_stock(session, product_id=product.id, warehouse_id=warehouse.id, quantity=10)
        line: purchasing.OrderLine = {"product_id": product.id, "quantity": 5}
        draft = await purchasing.create_purchase_order(session, supplier_id=supplier.id, lines=[line])
        ordered = await purchasing.create_purchase_order(session, supplier_id=supplier.id, lines=[line])
        await purchasing.submit_purchase_order(session, purchase_order_id=ordered.id)
        customer = await selling.create_customer(session, name="Buyer")
        idle_customer = await selling.create_customer(session, name="Idle buyer")
        sale: selling.OrderLine = {"product_id": product.id, "warehouse_id": warehouse.id, "quantity": 2}
        draft_sale = await selling.create_sales_order(session, customer_id=customer.id, lines=[sale])
        confirmed_sale = await selling.create_sales_order(session, customer_id=customer.id, lines=[sale])
        await selling.confirm_sales_order(session, sales_order_id=confirmed_sale.id)
        [confirmed_line] = await selling.order_lines(session, confirmed_sale)
        shipped_sale = await selling.create_sales_order(session, customer_id=customer.id, lines=[sale])
        await selling.confirm_sales_order(session, sales_order_id=shipped_sale.id)
        [shipped_line] = await selling.order_lines(session, shipped_sale)
        await selling.ship_sales_order(session, sales_order_id=shipped_sale.id, lines=[(shipped_line.id, 2)])
        hold = await selling.reserve_stock(session, product_id=product.id, warehouse_id=warehouse.id, quantity=1)
        user = await users.create_user(session, security=security, username="someone", password=TEST_PASSWORD)
        # Switched off: the test server's deliverer leaves it alone.
        hook = await webhooks.create_endpoint(
            session, url="http://127.0.0.1:9/hook", events=["TRANSACTION_ADDED"], is_active=False, allow_private=True
        )
    return Rows(
        category=global_id("Category", category.id),
        empty_category=global_id("Category", empty_category.id),
        supplier=global_id("Supplier", supplier.id),
        idle_supplier=global_id("Supplier", idle_supplier.id),
        product=global_id("Product", product.id),
        bare_product=global_id("Product", bare_product.id),
        warehouse=global_id("Warehouse", warehouse.id),
        other_warehouse=global_id("Warehouse", other_warehouse.id),
        empty_warehouse=global_id("Warehouse", empty_warehouse.id),
        draft_order=global_id("PurchaseOrder", draft.id),
        ordered_order=global_id("PurchaseOrder", ordered.id),
        customer=global_id("Customer", customer.id),
        idle_customer=global_id("Customer", idle_customer.id),
        draft_sale=global_id("SalesOrder", draft_sale.id),
        confirmed_sale=global_id("SalesOrder", confirmed_sale.id),
        confirmed_line=global_id("SalesOrderLine", confirmed_line.id),
        shipped_line=global_id("SalesOrderLine", shipped_line.id),
        hold=global_id("Reservation", hold.reservation.id),
        user=global_id("User", user.id),
        webhook=global_id("WebhookEndpoint", hook.endpoint.id),
    )


# --- one minimal operation per root field -------------------------------------------------------


def _query(field: str, rows: Rows) -> tuple[str, dict[str, Any]]:
    """A query of `field` alone, with arguments that find the fixture's rows."""
    page = "{ totalCount nodes { __typename } }"
    documents: dict[str, tuple[str, dict[str, Any]]] = {
        "me": ("{ me { username } }", {}),
        "node": ("query($id: ID!) { node(id: $id) { id ... on Product { sku } } }", {"id": rows.product}),
        "nodes": ("query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Product { sku } } }", {"ids": [rows.product]}),
        "product": ("query($id: ID) { product(id: $id) { sku } }", {"id": rows.product}),
        "products": (f"{{ products {page} }}", {}),
        "category": ("query($id: ID) { category(id: $id) { name } }", {"id": rows.category}),
        "categories": (f"{{ categories {page} }}", {}),
        "supplier": ("query($id: ID!) { supplier(id: $id) { name } }", {"id": rows.supplier}),
        "suppliers": (f"{{ suppliers {page} }}", {}),
        "warehouse": ("query($id: ID) { warehouse(id: $id) { code } }", {"id": rows.warehouse}),
        "warehouses": (f"{{ warehouses {page} }}", {}),
        "transactions": (f"{{ transactions {page} }}", {}),
        "lowStock": ("{ lowStock { totalCount nodes { quantityOnHand } } }", {}),
        "inventoryValuation": ("{ inventoryValuation { totalQuantity totalValue } }", {}),
        "stockMovements": ("{ stockMovements(groupBy: PRODUCT) { received } }", {}),
        "purchaseOrder": ("query($id: ID) { purchaseOrder(id: $id) { number } }", {"id": rows.ordered_order}),
        "purchaseOrders": (f"{{ purchaseOrders {page} }}", {}),
        "customer": ("query($id: ID!) { customer(id: $id) { name } }", {"id": rows.customer}),
        "customers": (f"{{ customers {page} }}", {}),
        "salesOrder": ("query($id: ID) { salesOrder(id: $id) { number } }", {"id": rows.draft_sale}),
        "salesOrders": (f"{{ salesOrders {page} }}", {}),
        "reservations": (f"{{ reservations {page} }}", {}),
        "changes": (f"{{ changes {page} }}", {}),
        "users": (f"{{ users {page} }}", {}),
        "webhookEndpoints": (f"{{ webhookEndpoints {page} }}", {}),
        "webhookDeliveries": (
            f"query($id: ID!) {{ webhookDeliveries(endpointId: $id) {page} }}", {"id": rows.webhook}
        ),
    }
    return documents[field]


def _mutation_input(field: str, rows: Rows) -> tuple[str, dict[str, Any]]:
    """Arguments (as `argument: Type` and values) with which `field` changes something when allowed."""
    at_main = {"productId": rows.product, "warehouseId": rows.warehouse}
    one_line = [{"productId": rows.product, "quantity": 3}]
    input_types = {
        "createCategory": ("CreateCategoryInput", {"name": "Garden"}),
        "updateCategory": ("UpdateCategoryInput", {"id": rows.category, "name": "Renamed"}),
        "createSupplier": ("CreateSupplierInput", {"name": "Bolt & Co"}),
        "updateSupplier": ("UpdateSupplierInput", {"id": rows.supplier, "phone": "+1 555 0100"}),
        "createProduct": ("CreateProductInput", {"sku": "ROLE-3", "name": "Saw", "unitPrice": "19.90"}),
        "updateProduct": ("UpdateProductInput", {"id": rows.product, "unitPrice": "10.90"}),
        "setProductSupplier": (
            "SetProductSupplierInput", {"productId": rows.product, "supplierId": rows.supplier, "unitCost": "3.50"}
        ),
        "receiveStock": ("ReceiveStockInput", at_main | {"quantity": 1}),
        "shipStock": ("ShipStockInput", at_main | {"quantity": 1}),
        "adjustStock": ("AdjustStockInput", at_main | {"countedQuantity": 7}),
        "transferStock": (
            "TransferStockInput",
            {"productId": rows.product, "fromWarehouseId": rows.warehouse, "toWarehouseId": rows.other_warehouse,
             "quantity": 2},
        ),
        "returnStock": ("ReturnStockInput", at_main | {"quantity": 1}),
        "createWarehouse": ("CreateWarehouseInput", {"code": "EAST", "name": "East"}),
        "updateWarehouse": ("UpdateWarehouseInput", {"id": rows.warehouse, "name": "Main hall"}),
        "createPurchaseOrder": ("CreatePurchaseOrderInput", {"supplierId": rows.supplier, "lines": one_line}),
        "updatePurchaseOrder": ("UpdatePurchaseOrderInput", {"id": rows.draft_order, "note": "Urgent"}),
        "receivePurchaseOrder": (
            "ReceivePurchaseOrderInput",
            {"id": rows.ordered_order, "warehouseId": rows.warehouse, "lines": one_line},
        ),
        "createCustomer": ("CreateCustomerInput", {"name": "New buyer"}),
        "updateCustomer": ("UpdateCustomerInput", {"id": rows.customer, "phone": "+1 555 0101"}),
        "createSalesOrder": (
            "CreateSalesOrderInput", {"customerId": rows.customer, "lines": [at_main | {"quantity": 1}]}
        ),
        "updateSalesOrder": ("UpdateSalesOrderInput", {"id": rows.draft_sale, "note": "Gift wrap"}),
        "shipSalesOrder": (
            "ShipSalesOrderInput", {"id": rows.confirmed_sale, "lines": [{"lineId": rows.confirmed_line, "quantity": 1}]}
        ),
        "returnSalesOrderLine": (
            "ReturnSalesOrderLineInput", {"lineId": rows.shipped_line, "quantity": 1, "disposition": "RESTOCK"}
        ),
        "reserveStock": ("ReserveStockInput", at_main | {"quantity": 1}),
        "createUser": ("CreateUserInput", {"username": "newcomer", "password": TEST_PASSWORD, "role": "VIEWER"}),
        "updateUser": ("UpdateUserInput", {"id": rows.user, "role": "CLERK"}),
        "createWebhookEndpoint": (
            "CreateWebhookEndpointInput",
            {"url": "http://127.0.0.1:9/new", "events": ["STOCK_CHANGED"], "isActive": False},
        ),
        "updateWebhookEndpoint": ("UpdateWebhookEndpointInput", {"id": rows.webhook, "url": "http://127.0.0.1:9/b"}),
    }
    if field in input_types:
        type_name, value = input_types[field]
        return f"$input: {type_name}!", {"input": value}
    ids = {
        "deleteCategory": rows.empty_category,
        "deleteSupplier": rows.idle_supplier,
        "deleteProduct": rows.bare_product,
        "archiveWarehouse": rows.warehouse,
        "deleteWarehouse": rows.empty_warehouse,
        "submitPurchaseOrder": rows.draft_order,
        "cancelPurchaseOrder": rows.draft_order,
        "deactivateUser": rows.user,
        "deleteWebhookEndpoint": rows.webhook,
        "deleteCustomer": rows.idle_customer,
        "confirmSalesOrder": rows.draft_sale,
        "cancelSalesOrder": rows.confirmed_sale,
        "releaseReservation": rows.hold,
    }
    if field in ids:
        return "$id: ID!", {"id": ids[field]}
    csv = {
        "importProducts": "sku,name,unit_price\nROLE-9,Level,3.00\n",
        "importStock": "sku,warehouse,quantity,unit_cost\nROLE-1,MAIN,1,2.00\n",
    }
    if field in csv:
        return "$csv: String", {"csv": csv[field]}
    if field == "draftPurchaseOrdersFromLowStock":  # the hammer is low there: 10 + 10 on order, point 50
        return "$warehouseId: ID!", {"warehouseId": rows.warehouse}
    if field == "removeProductSupplier":
        return "$productId: ID!, $supplierId: ID!", {"productId": rows.product, "supplierId": rows.supplier}
    if field == "login":
        return "$username: String!, $password: String!", {"username": "someone", "password": TEST_PASSWORD}
    assert field == "logout", f"no arguments written for {field}"
    return "", {}


def _mutation(field: str, rows: Rows) -> tuple[str, dict[str, Any]]:
    parameters, variables = _mutation_input(field, rows)
    arguments = ", ".join(f"{name}: ${name}" for name in variables)
    head = f"mutation({parameters})" if parameters else "mutation"
    call = f"{field}({arguments})" if arguments else field
    return f"{head} {{ {call} {{ errors {{ field message code }} }} }}", variables


# --- the checks ---------------------------------------------------------------------------------


async def _database_state(database: Database) -> dict[str, list[str]]:
    """Every row of every table, except when tokens were last used: a refused request may record that."""
    state = {}
    async with database.read_session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c is not ApiToken.__table__.c.last_used_at]
            state[table.name] = sorted(repr(tuple(row)) for row in await session.execute(select(*columns)))
    return state


def _allowed(access: Role | Anyone, role: Role | None) -> bool:
    if access is ANYONE:
        return True
    if role is None:
        return False
    return access is SIGNED_IN or role.rank >= access.rank  # type: ignore[union-attr]


def _cases(operation: str) -> list[Any]:
    return [
        pytest.param(field, role, id=f"{field}-{'anonymous' if role is None else role.lower()}")
        for field in EXPECTED[operation]
        for role in CLIENTS
    ]


def _assert_refused(body: dict[str, Any], field: str, role: Role | None) -> None:
    code = "UNAUTHENTICATED" if role is None else "FORBIDDEN"
    assert [(e["extensions"]["code"], e["path"]) for e in body.get("errors", [])] == [(code, [field])], body
    assert body["data"] is None or body["data"][field] is None, body
    assert "ROLE-1" not in json.dumps(body) and "Hammer" not in json.dumps(body)


@pytest.mark.parametrize(("field", "role"), _cases("query"))
async def test_query_fields_by_role(
    gql_as: SignIn, anonymous_gql: GraphQLClient, rows: Rows, field: str, role: Role | None
) -> None:
    client = anonymous_gql if role is None else await gql_as(role)
    query, variables = _query(field, rows)

    body = await client.post(query, variables)

    if _allowed(EXPECTED["query"][field], role):
        assert "errors" not in body, body
        assert field in body["data"]
        if field in ("node", "product"):
            assert body["data"][field]["sku"] == "ROLE-1"
    else:
        _assert_refused(body, field, role)


@pytest.mark.parametrize(("field", "role"), _cases("mutation"))
async def test_mutations_by_role(
    gql_as: SignIn, anonymous_gql: GraphQLClient, database: Database, rows: Rows, field: str, role: Role | None
) -> None:
    client = anonymous_gql if role is None else await gql_as(role)
    mutation, variables = _mutation(field, rows)
    before = await _database_state(database)

    body = await client.post(mutation, variables)

    if _allowed(EXPECTED["mutation"][field], role):
        # Each operation is one that succeeds: refused ones below would have changed something.
        assert "errors" not in body, body
        assert body["data"][field]["errors"] == [], body
        assert await _database_state(database) != before
    else:
        _assert_refused(body, field, role)
        assert await _database_state(database) == before


async def test_node_and_nodes_refuse_anonymous_clients_whatever_the_type(
    anonymous_gql: GraphQLClient, rows: Rows
) -> None:
    for global_id_ in (rows.product, rows.user, rows.ordered_order, rows.warehouse, "garbage"):
        for field, query, variables in (
            ("node", "query($id: ID!) { node(id: $id) { id } }", {"id": global_id_}),
            ("nodes", "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [global_id_]}),
        ):
            _assert_refused(await anonymous_gql.post(query, variables), field, None)


async def test_a_refusal_names_the_field_and_the_role_it_needs(gql_as: SignIn, rows: Rows) -> None:
    clerk = await gql_as(CLERK)
    body = await clerk.post("{ me { username } product(sku: \"ROLE-1\") { name } users { totalCount } }")
    assert body["data"] is None  # `users` is non-null, so its refusal nulls the whole result
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("FORBIDDEN", ["users"])]
    assert body["errors"][0]["message"] == "This needs the ADMIN role."
    body = await clerk.post("{ me { username } product(sku: \"ROLE-1\") { name } }")
    assert body == {"data": {"me": {"username": "clerk"}, "product": {"name": "Hammer"}}}


# --- the acting user ----------------------------------------------------------------------------

CREATED_BY = "createdBy { username role }"


async def test_what_the_api_writes_names_the_user_who_wrote_it(gql_as: SignIn, rows: Rows) -> None:
    manager, clerk = await gql_as(MANAGER), await gql_as(CLERK)
    made_by_manager = {"username": "manager", "role": "MANAGER"}
    made_by_clerk = {"username": "clerk", "role": "CLERK"}

    created = await manager(
        f"""mutation($supplier: ID!, $product: ID!) {{
          createCategory(input: {{name: "Garden"}}) {{ category {{ {CREATED_BY} }} }}
          createSupplier(input: {{name: "Bolt"}}) {{ supplier {{ {CREATED_BY} }} }}
          createProduct(input: {{sku: "NEW-1", name: "Rake", unitPrice: "5"}}) {{ product {{ {CREATED_BY} }} }}
          createPurchaseOrder(input: {{supplierId: $supplier, lines: [{{productId: $product, quantity: 4}}]}}) {{
            purchaseOrder {{ id {CREATED_BY} }} }}
        }}""",
        {"supplier": rows.supplier, "product": rows.product},
    )
    assert created["createCategory"]["category"]["createdBy"] == made_by_manager
    assert created["createSupplier"]["supplier"]["createdBy"] == made_by_manager
    assert created["createProduct"]["product"]["createdBy"] == made_by_manager
    order = created["createPurchaseOrder"]["purchaseOrder"]
    assert order["createdBy"] == made_by_manager
    submit = "mutation($id: ID!) { submitPurchaseOrder(id: $id) { errors { code } } }"
    assert (await manager(submit, {"id": order["id"]}))["submitPurchaseOrder"]["errors"] == []

    shipped = await clerk(
        f"""mutation($product: ID!, $warehouse: ID!) {{
          shipStock(input: {{productId: $product, warehouseId: $warehouse, quantity: 1}}) {{
            transactions {{ {CREATED_BY} }} }} }}""",
        {"product": rows.product, "warehouse": rows.warehouse},
    )
    assert [t["createdBy"] for t in shipped["shipStock"]["transactions"]] == [made_by_clerk]
    lines = [{"productId": rows.product, "quantity": 4}]
    received = await clerk(
        f"""mutation($input: ReceivePurchaseOrderInput!) {{ receivePurchaseOrder(input: $input) {{
          purchaseOrder {{ {CREATED_BY} }} transactions {{ {CREATED_BY} }} errors {{ code }} }} }}""",
        {"input": {"id": order["id"], "warehouseId": rows.warehouse, "lines": lines}},
    )
    assert received["receivePurchaseOrder"]["errors"] == []
    assert received["receivePurchaseOrder"]["purchaseOrder"]["createdBy"] == made_by_manager
    assert [t["createdBy"] for t in received["receivePurchaseOrder"]["transactions"]] == [made_by_clerk]

    # Read back, the ledger names each entry's user; what was written outside the API names none.
    ledger = await clerk(
        f"{{ transactions {{ nodes {{ kind {CREATED_BY} }} }} products {{ nodes {{ sku {CREATED_BY} }} }} }}"
    )
    assert ledger["transactions"]["nodes"] == [
        {"kind": "RECEIPT", "createdBy": made_by_clerk},
        {"kind": "SHIPMENT", "createdBy": made_by_clerk},
        {"kind": "SHIPMENT", "createdBy": None},  # the fixture's shipped sales order
        {"kind": "RECEIPT", "createdBy": None},
    ]
    assert {p["sku"]: p["createdBy"] for p in ledger["products"]["nodes"]} == {
        "NEW-1": made_by_manager, "ROLE-1": None, "ROLE-2": None
    }


async def test_an_idempotency_key_is_its_senders_own_and_replays_only_their_entry(
    gql_as: SignIn, database: Database, rows: Rows
) -> None:
    mutation = f"""mutation($input: ReceiveStockInput!) {{ receiveStock(input: $input) {{
      replayed transactions {{ id {CREATED_BY} }} errors {{ code message }} }} }}"""
    input = {"productId": rows.product, "warehouseId": rows.warehouse, "quantity": 3, "idempotencyKey": "delivery-7"}
    clerk, manager = await gql_as(CLERK), await gql_as(MANAGER)

    first = (await clerk(mutation, {"input": input}))["receiveStock"]
    by_manager = (await manager(mutation, {"input": input}))["receiveStock"]
    retry = (await clerk(mutation, {"input": input}))["receiveStock"]
    manager_retry = (await manager(mutation, {"input": input}))["receiveStock"]

    # The manager's request with the clerk's key is a request of its own: a second receipt, in their name.
    assert (first["replayed"], by_manager["replayed"]) == (False, False)
    assert first["transactions"][0]["createdBy"] == {"username": "clerk", "role": "CLERK"}
    assert by_manager["transactions"][0]["createdBy"] == {"username": "manager", "role": "MANAGER"}
    assert by_manager["transactions"][0]["id"] != first["transactions"][0]["id"]
    # Each one's retry replays their own entry.
    assert (retry["replayed"], retry["transactions"]) == (True, first["transactions"])
    assert (manager_retry["replayed"], manager_retry["transactions"]) == (True, by_manager["transactions"])
    async with database.engine.connect() as conn:
        keys = (await conn.execute(select(IdempotencyKey.key, User.username).join(User))).all()
    assert sorted(map(tuple, keys)) == [("delivery-7", "clerk"), ("delivery-7", "manager")]

    # Nor does another user's key conflict with a different request: the administrator's shipment just ships.
    shipped = (await (await gql_as(ADMIN))(
        "mutation($input: ShipStockInput!) { shipStock(input: $input) { replayed errors { code message } } }",
        {"input": {**input, "quantity": 1}},
    ))["shipStock"]
    assert shipped == {"replayed": False, "errors": []}


async def test_a_viewer_sees_who_made_an_entry_but_not_their_email(
    gql_as: SignIn, database: Database, rows: Rows
) -> None:
    async with database.write_session() as session, session.begin():
        await users.create_user(
            session, security=users.Security.from_settings(database.settings), username="carl",
            password=TEST_PASSWORD, role=Role.CLERK, email="carl@example.com",
        )
    clerk = await gql_as(CLERK, username="carl")
    input = {"productId": rows.product, "warehouseId": rows.warehouse, "quantity": 1}
    await clerk("mutation($input: ShipStockInput!) { shipStock(input: $input) { errors { code } } }", {"input": input})

    query = "{ transactions(first: 1) { nodes { createdBy { username email } } } }"
    viewer, admin = await gql_as(VIEWER), await gql_as(ADMIN)
    assert (await viewer(query))["transactions"]["nodes"] == [{"createdBy": {"username": "carl", "email": None}}]
    assert (await clerk(query))["transactions"]["nodes"][0]["createdBy"]["email"] == "carl@example.com"
    assert (await admin(query))["transactions"]["nodes"][0]["createdBy"]["email"] == "carl@example.com"
