"""Property-based tests over the whole schema: valid and invalid operations generated from it (and
malformed request bodies), sent over HTTP as an administrator. No response is a 5xx or carries an
unmasked error, every response is a GraphQL JSON body, and a request refused before execution changes
nothing in the database."""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import hypothesis_graphql as hg
import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    NullValueNode,
    Visitor,
    get_named_type,
    is_composite_type,
    parse,
    print_ast,
    validate,
    visit,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from sqlalchemy import select, update

from db import users
from db.engine import Database
from db.models import Base, Role, User
from graph.schema import schema
from tests.factories import build_catalog, build_stock
from tests.utils import global_id, sign_in

SCHEMA = schema._schema
NODE_TYPES = tuple(sorted(t.name for t in SCHEMA.get_possible_types(SCHEMA.get_type("Node"))))  # type: ignore[arg-type]
GRAPHQL_RESPONSE = "application/graphql-response+json"

# What an error message must not show unless the request itself said it: stack traces, SQL, drivers,
# exception class names and source paths.
LEAKS = (
    "Traceback", 'File "', ".py", "/work/", "site-packages", "sqlalchemy", "SQLAlchemy", "asyncpg", "aiosqlite",
    "sqlite3", "psycopg", "SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "IntegrityError", "OperationalError",
    "DataError", "ProgrammingError", "InvalidOperation", "KeyError", "TypeError", "AttributeError",
)
# Codes of the refusals a valid document may still get before execution: the abuse limits, and page
# arguments or variables out of range.
LIMIT_CODES = {
    "QUERY_TOO_DEEP", "TOO_MANY_ALIASES", "TOO_MANY_FIELDS", "QUERY_TOO_COSTLY", "DOCUMENT_TOO_LARGE", "BAD_USER_INPUT"
}
# Codes of a document that is not GraphQL, does not fit the schema, or is empty.
REQUEST_ERROR_CODES = {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"}

EXAMPLES = 100
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # failures print their example; no .hypothesis/ folder in the work tree
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- scalar values -------------------------------------------------------------------------------


def _b64(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


# Global IDs of rows 1 to 12 of every type (the fixture makes the first few of each), and IDs that name
# no row or are not global IDs at all.
REAL_IDS = st.builds(global_id, st.sampled_from(NODE_TYPES), st.integers(1, 12))
ODD_IDS = st.one_of(
    st.text(max_size=24),
    st.builds(lambda t, n: _b64(f"{t}:{n}"), st.sampled_from((*NODE_TYPES, "Nope", "", "Node")),
              st.integers(-(2**70), 2**70)),
    st.builds(lambda t, s: _b64(f"{t}:{s}"), st.sampled_from(NODE_TYPES), st.text(max_size=8)),
    st.binary(max_size=24).map(lambda b: base64.b64encode(b).decode()),
    st.sampled_from(["", " ", "null", "0", "-1", "UHJvZHVjdDox", "UHJvZHVjdDox\n", "UHJvZHVjdDoxAA==", "Product:1"]),
)
ID_VALUES = st.one_of(REAL_IDS, REAL_IDS, ODD_IDS)
DECIMAL_VALUES = st.one_of(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2),
    # plain notation (the Decimal scalar refuses exponents) beyond the money limit and its scale
    st.decimals(min_value=-(10**20), max_value=10**20, places=6).map(lambda d: format(d, "f")),
)
DATETIME_VALUES = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-14)), timezone(timedelta(hours=14))])),
    st.datetimes(),  # naive
).map(datetime.isoformat)
DATE_VALUES = st.dates().map(date.isoformat)
# What the scalars refuse, for documents that must not pass validation.
NOT_DECIMALS = st.one_of(
    st.sampled_from(["", "1e", "0x10", "1,5", "--1", "one", "1.2.3", "1_000", " 5", "\u0665", "1e3"]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),  # NaN, sNaN, Infinity, 1E+999999
)
NOT_DATETIMES = st.sampled_from(["", "now", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00+00:00", "0000-01-01"])
NOT_DATES = st.sampled_from(["", "today", "2024-02-30", "99999-01-01", "2024-01-01T00:00:00"])

VALID_SCALARS = {
    "ID": st.one_of(ID_VALUES.map(nodes.String), st.integers(1, 12).map(nodes.Int)),
    # Mostly page sizes and quantities within the limits, so that most operations run.
    "Int": st.one_of(st.integers(-1, 120), st.integers(-(2**31), 2**31 - 1)).map(nodes.Int),
    "Decimal": DECIMAL_VALUES.map(nodes.String),
    "DateTime": DATETIME_VALUES.map(nodes.String),
    "Date": DATE_VALUES.map(nodes.String),
}
ODD_SCALARS = {
    "ID": VALID_SCALARS["ID"],
    "Decimal": st.one_of(DECIMAL_VALUES, NOT_DECIMALS).map(nodes.String) | st.booleans().map(nodes.Boolean),
    "DateTime": st.one_of(DATETIME_VALUES, NOT_DATETIMES).map(nodes.String) | st.integers().map(nodes.Int),
    "Date": st.one_of(DATE_VALUES, NOT_DATES).map(nodes.String) | st.integers().map(nodes.Int),
}

# --- documents -----------------------------------------------------------------------------------


class _OnePageDirection(Visitor):
    """Drops `last` where `first` is given too: the API refuses the pair before execution, and a third
    of the generated queries would otherwise stop there."""

    def enter_field(self, node: FieldNode, *_args: Any) -> FieldNode | None:
        given = {a.name.value for a in node.arguments or () if not isinstance(a.value, NullValueNode)}
        if not {"first", "last"} <= given:
            return None
        return replace(node, arguments=tuple(a for a in node.arguments if a.name.value != "last"))


def _print_paged(document: DocumentNode) -> str:
    return print_ast(visit(document, _OnePageDirection()))


# Without NUL characters, which every request is refused for (tests/api/test_injection.py sends them).
VALID_QUERIES = hg.queries(SCHEMA, custom_scalars=VALID_SCALARS, allow_x00=False, print_ast=_print_paged)
VALID_MUTATIONS = hg.mutations(SCHEMA, custom_scalars=VALID_SCALARS, allow_x00=False)
# One schema violation each: an unknown field or argument, a missing required argument, a wrong type.
NEGATIVE = hg.from_schema(SCHEMA, custom_scalars=ODD_SCALARS, mode=hg.Mode.NEGATIVE)
# Well-formed documents whose Decimal, DateTime and Date literals may not be ones.
ODD_LITERALS = hg.from_schema(SCHEMA, custom_scalars=ODD_SCALARS)
PUNCTUATION = "{}()[]:$@!.,=|&\"'\\#\n\t ."


@st.composite
def mangled(draw: st.DrawFn) -> str:
    """A valid document with a slice of it replaced by junk, or cut short."""
    document = draw(st.one_of(VALID_QUERIES, VALID_MUTATIONS))
    start = draw(st.integers(0, len(document)))
    end = draw(st.integers(start, min(len(document), start + 16)))
    junk = draw(st.text(alphabet=PUNCTUATION, max_size=4) | st.text(max_size=4))
    return document[:start] + junk + ("" if draw(st.integers(0, 9)) == 0 else document[end:])


INVALID_DOCUMENTS = st.one_of(
    NEGATIVE,
    ODD_LITERALS,
    mangled(),
    st.text(max_size=200),
    st.text(alphabet=PUNCTUATION + "abcqueryfragmentmutationsubscriptionon_0123456789", max_size=120),
)

# --- operations with variables -------------------------------------------------------------------

FLOATS = st.floats(allow_nan=False, allow_infinity=False)  # what JSON can carry
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | FLOATS | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=12,
)
SCALAR_VARIABLES: dict[str, st.SearchStrategy[Any]] = {
    "String": st.text(max_size=40),
    "ID": ID_VALUES,
    "Int": st.integers(-(2**40), 2**40),
    "Float": FLOATS,
    "Boolean": st.booleans(),
    "Decimal": st.one_of(DECIMAL_VALUES.map(str), NOT_DECIMALS, st.integers(-(2**70), 2**70), FLOATS),
    "DateTime": DATETIME_VALUES | NOT_DATETIMES,
    "Date": DATE_VALUES | NOT_DATES,
}


def variable_values(type_: GraphQLInputType) -> st.SearchStrategy[Any]:
    """JSON for a variable of `type_`: mostly of the right shape, sometimes anything at all."""
    return st.one_of(_shaped(type_), _shaped(type_), _shaped(type_), JSON)


def _shaped(type_: GraphQLInputType) -> st.SearchStrategy[Any]:
    if isinstance(type_, GraphQLNonNull):
        return _shaped(type_.of_type)
    nullable: Callable[[st.SearchStrategy[Any]], st.SearchStrategy[Any]] = lambda s: s | st.none()  # noqa: E731
    if isinstance(type_, GraphQLList):
        return nullable(st.lists(st.deferred(lambda: variable_values(type_.of_type)), max_size=3))
    if isinstance(type_, GraphQLInputObjectType):
        fields = {name: st.deferred(lambda f=field: variable_values(f.type)) for name, field in type_.fields.items()}
        return nullable(st.fixed_dictionaries({}, optional=fields))
    if isinstance(type_, GraphQLEnumType):
        return nullable(st.sampled_from([*type_.values, "NOT_A_VALUE"]))
    assert isinstance(type_, GraphQLScalarType)
    return nullable(SCALAR_VARIABLES[type_.name])


def _root_field_operations() -> list[st.SearchStrategy[dict[str, Any]]]:
    """For each root field with arguments: a document passing every argument as a variable, and variables."""
    operations = []
    for keyword, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)):
        assert isinstance(root, GraphQLObjectType)
        for name, field in root.fields.items():
            if not field.args:
                continue
            definitions = ", ".join(f"${arg}: {argument.type}" for arg, argument in field.args.items())
            arguments = ", ".join(f"{arg}: ${arg}" for arg in field.args)
            selection = " { __typename }" if is_composite_type(get_named_type(field.type)) else ""
            document = f"{keyword} Fuzz({definitions}) {{ {name}({arguments}){selection} }}"
            variables = st.fixed_dictionaries(
                {}, optional={arg: variable_values(argument.type) for arg, argument in field.args.items()}
            )
            operations.append(st.fixed_dictionaries({"query": st.just(document), "variables": variables | JSON}))
    return operations


