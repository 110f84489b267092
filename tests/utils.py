"""Test helpers: a GraphQL-over-HTTP client and a SQL statement counter."""

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


def global_id(type_name: str, pk: int) -> str:
    """The Relay global ID of a row, built independently of the API's own code."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


class GraphQLClient:
    """Posts GraphQL documents to /graphql the way a frontend does."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        return response.json()

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run `query` and return its data, failing the test on any GraphQL error."""
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


class StatementCounter:
    """Counts the SQL statements the application sends through an engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, _conn, _cursor, statement, _params, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            self.statements.append(statement)

    @contextmanager
    def count(self) -> Iterator[list[str]]:
        """Collect the statements executed inside the block into the yielded list."""
        self.statements = []
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._record)
        try:
            yield self.statements
        finally:
            event.remove(self.engine.sync_engine, "before_cursor_execute", self._record)
