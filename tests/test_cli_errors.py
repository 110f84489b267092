"""Every mistake in setting up the database, run through the installed `inventory` command: one line on
stderr naming the cause and the fix, exit code 1, no traceback, and no SQLite file left behind."""

import asyncio
import os
import socket
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from db import migrate
from db.config import Settings
from db.engine import Database
from tests.utils import free_port, run_command

Command = tuple[str, ...]


async def _run_all(
    database_url: str, commands: list[Command], cwd: Path | None = None, **variables: str
) -> list[tuple[Command, int, str, str]]:
    """Run the commands side by side; each one's (command, exit code, stdout, stderr)."""
    results = await asyncio.gather(
        *(run_command(database_url, *command, cwd=cwd, stdin="a long enough password\n", **variables)
          for command in commands)
    )
    return [(command, *result) for command, result in zip(commands, results, strict=True)]


def _assert_one_line(results: list[tuple[Command, int, str, str]], *named: str) -> None:
    for command, code, out, err in results:
        shown = f"`inventory {' '.join(command)}`:\nstdout: {out}\nstderr: {err}"
        assert code == 1, shown
        assert "Traceback" not in out + err, shown
        lines = err.strip().splitlines()
        assert len(lines) == 1, shown
        for words in named:
            assert words in lines[0], shown


# --- SQLite paths ---------------------------------------------------------------------------------


async def test_a_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'inventory.db'}"
    commands = [("db", "upgrade"), ("serve", "--port", str(free_port())), ("seed", "--demo")]
    results = await _run_all(url, commands, cwd=tmp_path)
    _assert_one_line(results, str(tmp_path / "missing"))
    assert list(tmp_path.iterdir()) == []


async def test_commands_that_only_read_create_no_sqlite_file(tmp_path: Path) -> None:
    url = "sqlite+aiosqlite:///./inventory.db"  # the default, relative to the working directory
    commands = [
        ("db", "current"),
        ("db", "downgrade", "base"),
        ("audit",),
        ("users", "list"),
        ("users", "set-password", "admin", "--password-stdin"),
        ("serve", "--no-migrate", "--port", str(free_port())),
    ]
    results = await _run_all(url, commands, cwd=tmp_path)
    _assert_one_line(results, str(tmp_path / "inventory.db"), "`inventory db upgrade`")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("postgres://postgres@127.0.0.1:5432/inventory", "postgresql+asyncpg://postgres@127.0.0.1:5432/inventory"),
        ("postgresql://postgres@127.0.0.1:5432/inventory", "postgresql+asyncpg://postgres@127.0.0.1:5432/inventory"),
        ("sqlite:///inventory.db", "sqlite+aiosqlite:///inventory.db"),
        ("mysql://root@127.0.0.1/inventory", "postgresql+asyncpg://"),
        ("inventory.db", "sqlite+aiosqlite:///"),
    ],
)
async def test_a_url_without_the_driver_the_api_uses(tmp_path: Path, url: str, fix: str) -> None:
    results = await _run_all(url, [("db", "upgrade")], cwd=tmp_path)
    _assert_one_line(results, "INVENTORY_DATABASE_URL", fix)
    assert "psycopg" not in str(results)
    assert list(tmp_path.iterdir()) == []


# --- PostgreSQL servers ---------------------------------------------------------------------------


