"""Webhooks over HTTP: endpoints registered by administrators get every ledger entry's event, signed, at least
once and in ledger order, from the deliverer running in the test server; failures are retried and logged,
too many in a row disable the endpoint, and enabling it again resumes where it stopped."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.config import Settings
from db.engine import Database
from db.models import Product, Role
from graph.app import create_app
from tests.api.stock_helpers import RECEIVE, SHIP, make_product, make_warehouse, move
from tests.utils import GraphQLClient, global_id, serving

ENDPOINT_FIELDS = (
    "id url events isActive consecutiveFailures disabledAt lastEventId nextAttemptAt createdAt updatedAt"
)
PAYLOAD = f"webhookEndpoint {{ {ENDPOINT_FIELDS} }} secret errors {{ field message code }}"
CREATE = f"mutation($input: CreateWebhookEndpointInput!) {{ createWebhookEndpoint(input: $input) {{ {PAYLOAD} }} }}"
UPDATE = f"mutation($input: UpdateWebhookEndpointInput!) {{ updateWebhookEndpoint(input: $input) {{ {PAYLOAD} }} }}"
DELETE = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId errors { field message code } } }"
ENDPOINTS = f"{{ webhookEndpoints {{ totalCount nodes {{ {ENDPOINT_FIELDS} }} }} }}"
DELIVERIES = (
    "query($id: ID!, $first: Int) { webhookDeliveries(endpointId: $id, first: $first) { totalCount "
    "nodes { eventId attempt statusCode error durationMs createdAt nextAttemptAt } } }"
)
ALL_EVENTS = ["TRANSACTION_ADDED", "STOCK_CHANGED", "LOW_STOCK_REACHED"]


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """The README's verification recipe, as a receiver writes it."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class Received:
    event_id: int
    signature: str
    body: bytes
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver: answers `refuse_with` to the first `refusals` requests (all of them while
    `refusals` is None), then 200."""

    url: str = ""
    refusals: int | None = 0
    refuse_with: int = 503
    requests: list[Received] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        refused = self.refusals is None or len(self.requests) < self.refusals
        status = self.refuse_with if refused else 200
        self.requests.append(
            Received(int(request.headers["Inventory-Event-Id"]), request.headers["Inventory-Signature"], body, status)
        )
        # A redirect names the receiver itself: followed, it would be delivered at the first attempt.
        return Response(status_code=status, headers={"Location": self.url} if 300 <= status < 400 else None)

    def delivered(self) -> list[int]:
        """The event ids of the accepted requests, in the order they came."""
        return [r.event_id for r in self.requests if r.status == 200]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    async with serving(Starlette(routes=[Route("/hook", found.handle, methods=["POST"])])) as url:
        found.url = f"{url}/hook"
        yield found


@pytest.fixture
async def place(database: Database) -> dict[str, Any]:
    """A product with a reorder point of 5, and a warehouse."""
    product, product_id = await make_product(database, "HOOK-1")
    async with database.write_session() as session, session.begin():
        await session.execute(update(Product).where(Product.id == product).values(reorder_point=5))
    warehouse, warehouse_id = await make_warehouse(database, "MAIN")
    return {"pid": product_id, "wid": warehouse_id, "at": {"productId": product_id, "warehouseId": warehouse_id}}


async def create(gql: GraphQLClient, **input: Any) -> dict[str, Any]:
    payload = (await gql(CREATE, {"input": input}))["createWebhookEndpoint"]
    assert payload["errors"] == [], payload["errors"]
    return payload


async def wait_until(check: Callable[[], Any], *, timeout: float = 20.0) -> Any:
    """Poll `check` (sync or async) until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def stored(database: Database) -> tuple[int, bool, int, int]:
    """The one endpoint's cursor, whether it is active and its failures in a row, and the number of deliveries
    logged, read with plain SQL. Tests wait on these rather than on queries: compare mode reads twice, and
    the deliverer may move the endpoint on between the two reads."""
    async with database.engine.connect() as conn:
        (row,) = (
            await conn.exec_driver_sql(
                "SELECT last_event_id, is_active, consecutive_failures, "
                "(SELECT count(*) FROM webhook_deliveries) FROM webhook_endpoints"
            )
        ).all()
    return row[0], bool(row[1]), row[2], row[3]


