"""The per-process live feed behind the subscriptions: new ledger entries, read once per process and handed
to every subscriber of this process; and the open WebSocket connections, checked again when their user
changes.

PostgreSQL: one connection of its own, outside the pool, LISTENs on the channels db/live.py notifies;
a ledger notification makes the feed read the entries after its position, once, whatever the number of
subscribers. If that connection drops, the feed reconnects with backoff and reads from its position again,
so nothing is missed. SQLite: the signal db/live.py sends after this process's commits, and a poll of the
highest ledger id for other processes' writes.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from db import live as live_db
from db.config import Settings
from db.engine import Database
from db.models import InventoryTransaction

log = logging.getLogger(__name__)

# Rows per read of the ledger (the feed's and a replay's).
PAGE = 500
# Events a subscriber may have waiting; a client that falls further behind is ended (it may resume
# with `after`) rather than let the server's memory grow.
QUEUE_LIMIT = 10_000
# Connections of the feed's own pool.
FEED_POOL_SIZE = 4
# The LISTEN connection's name in pg_stat_activity.
APPLICATION_NAME = "inventory live feed"


@dataclass(frozen=True)
class LedgerEvent:
    """One ledger entry as committed, with its product's reorder point (for lowStockReached)."""

    entry: InventoryTransaction
    reorder_point: int

    @property
    def id(self) -> int:
        return self.entry.id


class FellBehind(Exception):
    """A subscriber's queue overflowed: it was not reading fast enough."""


