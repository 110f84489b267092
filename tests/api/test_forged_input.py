"""Input a client forges rather than gets from the API: cursors, price bounds and strings that are no
Unicode text. Each is refused with BAD_USER_INPUT naming the argument (HTTP 400 when it is the request's
envelope), never answered with an internal error."""

import base64
import json
import string
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.catalog_reads import ProductSortField, product_sort
from tests.factories import build_catalog
from tests.utils import GraphQLClient

PRODUCTS = """
query ($after: String, $before: String, $order: ProductOrder, $filter: ProductFilter) {
  products(first: 3, after: $after, before: $before, orderBy: $order, filter: $filter) {
    edges { cursor node { sku } }
  }
}
"""
CATEGORY_PRODUCTS = """
query ($after: String, $order: ProductOrder) {
  categories(first: 5) { nodes { products(first: 2, after: $after, orderBy: $order) { nodes { sku } } } }
}
"""
NESTED_PRODUCTS = """
query ($after: String, $before: String, $order: ProductOrder, $filter: ProductFilter) {
  categories(first: 5) { nodes { products(first: 2, after: $after, before: $before, orderBy: $order, filter: $filter) {
    nodes { sku } } } }
}
"""
TRANSACTIONS = """
query ($after: String, $before: String) { transactions(first: 2, after: $after, before: $before) { nodes { id } } }
"""


def cursor(*key: Any, order: str = "name,id") -> str:
    """A cursor holding `key` in the order `order` (db.pagination.SortKey.order), forged the way the API
    encodes its own (base64 of a JSON array: the order's columns, then the key)."""
    return base64.urlsafe_b64encode(json.dumps([order, *key]).encode()).decode()


def product_order(order: dict[str, str] | None) -> str:
    """SortKey.order of the products list in the ProductOrder `order`."""
    return product_sort(ProductSortField[(order or {}).get("field", "NAME")]).order


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body.get("errors") or []) == 1, body
    return body["errors"][0]


def refused(body: dict[str, Any], field: str) -> None:
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == field, error
    assert f"`{field}`" in error["message"], error


# (orderBy, key): keys of the right shape for no column of the list's order
FORGED_KEYS = [
    (None, ["a", 2**31]),  # past a 32-bit id
    (None, ["a", -(2**31) - 1]),
    (None, ["a\u0000b", 1]),  # PostgreSQL text holds no NUL
    (None, ["x" * 201, 1]),  # longer than a name can be
    (None, ["a"]),  # too few components
    (None, ["a", 1, 2]),  # too many
    (None, [1, 1]),
    (None, ["a", "1"]),
    (None, ["a", True]),
    (None, ["a", 1.5]),
    ({"field": "PRICE"}, ["1e400", 1]),
    ({"field": "PRICE"}, ["Infinity", 1]),
    ({"field": "PRICE"}, ["NaN", 1]),
    ({"field": "PRICE"}, ["12345678901234567890", 1]),  # more digits than the column holds
    ({"field": "PRICE"}, ["1000000000000.00", 1]),
    ({"field": "PRICE"}, ["1.001", 1]),  # more places
    ({"field": "PRICE"}, [" 1.00", 1]),
    ({"field": "PRICE"}, ["1_000", 1]),
    ({"field": "PRICE"}, ["\u0661", 1]),  # an Arabic-Indic digit
    ({"field": "PRICE"}, [1, 1]),
    ({"field": "CREATED_AT"}, ["9999-12-31T23:59:59-14:00", 1]),  # past year 9999 in UTC
    ({"field": "CREATED_AT"}, ["0001-01-01T00:00:00+14:00", 1]),  # before year 1 in UTC
    ({"field": "CREATED_AT"}, ["2024-01-01T00:00:00", 1]),  # no offset
    ({"field": "CREATED_AT"}, ["99999-01-01T00:00:00+00:00", 1]),
    ({"field": "SKU", "direction": "DESC"}, ["A\u0000", 1]),
]


@pytest.mark.parametrize(("order", "key"), FORGED_KEYS)
@pytest.mark.parametrize("argument", ["after", "before"])
async def test_a_forged_cursor_is_refused_naming_its_argument(gql: GraphQLClient, order, key, argument):
    body = await gql.post(PRODUCTS, {argument: cursor(*key, order=product_order(order)), "order": order})
    refused(body, argument)


@pytest.mark.parametrize(("order", "key"), FORGED_KEYS[:3] + FORGED_KEYS[10:11] + FORGED_KEYS[20:21])
async def test_a_forged_cursor_is_refused_in_a_nested_list(gql: GraphQLClient, database, order, key):
    await build_catalog(database, products=4, suppliers=3)
    body = await gql.post(CATEGORY_PRODUCTS, {"after": cursor(*key, order=product_order(order)), "order": order})
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}, error


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("after", cursor(2**31, order="id")),
        ("before", cursor(2**31, order="id")),
        ("after", cursor(-(2**31) - 1, order="id")),
        ("after", cursor(1, 2, order="id")),
        ("after", "WzIxNDc0ODM2NDhd"),  # [2147483648], as cursors were before they named their order
    ],
)
async def test_a_forged_id_cursor_is_refused(gql: GraphQLClient, argument, value):
    # 2147483648: out of range for PostgreSQL's integer ids
    refused(await gql.post(TRANSACTIONS, {argument: value}), argument)