async def settled(database: Database, cursor: int | None = None, deliveries: int | None = None) -> None:
    """Wait until the endpoint's cursor and the delivery log are as given."""

    async def reached() -> bool:
        at, _active, _failures, logged = await stored(database)
        return (cursor is None or at == cursor) and (deliveries is None or logged == deliveries)

    await wait_until(reached)


async def endpoint_of(gql: GraphQLClient) -> dict[str, Any]:
    (endpoint,) = (await gql(ENDPOINTS))["webhookEndpoints"]["nodes"]
    return endpoint


async def deliveries(gql: GraphQLClient, endpoint_id: str) -> list[dict[str, Any]]:
    return (await gql(DELIVERIES, {"id": endpoint_id, "first": 100}))["webhookDeliveries"]["nodes"]


async def test_a_receiver_that_refuses_for_a_while_gets_every_event_signed_and_the_log_shows_the_retries(
    gql: GraphQLClient, receiver: Receiver, place: dict[str, Any], database: Database
) -> None:
    receiver.refusals = 3
    created = await create(gql, url=receiver.url, events=ALL_EVENTS)
    secret, endpoint_id = created["secret"], created["webhookEndpoint"]["id"]
    assert secret and created["webhookEndpoint"]["lastEventId"] == 0

    entries = []
    for mutation, quantity in ((RECEIVE, 10), (SHIP, 3), (SHIP, 4), (RECEIVE, 2)):  # 10, 7, 3 (low), 5
        payload = await move(gql, mutation, **place["at"], quantity=quantity)
        entries.append(payload["transactions"][0])
    ids = [_pk(e["id"]) for e in entries]

    await wait_until(lambda: set(receiver.delivered()) >= set(ids))

    # In ledger order, each once accepted; the first one after three refusals.
    assert receiver.delivered() == ids
    assert [(r.event_id, r.status) for r in receiver.requests[:4]] == [(ids[0], 503)] * 3 + [(ids[0], 200)]
    for request in receiver.requests:
        assert verify(secret, request.signature, request.body), request
        assert request.json["eventId"] == request.event_id
        assert not verify("another secret of some length", request.signature, request.body)
    accepted = {r.event_id: r.json for r in receiver.requests if r.status == 200}
    assert [accepted[i]["events"] for i in ids] == [
        ["TRANSACTION_ADDED", "STOCK_CHANGED"],
        ["TRANSACTION_ADDED", "STOCK_CHANGED"],
        ["TRANSACTION_ADDED", "STOCK_CHANGED", "LOW_STOCK_REACHED"],
        ["TRANSACTION_ADDED", "STOCK_CHANGED"],
    ]
    shipped = accepted[ids[2]]["data"]
    assert shipped["transaction"] == {
        "id": entries[2]["id"],
        "kind": "SHIPMENT",
        "quantity": -4,
        "balanceAfter": 3,
        "unitCost": entries[2]["unitCost"],
        "reference": None,
        "note": None,
        "createdAt": shipped["transaction"]["createdAt"],
        "productId": place["pid"],
        "warehouseId": place["wid"],
        "purchaseOrderId": None,
        "createdById": shipped["transaction"]["createdById"],
    }
    assert shipped["product"] == {"id": place["pid"], "sku": "HOOK-1"}
    assert shipped["warehouse"] == {"id": place["wid"], "code": "MAIN"}
    assert shipped["stockLevel"] == {"quantityOnHand": 3}

    await settled(database, cursor=ids[-1], deliveries=7)
    log = await deliveries(gql, endpoint_id)
    # Newest first: the three later events at their first attempt, then the first event's four attempts.
    assert [(d["eventId"], d["attempt"], d["statusCode"]) for d in log] == [
        (ids[3], 1, 200),
        (ids[2], 1, 200),
        (ids[1], 1, 200),
        (ids[0], 4, 200),
        (ids[0], 3, 503),
        (ids[0], 2, 503),
        (ids[0], 1, 503),
    ]
    assert all(d["nextAttemptAt"] is not None and d["error"] == "HTTP 503" for d in log[4:])
    assert all(d["nextAttemptAt"] is None and d["error"] is None for d in log[:4])
    endpoint = await endpoint_of(gql)
    assert (endpoint["lastEventId"], endpoint["consecutiveFailures"], endpoint["isActive"]) == (ids[3], 0, True)


def _pk(global_id_: str) -> int:
    """The ledger id (the event id) in an entry's global ID."""
    return int(base64.b64decode(global_id_).decode().split(":")[1])


