"""importProducts and importStock over HTTP: managers and administrators only; dry runs; both error policies with
every row's errors at `rows.N.field`; rows as input objects checked as CSV text is; opening stock as RECEIPT
entries that a re-run does not repeat; the change log's entries for imported products; the size limits."""

from typing import Any

import httpx
import pytest

from db.config import Settings
from db.engine import Database
from db.models import Role
from graph.app import create_app
from graph.mutations.imports import MAX_CSV_CHARS
from tests.utils import GraphQLClient, serving, sign_in

PAYLOAD = "rows inserted updated unchanged written errors { row field code message }"
IMPORT_PRODUCTS = f"""
mutation($csv: String, $rows: [ProductImportRow!], $dryRun: Boolean, $errorPolicy: ImportErrorPolicy,
         $mode: ImportMode) {{
  importProducts(csv: $csv, rows: $rows, dryRun: $dryRun, errorPolicy: $errorPolicy, mode: $mode) {{ {PAYLOAD} }}
}}"""
IMPORT_STOCK = f"""
mutation($csv: String, $rows: [StockImportRow!], $dryRun: Boolean, $errorPolicy: ImportErrorPolicy,
         $warehouse: String) {{
  importStock(csv: $csv, rows: $rows, dryRun: $dryRun, errorPolicy: $errorPolicy, warehouse: $warehouse) {{
    {PAYLOAD} }}
}}"""
PRODUCTS = (
    "{ products(first: 100) { nodes { sku name unitPrice description reorderPoint isActive category { name } } } }"
)
LEDGER = (
    "{ transactions(first: 100) { totalCount nodes { kind quantity unitCost product { sku } warehouse { code } "
    "createdBy { username } } } }"
)

HEADER = "sku,name,unit_price,category,reorder_point\n"
GOOD = "HAM-1,Hammer,24.90,Tools,10\nSAW-1,Saw,19.00,,\n"
# Row 2: a negative price; row 3: three decimals and an unknown category; row 5: row 1's SKU again.
BAD = (
    HEADER
    + "HAM-1,Hammer,24.90,Tools,10\n"
    + "NEG-1,Negative,-1.00,,\n"
    + "DEC-1,Decimals,1.999,Nowhere,\n"
    + "SAW-1,Saw,19.00,,\n"
    + "ham-1,Hammer again,5.00,,\n"
)
BAD_ERRORS = [
    (2, "rows.2.unitPrice", "INVALID"),
    (3, "rows.3.unitPrice", "INVALID"),
    (3, "rows.3.category", "NOT_FOUND"),
    (5, "rows.5.sku", "DUPLICATE"),
]
# The same rows as input objects.
BAD_ROWS = [
    {"sku": "HAM-1", "name": "Hammer", "unitPrice": "24.90", "category": "Tools", "reorderPoint": 10},
    {"sku": "NEG-1", "name": "Negative", "unitPrice": "-1.00"},
    {"sku": "DEC-1", "name": "Decimals", "unitPrice": "1.999", "category": "Nowhere"},
    {"sku": "SAW-1", "name": "Saw", "unitPrice": "19.00"},
    {"sku": "ham-1", "name": "Hammer again", "unitPrice": "5.00"},
]


async def _import(client: GraphQLClient, mutation: str, **variables: Any) -> dict[str, Any]:
    (payload,) = (await client(mutation, variables)).values()
    return payload


def _where(payload: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["row"], e["field"], e["code"]) for e in payload["errors"]]


async def _skus(client: GraphQLClient) -> list[str]:
    return sorted(p["sku"] for p in (await client(PRODUCTS))["products"]["nodes"])


@pytest.fixture
async def manager(gql: GraphQLClient, gql_as: Any) -> GraphQLClient:
    """A manager's client, with the category Tools and the warehouses MAIN and WEST made by the administrator."""
    await gql('mutation { createCategory(input: {name: "Tools"}) { errors { code } } }')
    for code in ("MAIN", "WEST"):
        await gql(f'mutation {{ createWarehouse(input: {{code: "{code}", name: "{code}"}}) {{ errors {{ code }} }} }}')
    return await gql_as(Role.MANAGER)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CLERK])
