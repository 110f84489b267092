"""Catalog reads over HTTP: the statement count of a nested query, pagination, filters and ordering,
each checked against answers computed here from the inserted rows."""

import base64
from decimal import Decimal

import pytest

from tests.factories import Catalog, build_catalog
from tests.utils import GraphQLClient, global_id

CATALOG_PAGE = """
query ($first: Int!) {
  products(first: $first) {
    totalCount
    edges { node { sku unitPrice category { name parent { name } }
      suppliers { unitCost supplier { name offers(first: 3) { edges { node { product { sku } } } } } } } }
  }
}
"""


@pytest.fixture
async def catalog(database) -> Catalog:  # type: ignore[no-untyped-def]
    return await build_catalog(database, products=150, suppliers=12)


def _by_name(catalog: Catalog) -> list[dict]:
    return sorted(catalog.products.values(), key=lambda p: (p["name"], p["id"]))


async def test_nested_catalog_query_issues_a_constant_number_of_statements(gql, statements, catalog):
    counts = {}
    for first in (10, 100):
        with statements.count(sign_in=False) as executed:
            data = await gql(CATALOG_PAGE, {"first": first})
        counts[first] = len(executed)
        edges = data["products"]["edges"]
        assert len(edges) == first
        assert data["products"]["totalCount"] == 150
        expected = _by_name(catalog)[:first]
        assert [e["node"]["sku"] for e in edges] == [p["sku"] for p in expected]
        for edge, product in zip(edges, expected, strict=True):
            node = edge["node"]
            assert Decimal(node["unitPrice"]) == product["unit_price"]
            category = catalog.categories.get(product["category_id"])
            if category is None:
                assert node["category"] is None
            else:
                parent = catalog.categories.get(category["parent_id"])
                assert node["category"] == {"name": category["name"], "parent": parent and {"name": parent["name"]}}
            offers = [o for o in catalog.offers if o["product_id"] == product["id"]]
            assert sorted(s["supplier"]["name"] for s in node["suppliers"]) == sorted(
                catalog.suppliers[o["supplier_id"]]["name"] for o in offers
            )
            for offer in node["suppliers"]:
                supplier_id = int(offer["supplier"]["name"].removeprefix("supplier"))
                expected_offers = sorted(
                    (o for o in catalog.offers if o["supplier_id"] == supplier_id), key=lambda o: o["id"]
                )[:3]
                assert [e["node"]["product"]["sku"] for e in offer["supplier"]["offers"]["edges"]] == [
                    catalog.products[o["product_id"]]["sku"] for o in expected_offers
                ]
    # the root field's one statement: the page, its count and everything below, whatever the page size
    # (on SQLite, which nests fewer subqueries, the suppliers' pages of offers are a second one)
    assert counts[10] == counts[100] == (1 if statements.dialect == "postgresql" else 2), counts


async def test_nested_connections_under_a_list_are_in_the_root_fields_statement(gql, statements, catalog):
    query = "{ categories(first: 10) { edges { node { name products(first: 2) { totalCount edges { node { sku } } } } } } }"
    with statements.count(sign_in=False) as executed:
        data = await gql(query)
    # every category's page of products, and its count, are subqueries of the categories' statement
    assert len(executed) == 1, executed
    for edge in data["categories"]["edges"]:
        category_id = next(pk for pk, c in catalog.categories.items() if c["name"] == edge["node"]["name"])
        members = [p for p in _by_name(catalog) if p["category_id"] == category_id]
        assert edge["node"]["products"]["totalCount"] == len(members)
        assert [e["node"]["sku"] for e in edge["node"]["products"]["edges"]] == [p["sku"] for p in members[:2]]


