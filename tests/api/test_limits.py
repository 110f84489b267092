"""Abuse limits: every abusive document is refused with a clear error and `extensions.code`
before a single SQL statement runs; a legitimate catalog page still passes."""

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from db.config import Settings
from db.engine import Database
from db.models import Role
from graph.app import create_app
from tests.factories import build_catalog
from tests.utils import GraphQLClient, StatementCounter

CATALOG_PAGE = """query ($offers: Int) {
  products(first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id sku name unitPrice
      category { id name parent { id name } }
      suppliers { supplierSku unitCost leadTimeDays isPreferred
        supplier { id name offers(first: $offers) { edges { node { unitCost product { sku } } } } } }
    } }
  }
}"""

# A page of 100 products, each with 100 offers, each offer's product with a page of 100 products.
COSTLY = """query ($size: Int) { products(first: $size) { nodes { sku
  suppliers { supplier { offers(first: $size) { nodes { product { category { products(first: $size) {
    nodes { sku } } } } } } } } } } }"""


async def refused(
    gql: GraphQLClient, statements: StatementCounter, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Post `query`, check that it ran no SQL and failed before execution; return its one error."""
    with statements.count() as seen:
        body = await gql.post(query, variables)
    assert seen == [], seen
    assert body["data"] is None
    [error] = body["errors"]
    assert "path" not in error
    return error


@pytest.fixture
async def limited_app(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with small limits and introspection off, served in-process."""
    limited = settings.model_copy(update={"max_fields": 20, "introspection": False, "graphiql": False})
    app = create_app(limited, database=database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory") as client:
        yield client


async def test_a_catalog_page_is_within_every_limit(gql_as, database: Database) -> None:  # type: ignore[no-untyped-def]
    await build_catalog(database, products=60, suppliers=8, offers_per_product=3)
    viewer = await gql_as(Role.VIEWER)
    page = (await viewer(CATALOG_PAGE, {"offers": 3}))["products"]
    assert len(page["edges"]) == 50
    assert all(len(e["node"]["suppliers"]) == 3 for e in page["edges"])


async def test_deep_nesting_is_refused(gql: GraphQLClient, statements: StatementCounter) -> None:
    query = "{ categories { nodes { " + "parent { " * 50 + "name" + " }" * 50 + " } } }"
    error = await refused(gql, statements, query)
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP"}
    assert error["message"] == "The query is nested more than 15 levels deep."


async def test_depth_hidden_in_fragments_is_counted(gql: GraphQLClient, statements: StatementCounter) -> None:
    fragments = " ".join(f"fragment P{i} on Category {{ parent {{ ...P{i + 1} }} }}" for i in range(20))
    query = "{ categories { nodes { ...P0 } } } " + fragments + " fragment P20 on Category { name }"
    assert (await refused(gql, statements, query))["extensions"]["code"] == "QUERY_TOO_DEEP"


async def test_an_alias_flood_is_refused(gql: GraphQLClient, statements: StatementCounter) -> None:
    allowed = "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }"
    assert len((await gql(allowed))) == 30
    flood = "{ " + " ".join(f"p{i}: products(first: 100) {{ totalCount }}" for i in range(31)) + " }"
    error = await refused(gql, statements, flood)
    assert error["extensions"] == {"code": "TOO_MANY_ALIASES"}
    assert error["message"] == "The query uses 31 aliases; the limit is 30."


async def test_the_same_field_a_thousand_times_is_refused(gql: GraphQLClient, statements: StatementCounter) -> None:
    query = "{ products { nodes { " + "sku " * 1000 + "} } }"
    error = await refused(gql, statements, query)
    assert error["extensions"] == {"code": "TOO_MANY_FIELDS"}
    assert error["message"] == (
        "`products.nodes.sku` is selected 1000 times (repeats and fragments counted); the limit is 20."
    )


async def test_repeats_multiply_down_the_tree(gql: GraphQLClient, statements: StatementCounter) -> None:
    # 10 x 20 `parent` fields at one path: each repeat is allowed, together they are not.
    inner = "parent { name } " * 20
    query = "{ products { nodes { " + f"category {{ {inner}}} " * 10 + "} } }"
    error = await refused(gql, statements, query)
    assert error["message"].startswith("`products.nodes.category.parent` is selected 200 times")


async def test_a_fragment_bomb_is_measured_without_expanding_it(
    gql: GraphQLClient, statements: StatementCounter
) -> None:
    # Expanded, this document would select __typename 2^40 times.
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    query = "{ ...F0 } " + fragments + " fragment F40 on Query { __typename }"
    started = time.monotonic()
    error = await refused(gql, statements, query)
    assert time.monotonic() - started < 2
    assert error["extensions"] == {"code": "TOO_MANY_FIELDS"}
    assert f"selected {2**40} times" in error["message"]


async def test_too_many_fields_are_refused(limited_app: httpx.AsyncClient, statements: StatementCounter) -> None:
    scalars = "id sku name description unitPrice reorderPoint reorderQuantity isActive createdAt updatedAt averageCost"
    query = f"{{ products {{ nodes {{ {scalars} category {{ id name slug parent {{ id name slug }} }} }} }} }}"
    with statements.count() as seen:
        body = (await limited_app.post("/graphql", json={"query": query})).json()
    assert seen == []
    [error] = body["errors"]
    assert error["extensions"] == {"code": "TOO_MANY_FIELDS"}
    assert error["message"] == "The query selects 21 fields (fragments counted where they are spread); the limit is 20."


async def test_too_many_tokens_are_refused(gql: GraphQLClient, statements: StatementCounter) -> None:
    error = await refused(gql, statements, "{ " + "x " * 2500 + "}")
    assert error["extensions"] == {"code": "DOCUMENT_TOO_LARGE"}
    assert "more than 2000 tokens" in error["message"]


async def test_a_document_too_long_is_refused(gql: GraphQLClient, statements: StatementCounter) -> None:
    error = await refused(gql, statements, "# " + "padding " * 3000 + "\n{ __typename }")
    assert error["extensions"] == {"code": "DOCUMENT_TOO_LARGE"}
    assert "more than 20000 code points" in error["message"]


@pytest.mark.parametrize("size", [100, 40])
async def test_costly_nested_pages_are_refused(gql: GraphQLClient, statements: StatementCounter, size: int) -> None:
    error = await refused(gql, statements, COSTLY, {"size": size})
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY"}
    assert error["message"].startswith("The query's estimated cost is ")
    assert error["message"].endswith("above the limit of 100000: ask for smaller pages or fewer nested lists.")


async def test_cost_follows_the_page_sizes_asked_for(gql_as, database: Database) -> None:  # type: ignore[no-untyped-def]
    await build_catalog(database, products=5)
    viewer = await gql_as(Role.VIEWER)
    assert len((await viewer(COSTLY, {"size": 3}))["products"]["nodes"]) == 3


async def test_costly_pages_hidden_in_fragments_and_defaults_are_refused(
    gql: GraphQLClient, statements: StatementCounter
) -> None:
    query = """query ($size: Int = 100) { products(first: $size) { nodes { ...Offers } } }
      fragment Offers on Product { suppliers { supplier { offers(first: $size) { nodes { ...Deeper } } } } }
      fragment Deeper on ProductSupplier { product { category { products(first: $size) { nodes { sku } } } } }"""
    assert (await refused(gql, statements, query))["extensions"]["code"] == "QUERY_TOO_COSTLY"


@pytest.mark.parametrize(
    ("query", "variables", "field", "size"),
    [
        ("{ products(first: 101) { totalCount } }", None, "first", 101),
        ("query ($n: Int) { categories { nodes { products(last: $n) { totalCount } } } }", {"n": 5000}, "last", 5000),
        ("{ suppliers(first: 1) { nodes { offers(first: 1000) { totalCount } } } }", None, "first", 1000),
    ],
)
async def test_oversized_pages_are_refused_before_any_sql(
    gql: GraphQLClient, statements: StatementCounter, query: str, variables: dict | None, field: str, size: int
) -> None:
    # Nested pages too: the parent page is not loaded before the child's size is refused.
    error = await refused(gql, statements, query, variables)
    assert error["message"] == f"`{field}` is {size}, larger than the maximum page size of 100."
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_circular_fragments_are_refused(gql: GraphQLClient, statements: StatementCounter) -> None:
    query = """{ categories { nodes { ...A } } }
      fragment A on Category { name parent { ...B } }
      fragment B on Category { name children { ...A } }"""
    error = await refused(gql, statements, query)
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert error["message"] == "Cannot spread fragment 'A' within itself via 'B'."


async def test_a_mutation_breaking_a_limit_changes_nothing(gql: GraphQLClient, statements: StatementCounter) -> None:
    nested = "parent { " * 20 + "name" + " }" * 20
    mutation = f'mutation {{ createCategory(input: {{name: "x"}}) {{ category {{ {nested} }} }} }}'
    assert (await refused(gql, statements, mutation))["extensions"]["code"] == "QUERY_TOO_DEEP"


async def test_a_batch_is_refused(http: httpx.AsyncClient, statements: StatementCounter) -> None:
    batch = [{"query": "{ products { totalCount } }"}] * 50
    with statements.count() as seen:
        response = await http.post("/graphql", json=batch)
    assert seen == []
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Batching is not enabled"


async def test_a_body_too_large_is_refused(http: httpx.AsyncClient, statements: StatementCounter) -> None:
    big = {"query": "{ __typename }", "variables": {"padding": "x" * 300_000}}
    with statements.count() as seen:
        response = await http.post("/graphql", json=big)
    assert seen == []
    assert response.status_code == 413
    [error] = response.json()["errors"]
    assert (error["message"], error["extensions"]["code"]) == ("Content Too Large", "PAYLOAD_TOO_LARGE")


async def test_a_streamed_body_too_large_is_refused(http: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit is counted as it arrives
        yield b'{"query": "{ __typename }", "variables": {"padding": "'
        for _ in range(10):
            yield b"x" * 65_536
        yield b'"}}'

    response = await http.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


async def test_introspection_can_be_turned_off(limited_app: httpx.AsyncClient, gql: GraphQLClient) -> None:
    query = "{ __schema { queryType { name } } }"
    assert (await gql(query))["__schema"]["queryType"]["name"] == "Query"
    body = (await limited_app.post("/graphql", json={"query": query})).json()
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert error["message"] == (
        "GraphQL introspection has been disabled, but the requested query contained the field '__schema'."
    )
    # __typename is not introspection of the schema: clients such as Apollo add it everywhere.
    assert (await limited_app.post("/graphql", json={"query": "{ __typename }"})).json() == {
        "data": {"__typename": "Query"}
    }


@pytest.mark.parametrize(
    ("document", "variables", "refused", "suggestion"),
    [
        ("mutation { createUsr }", None, "Cannot query field 'createUsr' on type 'Mutation'.", " Did you mean"),
        ("{ product(ide: 1) { id } }", None, "Unknown argument 'ide' on field 'Query.product'.", " Did you mean"),
        ("{ prodcts { nodes { id } } }", None, "Cannot query field 'prodcts' on type 'Query'.", " Did you mean"),
        ('mutation($r: Role!) { createUser(input: {username: "u", password: "p", role: $r}) { user { id } } }',
         {"r": "ADMN"}, "Value 'ADMN' does not exist in 'Role' enum.", " Did you mean"),
    ],
)
async def test_suggestions_are_left_out_when_introspection_is_off(
    limited_app: httpx.AsyncClient,
    http: httpx.AsyncClient,
    document: str,
    variables: Any,
    refused: str,
    suggestion: str,
) -> None:
    request = {"query": document, "variables": variables}
    [suggested] = (await http.post("/graphql", json=request)).json()["errors"]
    assert refused in suggested["message"] and suggestion in suggested["message"], suggested["message"]
    [error] = (await limited_app.post("/graphql", json=request)).json()["errors"]
    assert refused in error["message"] and "mean" not in error["message"], error["message"]
    assert error["message"] == suggested["message"][: suggested["message"].index(suggestion)]


async def test_graphiql_can_be_turned_off(limited_app: httpx.AsyncClient, http: httpx.AsyncClient) -> None:
    assert (await http.get("/graphql", headers={"Accept": "text/html"})).status_code == 200
    assert (await limited_app.get("/graphql", headers={"Accept": "text/html"})).status_code == 404


async def test_graphiql_introspection_fits_the_limits(gql: GraphQLClient) -> None:
    query = get_introspection_query(input_value_deprecation=True, schema_description=True, one_of=True)
    assert (await gql(query))["__schema"]["queryType"]["name"] == "Query"