async def test_an_endpoint_is_disabled_after_a_run_of_failures_and_resumes_where_it_stopped(
    gql: GraphQLClient, receiver: Receiver, place: dict[str, Any], settings: Settings, database: Database
) -> None:
    receiver.refusals, receiver.refuse_with = None, 500
    created = await create(gql, url=receiver.url, events=["STOCK_CHANGED"])
    endpoint_id = created["webhookEndpoint"]["id"]
    first = _pk((await move(gql, RECEIVE, **place["at"], quantity=4))["transactions"][0]["id"])

    await wait_until(lambda: _disabled(database))
    disabled = await endpoint_of(gql)
    assert disabled["isActive"] is False
    assert disabled["consecutiveFailures"] == settings.webhook_max_failures
    assert disabled["disabledAt"] is not None and disabled["lastEventId"] == first - 1
    log = await deliveries(gql, endpoint_id)
    assert [(d["eventId"], d["attempt"], d["statusCode"]) for d in log] == [
        (first, n, 500) for n in range(settings.webhook_max_failures, 0, -1)
    ]
    assert log[0]["nextAttemptAt"] is None  # the attempt that disabled it waits for nothing

    # While disabled, nothing is sent; events keep coming.
    later = [_pk((await move(gql, SHIP, **place["at"], quantity=1))["transactions"][0]["id"]) for _ in range(2)]
    sent = len(receiver.requests)
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == sent

    receiver.refusals = 0
    enabled = (await gql(UPDATE, {"input": {"id": endpoint_id, "isActive": True}}))["updateWebhookEndpoint"]
    assert enabled["errors"] == [] and enabled["secret"] is None
    endpoint = enabled["webhookEndpoint"]
    assert (endpoint["isActive"], endpoint["consecutiveFailures"], endpoint["disabledAt"]) == (True, 0, None)

    await wait_until(lambda: set(receiver.delivered()) >= {first, *later})
    assert receiver.delivered() == [first, *later]
    await settled(database, cursor=later[-1])
    assert (await endpoint_of(gql))["lastEventId"] == later[-1]


async def _disabled(database: Database) -> bool:
    _cursor, active, _failures, _logged = await stored(database)
    return not active


async def test_events_an_endpoint_does_not_take_are_passed_over(
    gql: GraphQLClient, receiver: Receiver, place: dict[str, Any], database: Database
) -> None:
    await create(gql, url=receiver.url, events=["LOW_STOCK_REACHED"])
    ids = [
        _pk((await move(gql, mutation, **place["at"], quantity=quantity))["transactions"][0]["id"])
        for mutation, quantity in ((RECEIVE, 8), (SHIP, 2), (SHIP, 2), (SHIP, 1), (RECEIVE, 5), (SHIP, 6))
    ]  # 8, 6, 4 (low), 3, 8, 2 (low)
    await settled(database, cursor=ids[-1])
    assert receiver.delivered() == [ids[2], ids[5]]
    assert (await endpoint_of(gql))["lastEventId"] == ids[-1]
    assert all(r.json["events"] == ["LOW_STOCK_REACHED"] for r in receiver.requests)


async def test_an_endpoint_gets_only_events_made_after_it_was_registered(
    gql: GraphQLClient, receiver: Receiver, place: dict[str, Any], database: Database
) -> None:
    before = _pk((await move(gql, RECEIVE, **place["at"], quantity=3))["transactions"][0]["id"])
    created = await create(gql, url=receiver.url, events=["TRANSACTION_ADDED"])
    assert created["webhookEndpoint"]["lastEventId"] == before
    after = _pk((await move(gql, RECEIVE, **place["at"], quantity=1))["transactions"][0]["id"])
    await settled(database, cursor=after)
    assert receiver.delivered() == [after]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "must be an http or https URL"),
        ("http:///hook", "must name a host"),
        ("https://user:pw@example.com/", "must not hold a user name or password"),
        ("not a url", "must be an http or https URL"),
        ("https://example.com/" + "a" * 2000, "at most 2,000 characters"),
    ],
)
async def test_urls_that_are_not_http_with_a_host_are_refused(gql: GraphQLClient, url: str, message: str) -> None:
    payload = (await gql(CREATE, {"input": {"url": url, "events": ["STOCK_CHANGED"]}}))["createWebhookEndpoint"]
    assert payload["webhookEndpoint"] is None and payload["secret"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("url", "INVALID")]
    assert message in payload["errors"][0]["message"]
    assert (await gql(ENDPOINTS))["webhookEndpoints"]["totalCount"] == 0


