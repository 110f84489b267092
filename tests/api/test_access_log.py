"""The access log (graph/access.py): one line per HTTP request on `inventory.access`, naming its method, path,
status, time, user, GraphQL operation and request id (the `X-Request-ID` the client got), on the read plans
and on strawberry's path alike; never the query text, the variables or a password. `inventory serve` writes
it instead of uvicorn's own access log."""

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from db.engine import Database
from db.models import Role
from tests.utils import INVENTORY, TEST_PASSWORD, command_env, free_port, sign_in

LINE = re.compile(
    r"(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>\d+\.\d)ms user=(?P<user>\S+) "
    r"operation=(?P<operation>\S+) request_id=(?P<request_id>\S+)"
)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_log() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger("inventory.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


Send = Callable[..., Awaitable[tuple[httpx.Response, dict[str, str]]]]


@pytest.fixture
def send(http: httpx.AsyncClient, access_log: _Lines) -> Send:
    """`await send(body, token=..., request_id=...)`: POST /graphql; the response and its access log line's
    fields (the only line naming the response's request id)."""

    async def post(
        body: dict[str, object], *, token: str | None = None, request_id: str | None = None, method: str = "POST"
    ) -> tuple[httpx.Response, dict[str, str]]:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        if request_id is not None:
            headers["X-Request-ID"] = request_id
        if method == "GET":
            response = await http.get("/graphql", params=body, headers=headers)
        else:
            response = await http.post("/graphql", json=body, headers=headers)
        return response, await _line_of(access_log, response)

    return post


async def _line_of(access_log: _Lines, response: httpx.Response) -> dict[str, str]:
    request_id = response.headers["X-Request-ID"]
    for _ in range(100):  # the line is written once the response is sent: the client may read it first
        matching = [line for line in access_log.lines if line.endswith(f"request_id={request_id}")]
        if matching:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # and no second line comes
    matching = [line for line in access_log.lines if line.endswith(f"request_id={request_id}")]
    assert len(matching) == 1, access_log.lines
    parsed = LINE.fullmatch(matching[0])
    assert parsed is not None, matching[0]
    return parsed.groupdict()


async def test_a_planned_read_names_its_user_operation_and_request_id(database: Database, send: Send) -> None:
    viewer, token = await sign_in(database, Role.VIEWER)
    query = "query StockPage($sku: String!) { product(sku: $sku) { name } }"
    response, line = await send(
        {"query": query, "variables": {"sku": "SECRET-SKU-42"}}, token=token, request_id="access-test-1"
    )
    assert response.status_code == 200 and response.json() == {"data": {"product": None}}
    assert response.headers["X-Request-ID"] == "access-test-1"
    assert line["method"] == "POST" and line["path"] == "/graphql" and line["status"] == "200"
    assert (line["user"], line["operation"], line["request_id"]) == (str(viewer.id), "StockPage", "access-test-1")


async def test_a_mutation_names_its_user_and_operation_and_never_the_password(
    database: Database, send: Send, access_log: _Lines
) -> None:
    manager, token = await sign_in(database, Role.MANAGER)
    response, line = await send(
        {"query": 'mutation AddGarden { createCategory(input: {name: "Garden"}) { errors { code } } }'}, token=token
    )
    assert response.json() == {"data": {"createCategory": {"errors": []}}}
    # A request id of the server's own when the client sent none: the one it answered with.
    assert (line["user"], line["operation"], line["request_id"]) == (
        str(manager.id), "AddGarden", response.headers["X-Request-ID"]
    )

    login = "mutation SignIn($username: String!, $password: String!) { login(username: $username, password: $password) { token } }"
    response, line = await send({"query": login, "variables": {"username": "manager", "password": TEST_PASSWORD}})
    issued = response.json()["data"]["login"]["token"]
    assert (line["user"], line["operation"]) == ("anonymous", "SignIn")
    logged = "\n".join(access_log.lines)
    for secret in (TEST_PASSWORD, "battery", issued, token, "login(", "$password", "\"Garden\""):
        assert secret not in logged


async def test_the_user_is_anonymous_without_a_valid_token(database: Database, send: Send) -> None:
    query = {"query": "query Ping { products(first: 1) { totalCount } }"}
    _response, line = await send(query)
    assert (line["user"], line["operation"]) == ("anonymous", "Ping")
    _response, line = await send(query, token="not-a-token")
    assert (line["user"], line["operation"]) == ("anonymous", "Ping")
    # A token that nothing needed looked up (`__typename` asks for no user) is not taken for anyone's.
    _user, token = await sign_in(database, Role.VIEWER)
    _response, line = await send({"query": "{ __typename }"}, token=token)
    assert (line["user"], line["operation"]) == ("unchecked", "-")


async def test_the_operation_is_the_documents_or_the_one_asked_for(database: Database, send: Send) -> None:
    user, token = await sign_in(database, Role.VIEWER)
    two = "query A { products(first: 1) { totalCount } } query B { categories(first: 1) { totalCount } }"
    _response, line = await send({"query": two, "operationName": "B"}, token=token)
    assert line["operation"] == "B"
    # Strawberry's path (a mutation) and the plans' (a read) take a lone operation's name from the document.
    twice = "mutation Out { first: logout { errors { code } } again: logout { errors { code } } }"
    response, line = await send({"query": twice}, token=token)
    body = response.json()
    # the second finds the token revoked
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("UNAUTHENTICATED", ["again"])]
    # The request was the user's, though it revoked the token it came with.
    assert (line["user"], line["operation"]) == (str(user.id), "Out")
    _response, line = await send({"query": "{ products(first: 1) { totalCount } }"})
    assert line["operation"] == "-"
    # What is no GraphQL name is not repeated.
    response, line = await send({"query": "query A { __typename }", "operationName": "A\nforged=1"})
    assert response.status_code == 400  # no operation has that name
    assert line["operation"] == "-"