async def test_viewers_and_clerks_may_not_import(gql_as: Any, role: Role) -> None:
    client = await gql_as(role)
    for field, mutation, csv in (
        ("importProducts", IMPORT_PRODUCTS, HEADER + GOOD),
        ("importStock", IMPORT_STOCK, "sku,warehouse,quantity,unit_cost\nHAM-1,MAIN,1,1.00\n"),
    ):
        body = await client.post(mutation, {"csv": csv})
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("FORBIDDEN", [field])]
    assert await _skus(client) == []


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
async def test_managers_and_administrators_import(gql: GraphQLClient, gql_as: Any, role: Role) -> None:
    await gql('mutation { createCategory(input: {name: "Tools"}) { errors { code } } }')
    await gql('mutation { createWarehouse(input: {code: "MAIN", name: "Main"}) { errors { code } } }')
    client = await gql_as(role)

    products = await _import(client, IMPORT_PRODUCTS, csv=HEADER + GOOD)
    stock = await _import(client, IMPORT_STOCK, csv="sku,warehouse,quantity,unit_cost\nHAM-1,MAIN,3,12.40\n")

    assert products == {"rows": 2, "inserted": 2, "updated": 0, "unchanged": 0, "written": True, "errors": []}
    assert stock == {"rows": 1, "inserted": 1, "updated": 0, "unchanged": 0, "written": True, "errors": []}
    assert await _skus(client) == ["HAM-1", "SAW-1"]


async def test_a_dry_run_reports_every_error_and_writes_nothing(manager: GraphQLClient) -> None:
    for policy in ("REJECT_EVERYTHING", "REJECT_FAILED_ROWS"):
        payload = await _import(manager, IMPORT_PRODUCTS, csv=BAD, dryRun=True, errorPolicy=policy)
        assert (payload["rows"], payload["written"]) == (5, False)
        assert _where(payload) == BAD_ERRORS
    good = await _import(manager, IMPORT_PRODUCTS, csv=HEADER + GOOD, dryRun=True)
    assert (good["written"], good["errors"]) == (False, [])
    assert await _skus(manager) == []
    assert (await manager(LEDGER))["transactions"]["totalCount"] == 0


async def test_reject_everything_writes_nothing_when_a_row_fails(manager: GraphQLClient) -> None:
    payload = await _import(manager, IMPORT_PRODUCTS, csv=BAD)

    assert (payload["written"], payload["inserted"]) == (False, 0)
    assert _where(payload) == BAD_ERRORS
    messages = {e["field"]: e["message"] for e in payload["errors"]}
    assert messages["rows.2.unitPrice"] == "`unit_price` must not be negative."
    assert messages["rows.3.category"] == "There is no category with the path or slug “Nowhere”."
    # Rows are numbered as `row` numbers them, in the messages too.
    assert messages["rows.5.sku"] == "SKU HAM-1 appears in row 1 too."
    assert await _skus(manager) == []


async def test_reject_failed_rows_writes_the_good_ones(manager: GraphQLClient) -> None:
    payload = await _import(manager, IMPORT_PRODUCTS, csv=BAD, errorPolicy="REJECT_FAILED_ROWS")

    assert (payload["rows"], payload["inserted"], payload["written"]) == (5, 2, True)
    assert _where(payload) == BAD_ERRORS
    products = {p["sku"]: p for p in (await manager(PRODUCTS))["products"]["nodes"]}
    assert products.keys() == {"HAM-1", "SAW-1"}
    assert products["HAM-1"] | {"category": products["HAM-1"]["category"]["name"]} == {
        "sku": "HAM-1", "name": "Hammer", "unitPrice": "24.90", "description": None, "reorderPoint": 10,
        "isActive": True, "category": "Tools",
    }


async def test_rows_as_input_objects_are_checked_and_written_as_csv_text_is(manager: GraphQLClient) -> None:
    from_csv = await _import(manager, IMPORT_PRODUCTS, csv=BAD, dryRun=True)
    from_rows = await _import(manager, IMPORT_PRODUCTS, rows=BAD_ROWS, dryRun=True)
    assert _where(from_rows) == _where(from_csv) == BAD_ERRORS
    # Messages name the input objects' fields.
    assert from_rows["errors"][0]["message"] == "`unitPrice` must not be negative."

    written = await _import(manager, IMPORT_PRODUCTS, rows=BAD_ROWS, errorPolicy="REJECT_FAILED_ROWS")
    assert (written["inserted"], written["written"]) == (2, True)
    # The CSV text of the same rows finds them as they are: nothing to update.
    again = await _import(manager, IMPORT_PRODUCTS, csv=HEADER + GOOD, mode="UPSERT")
    assert (again["inserted"], again["updated"], again["unchanged"], again["errors"]) == (0, 0, 2, [])
    # Without UPSERT, existing SKUs are refused.
    refused = await _import(manager, IMPORT_PRODUCTS, rows=BAD_ROWS[:1])
    assert _where(refused) == [(1, "rows.1.sku", "DUPLICATE")]
    assert "`mode: UPSERT` updates it" in refused["errors"][0]["message"]


