"""Each operation run once in-process, through the ASGI app over httpx, counting the SQL statements it
sends (through the engine, seen by its events, and through the driver directly for planned reads, seen by
`Database.read_listeners`) and keeping its response (checked for errors; the execution floor's data)."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import event

from bench.database import BenchDatabase
from bench.workload import Operation
from db.engine import Database
from graph.app import create_app

_NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class Probe:
    statements: list[int]  # per request sent: the request's own statements
    sign_in_statements: list[int]  # per request sent: those about the bearer token (looking it up)
    responses: list[dict[str, Any]]


def response_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a response: GraphQL errors, or a mutation payload's errors; None when fine."""
    if body.get("errors"):
        return orjson.dumps(body["errors"]).decode()[:500]
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict) and payload.get("errors"):
            return orjson.dumps(payload["errors"]).decode()[:500]
    return None


async def probe(bench: BenchDatabase, operations: list[Operation], token: str) -> dict[str, Probe]:
    settings = bench.settings()
    database = Database(settings)
    app = create_app(settings, database=database)
    statements: list[str] = []

    def note(statement: str) -> None:
        if not statement.lstrip().upper().startswith(_NOT_COUNTED):
            statements.append(statement)

    def record(_conn, _cursor, statement, _params, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        note(statement)

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    results: dict[str, Probe] = {}
    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    database.read_listeners.append(note)  # the planned reads' statements (run_read): no engine events
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:

            async def send(operation: Operation, index: int) -> dict[str, Any]:
                request = operation.requests[index]
                body = request.body(operation.document, key=f"probe-{uuid.uuid4().hex}")
                response = await client.post("/graphql", content=body, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"{operation.name}: HTTP {response.status_code}: {response.text[:500]}")
                decoded: dict[str, Any] = response.json()
                problem = response_problem(decoded)
                if problem:
                    raise RuntimeError(f"{operation.name}: the response has errors: {problem}")
                return decoded

            # One request first, so that the token's last use is recorded before anything is counted.
            await send(operations[0], 0)
            for operation in operations:
                probe_ = results[operation.name] = Probe([], [], [])
                # A write sends each of its kinds once (Receive, Ship); a read the same request twice and
                # counts the second, as a warm server would run it.
                indexes = [0, 1] if operation.is_write else [0, 0]
                for position, index in enumerate(indexes):
                    statements.clear()
                    body = await send(operation, index)
                    if operation.is_write or position == 1:
                        own = [s for s in statements if "api_tokens" not in s]
                        probe_.statements.append(len(own))
                        probe_.sign_in_statements.append(len(statements) - len(own))
                        probe_.responses.append(body)
    finally:
        database.read_listeners.remove(note)
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
        await database.dispose()
    return results