@pytest.fixture
async def strict_gql(settings: Settings, database: Database, gql: GraphQLClient) -> AsyncIterator[GraphQLClient]:
    """The admin's client on a server that refuses private addresses (and delivers nothing)."""
    strict = settings.model_copy(update={"webhooks_allow_private": False, "webhooks_deliver": False})
    async with serving(create_app(strict, database=database)) as url, httpx.AsyncClient(base_url=url) as http:
        yield GraphQLClient(http, gql.token)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.10", "172.16.0.1", "169.254.169.254", "[::1]", "0.0.0.0",
     "224.0.0.1", "[fe80::1]", "[::ffff:127.0.0.1]", "100.64.0.1"],
)
async def test_loopback_and_private_addresses_are_refused_unless_allowed(
    strict_gql: GraphQLClient, gql: GraphQLClient, host: str
) -> None:
    input = {"url": f"http://{host}:8080/hook", "events": ["STOCK_CHANGED"]}
    payload = (await strict_gql(CREATE, {"input": input}))["createWebhookEndpoint"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("url", "INVALID")], payload
    assert "not a public address" in payload["errors"][0]["message"]
    # The test server allows them.
    assert (await gql(CREATE, {"input": input | {"isActive": False}}))["createWebhookEndpoint"]["errors"] == []


async def test_a_public_address_is_accepted_and_a_change_to_a_private_one_refused(strict_gql: GraphQLClient) -> None:
    created = await create(strict_gql, url="https://93.184.215.14/hook", events=["STOCK_CHANGED"], isActive=False)
    endpoint_id = created["webhookEndpoint"]["id"]
    payload = (await strict_gql(UPDATE, {"input": {"id": endpoint_id, "url": "http://127.0.0.1/"}}))[
        "updateWebhookEndpoint"
    ]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("url", "INVALID")]
    assert (await endpoint_of(strict_gql))["url"] == "https://93.184.215.14/hook"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CLERK, Role.MANAGER])
async def test_only_administrators_manage_or_read_webhooks(
    gql: GraphQLClient, gql_as: Any, role: Role
) -> None:
    created = await create(gql, url="http://127.0.0.1:9/hook", events=["STOCK_CHANGED"], isActive=False)
    endpoint_id = created["webhookEndpoint"]["id"]
    client = await gql_as(role)
    for document, variables, name in (
        (CREATE, {"input": {"url": "http://127.0.0.1:9/x", "events": ["STOCK_CHANGED"]}}, "createWebhookEndpoint"),
        (UPDATE, {"input": {"id": endpoint_id, "isActive": True}}, "updateWebhookEndpoint"),
        (DELETE, {"id": endpoint_id}, "deleteWebhookEndpoint"),
        (ENDPOINTS, {}, "webhookEndpoints"),
        (DELIVERIES, {"id": endpoint_id}, "webhookDeliveries"),
    ):
        body = await client.post(document, variables)
        assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [("FORBIDDEN", [name])], body
    node = await client("query($id: ID!) { node(id: $id) { id } }", {"id": endpoint_id})
    assert node == {"node": None}
    assert (await endpoint_of(gql))["isActive"] is False


async def test_the_secret_is_shown_only_when_made(gql: GraphQLClient) -> None:
    secret = "a-secret-of-our-own-choosing"
    created = await create(gql, url="http://127.0.0.1:9/hook", events=["STOCK_CHANGED"], secret=secret, isActive=False)
    assert created["secret"] == secret
    endpoint_id = created["webhookEndpoint"]["id"]

    changed = (await gql(UPDATE, {"input": {"id": endpoint_id, "events": ["LOW_STOCK_REACHED", "STOCK_CHANGED"]}}))[
        "updateWebhookEndpoint"
    ]
    assert changed["secret"] is None
    assert changed["webhookEndpoint"]["events"] == ["STOCK_CHANGED", "LOW_STOCK_REACHED"]
    rotated = (await gql(UPDATE, {"input": {"id": endpoint_id, "rotateSecret": True}}))["updateWebhookEndpoint"]
    new_secret = rotated["secret"]
    assert new_secret and new_secret != secret

    reads = [
        await gql.post(ENDPOINTS),
        await gql.post(
            f"query($id: ID!) {{ node(id: $id) {{ ... on WebhookEndpoint {{ {ENDPOINT_FIELDS} }} }} }}",
            {"id": endpoint_id},
        ),
        await gql.post(
            "query($id: ID!) { changes(filter: {entityId: $id}) { nodes { operation fields { field old new } } } }",
            {"id": endpoint_id},
        ),
    ]
    for body in reads:
        text = json.dumps(body)
        assert "errors" not in body and secret not in text and new_secret not in text, body
    changes = reads[2]["data"]["changes"]["nodes"]
    assert [c["operation"] for c in changes] == [
        "updateWebhookEndpoint", "updateWebhookEndpoint", "createWebhookEndpoint"
    ]
    assert {"field": "secret", "old": "[redacted]", "new": "[redacted]"} in changes[0]["fields"]