@dataclass(eq=False)
class Subscriber:
    """The events of the feed from the moment of subscribing, in id order."""

    queue: asyncio.Queue[LedgerEvent | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    overflowed: bool = False

    def put(self, event: LedgerEvent) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # What it has not read goes; the end takes its place (a reader waiting on the queue gets it).
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def next(self) -> LedgerEvent:
        event = await self.queue.get()
        if event is None:
            raise FellBehind
        return event


def listen_dsn(database_url: str) -> str:
    """The asyncpg DSN of an SQLAlchemy PostgreSQL URL."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class LiveFeed:
    """The process's feed. Its reads (the feed's, replays, token checks) go through an engine of its own with
    a small pool: they never wait behind requests for a pooled connection, nor count among theirs."""

    def __init__(self, settings: Settings) -> None:
        self.database = Database(settings.model_copy(update={"pool_size": FEED_POOL_SIZE, "pool_max_overflow": 0}))
        self.settings = settings
        self.position = 0  # the highest ledger id handed to subscribers
        self._position_made: Any = None  # that entry's created_at: tells the same ledger from a new one
        self.subscribers: set[Subscriber] = set()
        self.user_listeners: list[Callable[[int | None], None]] = []
        self.append_listeners: list[Callable[[], None]] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listen_connection: Any = None
        self.connected = asyncio.Event()  # PostgreSQL: the LISTEN connection is up

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the feed's tasks; it reads nothing here, so that the server starts with the database down."""
        self._tasks.append(asyncio.create_task(self._read_loop(), name="live feed: read"))
        if self.database.postgresql:
            self._tasks.append(asyncio.create_task(self._listen_loop(), name="live feed: listen"))
        else:
            live_db.ledger_appended.connect(self._on_appended)
            live_db.user_changed.connect(self._on_user_changed)
            self._tasks.append(asyncio.create_task(self._poll_loop(), name="live feed: poll"))
            self.connected.set()

    async def stop(self) -> None:
        live_db.ledger_appended.disconnect(self._on_appended)
        live_db.user_changed.disconnect(self._on_user_changed)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._listen_connection is not None:
            with contextlib.suppress(Exception):
                await self._listen_connection.close(timeout=2)
        await self.database.dispose()

    # --- subscribing ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscriber]:
        """A subscriber that gets every entry the feed reads from now on, until the block ends."""
        subscriber = Subscriber()
        self.subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self.subscribers.discard(subscriber)

    def on_user_changed(self, callback: Callable[[int | None], None]) -> None:
        """Call `callback(user_id)` when a user's tokens, role or active flag changed (None: maybe anyone's,
        after the feed lost its connection)."""
        self.user_listeners.append(callback)

    def on_appended(self, callback: Callable[[], None]) -> None:
        """Call `callback()` each time the feed has read new entries (the webhook deliverer's wake-up)."""
        self.append_listeners.append(callback)

    # --- wake-ups ---------------------------------------------------------------------------

    def _on_appended(self, newest: Any) -> None:
        with contextlib.suppress(TypeError, ValueError):
            if int(newest) == self.position:
                return  # read already (a transfer announces each of its two entries)
        # A lower id than the position is read for too: the ledger may have been emptied or restored.
        self._wake.set()

    def _on_user_changed(self, user_id: int | None) -> None:
        for callback in list(self.user_listeners):
            callback(user_id)

    def _on_notification(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        if channel == live_db.LEDGER_CHANNEL:
            self._on_appended(payload)
        elif channel == live_db.USERS_CHANNEL:
            with contextlib.suppress(ValueError):
                self._on_user_changed(int(payload))

    # --- loops ------------------------------------------------------------------------------

    async def _find_position(self) -> None:
        """Start from the newest entry: entries committed earlier are for `after` to replay."""
        while True:
            try:
                async with self.database.read_session() as session:
                    self.position = await live_db.newest_id(session)
                    self._position_made = await live_db.created_at(session, entry_id=self.position)
                return
            except Exception as error:  # noqa: BLE001 - the database may be down for a while
                log.warning("the live feed could not read the ledger (%s); retrying", error)
                await asyncio.sleep(self.settings.live_poll_seconds * 4)

    async def _read_loop(self) -> None:
        await self._find_position()
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._read_new()
            except Exception:
                log.exception("the live feed could not read the ledger; trying again")
                await asyncio.sleep(self.settings.live_poll_seconds)
                self._wake.set()

    async def _read_new(self) -> None:
        """Hand every entry after the position to the subscribers, in id order."""
        while True:
            async with self.database.read_session() as session:
                # The entry at the position is read again, to tell that the ledger is still the same one.
                since = self.position - 1 if self.position else 0
                rows = await live_db.entries_after(session, after_id=since, limit=PAGE + 1)
                if self.position:
                    if not rows or (rows[0][0].id, rows[0][0].created_at) != (self.position, self._position_made):
                        await self._ledger_replaced(session)
                        continue
                    rows = rows[1:]
            for entry, reorder_point in rows[:PAGE]:
                event = LedgerEvent(entry, reorder_point)
                for subscriber in list(self.subscribers):
                    subscriber.put(event)
                self.position, self._position_made = entry.id, entry.created_at
            if rows:
                for callback in list(self.append_listeners):
                    callback()
            if len(rows) < PAGE:
                return

    async def _ledger_replaced(self, session: Any) -> None:
        """The entry at the position is gone or another one: the ledger was emptied (tests) or restored
        from a backup. A short ledger is then sent from its start, a long one from its end (its history is
        the `transactions` query's)."""
        newest = await live_db.newest_id(session)
        self.position = 0 if newest <= PAGE else newest
        self._position_made = await live_db.created_at(session, entry_id=self.position)

    async def _poll_loop(self) -> None:
        """SQLite: other processes' appends, seen by the highest id."""
        while True:
            await asyncio.sleep(self.settings.live_poll_seconds)
            try:
                async with self.database.read_session() as session:
                    newest = await live_db.newest_id(session)
            except Exception:
                log.exception("the live feed could not poll the ledger")
                continue
            if newest != self.position:
                self._wake.set()

    async def _listen_loop(self) -> None:
        """PostgreSQL: keep one LISTEN connection up; after each (re)connection, read what was missed."""
        backoff = 0.5
        first = True
        while True:
            closed = asyncio.Event()
            try:
                connection = await asyncpg.connect(
                    listen_dsn(self.settings.database_url), server_settings={"application_name": APPLICATION_NAME}
                )
            except Exception as error:  # noqa: BLE001 - the database may be down for a while
                log.warning("the live feed could not connect to listen (%s); retrying in %.1f s", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            self._listen_connection = connection
            try:
                connection.add_termination_listener(lambda _c: closed.set())
                await connection.add_listener(live_db.LEDGER_CHANNEL, self._on_notification)
                await connection.add_listener(live_db.USERS_CHANNEL, self._on_notification)
                backoff = 0.5
                self.connected.set()
                if not first:
                    log.info("the live feed listens again; reading what it missed")
                    self._on_user_changed(None)  # a user change may have been missed too
                first = False
                self._wake.set()
                while not closed.is_set():
                    # A dead peer is not always reported: a cheap statement now and then finds out.
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(closed.wait(), timeout=self.settings.live_poll_seconds * 20)
                    if not closed.is_set():
                        await asyncio.wait_for(connection.execute("SELECT 1"), timeout=10)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001
                log.warning("the live feed lost its connection (%s); reconnecting", error)
            finally:
                self.connected.clear()
                self._listen_connection = None
                with contextlib.suppress(Exception):
                    connection.terminate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
