"""Subscriptions over WebSocket (graphql-transport-ws) with a real client: live events, resuming with
`after`, filters, sign-in and its end (logout, deactivation), and the document limits."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from db.config import Settings
from db.engine import Database
from db.models import Product, Role
from graph.app import create_app
from tests.api.live_helpers import connected, refused_close_code, subscription_error
from tests.api.stock_helpers import ADJUST, RECEIVE, SHIP, TRANSFER, make_product, make_warehouse, move
from tests.utils import GraphQLClient, global_id, serving, sign_in

ADDED = """subscription($filter: TransactionAddedFilter, $after: String) {
  transactionAdded(filter: $filter, after: $after) { id kind quantity balanceAfter product { id sku } warehouse { id } }
}"""
LEVELS = """subscription($products: [ID!], $warehouses: [ID!]) {
  stockChanged(productIds: $products, warehouseIds: $warehouses) { quantityOnHand product { id } warehouse { id } }
}"""
LOW = """subscription($warehouse: ID) {
  lowStockReached(warehouseId: $warehouse) {
    quantityOnHand quantityAvailable quantityReserved quantityOnOrder reorderPoint quantityToOrder product { id }
    warehouse { id }
  }
}"""
LOGOUT = "mutation { logout { errors { code } } }"
DEACTIVATE = "mutation($id: ID!) { deactivateUser(id: $id) { user { id } errors { code } } }"
CURSORS = "{ transactions(first: 100) { edges { cursor node { id } } } }"


@pytest.fixture
async def place(database: Database) -> dict[str, Any]:
    product, product_id = await make_product(database, "BOLT", preferred_cost="4.00")
    other, other_id = await make_product(database, "NUT", preferred_cost="1.00")
    north, north_id = await make_warehouse(database, "NORTH")
    south, south_id = await make_warehouse(database, "SOUTH")
    return {"p": product, "pid": product_id, "q": other, "qid": other_id, "nid": north_id, "sid": south_id}


@pytest.fixture
async def viewer_token(database: Database) -> str:
    """A token of a VIEWER, who may subscribe to everything."""
    _viewer, token = await sign_in(database, Role.VIEWER)
    return token


@pytest.fixture
async def clerk(gql_as: Callable[..., Awaitable[GraphQLClient]]) -> GraphQLClient:
    return await gql_as(Role.CLERK)


def added(result: dict[str, Any]) -> dict[str, Any]:
    return result["transactionAdded"]


async def test_transaction_added_sends_each_entry_as_it_commits(
    server: str, database: Database, clerk: GraphQLClient, place: dict[str, Any], viewer_token: str
) -> None:
    async with connected(server, viewer_token) as connection:
        subscription = await connection.subscribe(ADDED)
        received = await move(clerk, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=7)
        shipped = await move(clerk, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=2)
        first, second = [added(r) for r in await subscription.take(2)]
    assert first["id"] == received["transactions"][0]["id"]
    assert (first["kind"], first["quantity"], first["balanceAfter"]) == ("RECEIPT", 7, 7)
    assert first["product"] == {"id": place["pid"], "sku": "BOLT"}
    assert second["id"] == shipped["transactions"][0]["id"]
    assert (second["kind"], second["quantity"], second["balanceAfter"]) == ("SHIPMENT", -2, 5)


async def test_a_subscriber_that_reconnects_with_after_gets_exactly_what_it_missed_then_live_ones(
    server: str, database: Database, clerk: GraphQLClient, place: dict[str, Any], viewer_token: str
) -> None:
    """Done-when 2: disconnect, 50 movements, reconnect with `after`: those 50 in order, then live ones."""
    async with connected(server, viewer_token) as connection:
        subscription = await connection.subscribe(ADDED)
        await move(clerk, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=1000)
        last_seen = added(await subscription.next())["id"]
    missed = []
    for i in range(50):
        mutation, warehouse = (SHIP, place["nid"]) if i % 2 else (RECEIVE, place["sid"])
        payload = await move(clerk, mutation, productId=place["pid"], warehouseId=warehouse, quantity=i + 1)
        missed.append(payload["transactions"][0]["id"])
    async with connected(server, viewer_token) as connection:
        subscription = await connection.subscribe(ADDED, {"after": last_seen})
        replayed = [added(r)["id"] for r in await subscription.take(50)]
        assert replayed == missed
        live = await move(clerk, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=1)
        assert added(await subscription.next())["id"] == live["transactions"][0]["id"]
        await subscription.nothing_more(0.5)


async def test_after_takes_a_cursor_of_the_transactions_query(
    server: str, database: Database, gql: GraphQLClient, clerk: GraphQLClient, place: dict[str, Any], viewer_token: str
) -> None:
    ids = []
    for quantity in (1, 2, 3):
        payload = await move(clerk, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=quantity)
        ids.append(payload["transactions"][0]["id"])
    edges = (await gql(CURSORS))["transactions"]["edges"]  # newest first
    first_cursor = next(edge["cursor"] for edge in edges if edge["node"]["id"] == ids[0])
    async with connected(server, viewer_token) as connection:
        subscription = await connection.subscribe(ADDED, {"after": first_cursor})
        assert [added(r)["id"] for r in await subscription.take(2)] == ids[1:]
        await subscription.nothing_more(0.5)


async def test_a_forged_cursor_is_bad_user_input(server: str, database: Database, viewer_token: str) -> None:
    error = await subscription_error(server, viewer_token, ADDED, {"after": "bm90IGEgY3Vyc29y"})
    assert "BAD_USER_INPUT" in error and "`after` is not a valid cursor" in error, error


async def test_filters_narrow_each_subscription(
    server: str, database: Database, clerk: GraphQLClient, place: dict[str, Any], viewer_token: str
) -> None:
    await move(clerk, RECEIVE, productId=place["qid"], warehouseId=place["nid"], quantity=5)
    async with connected(server, viewer_token) as connection:
        by_product = await connection.subscribe(ADDED, {"filter": {"productId": place["pid"]}})
        by_warehouse_and_kind = await connection.subscribe(
            ADDED, {"filter": {"warehouseId": place["sid"], "kinds": ["TRANSFER_IN"]}}
        )
        levels = await connection.subscribe(LEVELS, {"products": [place["qid"]], "warehouses": [place["nid"]]})
        await move(clerk, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=10)
        await move(clerk, SHIP, productId=place["qid"], warehouseId=place["nid"], quantity=2)
        await move(
            clerk, TRANSFER, productId=place["pid"], fromWarehouseId=place["nid"], toWarehouseId=place["sid"],
            quantity=4,
        )
        assert [(added(r)["kind"], added(r)["balanceAfter"]) for r in await by_product.take(3)] == [
            ("RECEIPT", 10), ("TRANSFER_OUT", 6), ("TRANSFER_IN", 4)
        ]
        (transfer_in,) = [added(r) for r in await by_warehouse_and_kind.take(1)]
        assert (transfer_in["kind"], transfer_in["warehouse"]["id"], transfer_in["quantity"]) == (
            "TRANSFER_IN", place["sid"], 4
        )
        (level,) = [r["stockChanged"] for r in await levels.take(1)]
        assert level == {"quantityOnHand": 3, "product": {"id": place["qid"]}, "warehouse": {"id": place["nid"]}}
        for subscription in (by_product, by_warehouse_and_kind, levels):
            await subscription.nothing_more(0.3)


async def test_stock_changed_sends_the_level_each_entry_left(
    server: str, database: Database, clerk: GraphQLClient, place: dict[str, Any], viewer_token: str
) -> None:
    async with connected(server, viewer_token) as connection:
        levels = await connection.subscribe(LEVELS)
        await move(clerk, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=10)
        await move(
            clerk, TRANSFER, productId=place["pid"], fromWarehouseId=place["nid"], toWarehouseId=place["sid"],
            quantity=4,
        )
        seen = [r["stockChanged"] for r in await levels.take(3)]
    assert [(s["warehouse"]["id"], s["quantityOnHand"]) for s in seen] == [
        (place["nid"], 10), (place["nid"], 6), (place["sid"], 4)
    ]


async def test_low_stock_reached_when_a_movement_crosses_the_reorder_point(
    server: str, database: Database, clerk: GraphQLClient, place: dict[str, Any], viewer_token: str
) -> None:
    async with database.write_session() as session, session.begin():
        product = await session.get(Product, place["p"])
        assert product is not None
        product.reorder_point, product.reorder_quantity = 5, 20
    await move(clerk, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=10)
    async with connected(server, viewer_token) as connection:
        low = await connection.subscribe(LOW, {"warehouse": place["nid"]})
        await move(clerk, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=4)  # 6: above
        await move(clerk, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=3)  # 3: crosses
        await move(clerk, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=1)  # 2: below already
        await move(clerk, ADJUST, productId=place["pid"], warehouseId=place["nid"], countedQuantity=9)  # back up
        await move(clerk, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=4)  # 5: at it
        first, second = [r["lowStockReached"] for r in await low.take(2)]
        await low.nothing_more(0.5)
    assert first == {
        "quantityOnHand": 3, "quantityAvailable": 3, "quantityReserved": 0, "quantityOnOrder": 0, "reorderPoint": 5,
        "quantityToOrder": 20,
        "product": {"id": place["pid"]}, "warehouse": {"id": place["nid"]},
    }
    assert second["quantityOnHand"] == 5


async def test_nested_fields_are_read_afresh_for_each_event(
    server: str, database: Database, gql: GraphQLClient, clerk: GraphQLClient, place: dict[str, Any], viewer_token: str
) -> None:
    async with connected(server, viewer_token) as connection:
        subscription = await connection.subscribe(ADDED)
        await move(clerk, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=1)
        assert added(await subscription.next())["product"]["sku"] == "BOLT"
        async with database.write_session() as session, session.begin():
            product = await session.get(Product, place["p"])
            assert product is not None
            product.sku = "BOLT-2"
        await move(clerk, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=1)
        assert added(await subscription.next())["product"]["sku"] == "BOLT-2"


# --- signing in, and its end ----------------------------------------------------------------------


async def test_a_connection_without_a_valid_token_is_closed_with_4403(server: str, database: Database) -> None:
    user, token = await sign_in(database, Role.VIEWER)
    assert await refused_close_code(server, {}) == 4403
    assert await refused_close_code(server, {"authorization": "Bearer not-a-token"}) == 4403
    assert await refused_close_code(server, {"Authorization": f"Bearer {token}"}) is None
    assert await refused_close_code(server, {"token": token}) is None
    assert await refused_close_code(server, {"token": token}, binary=True) is None  # JSON in a binary frame
    assert await refused_close_code(server, {}, binary=True) == 4403
    async with database.write_session() as session, session.begin():
        from db import users

        await users.deactivate_user(session, user_id=user.id)
    assert await refused_close_code(server, {"authorization": f"Bearer {token}"}) == 4403


async def test_an_expired_token_is_refused(server: str, database: Database) -> None:
    from sqlalchemy import update

    from db.models import ApiToken
    from db.types import utcnow

    _user, token = await sign_in(database, Role.VIEWER)
    async with database.write_session() as session, session.begin():
        await session.execute(update(ApiToken).values(expires_at=utcnow()))
    assert await refused_close_code(server, {"authorization": f"Bearer {token}"}) == 4403


async def test_documents_over_the_limits_are_refused(server: str, database: Database, viewer_token: str) -> None:
    deep = "product { category { " + "parent { " * 20 + "name" + " }" * 20 + " } }"
    nested = "subscription { transactionAdded { " + " ".join(f"a{i}: id" for i in range(40)) + " } }"
    assert "TOO_MANY_ALIASES" in await subscription_error(server, viewer_token, nested)
    too_deep = "subscription { transactionAdded { " + deep + " } }"
    assert "QUERY_TOO_DEEP" in await subscription_error(server, viewer_token, too_deep)


async def test_queries_and_mutations_go_over_http_not_the_websocket(
    server: str, database: Database, viewer_token: str
) -> None:
    error = await subscription_error(server, viewer_token, "{ me { username } }")
    assert "BAD_REQUEST" in error and "send queries and mutations over HTTP" in error, error


async def test_logout_closes_the_connection_of_that_token(
    server: str, database: Database, http: Any, place: dict[str, Any], viewer_token: str
) -> None:
    _same, other_token = await sign_in(database, Role.VIEWER)
    async with connected(server, viewer_token) as connection, connected(server, other_token) as other:
        subscription = await connection.subscribe(ADDED)
        untouched = await other.subscribe(ADDED)
        assert (await GraphQLClient(http, viewer_token)(LOGOUT))["logout"]["errors"] == []
        await subscription.wait_ended()
        assert await connection.closed_with() == 4403
        assert not untouched.ended.is_set()


async def test_deactivating_a_user_closes_its_connections(
    server: str, database: Database, gql: GraphQLClient, place: dict[str, Any]
) -> None:
    viewer, token = await sign_in(database, Role.VIEWER)
    async with connected(server, token) as connection:
        subscription = await connection.subscribe(LEVELS)
        data = await gql(DEACTIVATE, {"id": global_id("User", viewer.id)})
        assert data["deactivateUser"]["errors"] == []
        await subscription.wait_ended()
        assert await connection.closed_with() == 4403


async def test_connections_check_their_token_again_every_few_seconds(
    settings: Settings, database: Database, viewer_token: str
) -> None:
    """Expiry, and on SQLite another process's revocation: heard of by the periodic check."""
    from sqlalchemy import update

    from db.models import ApiToken
    from db.types import utcnow

    app = create_app(settings.model_copy(update={"live_recheck_seconds": 0.3}), database=database)
    async with serving(app) as url, connected(url, viewer_token) as connection:
        subscription = await connection.subscribe(ADDED)
        await asyncio.sleep(0.6)
        assert not subscription.ended.is_set()
        async with database.write_session() as session, session.begin():
            await session.execute(update(ApiToken).values(expires_at=utcnow()))
        await subscription.wait_ended()
        assert await connection.closed_with() == 4403


