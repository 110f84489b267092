"""A database that is unavailable for a moment (SQLite's write lock held past the busy timeout, a PostgreSQL
backend terminated mid-request) gives DATABASE_UNAVAILABLE with HTTP 503 and `Retry-After`, on mutations
and on both read paths; a mutation retried with the same idempotency key afterwards takes effect once."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from db.config import Settings
from db.engine import Database, is_unavailable
from db.models import Role
from graph.app import create_app
from tests.api.stock_helpers import RECEIVE, count, level, make_product, make_warehouse
from tests.utils import serving, sign_in

READ = "{ products(first: 5) { nodes { sku } } }"


@asynccontextmanager
async def served(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An app of its own (its own engine and pool, with `changes` to the test settings) and a client of it.
    The reads run on their plan alone: compare mode's second engine would be one more to cut off."""
    app = create_app(settings.model_copy(update={"plan_compare": False, **changes}))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        yield client


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["data"] is None or all(value is None for value in body["data"].values()), body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["DATABASE_UNAVAILABLE"], body
    assert body["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]
    assert "idempotencyKey" in body["errors"][0]["message"]


@pytest.fixture
async def receipt(database: Database) -> dict[str, Any]:
    """A receiveStock request with an idempotency key, and the rows it names."""
    product, product_id = await make_product(database, "BOLT")
    warehouse, warehouse_id = await make_warehouse(database, "NORTH")
    input = {"productId": product_id, "warehouseId": warehouse_id, "quantity": 5, "idempotencyKey": "delivery-1"}
    return {"product": product, "warehouse": warehouse, "body": {"query": RECEIVE, "variables": {"input": input}}}


async def retried_once(
    client: httpx.AsyncClient, headers: dict[str, str], database: Database, receipt: dict[str, Any]
) -> None:
    """The same request, sent again twice once the database is back: it takes effect once."""
    first = await client.post("/graphql", json=receipt["body"], headers=headers)
    again = await client.post("/graphql", json=receipt["body"], headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    payloads = first.json()["data"]["receiveStock"], again.json()["data"]["receiveStock"]
    assert [p["errors"] for p in payloads] == [[], []]
    assert [p["replayed"] for p in payloads] == [False, True]
    assert await count(database, "inventory_transactions") == 1
    assert await level(database, receipt["product"], receipt["warehouse"]) == 5


async def test_a_mutation_while_another_connection_holds_sqlites_write_lock(
    settings: Settings, database: Database, receipt: dict[str, Any]
) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite's write lock")
    _user, token = await sign_in(database, Role.CLERK)
    headers = {"Authorization": f"Bearer {token}"}
    async with served(settings, sqlite_busy_timeout_ms=100) as client:
        holder = sqlite3.connect(make_url(settings.database_url).database, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            assert_unavailable(await client.post("/graphql", json=receipt["body"], headers=headers))
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        assert await count(database, "inventory_transactions") == 0
        assert await count(database, "idempotency_keys") == 0
        await retried_once(client, headers, database, receipt)


async def terminate_waiting_backends(holder: AsyncConnection, request: "asyncio.Task[httpx.Response]") -> int:
    """Terminate every backend that waits for the lock `holder` holds, until `request` is answered; how many."""
    terminated: set[int] = set()
    async with asyncio.timeout(30):
        while not request.done():
            # pg_stat_activity is read once per transaction unless its snapshot is cleared.
            await holder.execute(text("SELECT pg_stat_clear_snapshot()"))
            pids = (
                await holder.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                    )
                )
            ).scalars()
            for pid in set(pids) - terminated:
                await holder.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                terminated.add(pid)
            await asyncio.sleep(0.02)
    return len(terminated)


async def test_a_mutation_whose_postgresql_backend_is_terminated(
    settings: Settings, database: Database, receipt: dict[str, Any]
) -> None:
    if settings.is_sqlite:
        pytest.skip("PostgreSQL's backends")
    _user, token = await sign_in(database, Role.CLERK)
    headers = {"Authorization": f"Bearer {token}"}
    async with served(settings) as client:
        async with database.engine.connect() as holder:
            await holder.execute(text("LOCK TABLE stock_levels IN ACCESS EXCLUSIVE MODE"))
            request = asyncio.create_task(client.post("/graphql", json=receipt["body"], headers=headers))
            assert await terminate_waiting_backends(holder, request) == 1
            assert_unavailable(await request)
            await holder.rollback()
        assert await count(database, "inventory_transactions") == 0
        assert await count(database, "idempotency_keys") == 0
        await retried_once(client, headers, database, receipt)


@pytest.mark.parametrize("read_plans", [True, False], ids=["read plan", "reference path"])
async def test_a_read_whose_postgresql_connections_are_lost(
    settings: Settings, database: Database, read_plans: bool
) -> None:
    if settings.is_sqlite:
        pytest.skip("PostgreSQL's backends")
    await make_product(database, "BOLT")
    _user, token = await sign_in(database, Role.VIEWER)
    headers = {"Authorization": f"Bearer {token}"}
    async with served(settings, read_plans=read_plans) as client:
        assert (await client.post("/graphql", json={"query": READ}, headers=headers)).status_code == 200
        async with database.engine.connect() as holder:
            await holder.execute(text("LOCK TABLE products IN ACCESS EXCLUSIVE MODE"))
            request = asyncio.create_task(client.post("/graphql", json={"query": READ}, headers=headers))
            # A read plan runs once more on a fresh connection when its connection is lost: both are cut off.
            assert await terminate_waiting_backends(holder, request) == (2 if read_plans else 1)
            assert_unavailable(await request)
            await holder.rollback()
        back = await client.post("/graphql", json={"query": READ}, headers=headers)
        assert back.status_code == 200 and back.json() == {"data": {"products": {"nodes": [{"sku": "BOLT"}]}}}


async def test_only_failures_of_the_database_count_as_unavailable(database: Database) -> None:
    """Errors of the request itself (a constraint, bad SQL) are not the database being unavailable."""
    async with database.engine.connect() as conn:
        with pytest.raises(Exception) as refused:
            await conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_unavailable(refused.value)
    assert not is_unavailable(ValueError("not a database error"))
