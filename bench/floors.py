"""The floors a request is measured against, both timed in-process at concurrency 1 (p50 of many runs):

- SQL floor (PostgreSQL): the same data fetched by hand-written SQL over one asyncpg connection, one
  indexed statement per level, rows left as asyncpg returns them: the least database work.
- execution floor: the same GraphQL document executed by graphql-core alone over the response data held
  in memory as plain dicts (the default resolvers read them), parsed and validated once beforehand: the
  least GraphQL execution work.
"""

import base64
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import graphql
import orjson

# Timed runs per floor: at least MIN_RUNS, and more until MIN_SECONDS have passed (capped at MAX_RUNS).
MIN_RUNS, MAX_RUNS, MIN_SECONDS = 30, 2_000, 2.0


def _p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def execution_floor(sdl: str, document: str, variables: dict[str, Any], data: dict[str, Any]) -> float:
    """p50 ms of graphql-core executing `document` over `data` (the API's response to it)."""
    schema = graphql.build_schema(sdl)
    parsed = graphql.parse(document)
    problems = graphql.validate(schema, parsed)
    if problems:
        raise ValueError(f"the document does not validate against the schema: {problems}")
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < MAX_RUNS and (len(samples) < MIN_RUNS or time.perf_counter() - started < MIN_SECONDS):
        t0 = time.perf_counter()
        result = graphql.execute(schema, parsed, root_value=data, variable_values=variables)
        samples.append(time.perf_counter() - t0)
        if result.errors:  # type: ignore[union-attr]
            raise ValueError(f"graphql-core could not execute over the data: {result.errors}")  # type: ignore[union-attr]
        if result.data != data:  # type: ignore[union-attr]
            raise ValueError("graphql-core's result differs from the API's response")
    return _p50_ms(samples)


# --- SQL floor ----------------------------------------------------------------------------------

_PAGE_FIRST = "SELECT id, sku, name, unit_price, is_active, category_id FROM products ORDER BY name, id LIMIT $1"
_PAGE_AFTER = """SELECT id, sku, name, unit_price, is_active, category_id FROM products
WHERE (name, id) > ($2, $3) ORDER BY name, id LIMIT $1"""
_COUNT = "SELECT count(*) FROM products"
_CATEGORIES = """SELECT c.id, c.name, p.id AS parent_id, p.name AS parent_name
FROM categories c LEFT JOIN categories p ON p.id = c.parent_id WHERE c.id = ANY($1::int[])"""
_OFFERS = """SELECT ps.product_id, ps.unit_cost, ps.lead_time_days, ps.is_preferred, s.id AS supplier_id, s.name
FROM product_suppliers ps JOIN suppliers s ON s.id = ps.supplier_id
WHERE ps.product_id = ANY($1::int[]) ORDER BY ps.product_id, ps.is_preferred DESC, ps.id"""
_STOCK = """SELECT sl.product_id, sl.quantity, w.id AS warehouse_id, w.code, w.name
FROM stock_levels sl JOIN warehouses w ON w.id = sl.warehouse_id
WHERE sl.product_id = ANY($1::int[]) ORDER BY sl.product_id, w.name, w.id"""

# OFFSET 0 keeps the planner from walking the whole name index for a category with few products of its
# own (a root has none): the category's rows come by its index, then the top few are sorted out.
_ROOT_CATEGORIES = "SELECT id, name FROM categories ORDER BY name, id LIMIT $1"
_CATEGORY_PRODUCTS = """SELECT p.category_id, p.id, p.sku, p.name
FROM unnest($1::int[]) AS c(id)
CROSS JOIN LATERAL (
  SELECT id, sku, name, category_id
  FROM (SELECT id, sku, name, category_id FROM products WHERE category_id = c.id OFFSET 0) AS in_category
  ORDER BY name, id LIMIT $2
) p"""
_SUPPLIER_OFFERS = """SELECT o.supplier_id, o.unit_cost, o.lead_time_days, p.id, p.sku, p.name
FROM unnest($1::int[]) AS s(id)
CROSS JOIN LATERAL (SELECT * FROM product_suppliers WHERE supplier_id = s.id ORDER BY id LIMIT $2) o
JOIN products p ON p.id = o.product_id"""


async def _catalog_page(conn: asyncpg.Connection, variables: dict[str, Any]) -> list[int]:
    first, after = variables["first"], variables.get("after")
    if after is None:
        page = await conn.fetch(_PAGE_FIRST, first + 1)
    else:
        name, pk = _cursor_key(after)
        page = await conn.fetch(_PAGE_AFTER, first + 1, name, pk)
    page = page[:first]
    await conn.fetchval(_COUNT)
    ids = [r["id"] for r in page]
    await conn.fetch(_CATEGORIES, list({r["category_id"] for r in page if r["category_id"] is not None}))
    await conn.fetch(_OFFERS, ids)
    await conn.fetch(_STOCK, ids)
    return ids


async def _deep_nested(conn: asyncpg.Connection, variables: dict[str, Any]) -> list[int]:
    categories = await conn.fetch(_ROOT_CATEGORIES, variables["categories"])
    products = await conn.fetch(_CATEGORY_PRODUCTS, [r["id"] for r in categories], variables["products"])
    offers = await conn.fetch(_OFFERS, [r["id"] for r in products])
    await conn.fetch(_SUPPLIER_OFFERS, sorted({r["supplier_id"] for r in offers}), variables["offers"])
    return [r["id"] for r in products]


def _cursor_key(cursor: str) -> tuple[str, int]:
    name, pk = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    return name, pk


SQL_FLOORS: dict[str, Callable[[asyncpg.Connection, dict[str, Any]], Awaitable[list[int]]]] = {
    "catalog_page": _catalog_page,
    "far_page": _catalog_page,
    "deep_nested": _deep_nested,
}
FLOOR_STATEMENTS = {"catalog_page": 5, "far_page": 5, "deep_nested": 4}


def page_product_ids(data: Any) -> list[int]:
    """The primary keys of the products on the pages (`products { edges { node { id } } }`) of a response."""
    found: list[int] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "products" and isinstance(inner, dict):
                    found.extend(
                        int(base64.b64decode(e["node"]["id"]).decode().partition(":")[2]) for e in inner["edges"]
                    )
                walk(inner)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return found


async def sql_floor(libpq_url: str, operation: str, variables: dict[str, Any], data: dict[str, Any]) -> float | None:
    """p50 ms of the hand-written SQL for `operation`; None where there is none."""
    fetch = SQL_FLOORS.get(operation)
    if fetch is None:
        return None
    conn = await asyncpg.connect(libpq_url)
    try:
        ids = await fetch(conn, variables)
        if sorted(ids) != sorted(page_product_ids(data)):
            raise ValueError(f"the SQL floor of {operation} fetched other products than the API returned")
        for _ in range(5):
            await fetch(conn, variables)
        samples: list[float] = []
        started = time.perf_counter()
        while len(samples) < MAX_RUNS and (len(samples) < MIN_RUNS or time.perf_counter() - started < MIN_SECONDS):
            t0 = time.perf_counter()
            await fetch(conn, variables)
            samples.append(time.perf_counter() - t0)
        return _p50_ms(samples)
    finally:
        await conn.close()
