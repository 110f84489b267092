"""Test helpers: a GraphQL-over-HTTP client, signed-in users and a SQL statement counter."""

import asyncio
import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, text

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
