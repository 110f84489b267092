"""SQL injection strings in every String and ID argument and input field of the schema (found by walking
it, so a new one is covered as soon as it exists), sent over HTTP as an administrator: each gets a normal
result or a validation or user error, no query runs injected SQL, and nothing changes beyond what the
valid mutation itself does."""

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    is_required_input_field,
    parse,
    validate,
)
from sqlalchemy import select

from db.engine import Database
from db.models import Base, Role
from graph.schema import schema
from tests.factories import build_catalog, build_stock
from tests.utils import global_id, sign_in

SCHEMA = schema._schema
NODE_TYPES = tuple(t.name for t in SCHEMA.get_possible_types(SCHEMA.get_type("Node")))  # type: ignore[arg-type]

LONG = "'" + "A" * 50_000 + "' OR 1=1 --"
PAYLOADS = {
    "or-true": "' OR 1=1 --",
    "drop": "'; DROP TABLE products; --",
    "like": "%_' OR '%'='",
    "sleep": "\\'; SELECT pg_sleep(5); --",
    "union": "1) UNION SELECT password_hash FROM users --",
    "stacked": '" OR ""="; UPDATE users SET role = \'ADMIN\'; DELETE FROM categories; --',
    "dollar-quotes": "$$; DELETE FROM suppliers; $$",
    "nul": "\x00' OR 1=1 --\x00",
    "long": LONG,
    "unicode": "ünïcødé ' OR 1=1 -- ＳＥＬＥＣＴ 𝕊𝕃𝔼𝔼ℙ \u202e' ;--",
}
# A request that ran `pg_sleep(5)` would take longer than this.
SLOW = 3.0
# What an error message must not show unless the request said it: stack traces, SQL, drivers and paths.
LEAKS = (
    "Traceback", 'File "', ".py", "/work/", "sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", "SELECT ", "INSERT INTO",
    "UPDATE ", "DELETE FROM", "IntegrityError", "DataError", "OperationalError",
)
# Arguments and input fields ending in `Id` name a row of this type.
ID_TYPES = {
    "productId": "Product",
    "supplierId": "Supplier",
    "categoryId": "Category",
    "parentId": "Category",
    "warehouseId": "Warehouse",
    "fromWarehouseId": "Warehouse",
    "toWarehouseId": "Warehouse",
    "entityId": "Product",  # `changes(filter:)`: any type's ID will do
    "actorId": "User",
    "endpointId": "WebhookEndpoint",
    "customerId": "Customer",
    "lineId": "SalesOrderLine",
}
# Rows that the fixture makes and the valid parts of the requests refer to: each table's row 1 (and the
# rows that refer to one), and the user `viewer`. Valid mutations may change these; nothing else may.
TARGET_PK = 1
TARGET_USER = "viewer"


# --- walking the schema --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A String or ID value in a root field's arguments: `path` is the argument, then input fields, with
    `[]` for the item of a list."""

    operation: str
    field: str
    path: tuple[str, ...]
    scalar: str

    def __str__(self) -> str:
        return f"{self.operation} {self.field}({'.'.join(self.path)})"


def _leaves(
    type_: GraphQLInputType, path: tuple[str, ...], seen: frozenset[str]
) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(type_, GraphQLNonNull):
        yield from _leaves(type_.of_type, path, seen)
    elif isinstance(type_, GraphQLList):
        yield from _leaves(type_.of_type, (*path, "[]"), seen)
    elif isinstance(type_, GraphQLInputObjectType):
        if type_.name in seen:  # a recursive input type: its fields were walked one level up
            return
        for name, field in type_.fields.items():
            yield from _leaves(field.type, (*path, name), seen | {type_.name})
    elif isinstance(type_, GraphQLScalarType) and type_.name in ("String", "ID"):
        yield path, type_.name


def _roots() -> Iterator[tuple[str, GraphQLObjectType]]:
    for operation, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)):
        assert root is not None
        yield operation, root


def targets() -> list[Target]:
    found = []
    for operation, root in _roots():
        for name, field in root.fields.items():
            for argument_name, argument in field.args.items():
                for path, scalar in _leaves(argument.type, (argument_name,), frozenset()):
                    found.append(Target(operation, name, path, scalar))
    return found


TARGETS = targets()


# --- valid values for the rest of a request ------------------------------------------------------


@dataclass
class Rows:
    """Primary keys of the rows the requests refer to."""

    user_id: int

    def id_of(self, type_name: str) -> str:
        return global_id(type_name, self.user_id if type_name == "User" else TARGET_PK)


def id_type(root_field: str, name: str) -> str:
    """The type of row an ID argument or input field names."""
    if name in ID_TYPES:
        return ID_TYPES[name]
    if name in ("id", "ids"):
        # `updateProduct(input: {id})`, `deactivateUser(id)`, `purchaseOrder(id)`: the type in the field's name
        named = [t for t in NODE_TYPES if t.lower() in root_field.lower()]
        return max(named, key=len) if named else "Product"  # `node`, `nodes`: any type will do
    raise AssertionError(f"{root_field}: which type of row does `{name}` name? Add it to ID_TYPES.")


def valid_value(type_: GraphQLInputType, root_field: str, name: str, rows: Rows) -> Any:
    """A value of `type_` that the field accepts, for the arguments and input fields that are required."""
    if isinstance(type_, GraphQLNonNull):
        return valid_value(type_.of_type, root_field, name, rows)
    if isinstance(type_, GraphQLList):
        return [valid_value(type_.of_type, root_field, name, rows)]
    if isinstance(type_, GraphQLInputObjectType):
        required = {n: f for n, f in type_.fields.items() if is_required_input_field(f)}
        return {n: valid_value(f.type, root_field, n, rows) for n, f in required.items()}
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    assert isinstance(type_, GraphQLScalarType)
    scalar = type_.name
    if scalar == "ID":
        return rows.id_of(id_type(root_field, name))
    values: dict[str, Any] = {
        "String": "injection check password" if name == "password" else "injection-check",
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "Decimal": "1.50",
        "DateTime": datetime.now(UTC).isoformat(),
        "Date": datetime.now(UTC).date().isoformat(),
    }
    assert scalar in values, f"{root_field}.{name}: no valid value for the scalar {scalar}; add one."
    return values[scalar]


def _input_at(type_: GraphQLInputType, key: str) -> GraphQLInputType:
    """The type found at one step of a target's path."""
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if key == "[]":
        assert isinstance(type_, GraphQLList)
        return type_.of_type
    assert isinstance(type_, GraphQLInputObjectType)
    return type_.fields[key].type