async def test_the_feed_reconnects_and_reads_what_it_missed_when_its_listen_connection_drops(
    server: str, database: Database, clerk: GraphQLClient, place: dict[str, Any], viewer_token: str
) -> None:
    if database.settings.is_sqlite:
        pytest.skip("PostgreSQL's LISTEN connection (SQLite's feed has none)")
    from sqlalchemy import text

    from graph.live import APPLICATION_NAME

    async with connected(server, viewer_token) as connection:
        subscription = await connection.subscribe(ADDED)
        async with database.write_session() as session, session.begin():
            ended = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            )
        assert ended
        made = []
        for quantity in (1, 2, 3):
            payload = await move(clerk, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=quantity)
            made.append(payload["transactions"][0]["id"])
        assert [added(r)["id"] for r in await subscription.take(3, timeout=20)] == made


async def test_a_subscription_over_http_is_refused(http: Any, database: Database, viewer_token: str) -> None:
    response = await http.post(
        "/graphql", json={"query": "subscription { stockChanged { quantityOnHand } }"},
        headers={"Authorization": f"Bearer {viewer_token}"},
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"].startswith("Subscriptions are served over a WebSocket at /graphql")


async def test_a_subscriber_that_falls_behind_is_ended_rather_than_left_growing() -> None:
    from db.models import InventoryTransaction
    from graph.live import FellBehind, LedgerEvent
    from graph.live import Subscriber as FeedSubscriber

    subscriber = FeedSubscriber(queue=asyncio.Queue(2))
    reading = asyncio.create_task(subscriber.next())  # waiting on the queue when it overflows
    await asyncio.sleep(0)
    for entry_id in (1, 2, 3):
        subscriber.put(LedgerEvent(InventoryTransaction(id=entry_id), reorder_point=0))
    with pytest.raises(FellBehind):
        await reading
    subscriber.put(LedgerEvent(InventoryTransaction(id=4), reorder_point=0))
    assert subscriber.queue.qsize() == 0  # nothing more is kept for it


async def test_a_role_change_closes_the_users_connections_and_an_email_change_does_not(
    server: str, database: Database, gql: GraphQLClient
) -> None:
    clerk, token = await sign_in(database, Role.CLERK)
    update = "mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { code } } }"
    async with connected(server, token) as connection:
        subscription = await connection.subscribe(ADDED)
        changed = await gql(update, {"input": {"id": global_id("User", clerk.id), "email": "clerk@example.com"}})
        assert changed["updateUser"]["errors"] == []
        await asyncio.sleep(0.5)
        assert not subscription.ended.is_set()
        demoted = await gql(update, {"input": {"id": global_id("User", clerk.id), "role": "VIEWER"}})
        assert demoted["updateUser"]["errors"] == []
        await subscription.wait_ended()
        assert await connection.closed_with() == 4403


async def test_what_a_viewer_may_not_read_stays_unread_in_its_events(
    server: str, database: Database, http: Any, place: dict[str, Any], viewer_token: str
) -> None:
    """Every subscription is open to viewers (as the ledger and stock queries are); what a viewer may not read
    in them is kept back as in a query: another user's email is null, the user's own is shown."""
    from sqlalchemy import update

    from db.models import User

    maker, maker_token = await sign_in(database, Role.CLERK, username="counter-clerk")
    async with database.write_session() as session, session.begin():
        await session.execute(update(User).where(User.id == maker.id).values(email="clerk@example.com"))
    document = "subscription { transactionAdded { id createdBy { username email } } }"
    async with connected(server, viewer_token) as viewer, connected(server, maker_token) as own:
        seen_by_viewer = await viewer.subscribe(document)
        seen_by_maker = await own.subscribe(document)
        await move(GraphQLClient(http, maker_token), RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=3)
        by_viewer = added(await seen_by_viewer.next())["createdBy"]
        by_maker = added(await seen_by_maker.next())["createdBy"]
    assert by_viewer == {"username": "counter-clerk", "email": None}
    assert by_maker == {"username": "counter-clerk", "email": "clerk@example.com"}
