"""Read plans (graph/plans): what they send to the database, as PostgreSQL's own statement log shows it; how
SQLite's statements are split where they would nest too deep; plans compiled once per document; a read the
compiler does not plan left to the reference path, with its reason logged."""

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.workload import OPERATIONS, build, read_facts
from db import bulk_seed
from db.bulk_seed import BulkSpec
from db.config import Settings
from db.engine import Database
from db.models import Role
from graph.app import create_app
from graph.plans import roots
from tests.factories import build_catalog
from tests.utils import GraphQLClient, StatementCounter, sign_in

SPEC = BulkSpec(products=300, suppliers=20, categories=30, warehouses=3, transactions=3_000, seed=11)
READS = [name for name in OPERATIONS if name != "write_mix"]


@pytest.fixture
async def bench_data(database: Database) -> Any:
    async with database.write_session() as session, session.begin():
        await bulk_seed.seed_bulk(session, spec=SPEC)
    async with database.read_session() as session:
        return await read_facts(session)


async def _postgres_log(conn: Any) -> str:
    """The path of PostgreSQL's server log: the logging collector's file, or Debian's own log of a cluster."""
    current = (await conn.execute(text("SELECT pg_current_logfile()"))).scalar()
    if current:
        directory = (await conn.execute(text("SHOW data_directory"))).scalar()
        return current if current.startswith("/") else f"{directory}/{current}"
    version = (await conn.execute(text("SHOW server_version_num"))).scalar()
    cluster = (await conn.execute(text("SHOW cluster_name"))).scalar() or ""
    return f"/var/log/postgresql/postgresql-{int(version) // 10000}-{cluster.rpartition('/')[2] or 'main'}.log"


def _statements(log: str, database: str) -> list[str]:
    """The statements of `database`'s sessions in a stretch of the log (log_statement = all): one entry per
    `statement:` or `execute <name>:` line, with the lines that continue it."""
    statements: list[str] = []
    for line in log.splitlines():
        if f"@{database} LOG:  " in line and ("LOG:  statement: " in line or "LOG:  execute " in line):
            statements.append(line.split("LOG:  ", 1)[1].split(": ", 1)[1])
        elif line.startswith(("\t", " ")) and statements:
            statements[-1] += "\n" + line.strip()
    return statements


@pytest.fixture
async def logged_database(settings: Settings, database: Database) -> AsyncIterator[tuple[Database, Any]]:
    """A Database of its own whose connections PostgreSQL logs every statement of (log_statement = all is
    set for the test database, so it holds for connections opened from now on)."""
    if settings.is_sqlite:
        pytest.skip("PostgreSQL's statement log")
    name = database.engine.url.database
    admin = create_async_engine(database.engine.url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'ALTER DATABASE "{name}" SET log_statement = \'all\''))
    # No webhook deliverer: its polling would be logged among the reads' statements.
    logged = Database(settings.model_copy(update={"plan_compare": False, "webhooks_deliver": False}))
    try:
        yield logged, admin
    finally:
        await logged.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'ALTER DATABASE "{name}" RESET log_statement'))
        await admin.dispose()


