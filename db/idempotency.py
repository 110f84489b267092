"""Idempotency keys: a retried request returns what the first one produced and changes nothing; the same
key with a different request is refused.

A key is its sender's own (keys are stored per user and key): another user's request with the same key is
a new request. A key lasts `ttl` (`Settings.idempotency_key_ttl_hours`) from the request that first sent
it; after that it counts as absent, and the claim of a new key deletes expired ones.

Use inside the request's write transaction, claim first:

    replay = await claim(session, key=key, user_id=user_id, operation="receiveStock", payload=arguments, ttl=ttl)
    if replay is not None:
        entries = await replayed_transactions(session, replay)   # the original entries, re-read
    else:
        entries = [...]                                          # do the work
        await remember(session, key=key, user_id=user_id, transaction_ids=[e.id for e in entries])

The key row is inserted by `claim`, before any other write, and is committed or rolled back with the
work: a refused request leaves no key behind, so it may be retried. A concurrent duplicate waits on the
key (PostgreSQL waits for the first insert to commit; SQLite's write transactions take turns from BEGIN)
and then replays the stored result.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import IdempotencyConflict, Invalid
from db.lengths import MAX_IDEMPOTENCY_KEY_LENGTH
from db.models import IdempotencyKey, InventoryTransaction
from db.stock import Level, levels_after
from db.types import utcnow

FIELD = "idempotencyKey"
MAX_KEY_LENGTH = MAX_IDEMPOTENCY_KEY_LENGTH
# Stored until `remember` writes the outcome in the same transaction; never visible once committed.
_PENDING = ""
# The most expired keys one claim deletes: a claim stays cheap after a quiet spell that left many, and
# as each claim adds one key the expired ones still dwindle.
EXPIRED_PER_CLAIM = 100


@dataclass(frozen=True)
class Replay:
    """What the first request with a key produced: its ledger entries, stock levels and any extra data."""

    transaction_ids: tuple[int, ...]
    # None when the first request stored none: rebuild them from the entries (`levels_after`).
    levels: tuple[Level, ...] | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        # 1.5 and 1.50 are the same amount.
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot hash a {type(value).__name__} in an idempotent request")


def request_hash(operation: str, payload: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys) of the operation and its arguments."""
    document = orjson.dumps(
        {"operation": operation, "payload": dict(payload)}, default=_canonical, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(document).hexdigest()


def _check_key(key: str) -> None:
    if not key.strip():
        raise Invalid(f"`{FIELD}` must not be blank.", field=FIELD)
    if len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"`{FIELD}` must be at most {MAX_KEY_LENGTH} characters.", field=FIELD)


async def claim(
    session: AsyncSession,
    *,
    key: str | None,
    user_id: int | None,
    operation: str,
    payload: Mapping[str, Any],
    ttl: timedelta | None,
) -> Replay | None:
    """Take `key` of user `user_id` for this request (None: the request has no key): None to go ahead, or
    the stored Replay. A key first sent more than `ttl` ago counts as absent; expired keys are deleted."""
    if key is None:
        return None
    if user_id is None or ttl is None:
        raise ValueError("an idempotency key needs the user who sent it and how long it lasts")
    _check_key(key)
    digest = request_hash(operation, payload)
    now = utcnow()
    expired_before = now - ttl
    await _delete_expired(session, before=expired_before)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    fresh = insert(IdempotencyKey).values(
        user_id=user_id, key=key, operation=operation, request_hash=digest, response=_PENDING, created_at=now
    )
    taken = await session.scalar(
        fresh.on_conflict_do_update(
            index_elements=[IdempotencyKey.user_id, IdempotencyKey.key],
            # An expired key still stored (beyond the EXPIRED_PER_CLAIM just deleted) is taken afresh.
            set_={
                "operation": fresh.excluded.operation,
                "request_hash": fresh.excluded.request_hash,
                "response": fresh.excluded.response,
                "created_at": fresh.excluded.created_at,
            },
            where=IdempotencyKey.created_at < expired_before,
        ).returning(IdempotencyKey.key)
    )
    if taken is not None:
        return None
    stored = (
        await session.execute(
            select(IdempotencyKey.operation, IdempotencyKey.request_hash, IdempotencyKey.response).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
            )
        )
    ).one()
    if stored.operation != operation or stored.request_hash != digest:
        # The stored request is the caller's own: naming its operation tells them nothing about anyone else's.
        raise IdempotencyConflict(
            f"You used this `{FIELD}` before for a different request"
            + ("." if stored.operation == operation else f" ({stored.operation}).")
            + " Use a new key for a new request.",
            field=FIELD,
        )
    if stored.response == _PENDING:
        raise RuntimeError(f"idempotency key {key!r} was committed without its outcome")
    outcome = orjson.loads(stored.response)
    levels = outcome.get("levels")
    return Replay(
        transaction_ids=tuple(outcome["transaction_ids"]),
        levels=None if levels is None else tuple(Level(*level) for level in levels),
        data=outcome.get("data") or {},
    )


async def remember(
    session: AsyncSession,
    *,
    key: str | None,
    user_id: int | None,
    transaction_ids: Sequence[int],
    levels: Sequence[Level] | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Store the outcome of the request that claimed `key` of user `user_id`: its ledger entry ids (in payload order),
    optionally the stock levels to return and JSON-able extra data."""
    if key is None:
        return
    outcome: dict[str, Any] = {"transaction_ids": list(transaction_ids)}
    if levels is not None:
        outcome["levels"] = [list(level) for level in levels]
    if data:
        outcome["data"] = dict(data)
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(response=orjson.dumps(outcome, default=_canonical).decode())
        .execution_options(synchronize_session=False)
    )


async def _delete_expired(session: AsyncSession, *, before: datetime) -> None:
    """Delete up to EXPIRED_PER_CLAIM keys first sent before `before`, oldest first."""
    expired = (
        select(IdempotencyKey.user_id, IdempotencyKey.key)
        .where(IdempotencyKey.created_at < before)
        .order_by(IdempotencyKey.created_at)
        .limit(EXPIRED_PER_CLAIM)
        # PostgreSQL: keys another transaction is deleting (or taking afresh) are left to it, not waited for,
        # so concurrent claims do not queue behind each other. SQLite runs one write transaction at a time.
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        delete(IdempotencyKey)
        .where(tuple_(IdempotencyKey.user_id, IdempotencyKey.key).in_(expired))
        .execution_options(synchronize_session=False)
    )


async def replayed_transactions(session: AsyncSession, replay: Replay) -> list[InventoryTransaction]:
    """The ledger entries of a replay, in the order they were stored."""
    rows = await session.scalars(
        select(InventoryTransaction).where(InventoryTransaction.id.in_(replay.transaction_ids))
    )
    by_id = {row.id: row for row in rows}
    return [by_id[pk] for pk in replay.transaction_ids]


def replayed_levels(replay: Replay, entries: Sequence[InventoryTransaction]) -> list[Level]:
    """The stock levels the first request returned: stored ones, or those its entries left behind."""
    return list(replay.levels) if replay.levels is not None else levels_after(entries)
