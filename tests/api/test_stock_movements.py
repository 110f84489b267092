"""Stock mutations over HTTP: the entries and levels each one makes, every error code it returns,
idempotent retries, the weighted average cost, and that a failure half-way leaves nothing behind."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import event, select, text, update
from typer.testing import CliRunner

from db import stock
from db.config import Settings
from db.engine import Database
from db.models import IdempotencyKey, Role
from db.types import utcnow
from graph.app import create_app
from graph.cli import app
from tests.api.stock_helpers import (
    ADJUST,
    RECEIVE,
    RETURN,
    SHIP,
    TRANSFER,
    average_cost,
    count,
    ledger_sum,
    level,
    make_product,
    make_warehouse,
    move,
    refused,
    snapshot,
)
from tests.utils import GraphQLClient, global_id, serving, sign_in

MISSING_PRODUCT = global_id("Product", 999_999)
MISSING_WAREHOUSE = global_id("Warehouse", 999_999)
DELETE_PRODUCT = "mutation($id: ID!) { deleteProduct(id: $id) { deletedId errors { field message code } } }"


@pytest.fixture
async def place(database: Database) -> dict[str, Any]:
    """A product with a preferred supplier at 4.00, and two active warehouses."""
    product, product_id = await make_product(database, "BOLT", preferred_cost="4.00")
    north, north_id = await make_warehouse(database, "NORTH")
    south, south_id = await make_warehouse(database, "SOUTH")
    return {"p": product, "pid": product_id, "n": north, "nid": north_id, "s": south, "sid": south_id}


def entry_of(payload: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return payload["transactions"][index]


def levels_of(payload: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(lv["product"]["id"], lv["warehouse"]["id"], lv["quantityOnHand"]) for lv in payload["stockLevels"]]


# --- receive ------------------------------------------------------------------------------------


async def test_receive_stock_records_a_receipt(gql: GraphQLClient, database: Database, place: dict) -> None:
    payload = await move(
        gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=12, unitCost="3.50",
        reference=" PO-7 ", note="first delivery",
    )
    entry = entry_of(payload)
    assert entry["kind"] == "RECEIPT"
    assert (entry["quantity"], entry["balanceAfter"]) == (12, 12)
    assert Decimal(entry["unitCost"]) == Decimal("3.50")
    assert (entry["reference"], entry["note"]) == ("PO-7", "first delivery")
    assert entry["product"] == {"id": place["pid"]} and entry["warehouse"] == {"id": place["nid"]}
    assert levels_of(payload) == [(place["pid"], place["nid"], 12)]
    assert payload["replayed"] is False

    again = await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=3)
    assert entry_of(again)["balanceAfter"] == 15
    assert Decimal(entry_of(again)["unitCost"]) == Decimal("4.00")  # the preferred supplier's terms
    assert await level(database, place["p"], place["n"]) == 15
    assert await ledger_sum(database, place["p"], place["n"]) == 15


async def test_receipt_cost_defaults_to_the_average_without_a_preferred_supplier(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    plain, plain_id = await make_product(database, "PLAIN")
    first = await move(gql, RECEIVE, productId=plain_id, warehouseId=place["nid"], quantity=1)
    assert Decimal(entry_of(first)["unitCost"]) == Decimal(0)
    await move(gql, RECEIVE, productId=plain_id, warehouseId=place["nid"], quantity=2, unitCost="1.99")
    assert await average_cost(database, plain) == Decimal("1.3267")  # (0 + 2 * 1.99) / 3
    third = await move(gql, RECEIVE, productId=plain_id, warehouseId=place["nid"], quantity=1)
    assert Decimal(entry_of(third)["unitCost"]) == Decimal("1.33")


async def test_average_cost_is_weighted_over_stock_in_every_warehouse(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=3, unitCost="1.00")
    assert await average_cost(database, place["p"]) == Decimal("1.0000")
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["sid"], quantity=7, unitCost="2.35")
    # (3 × 1.00 + 7 × 2.35) / 10 = 19.45 / 10
    assert await average_cost(database, place["p"]) == Decimal("1.9450")
    # Shipping and returning move the quantity, not the average.
    await move(gql, SHIP, productId=place["pid"], warehouseId=place["sid"], quantity=4)
    await move(gql, RETURN, productId=place["pid"], warehouseId=place["sid"], quantity=1, unitCost="9.00")
    assert await average_cost(database, place["p"]) == Decimal("1.9450")
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=3, unitCost="1.00")
    # 7 on hand at 1.945, plus 3 at 1.00: 16.615 / 10
    assert await average_cost(database, place["p"]) == Decimal("1.6615")
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=3, unitCost="1.00")
    # 10 at 1.6615 plus 3 at 1.00: 19.615 / 13 = 1.508846..., kept to four places
    assert await average_cost(database, place["p"]) == Decimal("1.5088")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": 1_000_000_001}, "quantity"),
        ({"unitCost": "-0.01"}, "unitCost"),
        ({"unitCost": "1.005"}, "unitCost"),
        ({"reference": "R" * 101}, "reference"),
        ({"idempotencyKey": "   "}, "idempotencyKey"),
        ({"idempotencyKey": "k" * 201}, "idempotencyKey"),
        ({"productId": "not-an-id"}, "productId"),
        ({"warehouseId": global_id("Product", 1)}, "warehouseId"),
    ],
)
async def test_receive_stock_refuses_invalid_input(
    gql: GraphQLClient, database: Database, place: dict, fields: dict[str, Any], field: str
) -> None:
    input = {"productId": place["pid"], "warehouseId": place["nid"], "quantity": 1} | fields
    code = "NOT_FOUND" if field == "warehouseId" else "INVALID"
    await refused(gql, database, RECEIVE, code, field, **input)


async def test_receive_stock_refuses_missing_and_archived_rows(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    await refused(gql, database, RECEIVE, "NOT_FOUND", "productId", productId=MISSING_PRODUCT,
                  warehouseId=place["nid"], quantity=1)
    await refused(gql, database, RECEIVE, "NOT_FOUND", "warehouseId", productId=place["pid"],
                  warehouseId=MISSING_WAREHOUSE, quantity=1)
    _, closed = await make_warehouse(database, "CLOSED", active=False)
    message = await refused(gql, database, RECEIVE, "INVALID", "warehouseId", productId=place["pid"],
                            warehouseId=closed, quantity=1)
    assert "CLOSED" in message and "archived" in message
    _, retired = await make_product(database, "RETIRED", active=False)
    message = await refused(gql, database, RECEIVE, "INVALID", "productId", productId=retired,
                            warehouseId=place["nid"], quantity=1)
    assert "RETIRED" in message


# --- ship ---------------------------------------------------------------------------------------


async def test_ship_stock_records_a_negative_entry(gql: GraphQLClient, database: Database, place: dict) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=5)
    payload = await move(gql, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=5, reference="SO-1")
    entry = entry_of(payload)
    assert (entry["kind"], entry["quantity"], entry["balanceAfter"], entry["unitCost"]) == ("SHIPMENT", -5, 0, None)
    assert entry["reference"] == "SO-1"
    assert levels_of(payload) == [(place["pid"], place["nid"], 0)]
    assert await level(database, place["p"], place["n"]) == 0


async def test_ship_stock_says_how_many_are_available(gql: GraphQLClient, database: Database, place: dict) -> None:
    message = await refused(gql, database, SHIP, "INSUFFICIENT_STOCK", "quantity", productId=place["pid"],
                            warehouseId=place["nid"], quantity=1)
    assert "Only 0 units of BOLT are available in NORTH" in message
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=3)
    message = await refused(gql, database, SHIP, "INSUFFICIENT_STOCK", "quantity", productId=place["pid"],
                            warehouseId=place["nid"], quantity=4)
    assert "Only 3 units of BOLT are available in NORTH; 4 requested" in message
    await move(gql, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=2)
    message = await refused(gql, database, SHIP, "INSUFFICIENT_STOCK", "quantity", productId=place["pid"],
                            warehouseId=place["nid"], quantity=2)
    assert "Only 1 unit of BOLT is available" in message


async def test_ship_stock_refuses_missing_rows_and_bad_quantities(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    await refused(gql, database, SHIP, "NOT_FOUND", "productId", productId=MISSING_PRODUCT,
                  warehouseId=place["nid"], quantity=1)
    await refused(gql, database, SHIP, "NOT_FOUND", "warehouseId", productId=place["pid"],
                  warehouseId=MISSING_WAREHOUSE, quantity=1)
    await refused(gql, database, SHIP, "INVALID", "quantity", productId=place["pid"], warehouseId=place["nid"],
                  quantity=0)


# --- adjust -------------------------------------------------------------------------------------


async def test_adjust_stock_records_the_difference(gql: GraphQLClient, database: Database, place: dict) -> None:
    up = await move(gql, ADJUST, productId=place["pid"], warehouseId=place["nid"], countedQuantity=8, note="count")
    assert (entry_of(up)["kind"], entry_of(up)["quantity"], entry_of(up)["balanceAfter"]) == ("ADJUSTMENT", 8, 8)
    down = await move(gql, ADJUST, productId=place["pid"], warehouseId=place["nid"], countedQuantity=5)
    assert (entry_of(down)["quantity"], entry_of(down)["balanceAfter"]) == (-3, 5)
    assert levels_of(down) == [(place["pid"], place["nid"], 5)]
    assert await level(database, place["p"], place["n"]) == 5
    # Adjustments never change the average cost.
    assert await average_cost(database, place["p"]) == Decimal(0)


async def test_adjust_stock_to_the_same_count_records_nothing(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=4)
    before = await snapshot(database)
    same = await move(gql, ADJUST, productId=place["pid"], warehouseId=place["nid"], countedQuantity=4)
    assert same["transactions"] == []
    assert levels_of(same) == [(place["pid"], place["nid"], 4)]
    # Counting zero where nothing was ever stocked creates no level either.
    empty = await move(gql, ADJUST, productId=place["pid"], warehouseId=place["sid"], countedQuantity=0)
    assert (empty["transactions"], levels_of(empty)) == ([], [(place["pid"], place["sid"], 0)])
    assert await snapshot(database) == before


async def test_adjust_stock_is_allowed_in_archived_warehouses(gql: GraphQLClient, database: Database) -> None:
    _, retired = await make_product(database, "OLD", active=False)
    _, closed = await make_warehouse(database, "SHUT", active=False)
    payload = await move(gql, ADJUST, productId=retired, warehouseId=closed, countedQuantity=2)
    assert entry_of(payload)["quantity"] == 2


async def test_adjust_stock_refuses_bad_input(gql: GraphQLClient, database: Database, place: dict) -> None:
    await refused(gql, database, ADJUST, "INVALID", "countedQuantity", productId=place["pid"],
                  warehouseId=place["nid"], countedQuantity=-1)
    await refused(gql, database, ADJUST, "NOT_FOUND", "warehouseId", productId=place["pid"],
                  warehouseId=MISSING_WAREHOUSE, countedQuantity=1)
    await refused(gql, database, ADJUST, "NOT_FOUND", "productId", productId=MISSING_PRODUCT,
                  warehouseId=place["nid"], countedQuantity=1)


# --- transfer -----------------------------------------------------------------------------------


async def test_transfer_stock_makes_two_entries(gql: GraphQLClient, database: Database, place: dict) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=10)
    payload = await move(gql, TRANSFER, productId=place["pid"], fromWarehouseId=place["nid"],
                         toWarehouseId=place["sid"], quantity=4, note="rebalance")
    out, into = payload["transactions"]
    assert (out["kind"], out["quantity"], out["balanceAfter"], out["warehouse"]) == (
        "TRANSFER_OUT", -4, 6, {"id": place["nid"]}
    )
    assert (into["kind"], into["quantity"], into["balanceAfter"], into["warehouse"]) == (
        "TRANSFER_IN", 4, 4, {"id": place["sid"]}
    )
    assert out["note"] == into["note"] == "rebalance"
    assert levels_of(payload) == [(place["pid"], place["nid"], 6), (place["pid"], place["sid"], 4)]
    assert (await level(database, place["p"], place["n"]), await level(database, place["p"], place["s"])) == (6, 4)


async def test_transfer_stock_refusals(gql: GraphQLClient, database: Database, place: dict) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=2)
    base = {"productId": place["pid"], "fromWarehouseId": place["nid"], "toWarehouseId": place["sid"]}
    await refused(gql, database, TRANSFER, "INVALID", "toWarehouseId", **base | {"toWarehouseId": place["nid"]},
                  quantity=1)
    message = await refused(gql, database, TRANSFER, "INSUFFICIENT_STOCK", "quantity", **base, quantity=3)
    assert "Only 2 units" in message
    await refused(gql, database, TRANSFER, "NOT_FOUND", "fromWarehouseId",
                  **base | {"fromWarehouseId": MISSING_WAREHOUSE}, quantity=1)
    await refused(gql, database, TRANSFER, "NOT_FOUND", "toWarehouseId",
                  **base | {"toWarehouseId": MISSING_WAREHOUSE}, quantity=1)
    await refused(gql, database, TRANSFER, "INVALID", "quantity", **base, quantity=0)
    _, closed = await make_warehouse(database, "CLOSED", active=False)
    await refused(gql, database, TRANSFER, "INVALID", "toWarehouseId", **base | {"toWarehouseId": closed},
                  quantity=1)


async def test_transfer_out_of_an_archived_warehouse_is_allowed(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=2)
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE warehouses SET is_active = false WHERE id = :id"), {"id": place["n"]})
    payload = await move(gql, TRANSFER, productId=place["pid"], fromWarehouseId=place["nid"],
                         toWarehouseId=place["sid"], quantity=2)
    assert levels_of(payload) == [(place["pid"], place["nid"], 0), (place["pid"], place["sid"], 2)]


# --- return -------------------------------------------------------------------------------------


async def test_return_stock_puts_goods_back(gql: GraphQLClient, database: Database, place: dict) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=5, unitCost="2.00")
    payload = await move(gql, RETURN, productId=place["pid"], warehouseId=place["nid"], quantity=2,
                         unitCost="2.50", reference="RMA-3")
    entry = entry_of(payload)
    assert (entry["kind"], entry["quantity"], entry["balanceAfter"], entry["reference"]) == ("RETURN", 2, 7, "RMA-3")
    assert Decimal(entry["unitCost"]) == Decimal("2.50")
    assert await average_cost(database, place["p"]) == Decimal("2.0000")
    without_cost = await move(gql, RETURN, productId=place["pid"], warehouseId=place["nid"], quantity=1)
    assert entry_of(without_cost)["unitCost"] is None


async def test_return_stock_refusals(gql: GraphQLClient, database: Database, place: dict) -> None:
    await refused(gql, database, RETURN, "INVALID", "quantity", productId=place["pid"], warehouseId=place["nid"],
                  quantity=-1)
    await refused(gql, database, RETURN, "INVALID", "unitCost", productId=place["pid"], warehouseId=place["nid"],
                  quantity=1, unitCost="-1")
    await refused(gql, database, RETURN, "NOT_FOUND", "productId", productId=MISSING_PRODUCT,
                  warehouseId=place["nid"], quantity=1)
    _, closed = await make_warehouse(database, "CLOSED", active=False)
    await refused(gql, database, RETURN, "INVALID", "warehouseId", productId=place["pid"], warehouseId=closed,
                  quantity=1)


# --- idempotency --------------------------------------------------------------------------------


async def test_retry_returns_the_original_result_and_changes_nothing(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    input = {"productId": place["pid"], "warehouseId": place["nid"], "quantity": 6, "unitCost": "1.50",
             "idempotencyKey": "receipt-1"}
    first = await move(gql, RECEIVE, **input)
    assert first["replayed"] is False
    after_first = await snapshot(database)

    retry = await move(gql, RECEIVE, **input | {"unitCost": "1.5"})  # the same amount, written otherwise
    assert retry == first | {"replayed": True}
    assert await snapshot(database) == after_first

    # Other movements change the level; a retry still returns what the first request returned.
    await move(gql, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=4)
    before_retry = await snapshot(database)
    late = await move(gql, RECEIVE, **input)
    assert late == first | {"replayed": True}
    assert levels_of(late) == [(place["pid"], place["nid"], 6)]
    assert await snapshot(database) == before_retry
    assert await level(database, place["p"], place["n"]) == 2


async def test_each_mutation_replays_its_own_result(gql: GraphQLClient, database: Database, place: dict) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=20)
    requests = [
        (SHIP, {"warehouseId": place["nid"], "quantity": 2, "reference": "SO-9"}),
        (ADJUST, {"warehouseId": place["nid"], "countedQuantity": 15}),
        (ADJUST, {"warehouseId": place["nid"], "countedQuantity": 15}),  # nothing to record: replays that too
        (TRANSFER, {"fromWarehouseId": place["nid"], "toWarehouseId": place["sid"], "quantity": 5}),
        (RETURN, {"warehouseId": place["sid"], "quantity": 1}),
    ]
    for index, (mutation, fields) in enumerate(requests):
        input = {"productId": place["pid"], "idempotencyKey": f"key-{index}"} | fields
        first = await move(gql, mutation, **input)
        before = await snapshot(database)
        assert await move(gql, mutation, **input) == first | {"replayed": True}
        assert await snapshot(database) == before
    assert await level(database, place["p"], place["n"]) == 10
    assert await level(database, place["p"], place["s"]) == 6
    assert await count(database, "idempotency_keys") == len(requests)


async def test_a_key_reused_for_another_request_is_refused(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=5, idempotencyKey="k1")
    await refused(gql, database, RECEIVE, "IDEMPOTENCY_CONFLICT", "idempotencyKey", productId=place["pid"],
                  warehouseId=place["nid"], quantity=6, idempotencyKey="k1")
    await refused(gql, database, RECEIVE, "IDEMPOTENCY_CONFLICT", "idempotencyKey", productId=place["pid"],
                  warehouseId=place["sid"], quantity=5, idempotencyKey="k1")
    message = await refused(gql, database, SHIP, "IDEMPOTENCY_CONFLICT", "idempotencyKey", productId=place["pid"],
                            warehouseId=place["nid"], quantity=5, idempotencyKey="k1")
    assert "receiveStock" in message


async def test_a_key_is_its_senders_own(
    gql: GraphQLClient, gql_as: Callable[..., Awaitable[GraphQLClient]], database: Database, place: dict
) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=5, idempotencyKey="k1")
    clerk = await gql_as(Role.CLERK)
    # The administrator's key is no key of the clerk's: the clerk's shipment with it runs.
    shipped = await move(clerk, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=2, idempotencyKey="k1")
    assert shipped["replayed"] is False and entry_of(shipped)["balanceAfter"] == 3
    again = await move(clerk, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=2, idempotencyKey="k1")
    assert again == shipped | {"replayed": True}
    # A conflict names the sender's own earlier request, never another user's.
    message = await refused(clerk, database, ADJUST, "IDEMPOTENCY_CONFLICT", "idempotencyKey",
                            productId=place["pid"], warehouseId=place["nid"], countedQuantity=1, idempotencyKey="k1")
    assert "shipStock" in message and "receiveStock" not in message
    assert await level(database, place["p"], place["n"]) == 3
    assert await count(database, "idempotency_keys") == 2


async def age_key(database: Database, key: str, hours: float) -> None:
    """Make every stored `key` as old as if first sent `hours` ago."""
    async with database.engine.begin() as conn:
        await conn.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == key)
            .values(created_at=utcnow() - timedelta(hours=hours))
        )


async def stored_keys(database: Database) -> list[str]:
    async with database.engine.connect() as conn:
        return list((await conn.execute(select(IdempotencyKey.key).order_by(IdempotencyKey.key))).scalars())


async def test_a_key_expires_after_the_ttl(gql: GraphQLClient, database: Database, place: dict) -> None:
    input = {"productId": place["pid"], "warehouseId": place["nid"], "quantity": 4, "idempotencyKey": "daily"}
    first = await move(gql, RECEIVE, **input)
    await age_key(database, "daily", 23.9)  # the default TTL is 24 hours
    assert await move(gql, RECEIVE, **input) == first | {"replayed": True}

    await age_key(database, "daily", 24.1)
    afresh = await move(gql, RECEIVE, **input)
    assert afresh["replayed"] is False and entry_of(afresh)["id"] != entry_of(first)["id"]
    assert await level(database, place["p"], place["n"]) == 8
    # The key now dates from the new request: its retry replays the new result.
    assert await move(gql, RECEIVE, **input) == afresh | {"replayed": True}

    # An expired key is deleted by the claim of any new key; one that has not expired is kept.
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=1, idempotencyKey="young")
    await age_key(database, "daily", 30)
    await age_key(database, "young", 1)
    await move(gql, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=1, idempotencyKey="new")
    assert await stored_keys(database) == ["new", "young"]


async def test_the_key_ttl_is_a_setting(
    settings: Settings, database: Database, place: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVENTORY_IDEMPOTENCY_KEY_TTL_HOURS", "2")
    assert Settings().idempotency_key_ttl_hours == 2
    for refused_value in ("0", "-1"):
        monkeypatch.setenv("INVENTORY_IDEMPOTENCY_KEY_TTL_HOURS", refused_value)
        with pytest.raises(ValidationError):
            Settings()

    _user, token = await sign_in(database, Role.CLERK)
    input = {"productId": place["pid"], "warehouseId": place["nid"], "quantity": 1, "idempotencyKey": "hourly"}
    async with (
        serving(create_app(settings.model_copy(update={"idempotency_key_ttl_hours": 1}), database=database)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        client = GraphQLClient(http, token)
        first = await move(client, RECEIVE, **input)
        await age_key(database, "hourly", 0.9)
        assert (await move(client, RECEIVE, **input))["replayed"] is True
        await age_key(database, "hourly", 1.1)  # well within the default 24 hours, past this server's one
        assert (await move(client, RECEIVE, **input))["replayed"] is False
    assert entry_of(first)["balanceAfter"] == 1
    assert await level(database, place["p"], place["n"]) == 2


async def test_a_refused_request_keeps_no_key(gql: GraphQLClient, database: Database, place: dict) -> None:
    input = {"productId": place["pid"], "warehouseId": place["nid"], "quantity": 3, "idempotencyKey": "ship-1"}
    await refused(gql, database, SHIP, "INSUFFICIENT_STOCK", "quantity", **input)
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=3)
    shipped = await move(gql, SHIP, **input)
    assert shipped["replayed"] is False and entry_of(shipped)["balanceAfter"] == 0


async def test_concurrent_duplicates_make_one_movement(gql: GraphQLClient, database: Database, place: dict) -> None:
    input = {"productId": place["pid"], "warehouseId": place["nid"], "quantity": 2, "idempotencyKey": "burst"}
    payloads = await asyncio.gather(*(move(gql, RECEIVE, **input) for _ in range(10)))
    assert sorted(p["replayed"] for p in payloads) == [False] + [True] * 9
    assert len({entry_of(p)["id"] for p in payloads}) == 1
    assert {tuple(levels_of(p)) for p in payloads} == {((place["pid"], place["nid"], 2),)}
    assert await level(database, place["p"], place["n"]) == 2
    assert await count(database, "inventory_transactions") == 1


# --- failures half-way --------------------------------------------------------------------------


class InjectedFailure(Exception):
    pass


@contextmanager
def failing_ledger_insert(database: Database, nth: int) -> Iterator[list[str]]:
    """Make the `nth` INSERT into inventory_transactions fail, as a lost connection would."""
    seen: list[str] = []

    def before_execute(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO INVENTORY_TRANSACTIONS"):
            seen.append(statement)
            if len(seen) == nth:
                raise InjectedFailure("the ledger insert failed")

    event.listen(database.engine.sync_engine, "before_cursor_execute", before_execute)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", before_execute)


async def unexpected_error(gql: GraphQLClient, mutation: str, **input: Any) -> None:
    body = await gql.post(mutation, {"input": input})
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL_SERVER_ERROR"]


async def test_a_transfer_failing_half_way_changes_nothing(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=10)
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["sid"], quantity=1)
    before = await snapshot(database)
    with failing_ledger_insert(database, 2) as inserts:  # TRANSFER_OUT is written, TRANSFER_IN fails
        await unexpected_error(gql, TRANSFER, productId=place["pid"], fromWarehouseId=place["nid"],
                               toWarehouseId=place["sid"], quantity=4, idempotencyKey="t-1")
    assert len(inserts) == 2
    assert await snapshot(database) == before
    # The key was not kept: the retry does the transfer.
    payload = await move(gql, TRANSFER, productId=place["pid"], fromWarehouseId=place["nid"],
                         toWarehouseId=place["sid"], quantity=4, idempotencyKey="t-1")
    assert levels_of(payload) == [(place["pid"], place["nid"], 6), (place["pid"], place["sid"], 5)]


async def test_a_receipt_failing_after_the_level_update_changes_nothing(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=2, unitCost="1.00")
    before = await snapshot(database)
    with failing_ledger_insert(database, 1) as inserts:
        await unexpected_error(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=5,
                               unitCost="8.00", idempotencyKey="r-1")
    assert len(inserts) == 1
    assert await snapshot(database) == before
    assert await level(database, place["p"], place["n"]) == 2
    assert await average_cost(database, place["p"]) == Decimal("1.0000")


# --- deleting and auditing ----------------------------------------------------------------------


async def test_a_product_with_stock_history_cannot_be_deleted(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    plain, plain_id = await make_product(database, "NOHISTORY")
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=1)
    await move(gql, SHIP, productId=place["pid"], warehouseId=place["nid"], quantity=1)
    async with database.engine.begin() as conn:  # the supplier terms alone would block it too
        await conn.execute(text("DELETE FROM product_suppliers"))
    before = await snapshot(database)
    payload = (await gql(DELETE_PRODUCT, {"id": place["pid"]}))["deleteProduct"]
    assert payload["deletedId"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("IN_USE", "id")]
    assert "2 stock ledger entries" in payload["errors"][0]["message"]
    assert "archive" in payload["errors"][0]["message"]
    assert await snapshot(database) == before

    deleted = (await gql(DELETE_PRODUCT, {"id": plain_id}))["deleteProduct"]
    assert deleted == {"deletedId": plain_id, "errors": []}


async def test_a_warehouse_with_stock_history_cannot_be_deleted(
    gql: GraphQLClient, database: Database, place: dict
) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=1)
    with pytest.raises(Exception, match="(?i)foreign key"):
        async with database.engine.begin() as conn:
            await conn.execute(text("DELETE FROM warehouses WHERE id = :id"), {"id": place["n"]})
    assert await count(database, "warehouses") == 2


async def test_audit_names_the_levels_that_differ_from_the_ledger(
    gql: GraphQLClient, database: Database, database_url: str, place: dict
) -> None:
    await move(gql, RECEIVE, productId=place["pid"], warehouseId=place["nid"], quantity=5)
    await move(gql, TRANSFER, productId=place["pid"], fromWarehouseId=place["nid"], toWarehouseId=place["sid"],
               quantity=2)
    async with database.read_session() as session:
        assert await stock.audit(session) == []
    runner = CliRunner()
    env = {"INVENTORY_DATABASE_URL": database_url}
    result = await asyncio.to_thread(runner.invoke, app, ["audit"], env=env)
    assert (result.exit_code, result.output.strip()) == (0, "stock levels match the ledger")

    await make_product(database, "LOOSE")
    async with database.engine.begin() as conn:
        # A level changed behind the ledger's back, and one that has no entries at all.
        await conn.execute(
            text("UPDATE stock_levels SET quantity = quantity + 1 WHERE warehouse_id = :w"), {"w": place["s"]}
        )
        await conn.execute(
            text("INSERT INTO stock_levels (product_id, warehouse_id, quantity, updated_at) "
                 "SELECT id, :w, 4, created_at FROM products WHERE sku = 'LOOSE'"),
            {"w": place["n"]},
        )
    async with database.read_session() as session:
        mismatches = await stock.audit(session)
    assert [(m.product_sku, m.warehouse_code, m.level, m.ledger_sum, m.last_balance) for m in mismatches] == [
        ("BOLT", "SOUTH", 3, 2, 2),
        ("LOOSE", "NORTH", 4, 0, None),
    ]
    result = await asyncio.to_thread(runner.invoke, app, ["audit"], env=env)
    assert result.exit_code == 1
    assert "BOLT" in result.output and "SOUTH" in result.output and "LOOSE" in result.output
