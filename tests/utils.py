"""Test helpers: a GraphQL-over-HTTP client, signed-in users, a SQL statement counter, an app served over HTTP
and the `inventory` command run as a process."""

import asyncio
import base64
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from db import users
from db.engine import Database
from db.models import Role, User

TEST_PASSWORD = "correct horse battery staple"


def global_id(type_name: str, pk: int) -> str:
    """The Relay global ID of a row, built independently of the API's own code."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


class GraphQLClient:
    """Posts GraphQL documents to /graphql the way a frontend does (with its bearer token, if given one)."""

    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token
        self.headers = {} if token is None else {"Authorization": f"Bearer {token}"}

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run `query` and return its data, failing the test on any GraphQL error."""
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


async def sign_in(
    database: Database, role: Role | str, *, username: str | None = None, password: str = TEST_PASSWORD
) -> tuple[User, str]:
    """A user with `role` (named after it unless `username` is given; made if missing) and a new token of its."""
    role = Role(role)
    security = users.Security.from_settings(database.settings)
    async with database.write_session() as session, session.begin():
        user = await users.user_by_username(session, username=username or role.lower())
        if user is None:
            user = await users.create_user(
                session, security=security, username=username or role.lower(), password=password, role=role
            )
        issued = await users.issue_token(session, user_id=user.id, ttl=security.token_ttl)
    return user, issued.token


class StatementCounter:
    """Counts the SQL statements the application sends to the database: through the engine (sessions) and
    through the driver itself (the read plans, db/direct.py)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.engine = database.engine
        self.statements: list[str] = []
        self.sign_in = True

    @property
    def dialect(self) -> str:
        """The database's dialect name: "postgresql" or "sqlite"."""
        return self.engine.dialect.name

    def _record(self, _conn, _cursor, statement, _params, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        self._read(statement)

    def _read(self, statement: str) -> None:
        if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            return
        if not self.sign_in and "api_tokens" in statement:
            return
        self.statements.append(statement)

    @contextmanager
    def count(self, *, sign_in: bool = True) -> Iterator[list[str]]:
        """Collect the statements executed inside the block into the yielded list.

        With `sign_in=False`, the statements about bearer tokens are left out: the look-up of the request's
        user (one per signed-in request, see tests/api/test_auth.py) and the record of the token's last use
        (at most once a minute, so present or not depending on the clock). What remains is the request's own
        work, which statement-count tests compare exactly.
        """
        self.statements = []
        self.sign_in = sign_in
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._record)
        self.database.read_listeners.append(self._read)
        try:
            yield self.statements
        finally:
            event.remove(self.engine.sync_engine, "before_cursor_execute", self._record)
            self.database.read_listeners.remove(self._read)


async def scalar(database: Database, sql: str, **params: Any) -> Any:
    """One value read with plain SQL, outside the application."""
    async with database.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def wait_until_blocked(database: Database) -> None:
    """Give the server's transaction time to reach the point where it waits for the test's own open one."""
    if database.settings.is_sqlite:
        await asyncio.sleep(0.3)  # it waits for the write lock at BEGIN IMMEDIATE, which cannot be observed
        return
    for _ in range(500):
        waiting = await scalar(
            database,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the concurrent mutation never waited for the open transaction")


async def admin_execute(url: str, *statements: str) -> None:
    """Run statements on the maintenance database of the PostgreSQL server in `url`, outside transactions."""
    admin = create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """`app` served over real HTTP by uvicorn in this event loop; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# The `inventory` command this environment installed, run as a user runs it.
INVENTORY = str(Path(sys.executable).with_name("inventory"))
# Password hashes as cheap as the tests' settings make them.
CHEAP_HASHES = {
    "INVENTORY_PASSWORD_HASH_TIME_COST": "1",
    "INVENTORY_PASSWORD_HASH_MEMORY_KIB": "1024",
    "INVENTORY_PASSWORD_HASH_PARALLELISM": "1",
}


def command_env(database_url: str, **variables: str) -> dict[str, str]:
    """The environment for an `inventory` process: this one's without INVENTORY_* settings, then the database
    URL, cheap password hashes and `variables`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("INVENTORY_")}
    return {**env, "INVENTORY_DATABASE_URL": database_url, **CHEAP_HASHES, **variables}


async def run_command(
    database_url: str, *args: str, stdin: str = "", cwd: Path | None = None, **variables: str
) -> tuple[int, str, str]:
    """Run `inventory ARGS` (without blocking the event loop the test server runs in); its exit code,
    standard output and standard error."""
    process = await asyncio.create_subprocess_exec(
        INVENTORY, *args, env=command_env(database_url, **variables), cwd=cwd,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@dataclass
class Refs:
    """Primary keys of the rows a test starts from, by name; `id(name)` gives the global ID."""

    pks: dict[str, int]
    types: dict[str, str]

    def id(self, name: str) -> str:
        return global_id(self.types[name], self.pks[name])