async def test_a_get_request_logs_its_path_without_the_query_string(database: Database, send: Send) -> None:
    _user, token = await sign_in(database, Role.VIEWER)
    params = {
        "query": "query Find($sku: String!) { product(sku: $sku) { name } }",
        "variables": '{"sku": "SECRET-SKU-7"}',
        "operationName": "Find",
    }
    response, line = await send(params, token=token, method="GET")
    assert response.status_code == 200
    assert (line["method"], line["path"], line["operation"]) == ("GET", "/graphql", "Find")


async def test_every_request_gets_a_line(http: httpx.AsyncClient, access_log: _Lines) -> None:
    for path, status in (("/health/live", 200), ("/nowhere%0Aforged", 404)):
        response = await http.get(path, headers={"X-Request-ID": f"plain-{status}"})
        assert response.status_code == status
        line = await _line_of(access_log, response)
        assert (line["method"], line["status"], line["user"], line["operation"]) == ("GET", str(status), "anonymous", "-")
    # The path as sent, control characters still escaped: one request, one line.
    assert line["path"] == "/nowhere%0Aforged"
    assert all("\n" not in line for line in access_log.lines)


# --- `inventory serve` -------------------------------------------------------------------------------


@pytest.fixture
async def served(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """`await served(*options)`: runs `inventory serve` with the options on a fresh database, sends it one
    GraphQL request (request id `from-cli`) once it is ready, stops it and returns what it wrote to stdout."""
    processes: list[asyncio.subprocess.Process] = []

    async def serve(*options: str) -> str:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            INVENTORY, "serve", "--port", str(port), *options, env=command_env(fresh_database_url), cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        processes.append(process)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for _ in range(600):
                assert process.returncode is None, (await process.communicate())
                try:
                    await client.get("/health/live", headers={"X-Request-ID": "probe"})
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            response = await client.post(
                "/graphql", json={"query": "query Hello { __typename }"}, headers={"X-Request-ID": "from-cli"}
            )
            assert response.status_code == 200
        process.terminate()
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert "Traceback" not in err.decode(), err.decode()
        return out.decode()

    yield serve
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_inventory_serve_writes_one_line_per_request(served: Callable[..., Awaitable[str]]) -> None:
    out = await served()
    lines = [line for line in out.splitlines() if "request_id=from-cli" in line]
    assert len(lines) == 1, out
    assert re.search(r"POST /graphql 200 \d+\.\dms user=anonymous operation=Hello request_id=from-cli$", lines[0])
    assert "HTTP/1.1" not in out  # uvicorn's own access log is off

    out = await served("--no-access-log")
    assert "request_id=" not in out and "HTTP/1.1" not in out, out