async def test_upsert_updates_and_the_change_log_records_each_product(manager: GraphQLClient) -> None:
    await _import(manager, IMPORT_PRODUCTS, csv=HEADER + GOOD)
    # As createProduct: the importer is the creator and the last to have changed each product.
    actors = "{ products(first: 5) { nodes { sku createdBy { username } updatedBy { username } } } }"
    assert [(p["sku"], p["createdBy"], p["updatedBy"]) for p in (await manager(actors))["products"]["nodes"]] == [
        ("HAM-1", {"username": "manager"}, {"username": "manager"}),
        ("SAW-1", {"username": "manager"}, {"username": "manager"}),
    ]
    updated = await _import(
        manager, IMPORT_PRODUCTS, mode="UPSERT",
        rows=[{"sku": "HAM-1", "name": "Hammer", "unitPrice": "26.50", "category": "Tools", "reorderPoint": 10},
              {"sku": "SAW-1", "name": "Saw", "unitPrice": "19.00", "category": None, "reorderPoint": None}],
    )
    assert (updated["updated"], updated["unchanged"], updated["written"]) == (1, 1, True)

    changes = (await manager(
        "{ changes(first: 10) { nodes { operation entityType actor { username } fields { field old new } } } }"
    ))["changes"]["nodes"]
    logged = [
        (c["operation"], c["entityType"], c["actor"]["username"],
         {f["field"]: (f["old"], f["new"]) for f in c["fields"]})
        for c in changes if c["entityType"] == "Product"
    ]
    [category_id] = {new for *_, fields in logged for name, (_, new) in fields.items() if name == "categoryId"}
    assert logged == [
        ("importProducts", "Product", "manager", {"unitPrice": ("24.90", "26.50")}),
        ("importProducts", "Product", "manager", {
            "sku": (None, "SAW-1"), "name": (None, "Saw"), "unitPrice": (None, "19.00"), "reorderPoint": (None, 0),
            "reorderQuantity": (None, 0), "isActive": (None, True),
        }),
        ("importProducts", "Product", "manager", {
            "sku": (None, "HAM-1"), "name": (None, "Hammer"), "unitPrice": (None, "24.90"),
            "categoryId": (None, category_id), "reorderPoint": (None, 10), "reorderQuantity": (None, 0),
            "isActive": (None, True),
        }),
    ]
    # A refused or dry-run import logs nothing.
    await _import(manager, IMPORT_PRODUCTS, csv=HEADER + "NEW-1,New,1.00,,\n", dryRun=True)
    await _import(manager, IMPORT_PRODUCTS, csv=BAD)
    assert len((await manager("{ changes(first: 10) { nodes { id } } }"))["changes"]["nodes"]) == len(changes)


async def test_import_stock_receives_each_row_once(manager: GraphQLClient) -> None:
    await _import(manager, IMPORT_PRODUCTS, csv=HEADER + GOOD)
    csv = "sku,warehouse,quantity,unit_cost\nHAM-1,MAIN,40,12.40\nSAW-1,,12,7.00\n"
    changes = "{ changes { totalCount } }"
    logged = (await manager(changes))["changes"]["totalCount"]

    first = await _import(manager, IMPORT_STOCK, csv=csv, warehouse="WEST")
    assert (first["inserted"], first["unchanged"], first["written"], first["errors"]) == (2, 0, True, [])
    ledger = (await manager(LEDGER))["transactions"]
    assert sorted(
        (t["kind"], t["product"]["sku"], t["warehouse"]["code"], t["quantity"], t["unitCost"],
         t["createdBy"]["username"])
        for t in ledger["nodes"]
    ) == [("RECEIPT", "HAM-1", "MAIN", 40, "12.40", "manager"), ("RECEIPT", "SAW-1", "WEST", 12, "7.00", "manager")]

    # Sent again, as CSV text or as the same rows as input objects, it receives nothing.
    again = await _import(manager, IMPORT_STOCK, csv=csv, warehouse="WEST")
    as_rows = await _import(
        manager, IMPORT_STOCK, warehouse="WEST",
        rows=[{"sku": "HAM-1", "warehouse": "MAIN", "quantity": 40, "unitCost": "12.40"},
              {"sku": "SAW-1", "warehouse": None, "quantity": 12, "unitCost": "7.00"}],
    )
    for payload in (again, as_rows):
        assert (payload["inserted"], payload["unchanged"], payload["errors"]) == (0, 2, [])
    assert (await manager(LEDGER))["transactions"]["totalCount"] == 2
    # Stock movements are the ledger's, not the change log's.
    assert (await manager(changes))["changes"]["totalCount"] == logged


