"""The change log: what each mutation did to the entities it created, changed or deleted, written in the
mutation's own transaction (so a refused one leaves none), and the conditions it is read by.

Who acts reaches db/ through the write session: whoever opens it for a mutation (graph/mutations/base.py,
the `inventory users` commands) puts an `Acting` in `session.info` with `act`. A session without one (demo
data, the tests' factories) writes no change. Values are logged by attribute name, as JSON: amounts and
times as text, enums by their value, ids as the row ids they are; a password is only ever "[redacted]".
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from db.binds import Bind, with_values
from db.models import Change
from db.pagination import SortKey
from db.types import Money

ACTING = "inventory.acting"
PASSWORD = "password"
REDACTED = "[redacted]"
# Logged only as REDACTED: that they changed, never what they are.
_SECRETS = frozenset({PASSWORD, "secret"})

# Not logged: the row's id (the change names it), its own timestamps, creator and last changer (the change
# has its time and actor), what the ledger moves (a product's average cost), login throttling, and the password hash
# (logged as `password`, redacted).
_UNLOGGED = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "created_by_id",
        "updated_by_id",
        "average_cost",
        "failed_login_count",
        "last_failed_login_at",
        "locked_until",
        "password_hash",
    }
)

# Changes per INSERT of `record_many`: far below asyncpg's 32,767 parameters at 6 columns a change.
_CHUNK = 1_000

# The log is read newest first; ids grow with time, so the id alone orders it.
CHANGE_SORT = SortKey((Change.id,), descending=True)


@dataclass(frozen=True)
class Acting:
    """Who makes the changes of a write session: the mutation (or command) and the signed-in user (None
    outside the API) and the request's id."""

    operation: str
    actor_id: int | None = None
    request_id: str | None = None


def act(session: AsyncSession, *, operation: str, actor_id: int | None = None, request_id: str | None = None) -> None:
    """Say who makes the changes written in `session` from now on."""
    session.info[ACTING] = Acting(operation, actor_id, request_id)


def _json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def snapshot(row: Any) -> dict[str, Any]:
    """What the log keeps of `row`, by attribute name; under `password`, the hash, to tell a new one (it is
    redacted when written)."""
    state = {
        attribute.key: _json(getattr(row, attribute.key))
        for attribute in inspect(row).mapper.column_attrs
        if attribute.key not in _UNLOGGED
    }
    if hasattr(row, "password_hash"):
        state[PASSWORD] = row.password_hash
    return state


def field_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The fields whose values differ between two snapshots (None: the row did not exist), in order."""
    before, after = before or {}, after or {}
    found = []
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name in _SECRETS:
            old, new = (None if old is None else REDACTED), (None if new is None else REDACTED)
        found.append({"field": name, "old": old, "new": new})
    return found


async def record(
    session: AsyncSession,
    row: Any,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Log what happened to `row` (a snapshot `before` and `after`; None where the row did not exist), if
    anything did and the session says who acts."""
    acting: Acting | None = session.info.get(ACTING)
    fields = field_changes(before, after)
    if acting is None or not fields:
        return
    session.add(
        Change(
            actor_id=acting.actor_id,
            operation=acting.operation,
            entity_type=type(row).__name__,
            entity_id=row.id,
            fields=fields,
            request_id=acting.request_id,
        )
    )


def acting(session: AsyncSession) -> Acting | None:
    """Who makes the changes written in `session`; None when nobody said (then nothing is logged)."""
    return session.info.get(ACTING)


def stored(model: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values of `model` as a snapshot of the row holding them has them: logged columns only, amounts at
    their column's scale (an imported price of 10 reads back as 10.00), as JSON."""
    columns = model.__table__.columns  # type: ignore[attr-defined]
    found = {}
    for name, value in values.items():
        if name in _UNLOGGED:
            continue
        column_type = columns[name].type
        found[name] = _json(column_type.scaled(value) if isinstance(column_type, Money) else value)
    return found


async def record_many(
    session: AsyncSession,
    model: type,
    entries: list[tuple[int, Mapping[str, Any] | None, Mapping[str, Any] | None]],
) -> None:
    """Log what bulk statements did to many rows of `model` in a few INSERTs (as `record` does for one row):
    each entry is a row id, its column values before and after (None where the row did not exist), given
    as the statements had them."""
    who = acting(session)
    if who is None:
        return
    changes = []
    for entity_id, before, after in entries:
        fields = field_changes(
            None if before is None else stored(model, before), None if after is None else stored(model, after)
        )
        if fields:
            changes.append(
                {
                    "actor_id": who.actor_id,
                    "operation": who.operation,
                    "entity_type": model.__name__,
                    "entity_id": entity_id,
                    "fields": fields,
                    "request_id": who.request_id,
                }
            )
    for start in range(0, len(changes), _CHUNK):
        await session.execute(insert(Change), changes[start : start + _CHUNK])


async def created(session: AsyncSession, row: Any, **more: Any) -> None:
    """Log a new row (with `more` values that are not its columns, such as an order's lines)."""
    await record(session, row, None, snapshot(row) | more)


async def deleted(session: AsyncSession, row: Any) -> None:
    """Log a row about to be deleted."""
    await record(session, row, snapshot(row), None)


# --- reads ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeFilter:
    """Changes to list; `created_from` is inclusive and `created_to` exclusive. `entity_type` and
    `entity_id` are given together."""

    entity_type: str | None = None
    entity_id: int | None = None
    actor_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def change_conditions(
    spec: ChangeFilter, bind: Bind | None = None, change: Any = Change
) -> list[ColumnElement[bool]]:
    """(`change`: the entity, as in db/catalog_reads.py.)"""
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.entity_id is not None:
        conditions.append(change.entity_type == bind("entity_type", lambda s: s.entity_type))
        conditions.append(change.entity_id == bind("entity_id", lambda s: s.entity_id))
    if spec.actor_id is not None:
        conditions.append(change.actor_id == bind("actor_id", lambda s: s.actor_id))
    if spec.created_from is not None:
        conditions.append(change.created_at >= bind("created_from", lambda s: s.created_from))
    if spec.created_to is not None:
        conditions.append(change.created_at < bind("created_to", lambda s: s.created_to))
    return conditions
