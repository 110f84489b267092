"""Idempotency keys: a retried request returns what the first one produced and changes nothing; the same
key with a different request is refused.

Use inside the request's write transaction, claim first:

    replay = await claim(session, key=key, operation="receiveStock", payload=arguments)
    if replay is not None:
        entries = await replayed_transactions(session, replay)   # the original entries, re-read
    else:
        entries = [...]                                          # do the work
        await remember(session, key=key, transaction_ids=[e.id for e in entries])

The key row is inserted by `claim`, before any other write, and is committed or rolled back with the
work: a refused request leaves no key behind, so it may be retried. A concurrent duplicate waits on the
key (PostgreSQL waits for the first insert to commit; SQLite's write transactions take turns from BEGIN)
and then replays the stored result.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import IdempotencyConflict, Invalid
from db.lengths import MAX_IDEMPOTENCY_KEY_LENGTH
from db.models import IdempotencyKey, InventoryTransaction
from db.stock import Level, levels_after

FIELD = "idempotencyKey"
MAX_KEY_LENGTH = MAX_IDEMPOTENCY_KEY_LENGTH
# Stored until `remember` writes the outcome in the same transaction; never visible once committed.
_PENDING = ""


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
    session: AsyncSession, *, key: str | None, operation: str, payload: Mapping[str, Any]
) -> Replay | None:
    """Take `key` for this request (None: the request has no key): None to go ahead, or the stored Replay."""
    if key is None:
        return None
    _check_key(key)
    digest = request_hash(operation, payload)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    taken = await session.scalar(
        insert(IdempotencyKey)
        .values(key=key, operation=operation, request_hash=digest, response=_PENDING)
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.key])
        .returning(IdempotencyKey.key)
    )
    if taken is not None:
        return None
    stored = (
        await session.execute(
            select(IdempotencyKey.operation, IdempotencyKey.request_hash, IdempotencyKey.response).where(
                IdempotencyKey.key == key
            )
        )
    ).one()
    if stored.operation != operation or stored.request_hash != digest:
        raise IdempotencyConflict(
            f"This `{FIELD}` was already used for a different request"
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
    transaction_ids: Sequence[int],
    levels: Sequence[Level] | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Store the outcome of the request that claimed `key`: its ledger entry ids (in payload order),
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
        .where(IdempotencyKey.key == key)
        .values(response=orjson.dumps(outcome, default=_canonical).decode())
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
