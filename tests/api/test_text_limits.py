"""Every free-text input has a length limit (db/lengths.py): one character past it, the mutation is refused with
an INVALID error naming the field and writes nothing; at the limit, it is accepted and stored as given."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from db import lengths
from db.engine import Database
from tests.utils import GraphQLClient, scalar


@dataclass(frozen=True)
class Ids:
    """Global IDs of what the mutations under test refer to."""

    category: str
    supplier: str
    product: str
    warehouse: str
    order: str


@dataclass(frozen=True)
class Case:
    """One free-text field of one mutation: how to build its input with `text` in the field, and the SQL that
    reads the field back (a count of rows holding that text)."""

    mutation: str
    field: str
    constant: str  # its limit's name in db/lengths.py
    build: Callable[[Ids, str], dict[str, Any]]
    stored: str  # SQL: the number of rows whose column holds :text

    @property
    def limit(self) -> int:
        return int(getattr(lengths, self.constant))

    @property
    def id(self) -> str:
        return f"{self.mutation}.{self.field}"


def _text(length: int, field: str) -> str:
    """A value of exactly `length` characters that passes the field's other rules."""
    if field == "email":
        return "a" * (length - len("@example.com")) + "@example.com"
    if field in ("sku", "supplierSku", "code", "number"):
        return "A" * length
    if field == "slug":
        return "a" * length
    if field == "username":
        return "u" * length
    if field == "url":
        return "http://127.0.0.1/" + "a" * (length - len("http://127.0.0.1/"))
    return "é" * (length - 1) + "x"  # characters, not bytes