async def test_deleting_an_endpoint_deletes_its_log(
    gql: GraphQLClient, receiver: Receiver, place: dict[str, Any], database: Database
) -> None:
    created = await create(gql, url=receiver.url, events=["TRANSACTION_ADDED"])
    endpoint_id = created["webhookEndpoint"]["id"]
    entry = _pk((await move(gql, RECEIVE, **place["at"], quantity=1))["transactions"][0]["id"])
    await settled(database, cursor=entry, deliveries=1)
    assert len(await deliveries(gql, endpoint_id)) == 1

    deleted = (await gql(DELETE, {"id": endpoint_id}))["deleteWebhookEndpoint"]
    assert deleted == {"deletedId": endpoint_id, "errors": []}
    assert (await gql(ENDPOINTS))["webhookEndpoints"]["totalCount"] == 0
    assert await deliveries(gql, endpoint_id) == []
    async with database.engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT count(*) FROM webhook_deliveries")).scalar() == 0

    again = (await gql(DELETE, {"id": endpoint_id}))["deleteWebhookEndpoint"]
    assert [(e["field"], e["code"]) for e in again["errors"]] == [("id", "NOT_FOUND")]
    missing = (await gql(UPDATE, {"input": {"id": global_id("WebhookEndpoint", 999_999), "isActive": True}}))
    assert [(e["field"], e["code"]) for e in missing["updateWebhookEndpoint"]["errors"]] == [("id", "NOT_FOUND")]


async def test_a_slow_receiver_does_not_hold_up_the_others(
    gql: GraphQLClient, place: dict[str, Any], database: Database
) -> None:
    """Endpoints are delivered to at once: a receiver that takes seconds to answer delays only itself."""
    answered = asyncio.Event()

    async def slow(request: Request) -> Response:
        await asyncio.sleep(4)  # within the tests' webhook timeout (5 s)
        return Response(status_code=200)

    async def fast(request: Request) -> Response:
        answered.set()
        return Response(status_code=200)

    routes = [Route("/slow", slow, methods=["POST"]), Route("/fast", fast, methods=["POST"])]
    async with serving(Starlette(routes=routes)) as url:
        await create(gql, url=f"{url}/slow", events=["STOCK_CHANGED"])
        await create(gql, url=f"{url}/fast", events=["STOCK_CHANGED"])
        started = time.monotonic()
        await move(gql, RECEIVE, **place["at"], quantity=1)
        await asyncio.wait_for(answered.wait(), timeout=10)
        assert time.monotonic() - started < 3.5
        # The slow one is answered too, before the receiver goes away.
        await wait_until(lambda: _both_delivered(database))


async def _both_delivered(database: Database) -> bool:
    async with database.engine.connect() as conn:
        return (await conn.exec_driver_sql("SELECT count(*) FROM webhook_deliveries WHERE status_code = 200")).scalar() == 2


async def test_a_redirect_is_not_followed_but_counts_as_a_failure(
    gql: GraphQLClient, receiver: Receiver, place: dict[str, Any], database: Database
) -> None:
    receiver.refusals, receiver.refuse_with = 1, 307
    created = await create(gql, url=receiver.url, events=["TRANSACTION_ADDED"])
    entry = _pk((await move(gql, RECEIVE, **place["at"], quantity=1))["transactions"][0]["id"])
    await settled(database, cursor=entry, deliveries=2)
    log = await deliveries(gql, created["webhookEndpoint"]["id"])
    assert [(d["attempt"], d["statusCode"], d["error"]) for d in log] == [(2, 200, None), (1, 307, "HTTP 307")]
    assert [r.status for r in receiver.requests] == [307, 200]