VARIABLE_OPERATIONS = st.one_of(*_root_field_operations())

# --- request bodies ------------------------------------------------------------------------------

# Bodies of every shape around a few documents (the documents themselves are fuzzed above).
DOCUMENTS = st.sampled_from(
    [
        "{ me { username } }",
        "query Page($n: Int) { products(first: $n) { nodes { sku } } }",
        "query A { me { id } } query B { users { totalCount } }",
        "mutation { logout { errors { message } } }",
        "subscription { me { id } }",
    ]
)
BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"query": st.one_of(DOCUMENTS, st.text(max_size=40), JSON)},
        optional={
            "variables": JSON,
            "operationName": st.sampled_from(["A", "B", "Page", ""]) | JSON,
            "extensions": JSON,
        },
    ),
    st.lists(st.fixed_dictionaries({"query": DOCUMENTS}), max_size=3),
)
RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    # nested deeper than Python's recursion limit, or nearly
    st.builds(lambda n, inner: b"[" * n + inner + b"]" * n, st.integers(1, 20_000), st.sampled_from([b"", b"1"])),
    st.integers(1, 20_000).map(lambda n: b'{"query": "{ me { id } }", "variables": {"v": %s}}' % (b"[" * n + b"]" * n)),
    st.text(max_size=300).map(str.encode),
    st.sampled_from([b"", b"{", b"[", b"null", b'{"query": "{ me { id } }"', b'{"query": "\\ud800"}', b"\xff\xfe{}"]),
)
ACCEPT = st.sampled_from([None, "application/json", GRAPHQL_RESPONSE, f"{GRAPHQL_RESPONSE}, application/json;q=0.9"])