CASES = [
    Case("createCategory", "name", "MAX_CATEGORY_NAME_LENGTH",
         lambda ids, t: {"name": t}, "SELECT count(*) FROM categories WHERE name = :text"),
    Case("createCategory", "slug", "MAX_SLUG_LENGTH",
         lambda ids, t: {"name": "Slugged", "slug": t}, "SELECT count(*) FROM categories WHERE slug = :text"),
    Case("createCategory", "description", "MAX_DESCRIPTION_LENGTH",
         lambda ids, t: {"name": "Described", "description": t},
         "SELECT count(*) FROM categories WHERE description = :text"),
    Case("updateCategory", "description", "MAX_DESCRIPTION_LENGTH",
         lambda ids, t: {"id": ids.category, "description": t},
         "SELECT count(*) FROM categories WHERE description = :text"),
    Case("createSupplier", "name", "MAX_NAME_LENGTH",
         lambda ids, t: {"name": t}, "SELECT count(*) FROM suppliers WHERE name = :text"),
    Case("createSupplier", "email", "MAX_EMAIL_LENGTH",
         lambda ids, t: {"name": "Mailed", "email": t}, "SELECT count(*) FROM suppliers WHERE email = :text"),
    Case("createSupplier", "phone", "MAX_PHONE_LENGTH",
         lambda ids, t: {"name": "Phoned", "phone": t}, "SELECT count(*) FROM suppliers WHERE phone = :text"),
    Case("createSupplier", "website", "MAX_WEBSITE_LENGTH",
         lambda ids, t: {"name": "Webbed", "website": t}, "SELECT count(*) FROM suppliers WHERE website = :text"),
    Case("createSupplier", "address", "MAX_ADDRESS_LENGTH",
         lambda ids, t: {"name": "Addressed", "address": t}, "SELECT count(*) FROM suppliers WHERE address = :text"),
    Case("updateSupplier", "address", "MAX_ADDRESS_LENGTH",
         lambda ids, t: {"id": ids.supplier, "address": t}, "SELECT count(*) FROM suppliers WHERE address = :text"),
    Case("createProduct", "sku", "MAX_SKU_LENGTH",
         lambda ids, t: {"sku": t, "name": "Skued", "unitPrice": "1.00"},
         "SELECT count(*) FROM products WHERE sku = :text"),
    Case("createProduct", "name", "MAX_NAME_LENGTH",
         lambda ids, t: {"sku": "NAMED", "name": t, "unitPrice": "1.00"},
         "SELECT count(*) FROM products WHERE name = :text"),
    Case("createProduct", "description", "MAX_DESCRIPTION_LENGTH",
         lambda ids, t: {"sku": "DESCRIBED", "name": "Described", "unitPrice": "1.00", "description": t},
         "SELECT count(*) FROM products WHERE description = :text"),
    Case("updateProduct", "description", "MAX_DESCRIPTION_LENGTH",
         lambda ids, t: {"id": ids.product, "description": t},
         "SELECT count(*) FROM products WHERE description = :text"),
    Case("setProductSupplier", "supplierSku", "MAX_SKU_LENGTH",
         lambda ids, t: {"productId": ids.product, "supplierId": ids.supplier, "unitCost": "1.00", "supplierSku": t},
         "SELECT count(*) FROM product_suppliers WHERE supplier_sku = :text"),
    Case("createWarehouse", "code", "MAX_WAREHOUSE_CODE_LENGTH",
         lambda ids, t: {"code": t, "name": "Coded"}, "SELECT count(*) FROM warehouses WHERE code = :text"),
    Case("createWarehouse", "name", "MAX_NAME_LENGTH",
         lambda ids, t: {"code": "NAMED", "name": t}, "SELECT count(*) FROM warehouses WHERE name = :text"),
    Case("createWarehouse", "address", "MAX_ADDRESS_LENGTH",
         lambda ids, t: {"code": "ADDRESSED", "name": "Addressed", "address": t},
         "SELECT count(*) FROM warehouses WHERE address = :text"),
    Case("updateWarehouse", "address", "MAX_ADDRESS_LENGTH",
         lambda ids, t: {"id": ids.warehouse, "address": t}, "SELECT count(*) FROM warehouses WHERE address = :text"),
    Case("createPurchaseOrder", "number", "MAX_ORDER_NUMBER_LENGTH",
         lambda ids, t: {"supplierId": ids.supplier, "number": t},
         "SELECT count(*) FROM purchase_orders WHERE number = :text"),
    Case("createPurchaseOrder", "note", "MAX_NOTE_LENGTH",
         lambda ids, t: {"supplierId": ids.supplier, "note": t},
         "SELECT count(*) FROM purchase_orders WHERE note = :text"),
    Case("updatePurchaseOrder", "note", "MAX_NOTE_LENGTH",
         lambda ids, t: {"id": ids.order, "note": t}, "SELECT count(*) FROM purchase_orders WHERE note = :text"),
    Case("receiveStock", "reference", "MAX_REFERENCE_LENGTH",
         lambda ids, t: {"productId": ids.product, "warehouseId": ids.warehouse, "quantity": 1, "reference": t},
         "SELECT count(*) FROM inventory_transactions WHERE reference = :text"),
    Case("receiveStock", "note", "MAX_NOTE_LENGTH",
         lambda ids, t: {"productId": ids.product, "warehouseId": ids.warehouse, "quantity": 1, "note": t},
         "SELECT count(*) FROM inventory_transactions WHERE note = :text"),
    Case("receiveStock", "idempotencyKey", "MAX_IDEMPOTENCY_KEY_LENGTH",
         lambda ids, t: {"productId": ids.product, "warehouseId": ids.warehouse, "quantity": 1, "idempotencyKey": t},
         "SELECT count(*) FROM idempotency_keys WHERE key = :text"),
    Case("adjustStock", "note", "MAX_NOTE_LENGTH",
         lambda ids, t: {"productId": ids.product, "warehouseId": ids.warehouse, "countedQuantity": 5, "note": t},
         "SELECT count(*) FROM inventory_transactions WHERE note = :text"),
    Case("createUser", "username", "MAX_USERNAME_LENGTH",
         lambda ids, t: {"username": t, "password": "a long enough password", "role": "VIEWER"},
         "SELECT count(*) FROM users WHERE username = :text"),
    Case("createUser", "email", "MAX_EMAIL_LENGTH",
         lambda ids, t: {"username": "mailed", "password": "a long enough password", "role": "VIEWER", "email": t},
         "SELECT count(*) FROM users WHERE email = :text"),
    Case("createWebhookEndpoint", "url", "MAX_WEBHOOK_URL_LENGTH",
         lambda ids, t: {"url": t, "events": ["STOCK_CHANGED"], "isActive": False},
         "SELECT count(*) FROM webhook_endpoints WHERE url = :text"),
    Case("createWebhookEndpoint", "secret", "MAX_WEBHOOK_SECRET_LENGTH",
         lambda ids, t: {"url": "http://127.0.0.1/hook", "events": ["STOCK_CHANGED"], "isActive": False, "secret": t},
         "SELECT count(*) FROM webhook_endpoints WHERE secret = :text"),
    # Kept only as a hash: the user exists or not.
    Case("createUser", "password", "MAX_PASSWORD_LENGTH",
         lambda ids, t: {"username": "passworded", "password": t, "role": "VIEWER"},
         "SELECT count(*) FROM users WHERE username = 'passworded' AND CAST(:text AS TEXT) IS NOT NULL"),
]