async def test_postgresqls_log_shows_one_statement_for_the_token_and_one_per_root_field(
    logged_database: tuple[Database, Any], bench_data: Any
) -> None:
    """Each benchmark read, sent with a bearer token: in PostgreSQL's own log, one statement that looks the
    token up, one for the root field, and no BEGIN/ROLLBACK around them."""
    logged, admin = logged_database
    _user, token = await sign_in(logged, Role.CLERK, username="log-reader")
    app = create_app(logged.settings, database=logged)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    name = logged.engine.url.database
    async with admin.connect() as conn:
        path = await _postgres_log(conn)
        found = (await conn.execute(text("SELECT size FROM pg_stat_file(:p, true)"), {"p": path})).scalar()
    assert found is not None, f"PostgreSQL's log is not at {path}"
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        operations = build(bench_data, tuple(READS))
        for operation in operations:  # connections opened (and their setup statements made) beforehand
            await client.post("/graphql", content=operation.requests[0].body(operation.document), headers=headers)
        for operation in operations:
            async with admin.connect() as conn:
                start = (await conn.execute(text("SELECT size FROM pg_stat_file(:p)"), {"p": path})).scalar()
            response = await client.post(
                "/graphql", content=operation.requests[0].body(operation.document), headers=headers
            )
            assert response.status_code == 200 and "errors" not in response.json(), response.text
            async with admin.connect() as conn:
                end = (await conn.execute(text("SELECT size FROM pg_stat_file(:p)"), {"p": path})).scalar()
                log = (
                    await conn.execute(text("SELECT pg_read_file(:p, :o, :n)"), {"p": path, "o": start, "n": end - start})
                ).scalar()
            statements = _statements(log, name)
            tokens = [s for s in statements if "api_tokens" in s]
            others = [s for s in statements if "api_tokens" not in s]
            transactions = [s for s in statements if s.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK")]
            assert len(tokens) == 1, (operation.name, statements)
            assert len(others) == 1, (operation.name, statements)  # every benchmark read has one root field
            assert not transactions, (operation.name, statements)


async def test_a_document_at_the_depth_limit_is_answered_alike_on_both_databases(gql, statements, database) -> None:
    """Pages in pages in pages, and a chain of parents as deep as the depth limit allows: SQLite cannot nest
    that many subqueries in one statement, so its plan splits them off; PostgreSQL's takes one."""
    catalog = await build_catalog(database, products=40, suppliers=6)
    query = """{ categories(first: 5) { nodes { name products(first: 3) { nodes { sku
        suppliers { supplier { offers(first: 2) { nodes { product { category { products(first: 2) {
          nodes { sku category { parent { name } } } } } } } } } } } } } } }"""
    with statements.count(sign_in=False) as executed:
        data = await gql(query)
    assert len(data["categories"]["nodes"]) == 5
    # SQLite: each supplier, with its offers, is split off; then the products of the offers' categories
    assert len(executed) == (1 if statements.dialect == "postgresql" else 3), executed
    leaves = [
        leaf
        for category in data["categories"]["nodes"]
        for product in category["products"]["nodes"]
        for offer in product["suppliers"]
        for offer_node in offer["supplier"]["offers"]["nodes"]
        if offer_node["product"]["category"] is not None
        for leaf in offer_node["product"]["category"]["products"]["nodes"]
    ]
    assert leaves and {leaf["sku"] for leaf in leaves} <= {p["sku"] for p in catalog.products.values()}
    chain = "{ products(first: 2) { nodes { category { " + "parent { " * 11 + "name" + " }" * 11 + " } } } }"
    assert (await gql(chain))["products"]["nodes"]


async def test_a_plan_is_compiled_once_per_document_operation_and_role(gql_as, database, monkeypatch) -> None:
    await build_catalog(database, products=5)
    compiled: list[str] = []
    original = roots.root_field

    def counting(compiler: Any, field: Any, refused: Any) -> Any:
        compiled.append(field.name)
        return original(compiler, field, refused)

    monkeypatch.setattr("graph.plans.serve.root_field", counting)
    document = "query Few($first: Int!) { products(first: $first) { nodes { sku } } }"
    viewer, clerk = await gql_as(Role.VIEWER), await gql_as(Role.CLERK)
    for first in (1, 2, 3):
        await viewer(document, {"first": first})
    assert compiled == ["products"]
    await clerk(document, {"first": 2})  # another role: a plan of its own
    await viewer(document + " ", {"first": 2})  # another text
    assert compiled == ["products"] * 3


@pytest.mark.allows_fallback
async def test_a_read_without_a_plan_is_left_to_the_reference_path_with_its_reason_logged(
    gql: GraphQLClient, database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await build_catalog(database, products=3)
    monkeypatch.delitem(roots.QUERY, "suppliers")  # a root field the compiler does not know
    with caplog.at_level(logging.DEBUG, logger="inventory.plans"):
        data = await gql("{ suppliers(first: 2) { nodes { name } } warehouses { totalCount } }")
    assert [n["name"] for n in data["suppliers"]["nodes"]] == ["supplier01", "supplier02"]
    [record] = [r for r in caplog.records if r.name == "inventory.plans"]
    assert record.levelno == logging.DEBUG
    assert record.getMessage() == "read served by the reference path: no plan for Query.suppliers"


async def test_statement_counter_sees_plan_reads(database: Database, gql: GraphQLClient) -> None:
    """The counter the statement-count tests use sees the plans' driver-level statements (db/direct.py)."""
    counter = StatementCounter(database)
    with counter.count() as executed:
        await gql("{ warehouses { totalCount } }")
    assert any("warehouses" in statement for statement in executed)
    assert any("api_tokens" in statement for statement in executed)