# --- the server and the checks -------------------------------------------------------------------


@dataclass
class Api:
    http: httpx.AsyncClient
    database: Database
    admin_id: int
    token: str = ""
    rows: dict[str, list[tuple[Any, ...]]] | None = None  # the database as the last request left it

    async def send(self, body: Any, *, accept: str | None = None, raw: bytes | None = None) -> "Exchange":
        """Post `body` (or `raw` bytes as JSON) as the administrator; return what came back and whether
        the database was left as it was."""
        if self.rows is None:
            await self._restore_admin()
            self.rows = await snapshot(self.database)
        before = self.rows
        headers = {"Authorization": f"Bearer {self.token}"}
        if accept is not None:
            headers["Accept"] = accept
        if raw is None:
            response = await self.http.post("/graphql", json=body, headers=headers)
            sent = json.dumps(body, ensure_ascii=False)
        else:
            headers["Content-Type"] = "application/json"
            response = await self.http.post("/graphql", content=raw, headers=headers)
            sent = raw.decode(errors="replace")
        replies = checked(response, sent)
        after = await snapshot(self.database)
        # A change may have been to the administrator: the next request starts by undoing it.
        self.rows = after if after == before else None
        exchange = Exchange(replies, unchanged=after == before)
        # What the examples came to, for --hypothesis-show-statistics.
        event("refused before execution" if exchange.refused else "executed")
        for code in sorted(exchange.codes):
            event(f"error code {code}")
        return exchange

    async def _restore_admin(self) -> None:
        """Undo what a generated mutation may have done to the administrator (logout, deactivateUser and
        updateUser revoke its tokens or demote it) and give it a new token."""
        async with self.database.write_session() as session, session.begin():
            admin = update(User).where(User.id == self.admin_id)
            await session.execute(admin.values(role=Role.ADMIN, is_active=True))
            issued = await users.issue_token(session, user_id=self.admin_id, ttl=timedelta(hours=1))
        self.token = issued.token