async def test_import_stock_reports_every_bad_row(manager: GraphQLClient) -> None:
    await _import(manager, IMPORT_PRODUCTS, csv=HEADER + GOOD)
    csv = "sku,warehouse,quantity,unit_cost\nHAM-1,MAIN,0,1.00\nNOPE,MAIN,1,1.00\nSAW-1,EAST,1,1.005\nSAW-1,,2,1.00\n"

    payload = await _import(manager, IMPORT_STOCK, csv=csv)

    assert _where(payload) == [
        (1, "rows.1.quantity", "INVALID"),
        (2, "rows.2.sku", "NOT_FOUND"),
        (3, "rows.3.warehouse", "NOT_FOUND"),
        (4, "rows.4.warehouse", "INVALID"),
    ]
    assert payload["errors"][3]["message"] == "`warehouse` is required (or the `warehouse` argument)."
    assert payload["written"] is False
    assert (await manager(LEDGER))["transactions"]["totalCount"] == 0


async def test_requests_refused_as_a_whole(manager: GraphQLClient) -> None:
    both = await _import(manager, IMPORT_PRODUCTS, csv=HEADER + GOOD, rows=BAD_ROWS)
    neither = await _import(manager, IMPORT_PRODUCTS)
    missing_column = await _import(manager, IMPORT_PRODUCTS, csv="sku,name\nHAM-1,Hammer\n")
    too_many = await _import(
        manager, IMPORT_PRODUCTS, csv=HEADER + "".join(f"S{n},n,1,,\n" for n in range(10_001)), dryRun=True
    )
    assert _where(both) == [(None, "csv", "INVALID")]
    assert _where(neither) == [(None, None, "INVALID")]
    assert neither["errors"][0]["message"] == "Give exactly one of `csv` and `rows` (neither given)."
    assert _where(missing_column) == [(None, "csv", "INVALID")]
    assert "unit_price" in missing_column["errors"][0]["message"]
    assert _where(too_many) == [(None, "csv", "INVALID")]
    assert too_many["errors"][0]["message"].startswith("10,001 rows: an import takes at most 10,000")
    assert all(p["written"] is False for p in (both, neither, missing_column, too_many))
    assert await _skus(manager) == []


async def test_csv_text_over_the_character_limit_is_refused_whatever_the_body_limit(
    settings: Settings, database: Database
) -> None:
    roomy = create_app(settings.model_copy(update={"max_body_bytes": 2 * MAX_CSV_CHARS}), database=database)
    _user, token = await sign_in(database, Role.MANAGER)
    # 4,995 products with descriptions of about 1,000 characters, the last one's padded to reach the limit.
    header, rows = "sku,name,unit_price,description\n", [f"S{n:04},Part,1.00,{'d' * 983}\n" for n in range(4_995)]
    text = header + "".join(rows)
    csv = text[:-1] + "d" * (MAX_CSV_CHARS - len(text)) + "\n"
    assert len(csv) == MAX_CSV_CHARS
    async with serving(roomy) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        client = GraphQLClient(http, token)
        refused = await _import(client, IMPORT_PRODUCTS, csv=csv + "\n")
        assert _where(refused) == [(None, "csv", "INVALID")]
        assert refused["errors"][0]["message"].startswith(f"The CSV text has {MAX_CSV_CHARS + 1:,} characters")
        # At the limit, it is read.
        read = await _import(client, IMPORT_PRODUCTS, csv=csv, dryRun=True)
        assert (read["rows"], read["errors"], read["written"]) == (4_995, [], False)
        assert await _skus(client) == []


async def test_an_upsert_keeps_the_fields_no_row_gives(manager: GraphQLClient) -> None:
    csv = "sku,name,unit_price,description,category\nHAM-1,Hammer,24.90,Steel,Tools\n"
    await _import(manager, IMPORT_PRODUCTS, csv=csv)

    async def product() -> tuple[Any, ...]:
        [found] = (await manager(PRODUCTS))["products"]["nodes"]
        return found["name"], found["unitPrice"], found["description"], found["category"]["name"]

    row = {"sku": "HAM-1", "name": "Claw hammer", "unitPrice": "25.00"}
    updated = await _import(manager, IMPORT_PRODUCTS, mode="UPSERT", rows=[row])
    assert updated["updated"] == 1
    assert await product() == ("Claw hammer", "25.00", "Steel", "Tools")
    # A field that a row gives as null is cleared, as an empty cell is.
    cleared = await _import(manager, IMPORT_PRODUCTS, mode="UPSERT", rows=[row | {"description": None}])
    assert cleared["updated"] == 1
    assert await product() == ("Claw hammer", "25.00", None, "Tools")
