"""The HTTP layer: GraphQL over HTTP media types and status codes, request ids, masked errors and
CORS."""

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import orjson
import pytest
from graphql import GraphQLError
from sqlalchemy import event
from sqlalchemy.engine import Engine

from db.config import Settings
from db.engine import Database
from db.models import Role
from graph.app import create_app
from graph.errors import translate_errors
from graph.http import RequestIdMiddleware, current_request_id, response_media_type
from tests.factories import build_catalog
from tests.utils import GraphQLClient, serving

GRAPHQL_RESPONSE = "application/graphql-response+json"
BOTH = f"{GRAPHQL_RESPONSE}, application/json;q=0.9"
ORIGIN = "https://shop.example"


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/*", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (BOTH, GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        (f"{GRAPHQL_RESPONSE};q=0, application/json", "application/json"),
        ("text/html", "application/json"),
        ("garbage;;q=x, ,", "application/json"),
    ],
)
def test_the_response_media_type_follows_accept(accept: str | None, expected: str) -> None:
    assert response_media_type(accept) == expected


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
async def test_application_json_answers_everything_with_200(http: httpx.AsyncClient, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    for query in ("{ __typename }", "{ __typename", "{ nope }"):
        response = await http.post("/graphql", json={"query": query}, headers=headers)
        assert (response.status_code, media_type(response)) == (200, "application/json")
    body = response.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ __typename", None, "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query ($id: ID!) { node(id: $id) { id } }", {"id": {"not": "an id"}}, "BAD_USER_INPUT"),
        ("{ products(first: 1000) { totalCount } }", None, "BAD_USER_INPUT"),
        ("{ " + "x " * 3000 + "}", None, "DOCUMENT_TOO_LARGE"),
    ],
)
async def test_graphql_response_json_gives_request_errors_400_and_no_data(
    http: httpx.AsyncClient, query: str, variables: dict | None, code: str
) -> None:
    response = await http.post("/graphql", json={"query": query, "variables": variables}, headers={"Accept": BOTH})
    assert (response.status_code, media_type(response)) == (400, GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == code


async def test_graphql_response_json_gives_200_once_execution_started(gql_as, database: Database) -> None:  # type: ignore[no-untyped-def]
    viewer = await gql_as(Role.VIEWER)
    headers = {**viewer.headers, "Accept": GRAPHQL_RESPONSE}
    ok = await viewer.http.post("/graphql", json={"query": "{ products { totalCount } }"}, headers=headers)
    assert (ok.status_code, media_type(ok), ok.json()) == (200, GRAPHQL_RESPONSE, {"data": {"products": {"totalCount": 0}}})
    # A field error is part of a response that has data: still 200.
    query = '{ __typename product(id: "UHJvZHVjdDox", sku: "X") { id } }'
    failed = await viewer.http.post("/graphql", json={"query": query}, headers=headers)
    assert failed.status_code == 200
    body = failed.json()
    assert body["data"] == {"__typename": "Query", "product": None}
    assert body["errors"][0]["path"] == ["product"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        (b"{", "application/json", 400, "Unable to parse request body as JSON"),
        (b'"{ __typename }"', "application/json", 400, "Expected a JSON object."),
        (b"{}", "application/json", 400, "No GraphQL query found in the request"),
        (b'{"query": 1}', "application/json", 400, "The GraphQL operation's `query` must be a string or null, if provided."),
        (b'{"query": "{ __typename }", "variables": []}', "application/json", 400,
         "The GraphQL operation's `variables` must be an object or null, if provided."),
        (b"{ __typename }", "application/graphql", 415, "Send GraphQL requests as `Content-Type: application/json`."),
        (b"query={ __typename }", "application/x-www-form-urlencoded", 415,
         "Send GraphQL requests as `Content-Type: application/json`."),
        (b'[{"query": "{ __typename }"}]', "application/json", 400, "Batching is not enabled"),
    ],
)
async def test_malformed_requests_get_a_clear_4xx(
    http: httpx.AsyncClient, content: bytes, content_type: str, status: int, message: str
) -> None:
    response = await http.post("/graphql", content=content, headers={"Content-Type": content_type, "Accept": BOTH})
    assert response.status_code == status
    [error] = response.json()["errors"]
    assert error["message"] == message
    assert error["extensions"]["code"] == {400: "BAD_REQUEST", 415: "UNSUPPORTED_MEDIA_TYPE"}[status]
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_queries_work_over_get_and_mutations_do_not(http: httpx.AsyncClient, statements) -> None:  # type: ignore[no-untyped-def]
    response = await http.get("/graphql", params={"query": "{ __typename }"}, headers={"Accept": BOTH})
    assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})
    mutation = 'mutation { createCategory(input: {name: "via get"}) { category { id } } }'
    with statements.count() as seen:
        refused = await http.get("/graphql", params={"query": mutation}, headers={"Accept": BOTH})
    assert seen == []
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    assert refused.json()["errors"][0]["message"] == "mutations are not allowed when using GET"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_get_405(http: httpx.AsyncClient, method: str) -> None:
    response = await http.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


async def test_every_response_carries_a_request_id(http: httpx.AsyncClient) -> None:
    responses = [
        await http.post("/graphql", json={"query": "{ __typename }"}),
        await http.post("/graphql", content=b"{", headers={"Content-Type": "application/json"}),
        await http.post("/graphql", json={"query": "{}", "variables": {"x": "x" * 300_000}}),
        await http.put("/graphql"),
        await http.get("/nowhere"),
        await http.get("/health"),
    ]
    assert [r.status_code for r in responses] == [200, 400, 413, 405, 404, 200]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("abc-123", True), ("0f8fad5b-d9cb-469f-a165-70867728950e", True), ("trace:7/span=9@edge", True),
     ("x" * 129, False), ("has space", False), ("-leading-dash", False), ("é", False)],
)
async def test_a_sane_incoming_request_id_is_kept(http: httpx.AsyncClient, incoming: str, kept: bool) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers=[(b"X-Request-ID", incoming.encode())]
    )
    assert (response.headers["x-request-id"] == incoming) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


@contextmanager
def failing_sql(database: Database, table: str) -> Iterator[None]:
    """Makes every statement that reads `table` fail the way a broken database would: through any engine
    (the reference path's, in compare mode, too) and through the read plans' driver connections."""

    def fail_read(statement: str) -> None:
        if f"FROM {table}" in statement:
            raise RuntimeError("connection to /var/lib/postgresql/secret.sock lost")

    def fail(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        fail_read(statement)

    event.listen(Engine, "before_cursor_execute", fail)
    database.read_listeners.append(fail_read)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", fail)
        database.read_listeners.remove(fail_read)


async def test_an_unexpected_error_is_masked_and_logged_with_the_request_id(  # type: ignore[no-untyped-def]
    gql_as, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await build_catalog(database, products=3)
    viewer = await gql_as(Role.VIEWER)
    headers = {**viewer.headers, "X-Request-ID": "req-masked-1"}
    with failing_sql(database, "categories"), caplog.at_level(logging.ERROR, logger="inventory.graphql"):
        response = await viewer.http.post("/graphql", json={"query": "{ categories { totalCount } }"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-masked-1"
    [error] = response.json()["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-masked-1"}
    assert "secret" not in response.text and "Traceback" not in response.text
    # (in compare mode the reference path's run of the same read logs it too)
    records = [r for r in caplog.records if r.name == "inventory.graphql"]
    assert records
    for record in records:
        assert "req-masked-1" in record.getMessage()
        assert "secret.sock" in str(record.exc_info[1])


def test_errors_that_missed_error_translation_are_masked_too() -> None:
    leaked = GraphQLError("/srv/app/db.py line 12: password=hunter2", original_error=RuntimeError("boom"))
    coded = GraphQLError("Cannot query field 'nope'.", extensions={"code": "GRAPHQL_VALIDATION_FAILED"})
    masked, kept = translate_errors([leaked, coded])
    assert masked.message == "Unexpected error."
    assert masked.extensions == {"code": "INTERNAL_SERVER_ERROR"}  # no request outside HTTP
    assert kept is coded


async def test_a_crash_outside_graphql_is_a_logged_500_with_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        assert current_request_id() == "req-crash"
        raise RuntimeError("/etc/secret")

    transport = httpx.ASGITransport(app=RequestIdMiddleware(broken))
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        with caplog.at_level(logging.ERROR, logger="inventory.http"):
            response = await client.get("/", headers={"X-Request-ID": "req-crash"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-crash"
    assert response.json() == {
        "errors": [{"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-crash"}}]
    }
    assert any("req-crash" in r.getMessage() for r in caplog.records)


@pytest.fixture
async def cors_app(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    allowed = settings.model_copy(update={"cors_origins": [ORIGIN, "https://admin.example"]})
    app = create_app(allowed, database=database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory") as client:
        yield client


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_no_origin_is_allowed_by_default(http: httpx.AsyncClient) -> None:
    response = await http.options("/graphql", headers=preflight(ORIGIN))
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    simple = await http.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in simple.headers


async def test_configured_origins_are_allowed_and_others_are_not(cors_app: httpx.AsyncClient) -> None:
    allowed = await cors_app.options("/graphql", headers=preflight(ORIGIN))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    simple = await cors_app.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert simple.headers["access-control-expose-headers"] == "X-Request-ID"
    denied = await cors_app.options("/graphql", headers=preflight("https://evil.example"))
    assert denied.status_code == 400
    assert "access-control-allow-origin" not in denied.headers
    other = await cors_app.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_cors_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_CORS_ORIGINS", f" {ORIGIN}, https://admin.example ,")
    assert Settings().cors_origins == [ORIGIN, "https://admin.example"]
    monkeypatch.delenv("INVENTORY_CORS_ORIGINS")
    assert Settings().cors_origins == []


@pytest.mark.parametrize("accept", [None, BOTH])
async def test_every_http_error_has_a_json_body(http: httpx.AsyncClient, accept: str | None) -> None:
    headers = {} if accept is None else {"Accept": accept}
    too_large = {"query": "{ __typename }", "variables": {"x": "x" * 300_000}}
    responses = {
        "PUT": await http.put("/graphql", json={"query": "{ __typename }"}, headers=headers),
        "DELETE": await http.delete("/graphql", headers=headers),
        "PATCH": await http.patch("/graphql", json={"query": "{ __typename }"}, headers=headers),
        "too large": await http.post("/graphql", json=too_large, headers=headers),
        "nowhere": await http.get("/nowhere", headers=headers),
    }
    expected = {"PUT": 405, "DELETE": 405, "PATCH": 405, "too large": 413, "nowhere": 404}
    codes = {405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE", 404: "NOT_FOUND"}
    for name, response in responses.items():
        status = expected[name]
        assert response.status_code == status, name
        assert media_type(response) == (GRAPHQL_RESPONSE if accept else "application/json"), name
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": codes[status], "requestId": response.headers["x-request-id"]}, name
        assert error["message"], name
        assert int(response.headers["content-length"]) == len(response.content), name
    assert set(responses["PUT"].headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


SEVERAL = "query A { __typename } query B { products { totalCount } }"


@pytest.mark.parametrize(
    ("method", "document"),
    [
        ("POST", SEVERAL),
        ("GET", SEVERAL),
        ("POST", 'mutation A { createCategory(input: {name: "a"}) { category { id } } } query B { __typename }'),
        ("POST", 'query B { __typename } mutation A { createCategory(input: {name: "a"}) { category { id } } }'),
    ],
)
async def test_several_operations_without_an_operation_name_are_refused(
    gql: GraphQLClient, statements, method: str, document: str  # type: ignore[no-untyped-def]
) -> None:
    headers = {**gql.headers, "Accept": BOTH}
    with statements.count() as seen:
        if method == "GET":
            response = await gql.http.get("/graphql", params={"query": document}, headers=headers)
        else:
            response = await gql.http.post("/graphql", json={"query": document}, headers=headers)
    assert seen == []
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"] == "operationName is required when the document has several operations"
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert (await gql("{ categories { totalCount } }"))["categories"]["totalCount"] == 0

    # with a name, the named operation runs, on either path
    named = await gql.http.post("/graphql", json={"query": document, "operationName": "B"}, headers=headers)
    assert named.status_code == 200 and "errors" not in named.json(), named.text


async def test_a_body_sent_too_slowly_gets_408_and_the_connection_closed(
    database: Database, settings: Settings
) -> None:
    impatient = settings.model_copy(update={"request_read_timeout_seconds": 0.5})
    body = b'{"query": "{ __typename }"}'.ljust(60)
    async with serving(create_app(impatient, database=database)) as url:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = "POST /graphql HTTP/1.1\r\nHost: inventory\r\nContent-Type: application/json\r\n"
        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
        sent = 0

        async def trickle() -> None:
            nonlocal sent
            for byte in body:  # a byte every 0.1 s: 6 s for the whole body
                writer.write(bytes([byte]))
                await writer.drain()
                sent += 1
                await asyncio.sleep(0.1)

        trickling = asyncio.create_task(trickle())
        try:
            head_lines = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode().split("\r\n")
            status_line, *header_lines = head_lines
            headers = dict(line.split(": ", 1) for line in header_lines if line)
            answer = await reader.readexactly(int(headers["content-length"]))
            assert sent < len(body)  # refused before the body was complete
            assert status_line == "HTTP/1.1 408 Request Timeout"
            assert headers["content-type"] == "application/json"
            [error] = orjson.loads(answer)["errors"]
            assert error["extensions"]["code"] == "REQUEST_TIMEOUT"
            assert error["message"] == "The request body did not arrive within 0.5 seconds."
            assert await asyncio.wait_for(reader.read(), 30) == b""  # the server closed the connection
        finally:
            trickling.cancel()
            writer.close()