async def _ids(gql: GraphQLClient, database: Database) -> Ids:
    """A category, a supplier, a product, a warehouse and a draft purchase order, made through the API."""

    async def made(mutation: str, what: str, fields: dict[str, Any]) -> str:
        data = await gql(
            f"mutation ($input: {mutation[0].upper()}{mutation[1:]}Input!) "
            f"{{ {mutation}(input: $input) {{ {what} {{ id }} errors {{ message }} }} }}",
            {"input": fields},
        )
        assert data[mutation]["errors"] == [], data
        return str(data[mutation][what]["id"])

    supplier = await made("createSupplier", "supplier", {"name": "Acme"})
    return Ids(
        category=await made("createCategory", "category", {"name": "Tools"}),
        supplier=supplier,
        product=await made("createProduct", "product", {"sku": "P-1", "name": "Hammer", "unitPrice": "9.99"}),
        warehouse=await made("createWarehouse", "warehouse", {"code": "MAIN", "name": "Main"}),
        order=await made("createPurchaseOrder", "purchaseOrder", {"supplierId": supplier}),
    )


async def _send(gql: GraphQLClient, case: Case, ids: Ids, text: str) -> list[dict[str, Any]]:
    input_type = "SetProductSupplierInput" if case.mutation == "setProductSupplier" else (
        f"{case.mutation[0].upper()}{case.mutation[1:]}Input"
    )
    data = await gql(
        f"mutation ($input: {input_type}!) {{ {case.mutation}(input: $input) {{ errors {{ field message code }} }} }}",
        {"input": case.build(ids, text)},
    )
    return list(data[case.mutation]["errors"])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_one_character_past_the_limit_is_refused_and_nothing_written(
    gql: GraphQLClient, database: Database, case: Case
) -> None:
    ids = await _ids(gql, database)
    text = _text(case.limit + 1, case.field)
    tables_before = await _row_counts(database)

    errors = await _send(gql, case, ids, text)

    assert [error["field"] for error in errors] == [case.field]
    [error] = errors
    assert error["code"] == "INVALID"
    assert f"at most {case.limit:,} characters" in error["message"]
    assert await scalar(database, case.stored, text=text) == 0
    assert await _row_counts(database) == tables_before


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_at_the_limit_it_is_accepted_and_stored(gql: GraphQLClient, database: Database, case: Case) -> None:
    ids = await _ids(gql, database)
    text = _text(case.limit, case.field)
    assert len(text) == case.limit

    assert await _send(gql, case, ids, text) == []

    stored = text.upper() if case.field in ("sku", "supplierSku", "code", "number") else text
    assert await scalar(database, case.stored, text=stored) == 1


TABLES = (
    "categories", "suppliers", "products", "product_suppliers", "warehouses", "stock_levels",
    "inventory_transactions", "purchase_orders", "purchase_order_lines", "idempotency_keys", "users",
    "webhook_endpoints",
)


async def _row_counts(database: Database) -> dict[str, int]:
    return {table: await scalar(database, f"SELECT count(*) FROM {table}") for table in TABLES}


def test_every_limit_has_cases() -> None:
    """Each limit in db/lengths.py is tried here but the search filter's: a query's argument, not a stored
    field, where a longer text matches nothing (db.catalog_reads.like_pattern)."""
    limits = {name for name in vars(lengths) if name.startswith("MAX_")}
    assert limits - {case.constant for case in CASES} == {"MAX_SEARCH_LENGTH"}
