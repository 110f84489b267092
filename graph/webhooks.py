"""The webhook deliverer: a task in every server process, delivering in one at a time. It POSTs each ledger
entry's event to the endpoints that take it, signed, in ledger order, retrying failures with backoff
(db/webhooks.py keeps the rules and the log).

One process delivers: on PostgreSQL the one holding a session-level advisory lock on a connection of its
own (when that process dies, its connection closes and another takes over within LEADER_RETRY_SECONDS); on
SQLite the one holding an exclusive lock on a file beside the database. The deliverer reads and writes
through an engine of its own, so it takes nothing from the pool requests are served by.
"""

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db import webhooks as webhooks_db
from db.config import Settings
from db.engine import Database
from db.types import utcnow
from graph.relay import to_global_id

logger = logging.getLogger("inventory.webhooks")

EVENT_ID_HEADER = "Inventory-Event-Id"
SIGNATURE_HEADER = "Inventory-Signature"
# The advisory lock's key on PostgreSQL: any fixed 64-bit number the application uses for nothing else.
LEADER_LOCK_KEY = 0x696E7677
# How often a process that does not deliver tries to become the one that does.
LEADER_RETRY_SECONDS = 5.0
# Ledger entries read at once for one endpoint.
_BATCH = 100


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(event: webhooks_db.Event, names: list[str]) -> bytes:
    """The JSON body of an event's request: ids as the API gives them (global IDs), amounts as text."""
    entry = event.entry
    body = {
        "eventId": entry.id,
        "events": names,
        "occurredAt": entry.created_at.isoformat(),
        "data": {
            "transaction": {
                "id": to_global_id("InventoryTransaction", entry.id),
                "kind": entry.kind.value,
                "quantity": entry.quantity,
                "balanceAfter": entry.balance_after,
                "unitCost": None if entry.unit_cost is None else str(entry.unit_cost),
                "reference": entry.reference,
                "note": entry.note,
                "createdAt": entry.created_at.isoformat(),
                "productId": to_global_id("Product", entry.product_id),
                "warehouseId": to_global_id("Warehouse", entry.warehouse_id),
                "purchaseOrderId": None
                if entry.purchase_order_id is None
                else to_global_id("PurchaseOrder", entry.purchase_order_id),
                "createdById": None if entry.created_by_id is None else to_global_id("User", entry.created_by_id),
            },
            "product": {"id": to_global_id("Product", entry.product_id), "sku": event.sku},
            "warehouse": {"id": to_global_id("Warehouse", entry.warehouse_id), "code": event.warehouse_code},
            "stockLevel": {"quantityOnHand": entry.balance_after},
        },
    }
    return orjson.dumps(body)


class _Batch:
    """The entries one endpoint's delivery read last, from the cursor it read them after: each delivery
    uses the next of them, rather than reading a batch again for every entry."""

    def __init__(self) -> None:
        self.cursor = -1
        self.events: list[webhooks_db.Event] = []

    def keep(self, cursor: int, events: list[webhooks_db.Event]) -> None:
        self.cursor, self.events = cursor, events

    def after(self, cursor: int) -> list[webhooks_db.Event]:
        """The kept entries after `cursor`; none when the batch was read after a later one (they would not
        include all of them) or holds none after it."""
        if cursor < self.cursor:
            return []
        self.events = [event for event in self.events if event.entry.id > cursor]
        return self.events


