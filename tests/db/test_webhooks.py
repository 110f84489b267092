"""Webhook rules without HTTP in between: which URLs are refused, which events an entry makes, the backoff,
and that of several deliverers on one database one delivers, another taking over when it stops."""

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from db import catalog, migrate, stock, warehouses, webhooks
from db.config import Settings
from db.engine import Database
from db.models import WebhookDelivery
from graph.webhooks import Deliverer


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8000/hook",
        "http://10.0.0.1/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://224.0.0.251/",
        "http://240.0.0.1/",
        "http://[::1]/",
        "http://[fc00::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://100.64.1.1/",
    ],
)
async def test_non_public_addresses_are_refused_unless_allowed(url: str) -> None:
    problem = await webhooks.url_problem(url, allow_private=False)
    assert problem is not None and "not a public address" in problem
    assert await webhooks.url_problem(url, allow_private=True) is None


@pytest.mark.parametrize("url", ["https://93.184.215.14/hook", "http://[2606:4700::1111]:8080/x"])
async def test_public_addresses_are_taken(url: str) -> None:
    assert await webhooks.url_problem(url, allow_private=False) is None


@pytest.mark.parametrize(
    "url", ["ftp://93.184.215.14/", "file:///etc/passwd", "https://", "javascript:alert(1)", "http://[::1/"]
)
async def test_only_http_urls_with_a_host_are_taken(url: str) -> None:
    assert await webhooks.url_problem(url, allow_private=True) is not None


@pytest.mark.parametrize(
    ("quantity", "balance_after", "reorder_point", "low"),
    [
        (-4, 3, 5, True),  # 7 -> 3
        (-2, 5, 5, True),  # 7 -> 5: at the point is low
        (-1, 4, 5, False),  # 5 -> 4: already at or below it
        (-1, 6, 5, False),  # 7 -> 6: still above
        (3, 3, 5, False),  # a receipt never reaches low stock
        (-4, 0, 0, False),  # no reorder point
    ],
)
def test_an_entry_reaches_low_stock_when_it_crosses_the_reorder_point(
    quantity: int, balance_after: int, reorder_point: int, low: bool
) -> None:
    entry = SimpleNamespace(quantity=quantity, balance_after=balance_after)
    names = webhooks.event_names(entry, reorder_point)  # type: ignore[arg-type]
    assert names[:2] == ("TRANSACTION_ADDED", "STOCK_CHANGED")
    assert ("LOW_STOCK_REACHED" in names) is low


def test_backoff_doubles_up_to_the_maximum_less_up_to_half() -> None:
    for failures, full in ((1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (200, 3600)):
        waits = [webhooks.backoff(failures, base=10, maximum=3600).total_seconds() for _ in range(200)]
        assert all(full / 2 <= wait <= full for wait in waits), (failures, min(waits), max(waits))
        assert len(set(waits)) > 1  # jittered


@pytest.fixture
async def fresh(fresh_database_url: str) -> AsyncIterator[Database]:
    """A migrated database of its own: the test server's deliverer (holding the lock on the test database)
    does not see it."""
    database = Database(Settings(database_url=fresh_database_url))
    await migrate.upgrade(database.engine)
    yield database
    await database.dispose()


async def _wait(condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_one_deliverer_delivers_and_another_takes_over_when_it_stops(fresh: Database) -> None:
    settings = fresh.settings.model_copy(update={"webhook_poll_seconds": 0.05})
    first = Deliverer(settings, fresh, leader_retry=0.05)
    second = Deliverer(settings, fresh, leader_retry=0.05)
    first.start()
    try:
        await _wait(lambda: first.leading)
        second.start()
        await asyncio.sleep(0.5)
        assert not second.leading
        await first.stop()
        await _wait(lambda: second.leading)
    finally:
        await first.stop()
        await second.stop()


async def test_an_address_is_checked_again_when_delivering(fresh: Database) -> None:
    """An endpoint saved while private addresses were allowed is not sent to once they are not: the attempt
    is logged as a failure, without a status."""
    async with fresh.write_session() as session, session.begin():
        product = await catalog.create_product(session, sku="P-1", name="P", unit_price=Decimal("1.00"))
        warehouse = await warehouses.create_warehouse(session, code="W", name="W")
        saved = await webhooks.create_endpoint(
            session, url="http://127.0.0.1:9/hook", events=["STOCK_CHANGED"], allow_private=True
        )
        await session.flush()
    async with fresh.write_session() as session, session.begin():
        await stock.receive_stock(session, product_id=product.id, warehouse_id=warehouse.id, quantity=2)

    settings = fresh.settings.model_copy(update={"webhook_poll_seconds": 0.05, "webhooks_allow_private": False})
    deliverer = Deliverer(settings, fresh, leader_retry=0.05)
    deliverer.start()
    try:
        async def logged() -> list[WebhookDelivery]:
            async with fresh.read_session() as session:
                return list(await session.scalars(select(WebhookDelivery)))

        deadline = time.monotonic() + 15
        while not (found := await logged()):
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.05)
    finally:
        await deliverer.stop()
    (attempt,) = found
    assert attempt.endpoint_id == saved.endpoint.id and attempt.status_code is None and attempt.attempt == 1
    assert attempt.error is not None and "not a public address" in attempt.error