def variables_for(target: Target, payload: str, rows: Rows) -> dict[str, Any]:
    """The field's required arguments with valid values, and `payload` at the target's path."""
    field = _root_field(target)
    required = {n: a for n, a in field.args.items() if is_required_argument(a)}
    variables = {n: valid_value(a.type, target.field, n, rows) for n, a in required.items()}
    argument = target.path[0]
    type_ = field.args[argument].type
    if len(target.path) == 1:
        variables[argument] = payload
        return variables
    container = variables.setdefault(argument, valid_value(type_, target.field, argument, rows))
    for key in target.path[1:-1]:
        type_ = _input_at(type_, key)
        if key == "[]":
            if not container:
                container.append(valid_value(type_, target.field, key, rows))
            container = container[0]
        else:
            container = container.setdefault(key, valid_value(type_, target.field, key, rows))
    last = target.path[-1]
    if last == "[]":
        container[:] = [payload]
    else:
        container[last] = payload
    return variables


def _root_field(target: Target) -> Any:
    root = SCHEMA.query_type if target.operation == "query" else SCHEMA.mutation_type
    assert root is not None
    return root.fields[target.field]


def selection(type_: GraphQLNamedType, depth: int = 0) -> str:
    """`__typename`, the String and ID fields, payload errors and connections' nodes: enough to see what
    the request found or did."""
    if is_leaf_type(type_):
        return ""
    parts = ["__typename"]
    for name, field in getattr(type_, "fields", {}).items():
        named = get_named_type(field.type)
        if any(is_required_argument(a) for a in field.args.values()):
            continue
        if isinstance(named, GraphQLScalarType) and named.name in ("String", "ID"):
            parts.append(name)
        elif name in ("errors", "nodes") and depth == 0:
            parts.append(f"{name} {{ {selection(named, depth + 1)} }}")
        elif name == "totalCount":
            parts.append(name)
    return " ".join(parts)


def document_for(target: Target) -> str:
    field = _root_field(target)
    definitions = ", ".join(f"${n}: {a.type}" for n, a in field.args.items())
    arguments = ", ".join(f"{n}: ${n}" for n in field.args)
    body = selection(get_named_type(field.type))
    return f"{target.operation} Injection({definitions}) {{ result: {target.field}({arguments}) {{ {body} }} }}"


# --- checks --------------------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _found_rows(result: Any) -> list[Any]:
    """The rows a lookup or a filtered connection returned."""
    if result is None:
        return []
    if "nodes" in result:
        return list(result["nodes"])
    return [result]


def _is_a_search(target: Target) -> bool:
    """A String that picks rows by their text: a filter's `search` or `reference`, or a lookup by SKU,
    slug, code or number. Whatever it finds must contain it."""
    cursor = target.path[0] in ("after", "before")
    return target.operation == "query" and target.scalar == "String" and not cursor


def problems_with(target: Target, payload: str, response: httpx.Response, elapsed: float) -> list[str]:
    if response.status_code != 200:
        return [f"HTTP {response.status_code}: {response.text[:500]}"]
    if elapsed > SLOW:
        return [f"took {elapsed:.1f} s"]
    if "$argon2" in response.text:
        return [f"a password hash in the response: {response.text[:500]}"]
    body = response.json()
    found = []
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        if code in (None, "INTERNAL_SERVER_ERROR"):
            found.append(f"error {error}")
    # Top-level errors, and a mutation payload's `errors`.
    result = (body.get("data") or {}).get("result") or {}
    payload_errors = result.get("errors", []) if isinstance(result, dict) else []
    messages = " ".join(_strings([body.get("errors") or [], payload_errors]))
    leaked = [marker for marker in LEAKS if marker in messages and marker not in payload]
    if leaked:
        found.append(f"{leaked} in {messages[:500]}")
    data = body.get("data")
    if _is_a_search(target) and data and data.get("result") is not None:
        wanted = payload.strip().casefold()
        for row in _found_rows(data["result"]):
            if wanted and not any(wanted in text.casefold() for text in _strings(row)):
                found.append(f"found a row without the string: {row}")
    return found