class Deliverer:
    """Started and stopped by the app's lifespan. `wake()` says new ledger entries may be there (else it
    looks every `webhook_poll_seconds`)."""

    def __init__(
        self, settings: Settings, database: Database | None = None, *, leader_retry: float = LEADER_RETRY_SECONDS
    ) -> None:
        self.settings = settings
        self.leader_retry = leader_retry
        # An in-memory SQLite database exists only in the app's engine: use it; else an engine of our own.
        self._own_database = database is None or not _in_memory(settings)
        self.database = Database(settings) if self._own_database else database  # type: ignore[assignment]
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy: dict[int, asyncio.Task[None]] = {}
        self._requests = asyncio.Semaphore(settings.webhook_concurrency)
        self._client: httpx.AsyncClient | None = None
        self.leading = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook deliverer")

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._busy.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._own_database:
            await self.database.dispose()

    async def _run(self) -> None:
        while True:
            try:
                async with self._leadership() as leading:
                    if leading:
                        self.leading = True
                        logger.info("delivering webhooks in this process")
                        await self._deliver(leading)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("webhook deliverer failed; starting again")
            finally:
                self.leading = False
                # Another process may deliver from now on: what this one had under way stops.
                for task in list(self._busy.values()):
                    task.cancel()
            await asyncio.sleep(self.leader_retry)

    @contextlib.asynccontextmanager
    async def _leadership(self) -> AsyncIterator[Any]:
        """Yields a check that this process still delivers (a coroutine function returning bool), or None
        while another process does."""
        if not self.settings.is_sqlite:
            async with self.database.engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                got = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY})
                if not got:
                    yield None
                    return

                async def still_leading() -> bool:
                    await connection.scalar(text("SELECT 1"))  # raises once the connection (and lock) is gone
                    return True

                try:
                    yield still_leading
                finally:
                    with contextlib.suppress(Exception):
                        await connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY})
            return
        path = _lock_path(self.settings)
        if path is None:
            yield _always
            return
        with open(path, "a+b") as lock_file:
            try:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
            try:
                yield _always
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    async def _deliver(self, still_leading: Any) -> None:
        timeout = httpx.Timeout(self.settings.webhook_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            self._client = client
            while await still_leading():
                wait = self.settings.webhook_poll_seconds
                try:
                    wait = await self._round()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("webhook round failed")
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _round(self) -> float:
        """Start delivering to every endpoint that is due and not being delivered to; returns how long to
        wait for the next round."""
        now = utcnow()
        async with self.database.read_session() as session:
            endpoints = await webhooks_db.endpoints_to_deliver(session, now=now)
            soonest = await webhooks_db.next_attempt_due(session)
        for endpoint in endpoints:
            if endpoint.id not in self._busy:
                task = asyncio.create_task(self._drain(endpoint.id))
                self._busy[endpoint.id] = task
                task.add_done_callback(lambda _t, pk=endpoint.id: self._busy.pop(pk, None))
        wait = self.settings.webhook_poll_seconds
        if soonest is not None and soonest > now:
            wait = min(wait, (soonest - now).total_seconds())
        return max(wait, 0.01)

    async def _drain(self, endpoint_id: int) -> None:
        """Deliver to one endpoint, event after event, until it is caught up, fails or is switched off."""
        batch = _Batch()
        try:
            while await self._next(endpoint_id, batch):
                pass
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("webhook delivery to endpoint %s failed", endpoint_id)

    async def _next(self, endpoint_id: int, batch: "_Batch") -> bool:
        """Deal with the endpoint's next entries: skip those that make none of its events, deliver the first
        that makes one. Returns whether to go on. The endpoint is read again each time (an administrator may
        change it); its entries come from `batch` while it still holds the ones after its cursor."""
        async with self.database.read_session() as session:
            endpoint = await webhooks_db.get_endpoint(session, endpoint_id=endpoint_id)
            if endpoint is None or not endpoint.is_active:
                return False
            if endpoint.next_attempt_at is not None and endpoint.next_attempt_at > utcnow():
                return False
            events = batch.after(endpoint.last_event_id)
            if not events:
                events = await webhooks_db.events_after(session, after_id=endpoint.last_event_id, limit=_BATCH)
                batch.keep(endpoint.last_event_id, events)
        if not events:
            return False
        wanted = set(endpoint.events)
        for event in events:
            names = [name for name in event.names if name in wanted]
            if names:
                break
        else:
            async with self.database.write_session() as session, session.begin():
                await webhooks_db.skip_to(session, endpoint_id=endpoint_id, event_id=events[-1].entry.id)
            return True
        index = events.index(event)
        if index > 0:
            async with self.database.write_session() as session, session.begin():
                await webhooks_db.skip_to(session, endpoint_id=endpoint_id, event_id=events[index - 1].entry.id)
            return True  # read the endpoint again, its cursor now just before the event
        outcome = await self._post(endpoint, event, names)
        async with self.database.write_session() as session, session.begin():
            return await webhooks_db.record_attempt(
                session,
                endpoint=endpoint,
                event_id=event.entry.id,
                outcome=outcome,
                max_failures=self.settings.webhook_max_failures,
                backoff_base=self.settings.webhook_backoff_base_seconds,
                backoff_max=self.settings.webhook_backoff_max_seconds,
            )

    async def _post(self, endpoint: Any, event: webhooks_db.Event, names: list[str]) -> webhooks_db.Outcome:
        started = time.monotonic()

        def outcome(status: int | None, error: str | None) -> webhooks_db.Outcome:
            return webhooks_db.Outcome(status, error, (time.monotonic() - started) * 1000)

        problem = await webhooks_db.url_problem(endpoint.url, allow_private=self.settings.webhooks_allow_private)
        if problem is not None:
            return outcome(None, problem.replace("`url`", "The URL"))
        body = event_body(event, names)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "inventory-webhooks/1",
            EVENT_ID_HEADER: str(event.entry.id),
            SIGNATURE_HEADER: sign(endpoint.secret, body, int(time.time())),
        }
        assert self._client is not None
        async with self._requests:
            try:
                response = await self._client.post(endpoint.url, content=body, headers=headers)
            except httpx.TimeoutException:
                return outcome(None, f"No response within {self.settings.webhook_timeout_seconds:g} s.")
            except httpx.HTTPError as error:
                return outcome(None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
        if 200 <= response.status_code < 300:
            return outcome(response.status_code, None)
        return outcome(response.status_code, f"HTTP {response.status_code}")


async def _always() -> bool:
    return True


def _in_memory(settings: Settings) -> bool:
    return settings.is_sqlite and _lock_path(settings) is None


def _lock_path(settings: Settings) -> str | None:
    """The lock file beside a SQLite database file; None for an in-memory database."""
    name = make_url(settings.database_url).database
    if not name or name == ":memory:" or name.startswith("file::memory:"):
        return None
    return f"{name}-webhooks.lock"