# not base64, `{}`, `[]`, a cursor of no order, bytes that are no UTF-8, `["\ud800"]`
@pytest.mark.parametrize(
    "value",
    ["", "!!!", "e30=", "W10=", cursor(), cursor("a", 1, order=""), base64.b64encode(b"\xff\xfe").decode(),
     "WyJcdWQ4MDAiXQ=="],
)
async def test_a_cursor_that_is_no_key_at_all_is_refused(gql: GraphQLClient, value):
    refused(await gql.post(PRODUCTS, {"after": value}), "after")


@pytest.mark.parametrize(
    ("order", "key"),
    [
        ({"field": "PRICE"}, ["999999999999.99", 2**31 - 1]),
        ({"field": "PRICE"}, ["0.00", 1]),
        ({"field": "CREATED_AT"}, ["0001-01-01T00:00:00+00:00", 1]),
        ({"field": "CREATED_AT"}, ["9999-12-31T23:59:59.999999+00:00", 1]),
        ({"field": "CREATED_AT", "direction": "DESC"}, ["2024-01-01T05:00:00+05:00", 1]),
        (None, ["x" * 200, 1]),
    ],
)
async def test_a_cursor_at_the_limits_of_its_columns_is_accepted(gql: GraphQLClient, database, order, key):
    await build_catalog(database, products=4, suppliers=3)
    for argument in ("after", "before"):
        body = await gql.post(PRODUCTS, {argument: cursor(*key, order=product_order(order)), "order": order})
        assert "errors" not in body, body


async def test_the_api_s_own_cursors_are_accepted_in_every_order(gql: GraphQLClient, database):
    await build_catalog(database, products=7, suppliers=3)
    for field in ("NAME", "SKU", "PRICE", "CREATED_AT"):
        order = {"field": field}
        first = (await gql(PRODUCTS, {"order": order}))["products"]["edges"]
        after = (await gql(PRODUCTS, {"order": order, "after": first[-1]["cursor"]}))["products"]["edges"]
        assert len(after) == 3 and not {e["node"]["sku"] for e in first} & {e["node"]["sku"] for e in after}


@pytest.mark.parametrize(("made_in", "used_in"), [("NAME", "SKU"), ("SKU", "NAME"), ("PRICE", "CREATED_AT")])
async def test_a_cursor_of_another_order_is_refused(gql: GraphQLClient, database, made_in, used_in):
    # Both orders' keys are (text or decimal or time, id): read in the other order, the cursor would be taken
    # for a position it never was, and the page would silently be the wrong one.
    await build_catalog(database, products=7, suppliers=3)
    edges = (await gql(PRODUCTS, {"order": {"field": made_in}}))["products"]["edges"]
    for argument in ("after", "before"):
        refused(await gql.post(PRODUCTS, {"order": {"field": used_in}, argument: edges[0]["cursor"]}), argument)
    # and a product cursor is none of the ledger's
    refused(await gql.post(TRANSACTIONS, {"after": edges[0]["cursor"]}), "after")


@pytest.mark.parametrize(
    "value", ["Infinity", "-Infinity", "NaN", "sNaN", "1e400", "12345678901234567890", "1000000000000", "-1", "1.001"]
)
@pytest.mark.parametrize("bound", ["minPrice", "maxPrice"])
async def test_a_price_filter_that_no_price_can_meet_is_refused(gql: GraphQLClient, value, bound):
    body = await gql.post(PRODUCTS, {"filter": {bound: value}})
    if value.lstrip("-").isdigit() or value == "1.001":
        refused(body, f"filter.{bound}")  # a decimal, but no price: refused by the filter
    else:  # not decimal notation: refused as the variable's value, which the message names
        error = only_error(body)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert f"'$filter' has invalid value at .{bound}" in error["message"], error


@pytest.mark.parametrize("bound", ["minPrice", "maxPrice"])
async def test_a_price_filter_is_refused_in_a_nested_list(gql: GraphQLClient, database, bound):
    await build_catalog(database, products=4, suppliers=3)
    query = "query ($f: ProductFilter) { categories(first: 3) { nodes { products(filter: $f) { nodes { sku } } } } }"
    error = only_error(await gql.post(query, {"f": {bound: "-1"}}))
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": f"filter.{bound}"}, error


@pytest.mark.parametrize(("minimum", "maximum"), [("0", "999999999999.99"), ("0.00", "0"), ("12.5", "12.50")])
async def test_a_price_filter_at_the_limits_is_accepted(gql: GraphQLClient, minimum, maximum):
    body = await gql.post(PRODUCTS, {"filter": {"minPrice": minimum, "maxPrice": maximum}})
    assert "errors" not in body, body


# --- lone surrogates ---------------------------------------------------------------------------------