async def table_rows(database: Database) -> dict[str, list[dict[str, Any]]]:
    rows = {}
    async with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            result = await conn.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [dict(row._mapping) for row in result]
    return rows


def _may_change(table: str, row: dict[str, Any], user_ids: set[int]) -> bool:
    """Whether a valid mutation of the requests may change the row: a target row, or one referring to one."""
    if table in ("api_tokens", "idempotency_keys"):
        return True
    if table == "users":
        return row["id"] in user_ids
    references = ("id", "product_id", "supplier_id", "warehouse_id", "purchase_order_id", "category_id", "parent_id")
    return any(row.get(column) == TARGET_PK for column in references)


# --- the tests -----------------------------------------------------------------------------------


@pytest.fixture
async def admin_token(http: httpx.AsyncClient, database: Database) -> tuple[str, Rows]:
    """A catalog, stock, purchase orders and users; the token of the administrator and the rows the
    requests refer to."""
    catalog = await build_catalog(database, products=12, suppliers=4, offers_per_product=2)
    await build_stock(database, catalog, warehouses=3, entries=40)
    _admin, token = await sign_in(database, Role.ADMIN)
    viewer, _ = await sign_in(database, Role.VIEWER, username=TARGET_USER)
    for role in (Role.CLERK, Role.MANAGER):
        await sign_in(database, role)
    create = "mutation ($o: CreatePurchaseOrderInput!) { createPurchaseOrder(input: $o) { errors { message } } }"
    for supplier in (1, 2):
        order = {
            "supplierId": global_id("Supplier", supplier),
            "lines": [{"productId": global_id("Product", p), "quantity": 5, "unitCost": "2.50"} for p in (1, 2, 3)],
        }
        response = await http.post(
            "/graphql", json={"query": create, "variables": {"o": order}}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.json() == {"data": {"createPurchaseOrder": {"errors": []}}}
    return token, Rows(user_id=viewer.id)


def test_every_string_and_id_argument_is_a_target() -> None:
    """The walk finds arguments, filter fields, nested input fields and list items; every target gets
    a request that is valid apart from the injected string."""
    names = {str(t) for t in TARGETS}
    for expected in (
        "query products(filter.search)",
        "query product(sku)",
        "query nodes(ids.[])",
        "query transactions(filter.reference)",
        "mutation createPurchaseOrder(input.lines.[].productId)",
        "mutation login(password)",
        "mutation updateUser(input.email)",
    ):
        assert expected in names
    rows = Rows(user_id=2)
    for target in TARGETS:
        variables = variables_for(target, "PAYLOAD", rows)
        assert "PAYLOAD" in json.dumps(variables), target
        document = document_for(target)
        assert validate(SCHEMA, parse(document)) == [], (target, document)


async def _send(
    http: httpx.AsyncClient, token: str, target: Target, payload: str, rows: Rows
) -> list[tuple[Target, str]]:
    body = {"query": document_for(target), "variables": variables_for(target, payload, rows)}
    started = time.monotonic()
    response = await http.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    return [(target, problem) for problem in problems_with(target, payload, response, time.monotonic() - started)]


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
async def test_injection_strings_change_nothing(
    payload: str,
    admin_token: tuple[str, Rows],
    http: httpx.AsyncClient,
    database: Database,
) -> None:
    token, rows = admin_token
    before = await table_rows(database)

    # Queries at once, eight at a time; mutations one after the other, as their effects may depend on
    # each other's (idempotency keys, purchase order states).
    queries = [t for t in TARGETS if t.operation == "query"]
    slots = asyncio.Semaphore(8)

    async def send_query(target: Target) -> list[tuple[Target, str]]:
        async with slots:
            return await _send(http, token, target, payload, rows)

    problems = [p for found in await asyncio.gather(*map(send_query, queries)) for p in found]
    for target in TARGETS:
        if target.operation == "mutation":
            problems += await _send(http, token, target, payload, rows)
    assert not problems, "\n".join(f"{target}: {problem}" for target, problem in problems)

    after = await table_rows(database)
    assert set(after) == set(before)
    named = {row["id"] for row in before["users"] if row["username"] in ("admin", TARGET_USER)}
    for table, old_rows in before.items():
        assert len(after[table]) >= len(old_rows), f"rows went missing from {table}"
        kept = {_key(row) for row in after[table]}
        changed = [row for row in old_rows if not _may_change(table, row, named) and _key(row) not in kept]
        assert not changed, f"{table}: rows changed that no request named: {changed[:3]}"
    roles = {row["username"]: row["role"] for row in after["users"]}
    assert roles[TARGET_USER] == Role.VIEWER and roles["clerk"] == Role.CLERK


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, default=str, sort_keys=True)
