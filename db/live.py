"""What live subscribers hear about: new ledger entries and changed users, announced from the transactions
that make them; and the ledger read in id order, which is commit order.

Ledger ids are handed out when an entry is inserted, but a reader that follows "entries with id > cursor"
must never see id n+1 before id n has committed, or it steps over n for good. On PostgreSQL every
transaction that appends to the ledger therefore takes one advisory lock first (`lock_appends`) and holds it
to commit: appends take turns, and ids commit in the order they were given. SQLite's write transactions
(BEGIN IMMEDIATE) take turns already.

Announcements: on PostgreSQL a NOTIFY inside the transaction, which PostgreSQL delivers to every listening
process at commit and drops on rollback; on SQLite a signal inside this process after commit (the
other processes poll). graph/ registers the callbacks; db/ knows nothing of who listens.
"""

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from db.locks import lock_key
from db.models import InventoryTransaction, Product, TransactionKind

LEDGER_CHANNEL = "inventory_ledger"
USERS_CHANNEL = "inventory_users"
LEDGER_APPENDS = "inventory: ledger appends"
_APPENDS_KEY = lock_key(LEDGER_APPENDS)

# session.info keys: what the session's transaction announced, for the SQLite signal after commit
_LEDGER_APPENDED = "live.ledger_appended"
_USERS_CHANGED = "live.users_changed"


class Signal:
    """Callbacks run in this process after a commit that announced something (SQLite). They run inside the
    event loop, in SQLAlchemy's commit: they must only schedule work (set an event), never wait."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[Any], None]] = []

    def connect(self, callback: Callable[[Any], None]) -> None:
        self.callbacks.append(callback)

    def disconnect(self, callback: Callable[[Any], None]) -> None:
        if callback in self.callbacks:
            self.callbacks.remove(callback)

    def send(self, value: Any) -> None:
        for callback in list(self.callbacks):
            callback(value)


# The newest ledger id a committed transaction of this process appended; the id of a changed user.
ledger_appended = Signal()
user_changed = Signal()


def _postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def lock_appends(session: AsyncSession) -> None:
    """Take the ledger's append lock (PostgreSQL) until the transaction ends. Call it first in a
    transaction that may append entries, before any row lock: every appender then waits here holding
    nothing, so the lock cannot deadlock with the stock levels' row locks. Reentrant."""
    if _postgresql(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPENDS_KEY})


async def announce(session: AsyncSession, *, newest_id: int | None = None) -> None:
    """Say that the transaction appended ledger entries, the newest `newest_id` (None: read it here,
    under the append lock, where the highest id is this transaction's own)."""
    if _postgresql(session):
        payload = "(SELECT max(id) FROM inventory_transactions)::text" if newest_id is None else ":payload"
        await session.execute(
            text(f"SELECT pg_notify('{LEDGER_CHANNEL}', {payload})"),
            {} if newest_id is None else {"payload": str(newest_id)},
        )
    else:
        # -1 when the id is not known here: no position equals it, so the feed reads.
        known = -1 if newest_id is None else newest_id
        session.info[_LEDGER_APPENDED] = max(known, session.info.get(_LEDGER_APPENDED, -1))


async def announce_user(session: AsyncSession, *, user_id: int) -> None:
    """Say that the transaction changed what a user may do (its tokens, role or active flag), so that its
    open subscriptions are checked again."""
    if _postgresql(session):
        await session.execute(text(f"SELECT pg_notify('{USERS_CHANNEL}', :payload)"), {"payload": str(user_id)})
    else:
        session.info.setdefault(_USERS_CHANGED, set()).add(user_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    appended = session.info.pop(_LEDGER_APPENDED, None)
    users = session.info.pop(_USERS_CHANGED, None)
    if appended is not None:
        ledger_appended.send(appended)
    for user_id in users or ():
        user_changed.send(user_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_LEDGER_APPENDED, None)
    session.info.pop(_USERS_CHANGED, None)


# --- reading ------------------------------------------------------------------------------------


async def entries_after(
    session: AsyncSession,
    *,
    after_id: int,
    limit: int,
    product_id: int | None = None,
    warehouse_id: int | None = None,
    kinds: Sequence[TransactionKind] | None = None,
) -> list[tuple[InventoryTransaction, int]]:
    """Up to `limit` ledger entries with ids above `after_id`, in id order (= commit order), each with its
    product's reorder point as it is now; narrowed to a product, a warehouse and kinds when given."""
    entry = InventoryTransaction
    query = (
        select(entry, Product.reorder_point)
        .join(Product, Product.id == entry.product_id)
        .where(entry.id > after_id)
        .order_by(entry.id)
        .limit(limit)
    )
    if product_id is not None:
        query = query.where(entry.product_id == product_id)
    if warehouse_id is not None:
        query = query.where(entry.warehouse_id == warehouse_id)
    if kinds:
        query = query.where(entry.kind.in_(list(kinds)))
    rows = await session.execute(query)
    return [(row[0], row[1]) for row in rows]


async def created_at(session: AsyncSession, *, entry_id: int) -> Any:
    """When the entry `entry_id` was made; None if there is none (the ledger was emptied or restored)."""
    return await session.scalar(select(InventoryTransaction.created_at).where(InventoryTransaction.id == entry_id))


async def newest_id(session: AsyncSession) -> int:
    """The highest ledger id (0 for an empty ledger)."""
    return (await session.scalar(select(func.coalesce(func.max(InventoryTransaction.id), 0)))) or 0