@dataclass
class Exchange:
    replies: list[dict[str, Any]]  # one per operation of a batch, else one
    unchanged: bool

    @property
    def refused(self) -> bool:
        """Refused before execution: errors, no data, and no error tied to a field."""
        return all(
            r.get("data") is None and bool(r.get("errors")) and all(not e.get("path") for e in r["errors"])
            for r in self.replies
        )

    @property
    def codes(self) -> set[str]:
        return {(e.get("extensions") or {}).get("code") for r in self.replies for e in r.get("errors") or []}


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary key order (but not when a token was last used, which any
    authenticated request may record)."""
    rows = {}
    async with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "last_used_at"]
            result = await conn.execute(select(*columns).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result]
    return rows


def checked(response: httpx.Response, sent: str) -> list[dict[str, Any]]:
    """The response's GraphQL responses (several for a batch), after checking the properties every
    response has."""
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].split(";")[0] in ("application/json", GRAPHQL_RESPONSE)
    body = response.json()
    replies = body if isinstance(body, list) and body else [body]
    for reply in replies:
        _check_reply(reply, sent)
    return replies


def _check_reply(body: Any, sent: str) -> None:
    assert isinstance(body, dict), body
    assert "data" in body or "errors" in body, body
    assert set(body) <= {"data", "errors", "extensions"}, body
    errors = body.get("errors")
    if errors is not None:
        assert isinstance(errors, list) and errors, body
    for error in errors or ():
        assert isinstance(error.get("message"), str), error
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str) and code, f"an error without extensions.code: {error} (request: {sent})"
        assert code != "INTERNAL_SERVER_ERROR", f"unexpected error: {error} (request: {sent})"
    messages = json.dumps(list(_messages(body)), ensure_ascii=False)
    leaked = [marker for marker in LEAKS if marker in messages and marker not in sent]
    assert not leaked, f"{leaked} in {messages}"


def _messages(value: Any) -> list[str]:
    """Every error message in a body: top-level errors and mutation payloads' `errors { message }`."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "message" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(_messages(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_messages(item))
    return found