async def _walk(gql: GraphQLClient, query: str, variables: dict, backward: bool = False) -> list[str]:
    """Follow cursors to the end of the list; returns the SKUs in list order."""
    skus: list[str] = []
    cursor = None
    while True:
        data = (await gql(query, {**variables, "cursor": cursor}))["products"]
        page = [e["node"]["sku"] for e in data["edges"]]
        assert [e["cursor"] for e in data["edges"]][:1] == ([data["pageInfo"]["startCursor"]] if page else [])
        skus = page + skus if backward else skus + page
        more = data["pageInfo"]["hasPreviousPage"] if backward else data["pageInfo"]["hasNextPage"]
        if not more:
            return skus
        cursor = data["pageInfo"]["startCursor"] if backward else data["pageInfo"]["endCursor"]


FORWARD = """query ($cursor: String, $filter: ProductFilter, $order: ProductOrder) {
  products(first: 7, after: $cursor, filter: $filter, orderBy: $order) {
    edges { cursor node { sku } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
BACKWARD = FORWARD.replace("first: 7, after:", "last: 7, before:")

ORDERINGS = {
    "NAME": lambda p: (p["name"], p["id"]),
    "SKU": lambda p: (p["sku"], p["id"]),
    "PRICE": lambda p: (p["unit_price"], p["id"]),
    "CREATED_AT": lambda p: (p["created_at"], p["id"]),
}


@pytest.mark.parametrize("field", list(ORDERINGS))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_paging_forward_and_backward_visits_every_product_once_in_order(gql, catalog, field, direction):
    expected = sorted(catalog.products.values(), key=ORDERINGS[field], reverse=direction == "DESC")
    variables = {"order": {"field": field, "direction": direction}}
    assert await _walk(gql, FORWARD, variables) == [p["sku"] for p in expected]
    assert await _walk(gql, BACKWARD, variables, backward=True) == [p["sku"] for p in expected]


def _filtered(catalog: Catalog, spec: dict) -> list[str]:
    rows = _by_name(catalog)
    if "search" in spec:
        needle = spec["search"].lower()
        rows = [p for p in rows if needle in p["name"].lower() or needle in p["sku"].lower()]
    if "category" in spec:
        members = catalog.descendants(spec["category"]) if spec.get("descendants") else {spec["category"]}
        rows = [p for p in rows if p["category_id"] in members]
    if "supplier" in spec:
        offered = {o["product_id"] for o in catalog.offers if o["supplier_id"] == spec["supplier"]}
        rows = [p for p in rows if p["id"] in offered]
    if "min" in spec:
        rows = [p for p in rows if p["unit_price"] >= Decimal(spec["min"])]
    if "max" in spec:
        rows = [p for p in rows if p["unit_price"] <= Decimal(spec["max"])]
    if "active" in spec:
        rows = [p for p in rows if p["is_active"] is spec["active"]]
    return [p["sku"] for p in rows]


FILTERS = [
    ({"search": "ITEM01"}, {"search": "ITEM01"}),
    ({"search": "sku-0"}, {"search": "sku-0"}),
    ({"categoryId": global_id("Category", 1)}, {"category": 1}),
    ({"categoryId": global_id("Category", 1), "includeDescendants": True}, {"category": 1, "descendants": True}),
    ({"categoryId": global_id("Category", 2), "includeDescendants": True}, {"category": 2, "descendants": True}),
    ({"supplierId": global_id("Supplier", 3)}, {"supplier": 3}),
    ({"minPrice": "10.00", "maxPrice": "20.50"}, {"min": "10.00", "max": "20.50"}),
    ({"maxPrice": "9.99"}, {"max": "9.99"}),
    ({"isActive": False}, {"active": False}),
    ({"isActive": True, "minPrice": "25", "categoryId": global_id("Category", 5), "includeDescendants": True},
     {"active": True, "min": "25", "category": 5, "descendants": True}),
]


@pytest.mark.parametrize(("graphql_filter", "spec"), FILTERS)
async def test_filters_match_rows_computed_from_the_inserted_data(gql, catalog, graphql_filter, spec):
    expected = _filtered(catalog, spec)
    assert expected, "each filter case must select something"
    assert await _walk(gql, FORWARD, {"filter": graphql_filter}) == expected
    total = await gql("query ($f: ProductFilter) { products(filter: $f) { totalCount } }", {"f": graphql_filter})
    assert total["products"]["totalCount"] == len(expected)


async def test_search_treats_wildcards_literally(gql, catalog):
    data = await gql('{ products(filter: {search: "%"}) { totalCount } }')
    assert data["products"]["totalCount"] == 0


async def test_page_boundaries(gql, catalog):
    expected = [p["sku"] for p in _by_name(catalog)]
    query = """query ($first: Int, $last: Int, $after: String, $before: String) {
      products(first: $first, last: $last, after: $after, before: $before) {
        edges { cursor node { sku } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    everything = (await gql(query, {"first": 100}))["products"]
    assert [e["node"]["sku"] for e in everything["edges"]] == expected[:100]
    assert everything["pageInfo"]["hasNextPage"] is True
    assert everything["pageInfo"]["hasPreviousPage"] is False
    cursors = [e["cursor"] for e in everything["edges"]]

    rest = (await gql(query, {"first": 100, "after": cursors[-1]}))["products"]
    assert [e["node"]["sku"] for e in rest["edges"]] == expected[100:]
    assert rest["pageInfo"] | {} == {
        "hasNextPage": False, "hasPreviousPage": True,
        "startCursor": rest["edges"][0]["cursor"], "endCursor": rest["edges"][-1]["cursor"],
    }
    # Exactly the remaining rows: no next page.
    exact = (await gql(query, {"first": 50, "after": cursors[99]}))["products"]
    assert len(exact["edges"]) == 50 and exact["pageInfo"]["hasNextPage"] is False

    between = (await gql(query, {"after": cursors[9], "before": cursors[20], "first": 100}))["products"]
    assert [e["node"]["sku"] for e in between["edges"]] == expected[10:20]
    tail = (await gql(query, {"last": 3, "before": cursors[10]}))["products"]
    assert [e["node"]["sku"] for e in tail["edges"]] == expected[7:10]
    assert tail["pageInfo"]["hasPreviousPage"] is True and tail["pageInfo"]["hasNextPage"] is True
    head = (await gql(query, {"last": 3, "before": cursors[2]}))["products"]
    assert [e["node"]["sku"] for e in head["edges"]] == expected[:2]
    assert head["pageInfo"]["hasPreviousPage"] is False
    last_rows = (await gql(query, {"last": 4}))["products"]
    assert [e["node"]["sku"] for e in last_rows["edges"]] == expected[-4:]
    empty = (await gql(query, {"first": 0}))["products"]
    assert empty["edges"] == [] and empty["pageInfo"]["startCursor"] is None


@pytest.mark.parametrize(
    ("arguments", "field"),
    [("first: 101", "first"), ("last: 101", "last"), ("first: -1", "first"), ("first: 1, last: 1", "first"),
     ('after: "not-a-cursor"', "after"), ('before: "WyJ4Il0="', "before")],
)
async def test_bad_page_arguments_are_refused_with_a_clear_error(gql, catalog, arguments, field):
    body = await gql.post(f"{{ products({arguments}) {{ totalCount }} }}")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    if "101" in arguments:
        assert "maximum page size of 100" in error["message"]


async def test_nested_page_size_is_capped_too(gql, catalog):
    body = await gql.post("{ categories { edges { node { products(first: 500) { totalCount } } } } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "maximum page size" in body["errors"][0]["message"]


async def test_node_and_nodes_resolve_every_node_type(gql, catalog):
    ids = [
        global_id("Product", 3), global_id("Category", 2), global_id("Supplier", 4),
        global_id("ProductSupplier", 5), global_id("Product", 9999), "garbage",
    ]
    query = """query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id
      ... on Product { sku } ... on Category { slug } ... on Supplier { name } ... on ProductSupplier { supplierSku } } }"""
    nodes = (await gql(query, {"ids": ids}))["nodes"]
    offer = catalog.offers[4]
    assert nodes == [
        {"__typename": "Product", "id": ids[0], "sku": catalog.products[3]["sku"]},
        {"__typename": "Category", "id": ids[1], "slug": "hand"},
        {"__typename": "Supplier", "id": ids[2], "name": "supplier04"},
        {"__typename": "ProductSupplier", "id": ids[3], "supplierSku": offer["supplier_sku"]},
        None,
        None,
    ]
    single = await gql('query ($id: ID!) { node(id: $id) { id ... on Category { name } } }', {"id": ids[1]})
    assert single["node"] == {"id": ids[1], "name": "hand"}


async def test_lookup_by_natural_keys(gql, catalog):
    sku = catalog.products[12]["sku"]
    data = await gql(
        'query ($sku: String!) { product(sku: $sku) { id } category(slug: "saws") { id name ancestors { name } } }',
        {"sku": sku.lower()},
    )
    assert data["product"]["id"] == global_id("Product", 12)
    assert data["category"] == {"id": global_id("Category", 3), "name": "saws", "ancestors": [{"name": "tools"}, {"name": "hand"}]}
    missing = await gql('{ product(sku: "NOPE") { id } category(slug: "nope") { id } supplier(id: "U3VwcGxpZXI6OTk5") { id } }')
    assert missing == {"product": None, "category": None, "supplier": None}
    body = await gql.post('{ product(id: "UHJvZHVjdDox", sku: "X") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_category_tree_fields(gql, catalog):
    data = await gql("""{ categories(filter: {rootsOnly: true}) { totalCount edges { node { name
        productCount all: productCount(includeDescendants: true)
        children { name children { name } } } } } }""")
    roots = data["categories"]
    assert roots["totalCount"] == 2
    by_name = {e["node"]["name"]: e["node"] for e in roots["edges"]}
    assert by_name["tools"]["children"] == [{"name": "hand", "children": [{"name": "saws"}]}, {"name": "power", "children": []}]
    for name, pk in (("tools", 1), ("office", 5)):
        members = catalog.descendants(pk)
        assert by_name[name]["productCount"] == sum(p["category_id"] == pk for p in catalog.products.values())
        assert by_name[name]["all"] == sum(p["category_id"] in members for p in catalog.products.values())
    children = await gql('query ($p: ID) { categories(filter: {parentId: $p}) { edges { node { name } } } }',
                         {"p": global_id("Category", 1)})
    assert [e["node"]["name"] for e in children["categories"]["edges"]] == ["hand", "power"]
    found = await gql('{ categories(filter: {search: "AW"}) { edges { node { name } } } }')
    assert [e["node"]["name"] for e in found["categories"]["edges"]] == ["saws"]


async def test_supplier_list_and_offers(gql, catalog):
    data = await gql("""{ suppliers(first: 100, filter: {isActive: true}) { totalCount edges { node { name isActive
        offers(first: 100) { totalCount edges { node { supplierSku product { sku } } } } } } } }""")
    active = sorted((s for s in catalog.suppliers.values() if s["is_active"]), key=lambda s: s["name"])
    assert data["suppliers"]["totalCount"] == len(active)
    for edge, supplier in zip(data["suppliers"]["edges"], active, strict=True):
        offers = sorted((o for o in catalog.offers if o["supplier_id"] == supplier["id"]), key=lambda o: o["id"])
        assert edge["node"]["name"] == supplier["name"]
        assert edge["node"]["offers"]["totalCount"] == len(offers)
        assert [e["node"]["supplierSku"] for e in edge["node"]["offers"]["edges"]] == [o["supplier_sku"] for o in offers]
    searched = await gql('{ suppliers(filter: {search: "LIER03"}) { edges { node { name } } } }')
    assert [e["node"]["name"] for e in searched["suppliers"]["edges"]] == ["supplier03"]


LOOK_AHEAD = """
query ($skipParent: Boolean!) {
  categories(first: 6) {
    edges { node {
      id
      byName: products(first: 2) { edges { node { ...Offers } } }
      bySku: products(first: 3, orderBy: { field: SKU, direction: DESC }) {
        totalCount
        nodes { sku category { name parent @skip(if: $skipParent) { name } } }
      }
    } }
  }
}
fragment Offers on Product { sku ... on Product { suppliers { supplier { name } } } }
"""


async def test_plans_follow_aliases_fragments_and_directives(gql, statements, catalog):
    """Two aliases of one connection with different arguments, a fragment with an inline fragment inside,
    and a skipped field: still one statement, and every value is right."""
    counts = {}
    for skip in (True, False):
        with statements.count(sign_in=False) as executed:
            data = await gql(LOOK_AHEAD, {"skipParent": skip})
        counts[skip] = len(executed)
        for edge in data["categories"]["edges"]:
            category_id = int(base64.b64decode(edge["node"]["id"]).decode().split(":")[1])
            members = [p for p in catalog.products.values() if p["category_id"] == category_id]
            by_name = sorted(members, key=lambda p: (p["name"], p["id"]))[:2]
            assert [e["node"]["sku"] for e in edge["node"]["byName"]["edges"]] == [p["sku"] for p in by_name]
            for product_edge, product in zip(edge["node"]["byName"]["edges"], by_name, strict=True):
                offers = [o for o in catalog.offers if o["product_id"] == product["id"]]
                assert sorted(s["supplier"]["name"] for s in product_edge["node"]["suppliers"]) == sorted(
                    catalog.suppliers[o["supplier_id"]]["name"] for o in offers
                )
            by_sku = sorted(members, key=lambda p: (p["sku"], p["id"]), reverse=True)[:3]
            assert edge["node"]["bySku"]["totalCount"] == len(members)
            category = catalog.categories[category_id]
            parent = catalog.categories.get(category["parent_id"])
            expected_category = {"name": category["name"]}
            if not skip:
                expected_category["parent"] = parent and {"name": parent["name"]}
            assert edge["node"]["bySku"]["nodes"] == [{"sku": p["sku"], "category": expected_category} for p in by_sku]
    # one plan per value of the @skip variable, one statement each; on SQLite, which nests fewer subqueries
    # in one statement (graph/plans/rows.py), the products' offers in a second, and their parents in a third
    assert counts == ({True: 1, False: 1} if statements.dialect == "postgresql" else {True: 2, False: 3}), counts


async def test_nodes_of_an_interface_are_read_in_one_statement(gql, statements, catalog):
    """`nodes` returns an interface: its plan reads each type asked for in a subquery of one statement."""
    ids = [global_id("Product", pk) for pk in list(catalog.products)[:20]]
    query = """query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Product { sku category { name }
      suppliers { supplier { name } } } } }"""
    with statements.count(sign_in=False) as executed:
        data = await gql(query, {"ids": ids})
    for node, pk in zip(data["nodes"], list(catalog.products)[:20], strict=True):
        product = catalog.products[pk]
        assert node["sku"] == product["sku"]
        category = catalog.categories.get(product["category_id"])
        assert node["category"] == (category and {"name": category["name"]})
        offers = [o for o in catalog.offers if o["product_id"] == pk]
        assert sorted(s["supplier"]["name"] for s in node["suppliers"]) == sorted(
            catalog.suppliers[o["supplier_id"]]["name"] for o in offers
        )
    assert len(executed) == 1, executed


async def test_one_alias_with_other_arguments_under_edges_and_nodes(gql, catalog):
    """`edges { node }` and `nodes` are separate selections: the same alias may take other arguments in each."""
    query = """{ categories(first: 6) {
      edges { node { id p: products(first: 1) { nodes { sku } } } }
      nodes { id p: products(first: 3) { nodes { sku } } } } }"""
    data = await gql(query)
    for size, items in ((1, [e["node"] for e in data["categories"]["edges"]]), (3, data["categories"]["nodes"])):
        for item in items:
            category_id = int(base64.b64decode(item["id"]).decode().split(":")[1])
            members = sorted(
                (p for p in catalog.products.values() if p["category_id"] == category_id),
                key=lambda p: (p["name"], p["id"]),
            )
            assert [n["sku"] for n in item["p"]["nodes"]] == [p["sku"] for p in members[:size]]
