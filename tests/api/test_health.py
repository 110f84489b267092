"""Health checks over HTTP: /health/live answers without the database; /health/ready answers 200 only while
the database answers and is at the newest migration, else 503 with the kind of problem (its cause and fix in
the log only)."""

import httpx
import pytest
from sqlalchemy.engine import make_url

from db import migrate
from db.config import Settings
from db.engine import Database
from graph.app import create_app
from tests.utils import StatementCounter, admin_execute, serving


async def test_live_answers_without_the_database(http: httpx.AsyncClient, statements: StatementCounter) -> None:
    with statements.count() as executed:
        responses = [await http.get("/health/live"), await http.get("/health")]
    for response in responses:
        assert (response.status_code, response.text) == (200, "ok")
    assert executed == []


async def test_ready_answers_200_on_a_database_at_the_head(http: httpx.AsyncClient) -> None:
    response = await http.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def _app_settings(url: str) -> Settings:
    return Settings(database_url=url, read_plans=False)


async def test_ready_answers_503_until_the_database_is_migrated(
    fresh_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(_app_settings(fresh_database_url))
    try:
        async with serving(create_app(database.settings, database=database)) as url:
            async with httpx.AsyncClient(base_url=url) as http:
                empty = await http.get("/health/ready")
                await migrate.upgrade(database.engine, "0003")
                behind = await http.get("/health/ready")
                await migrate.upgrade(database.engine)
                ready = await http.get("/health/ready")
                live = await http.get("/health/live")
    finally:
        await database.dispose()

    assert (empty.status_code, empty.json()["status"]) == (503, "unavailable")
    assert empty.json()["reason"] == "database not migrated"
    assert (behind.status_code, behind.json()["reason"]) == (503, "database not migrated")
    logged = [r.getMessage() for r in caplog.records if r.name == "inventory.health"]
    assert any("no inventory tables" in line and "inventory db upgrade" in line for line in logged), logged
    assert any("revision 0003, behind" in line for line in logged), logged
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert live.status_code == 200


async def test_ready_answers_503_while_postgresql_refuses_connections(
    fresh_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    if fresh_database_url.startswith("sqlite"):
        pytest.skip("stops connections to a PostgreSQL database")
    name = make_url(fresh_database_url).database
    database = Database(_app_settings(fresh_database_url))
    await migrate.upgrade(database.engine)
    try:
        async with serving(create_app(database.settings, database=database)) as url:
            async with httpx.AsyncClient(base_url=url) as http:
                before = await http.get("/health/ready")  # leaves a connection in the app's pool
                await admin_execute(
                    fresh_database_url,
                    f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false',
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
                )
                try:
                    # The first finds its pooled connection closed, the second cannot open a new one.
                    down = [await http.get("/health/ready"), await http.get("/health/ready")]
                    live = await http.get("/health/live")
                finally:
                    await admin_execute(fresh_database_url, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
                after = await http.get("/health/ready")
    finally:
        await database.dispose()

    assert before.status_code == 200
    for response in down:
        assert response.status_code == 503, response.text
        assert response.json()["status"] == "unavailable"
        assert response.json()["reason"] == "database unreachable", response.text
        assert name not in response.text and "127.0.0.1" not in response.text, response.text
    logged = [r.getMessage() for r in caplog.records if r.name == "inventory.health"]
    assert any("closed the connection" in line for line in logged), logged
    assert any("does not accept connections" in line and name in line for line in logged), logged
    assert live.status_code == 200
    assert (after.status_code, after.json()) == (200, {"status": "ready"})