def validation_errors(document: str) -> list[GraphQLError]:
    try:
        return list(validate(SCHEMA, parse(document)))
    except GraphQLError as error:
        return [error]


@pytest.fixture
async def api(http: httpx.AsyncClient, database: Database) -> Api:
    """Rows of every kind (1 to 3 at least of each) and a signed-in administrator."""
    catalog = await build_catalog(database, products=12, suppliers=4, offers_per_product=2)
    await build_stock(database, catalog, warehouses=3, entries=40)
    admin, token = await sign_in(database, Role.ADMIN)
    await sign_in(database, Role.VIEWER)
    create = "mutation ($o: CreatePurchaseOrderInput!) { createPurchaseOrder(input: $o) { errors { message } } }"
    for supplier in (1, 2, 3):
        lines = [{"productId": global_id("Product", p), "quantity": 5, "unitCost": "2.50"} for p in (1, 2)]
        order = {"supplierId": global_id("Supplier", supplier), "lines": lines}
        response = await http.post(
            "/graphql", json={"query": create, "variables": {"o": order}}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.json() == {"data": {"createPurchaseOrder": {"errors": []}}}
    return Api(http, database, admin.id)


# --- the properties ------------------------------------------------------------------------------


async def _valid(api: Api, document: str) -> None:
    assert validation_errors(document) == [], document
    exchange = await api.send({"query": document})
    if exchange.refused:
        # A valid document may break a limit or ask for a page out of range, and nothing else.
        assert exchange.codes <= LIMIT_CODES, exchange.replies
        assert exchange.unchanged
    else:
        assert "data" in exchange.replies[0]


@FUZZ
@given(document=VALID_QUERIES)
async def test_valid_queries(api: Api, document: str) -> None:
    await _valid(api, document)


@FUZZ
@given(document=VALID_MUTATIONS)
async def test_valid_mutations(api: Api, document: str) -> None:
    await _valid(api, document)


@FUZZ
@given(document=INVALID_DOCUMENTS, accept=ACCEPT)
async def test_invalid_documents_are_refused_and_change_nothing(api: Api, document: str, accept: str | None) -> None:
    exchange = await api.send({"query": document}, accept=accept)
    if validation_errors(document):
        assert exchange.refused, exchange.replies
        assert exchange.codes <= REQUEST_ERROR_CODES | LIMIT_CODES, exchange.replies
    if exchange.refused:
        assert exchange.unchanged


@FUZZ
@given(operation=VARIABLE_OPERATIONS, accept=ACCEPT)
async def test_variables_of_any_shape(api: Api, operation: dict[str, Any], accept: str | None) -> None:
    exchange = await api.send(operation, accept=accept)
    if exchange.refused:
        assert exchange.unchanged


@FUZZ
@given(body=BODIES, accept=ACCEPT)
async def test_malformed_bodies(api: Api, body: Any, accept: str | None) -> None:
    exchange = await api.send(body, accept=accept)
    if exchange.refused:
        assert exchange.unchanged


@settings(FUZZ, max_examples=EXAMPLES // 2)
@given(raw=RAW_BODIES)
async def test_bodies_that_are_not_json(api: Api, raw: bytes) -> None:
    exchange = await api.send(None, raw=raw)
    if exchange.refused:
        assert exchange.unchanged
