"""The workload: one GraphQL document per operation (bench/operations/*.graphql) and the request bodies
sent with it, with variables taken from the bench database (which products, which cursor)."""

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog_reads import product_sort
from db.models import InventoryTransaction, Product, StockLevel, Warehouse
from db.pagination import encode_cursor

OPERATIONS_DIR = Path(__file__).resolve().parent / "operations"
OPERATIONS = ("catalog_page", "product_detail", "category_tree", "low_stock", "deep_nested", "far_page", "write_mix")
# SQL statements per request (besides the bearer token's look-up): the figures
# tests/test_bench_operations.py holds the API to, and the runner checks its own counts against. A read is
# one statement per root field (its plan, graph/plans); on SQLite, which takes only so many nested subqueries
# in one statement (graph/plans/rows.py), category_tree's subcategories and deep_nested's suppliers with
# their offers are a second one. The write mix:
# a receipt, then a shipment (on PostgreSQL, each locks its rows first); each claims its idempotency key with
# two statements, one deleting expired keys (db/idempotency.py), one inserting its own; on PostgreSQL each
# also takes the ledger's append lock and NOTIFYs its entry for the live feed (db/live.py).
STATEMENTS: dict[str, dict[str, tuple[int, ...]]] = {
    "catalog_page": {"postgresql": (1,), "sqlite": (1,)},
    "product_detail": {"postgresql": (1,), "sqlite": (1,)},
    "category_tree": {"postgresql": (1,), "sqlite": (2,)},
    "low_stock": {"postgresql": (1,), "sqlite": (1,)},
    "deep_nested": {"postgresql": (1,), "sqlite": (2,)},
    "far_page": {"postgresql": (1,), "sqlite": (1,)},
    "write_mix": {"postgresql": (12, 10), "sqlite": (10, 8)},
}
PAGE_SIZE = 50
FAR_ROWS = 50_000
# Stands for a fresh idempotency key in a body; the load script puts a unique one in its place.
KEY_PLACEHOLDER = "@@IDEMPOTENCY_KEY@@"


@dataclass(frozen=True)
class Request:
    operation_name: str
    variables: dict[str, Any]

    def body(self, document: str, key: str | None = None) -> bytes:
        """The JSON body; with `key`, the placeholder replaced by it."""
        raw = orjson.dumps({"query": document, "operationName": self.operation_name, "variables": self.variables})
        return raw if key is None else raw.replace(KEY_PLACEHOLDER.encode(), key.encode())

    @property
    def needs_key(self) -> bool:
        return KEY_PLACEHOLDER in orjson.dumps(self.variables).decode()


@dataclass(frozen=True)
class Operation:
    name: str
    document: str
    # Sent in turn, round-robin: one request for most operations, many where a frontend would vary them.
    requests: list[Request] = field(default_factory=list)

    @property
    def is_write(self) -> bool:
        return any(line.startswith("mutation") for line in self.document.splitlines())


def document(name: str) -> str:
    return (OPERATIONS_DIR / f"{name}.graphql").read_text()


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


@dataclass(frozen=True)
class Facts:
    """What the variables are built from, read once from the bench database."""

    products: int
    far_offset: int
    far_cursor: str
    detail_products: list[int]
    write_pairs: list[tuple[int, int]]


async def read_facts(session: AsyncSession) -> Facts:
    products = await session.scalar(select(func.count()).select_from(Product)) or 0
    # The 50,000th product by name, or one 95% of the way through a smaller catalog; its cursor is the
    # key the API's cursors hold (name, id), built here once instead of walking 1,000 pages.
    offset = FAR_ROWS if products >= FAR_ROWS + PAGE_SIZE else max(0, int(products * 0.95))
    name, pk = (
        await session.execute(
            select(Product.name, Product.id).order_by(Product.name, Product.id).offset(offset - 1).limit(1)
        )
    ).one()
    busy = (
        select(InventoryTransaction.product_id)
        .group_by(InventoryTransaction.product_id)
        .having(func.count() >= 20)
        .order_by(InventoryTransaction.product_id)
        .limit(100)
    )
    detail = list(await session.scalars(busy)) or [1]
    pairs = (
        select(StockLevel.product_id, StockLevel.warehouse_id)
        .join(Product, Product.id == StockLevel.product_id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(Product.is_active, Warehouse.is_active, StockLevel.quantity >= 50)
        .order_by(StockLevel.product_id, StockLevel.warehouse_id)
        .limit(200)
    )
    write_pairs = [(p, w) for p, w in (await session.execute(pairs)).all()]
    return Facts(products, offset, encode_cursor(product_sort().order, (name, pk)), detail, write_pairs)


def build(facts: Facts, names: tuple[str, ...] = OPERATIONS) -> list[Operation]:
    """The operations with their request bodies' variables."""
    requests: dict[str, list[Request]] = {
        "catalog_page": [Request("CatalogPage", {"first": PAGE_SIZE, "after": None})],
        "far_page": [Request("FarPage", {"first": PAGE_SIZE, "after": facts.far_cursor})],
        "product_detail": [Request("ProductDetail", {"id": global_id("Product", pk)}) for pk in facts.detail_products],
        "category_tree": [Request("CategoryTree", {})],
        "low_stock": [Request("LowStock", {"first": PAGE_SIZE})],
        "deep_nested": [Request("DeepNested", {"categories": 10, "products": 10, "offers": 5})],
        "write_mix": [],
    }
    for pk, wid in facts.write_pairs:
        common = {
            "productId": global_id("Product", pk),
            "warehouseId": global_id("Warehouse", wid),
            "idempotencyKey": KEY_PLACEHOLDER,
        }
        # Receive three, ship two: stock only grows, so a shipment never meets an empty shelf.
        requests["write_mix"].append(Request("Receive", {"input": {**common, "quantity": 3, "reference": "BENCH"}}))
        requests["write_mix"].append(Request("Ship", {"input": {**common, "quantity": 2, "reference": "BENCH"}}))
    return [Operation(name, document(name), requests[name]) for name in names if requests[name]]