def _postgres_server() -> URL:
    """The PostgreSQL server of the tests' database, else the local default one."""
    url = os.environ.get("INVENTORY_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        return make_url(url)
    return make_url("postgresql+asyncpg://postgres@127.0.0.1:5432/inventory_test")


def _server_answers(url: URL) -> bool:
    try:
        socket.create_connection((url.host or "localhost", url.port or 5432), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def postgres_server() -> URL:
    server = _postgres_server()
    if not _server_answers(server):
        if os.environ.get("INVENTORY_TEST_DATABASE_URL", "").startswith("postgresql"):
            raise AssertionError(f"no PostgreSQL server answers at {server.host}:{server.port}")
        pytest.skip(f"no PostgreSQL server answers at {server.host}:{server.port}")
    return server


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


async def test_a_postgresql_database_that_does_not_exist(postgres_server: URL) -> None:
    name = f"{postgres_server.database}_no_such_database"
    url = _render(postgres_server.set(database=name))
    results = await _run_all(url, [("db", "current"), ("db", "upgrade"), ("audit",)])
    _assert_one_line(results, f'no database "{name}"', "CREATE DATABASE")


async def test_a_postgresql_role_that_does_not_exist(postgres_server: URL) -> None:
    # The README's example URL names the role `inventory`, which a fresh server does not have.
    url = _render(postgres_server.set(username="inventory_no_such_role", password="inventory", database="inventory"))
    results = await _run_all(url, [("db", "current"), ("users", "list")])
    _assert_one_line(results, 'no role "inventory_no_such_role"', "CREATE ROLE")


async def test_a_port_where_nothing_listens() -> None:
    port = free_port()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/inventory"
    results = await _run_all(url, [("db", "current"), ("db", "upgrade"), ("serve", "--port", str(free_port()))])
    _assert_one_line(results, f"127.0.0.1:{port}", "connection refused")


async def test_a_host_that_does_not_exist() -> None:
    url = "postgresql+asyncpg://postgres@no-such-host.invalid:5432/inventory"
    results = await _run_all(url, [("db", "current"), ("audit",)])
    _assert_one_line(results, '"no-such-host.invalid"', "INVENTORY_DATABASE_URL")


# --- the database's tables ------------------------------------------------------------------------


async def _make_unmigrated(url: str) -> None:
    """A database that exists, with a table of someone else's but none of ours."""
    database = Database(Settings(database_url=url))
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE notes (id integer PRIMARY KEY)"))
    finally:
        await database.dispose()


async def test_an_unmigrated_database(fresh_database_url: str, tmp_path: Path) -> None:
    await _make_unmigrated(fresh_database_url)
    commands = [
        ("audit",),
        ("users", "list"),
        ("users", "create", "ann", "--role", "viewer", "--password-stdin"),
        ("seed", "--demo"),
        ("serve", "--no-migrate", "--port", str(free_port())),
    ]
    results = await _run_all(fresh_database_url, commands, cwd=tmp_path)
    _assert_one_line(results, "no inventory tables", "`inventory db upgrade`")


async def test_a_database_at_a_revision_this_version_does_not_know(fresh_database_url: str) -> None:
    code, out, err = await run_command(fresh_database_url, "db", "upgrade")
    assert code == 0, out + err
    database = Database(Settings(database_url=fresh_database_url))
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    finally:
        await database.dispose()

    results = await _run_all(
        fresh_database_url,
        [("db", "upgrade"), ("audit",), ("serve", "--port", str(free_port())), ("users", "list")],
    )
    _assert_one_line(results, "revision ffff9999", "does not know", f"inventory db downgrade {migrate.heads()[0]}")
    code, out, err = await run_command(fresh_database_url, "db", "current")
    assert (code, err) == (0, ""), out + err
    assert "ffff9999 (unknown to this version)" in out


async def test_serve_no_migrate_refuses_a_database_behind_the_head(fresh_database_url: str) -> None:
    code, out, err = await run_command(fresh_database_url, "db", "upgrade", "0003")
    assert code == 0, out + err
    results = await _run_all(fresh_database_url, [("serve", "--no-migrate", "--port", str(free_port()))])
    _assert_one_line(results, "revision 0003, behind", "`inventory db upgrade`")


# --- the rest -------------------------------------------------------------------------------------


async def test_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}"
        results = await _run_all(url, [("serve", "--port", str(port))])
    _assert_one_line(results, f"Port {port} on 127.0.0.1 is in use", "--port")
    assert list(tmp_path.iterdir()) == []  # refused before the database was touched


async def test_a_setting_that_does_not_parse(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}"
    results = await _run_all(url, [("db", "current")], INVENTORY_POOL_SIZE="twenty")
    _assert_one_line(results, "INVENTORY_POOL_SIZE", "'twenty'")


async def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}"
    for results in (
        await _run_all(url, [("--debug", "audit")]),
        await _run_all(url, [("audit",)], INVENTORY_DEBUG="1"),
    ):
        [(_command, code, out, err)] = results
        assert code == 1, out + err
        assert "Traceback" in err and "There is no SQLite database" in err, err