async def post_raw(http: httpx.AsyncClient, token: str | None, body: Any, accept: str | None = None) -> httpx.Response:
    """Post `body` as JSON with non-ASCII escaped, so that a lone surrogate travels as `\\ud800`."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if accept:
        headers["Accept"] = accept
    return await http.post("/graphql", content=json.dumps(body).encode(), headers=headers)


CREATE_CATEGORY = """
mutation ($input: CreateCategoryInput!) { createCategory(input: $input) { category { name } errors { code } } }
"""


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        (PRODUCTS, {"filter": {"search": "a\ud800"}}, "$filter.search"),
        (PRODUCTS, {"after": "\udfff"}, "$after"),
        (PRODUCTS, {"filter": {"search": "ok"}, "extra": ["x", {"y": "z\ud800"}]}, "$extra[1].y"),
        (CREATE_CATEGORY, {"input": {"name": "a\ud800", "slug": "a"}}, "$input.name"),
        (CREATE_CATEGORY, {"input": {"name": "a", "slug": "a", "\ud800": 1}}, "$input"),
    ],
)
@pytest.mark.parametrize("accept", [None, "application/graphql-response+json"])
async def test_a_lone_surrogate_in_a_variable_is_refused(gql: GraphQLClient, query, variables, field, accept):
    response = await post_raw(gql.http, gql.token, {"query": query, "variables": variables}, accept)
    assert response.status_code == (400 if accept else 200), response.text
    refused_body = response.json()
    assert refused_body.get("data") is None
    error = only_error(refused_body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == field, error
    assert (await gql("{ categories(first: 1) { totalCount } }"))["categories"]["totalCount"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ me { username } }", "operationName": "A\ud800"},
        {"query": "query A\ud800 { me { username } }"},
        {"query": '{ products(filter: {search: "a\ud800"}) { totalCount } }'},
        {"query": "{ me { username } }", "extensions": {"x": "\udc00"}},
    ],
)
@pytest.mark.parametrize("accept", [None, "application/graphql-response+json"])
async def test_a_lone_surrogate_in_the_envelope_is_a_400(gql: GraphQLClient, body, accept):
    response = await post_raw(gql.http, gql.token, body, accept)
    assert response.status_code == 400, response.text
    assert only_error(response.json())["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_lone_surrogate_in_a_get_request_is_refused(gql: GraphQLClient):
    params = {"query": PRODUCTS, "variables": json.dumps({"filter": {"search": "\ud800"}})}
    response = await gql.http.get("/graphql", params=params, headers=gql.headers)
    error = only_error(response.json())
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "$filter.search", **_request_id(error)}


def _request_id(error: dict[str, Any]) -> dict[str, Any]:
    return {"requestId": error["extensions"]["requestId"]} if "requestId" in error["extensions"] else {}


async def test_a_surrogate_pair_is_text(gql: GraphQLClient):
    body = {"query": PRODUCTS, "variables": {"filter": {"search": "\U0001f600"}}}
    response = await post_raw(gql.http, gql.token, body)
    assert response.status_code == 200 and "errors" not in response.json(), response.text


# --- property: no forged cursor or price gives an internal error ------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["1e400", "NaN", "-0", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "\x00"]),
    st.decimals(allow_nan=True).map(str),
    st.datetimes().map(lambda d: d.isoformat() + "+13:59"),
)
FORGED_CURSORS = st.one_of(
    st.text(max_size=40),
    st.lists(JSON_SCALARS, max_size=3).map(lambda key: base64.urlsafe_b64encode(json.dumps(key).encode()).decode()),
    st.tuples(st.sampled_from([product_sort(f).order for f in ProductSortField]), st.lists(JSON_SCALARS, max_size=3))
    .map(lambda tagged: cursor(*tagged[1], order=tagged[0])),
    st.binary(max_size=40).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
)
PRICES = st.one_of(
    st.text(max_size=30),
    st.text(string.digits + ".-+eE_ ", max_size=30),
    st.decimals(allow_nan=True).map(str),
    st.integers(-(2**80), 2**80).map(str),
)
ORDERS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "field": st.sampled_from(["NAME", "SKU", "PRICE", "CREATED_AT"]),
            "direction": st.sampled_from(["ASC", "DESC"]),
        }
    ),
)


@pytest.fixture
async def catalog(database) -> None:  # type: ignore[no-untyped-def]
    await build_catalog(database, products=6, suppliers=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    after=st.none() | FORGED_CURSORS,
    before=st.none() | FORGED_CURSORS,
    order=ORDERS,
    minimum=st.none() | PRICES,
    maximum=st.none() | PRICES,
)
async def test_no_forged_cursor_or_price_gives_an_internal_error(
    gql: GraphQLClient, catalog: None, after, before, order, minimum, maximum
):
    price_filter = {k: v for k, v in (("minPrice", minimum), ("maxPrice", maximum)) if v is not None}
    variables = {"after": after, "before": before, "order": order, "filter": price_filter}
    for query in (PRODUCTS, NESTED_PRODUCTS):
        response = await post_raw(gql.http, gql.token, {"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        for error in response.json().get("errors") or []:
            assert error["extensions"]["code"] == "BAD_USER_INPUT", error
