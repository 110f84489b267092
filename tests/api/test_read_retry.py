"""Reads run again on a fresh connection when theirs turns out dead (db/engine.py `Database.run_read`): with
PostgreSQL terminating the API's backends every second under a load of 16 concurrent readers for 20
seconds, no read fails."""

import asyncio
import socket
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from db.config import Settings
from db.engine import Database
from db.models import Role
from graph.app import create_app
from tests.factories import build_catalog
from tests.utils import global_id, sign_in

READERS = 16
SECONDS = 20.0
READS = [
    ("{ products(first: 20) { totalCount edges { cursor node { sku category { name parent { name } }"
     " suppliers { unitCost supplier { name } } } } } }", {}),
    ("query ($id: ID!) { product(id: $id) { sku quantityOnHand stock { quantityOnHand warehouse { code } } } }",
     {"id": global_id("Product", 1)}),
    ("{ categories(first: 10) { nodes { name productCount(includeDescendants: true) children { name } } } }", {}),
    ("{ suppliers(first: 5) { nodes { name offers(first: 3) { totalCount nodes { product { sku } } } } } }", {}),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_reads_survive_terminated_backends(settings: Settings, database: Database) -> None:
    if settings.is_sqlite:
        pytest.skip("backends to terminate: PostgreSQL's")
    await build_catalog(database, products=60)
    served = Database(settings.model_copy(update={"plan_compare": False}))
    _user, token = await sign_in(served, Role.VIEWER, username="retry-reader")
    app = create_app(served.settings, database=served)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    async with database.engine.connect() as conn:
        since = (await conn.execute(text("SELECT now()"))).scalar()
    failures: list[str] = []
    done = terminated = 0
    stop = time.monotonic() + SECONDS
    headers = {"Authorization": f"Bearer {token}"}

    async def reader(client: httpx.AsyncClient, number: int) -> None:
        nonlocal done
        while time.monotonic() < stop:
            query, variables = READS[(number + done) % len(READS)]
            response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
            if response.status_code != 200 or "errors" in response.json():
                failures.append(response.text)
            done += 1

    async def terminator() -> None:
        # The backends of the served app's connections: opened since the test began, on this database.
        nonlocal terminated
        async with database.engine.connect() as conn:
            while time.monotonic() < stop:
                await asyncio.sleep(1.0)
                result = await conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_start >= :since"
                    ),
                    {"since": since},
                )
                terminated += result.scalar() or 0
                await conn.commit()

    try:
        limits = httpx.Limits(max_connections=READERS)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as client:
            await asyncio.gather(terminator(), *(reader(client, n) for n in range(READERS)))
    finally:
        server.should_exit = True
        await task
        await served.dispose()
    assert not failures, failures[:3]
    assert terminated >= SECONDS / 2, terminated  # backends were terminated all along
    assert done >= 10 * SECONDS, done  # and reads kept being answered
