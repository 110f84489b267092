"""Webhook rules: registering endpoints (which URLs may receive events), the events each ledger entry makes,
and what the deliverer reads and records (graph/webhooks.py sends the requests).

Each ledger entry is one event, its id the entry's id. An endpoint's cursor (`last_event_id`) is the last
entry dealt with; delivery goes on after it in ledger order, one entry at a time, so a receiver gets
every event at least once and in order. Error fields are named as the API's input fields (camelCase).
"""

import asyncio
import ipaddress
import random
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import changes as change_log
from db.binds import Bind, with_values
from db.catalog import KEEP, Keep, _assign, _Checks, _given, _stamp
from db.errors import NotFound
from db.lengths import MAX_WEBHOOK_SECRET_LENGTH, MAX_WEBHOOK_URL_LENGTH
from db.models import InventoryTransaction, Product, Warehouse, WebhookDelivery, WebhookEndpoint
from db.pagination import SortKey
from db.types import utcnow

TRANSACTION_ADDED = "TRANSACTION_ADDED"
STOCK_CHANGED = "STOCK_CHANGED"
LOW_STOCK_REACHED = "LOW_STOCK_REACHED"
EVENTS = (TRANSACTION_ADDED, STOCK_CHANGED, LOW_STOCK_REACHED)

MIN_SECRET_LENGTH = 16
# Error texts in the delivery log are cut to this length: a receiver's error page is not ours to keep.
MAX_ERROR_LENGTH = 500

ENDPOINT_SORT = SortKey((WebhookEndpoint.id,))
# The delivery log is read newest first; ids grow with time.
DELIVERY_SORT = SortKey((WebhookDelivery.id,), descending=True)


# --- addresses ----------------------------------------------------------------------------------------


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


async def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why events may not be sent to `url`, or None: it must be http(s) with a host, and unless
    `allow_private`, every address the host resolves to must be public (no loopback, private, link-local,
    multicast, reserved or unspecified address). Checked when an endpoint is saved and before each delivery,
    as a host name may resolve elsewhere by then."""
    if len(url) > MAX_WEBHOOK_URL_LENGTH:
        return f"`url` must be at most {MAX_WEBHOOK_URL_LENGTH:,} characters."
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "`url` is not a valid URL."
    if parts.scheme not in ("http", "https"):
        return "`url` must be an http or https URL."
    if not host:
        return "`url` must name a host."
    if parts.username is not None or parts.password is not None:
        return "`url` must not hold a user name or password."
    if allow_private:
        return None
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError):
            return f"`url`'s host {host} could not be resolved."
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    refused = [str(address) for address in addresses if not _public(address)]
    if refused or not addresses:
        return (
            f"`url`'s host {host} is not a public address ({', '.join(refused)}): loopback, private, link-local, "
            "multicast and reserved addresses are refused."
        )
    return None


# --- endpoints ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """An endpoint as saved, and its secret when this save made one (creating it, rotating it): the only
    times the API shows it."""

    endpoint: WebhookEndpoint
    secret: str | None = None


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def _checked(
    *, url: Any, events: Any, is_active: Any, secret: Any = KEEP, allow_private: bool
) -> dict[str, Any]:
    check = _Checks()
    cleaned_url = check.text("url", url, max_length=MAX_WEBHOOK_URL_LENGTH)
    if isinstance(cleaned_url, str) and len(cleaned_url) <= MAX_WEBHOOK_URL_LENGTH:
        problem = await url_problem(cleaned_url, allow_private=allow_private)
        if problem:
            check.fail("url", problem)
    cleaned_events: Any = events
    if events is not KEEP:
        if not events:
            check.fail("events", "`events` must name at least one event.")
        else:
            unknown = [name for name in events if name not in EVENTS]
            if unknown:
                check.fail("events", f"`events` holds unknown events: {', '.join(unknown)}.")
            cleaned_events = [name for name in EVENTS if name in events]
    # A secret is taken as given, never trimmed: the receiver signs with exactly these characters.
    if secret is not KEEP and secret is not None:
        if len(secret) > MAX_WEBHOOK_SECRET_LENGTH:
            check.fail("secret", f"`secret` must be at most {MAX_WEBHOOK_SECRET_LENGTH:,} characters.")
        elif len(secret) < MIN_SECRET_LENGTH:
            check.fail("secret", f"`secret` must be at least {MIN_SECRET_LENGTH} characters.")
    fields = _given({"url": cleaned_url, "events": cleaned_events, "is_active": check.flag("isActive", is_active)})
    check.done()
    return fields


async def newest_event_id(session: AsyncSession) -> int:
    """The id of the newest ledger entry (0 for an empty ledger)."""
    return await session.scalar(select(func.coalesce(func.max(InventoryTransaction.id), 0))) or 0


async def create_endpoint(
    session: AsyncSession,
    *,
    url: str,
    events: Sequence[str],
    secret: str | None = None,
    is_active: bool = True,
    allow_private: bool = False,
    created_by_id: int | None = None,
) -> Saved:
    """Register an endpoint; it gets the events of ledger entries made from now on. Without `secret`, one
    is made."""
    fields = await _checked(url=url, events=events, is_active=is_active, secret=secret, allow_private=allow_private)
    secret = secret or new_secret()
    endpoint = WebhookEndpoint(
        **fields,
        secret=secret,
        consecutive_failures=0,
        last_event_id=await newest_event_id(session),
        created_by_id=created_by_id,
        updated_by_id=created_by_id,
    )
    session.add(endpoint)
    await session.flush()
    await change_log.created(session, endpoint)
    return Saved(endpoint, secret)


async def _get(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("There is no webhook endpoint with this ID.", field="id")
    return endpoint


async def update_endpoint(
    session: AsyncSession,
    *,
    endpoint_id: int,
    url: str | Keep = KEEP,
    events: Sequence[str] | Keep = KEEP,
    is_active: bool | Keep = KEEP,
    rotate_secret: bool = False,
    allow_private: bool = False,
    updated_by_id: int | None = None,
) -> Saved:
    """Change the given fields of an endpoint. Enabling a disabled one clears its failures: delivery resumes
    from its cursor, where it stopped. `rotate_secret` makes a new secret (the old one stops signing)."""
    endpoint = await _get(session, endpoint_id)
    before = change_log.snapshot(endpoint)
    changes = await _checked(url=url, events=events, is_active=is_active, allow_private=allow_private)
    secret = None
    if rotate_secret:
        secret = changes["secret"] = new_secret()
    if changes.get("is_active") and not endpoint.is_active:
        changes.update(consecutive_failures=0, disabled_at=None, next_attempt_at=None)
    elif changes.get("url", endpoint.url) != endpoint.url:
        changes["next_attempt_at"] = None  # a new URL is tried at once, not after the old one's backoff
    _stamp(endpoint, changes, updated_by_id)
    _assign(endpoint, changes)
    await session.flush()
    await change_log.record(session, endpoint, before, change_log.snapshot(endpoint))
    return Saved(endpoint, secret)


async def delete_endpoint(session: AsyncSession, *, endpoint_id: int) -> WebhookEndpoint:
    """Delete an endpoint and its delivery log."""
    endpoint = await _get(session, endpoint_id)
    await change_log.deleted(session, endpoint)
    await session.delete(endpoint)
    await session.flush()
    return endpoint


# --- reads --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointFilter:
    """Every endpoint: the list takes no filter (yet)."""


@dataclass(frozen=True)
class DeliveryFilter:
    endpoint_id: int


def endpoint_conditions(
    spec: EndpointFilter | None, bind: Bind | None = None, endpoint: Any = WebhookEndpoint
) -> list[ColumnElement[bool]]:
    return []


def delivery_conditions(
    spec: DeliveryFilter, bind: Bind | None = None, delivery: Any = WebhookDelivery
) -> list[ColumnElement[bool]]:
    """(`delivery`: the entity, as in db/catalog_reads.py.)"""
    bind = bind or with_values(spec)
    return [delivery.endpoint_id == bind("endpoint_id", lambda s: s.endpoint_id)]



# --- delivery -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A ledger entry as an event: the entry, its product's SKU and its warehouse's code, and the names of
    the events it makes."""

    entry: InventoryTransaction
    sku: str
    warehouse_code: str
    names: tuple[str, ...]


def event_names(entry: InventoryTransaction, reorder_point: int) -> tuple[str, ...]:
    """Every entry adds a transaction and changes a stock level; it reaches low stock when it takes the level
    from above the product's reorder point (when it has one) to it or below."""
    names = [TRANSACTION_ADDED, STOCK_CHANGED]
    before = entry.balance_after - entry.quantity
    if reorder_point > 0 and before > reorder_point >= entry.balance_after:
        names.append(LOW_STOCK_REACHED)
    return tuple(names)


async def events_after(session: AsyncSession, *, after_id: int, limit: int) -> list[Event]:
    """Up to `limit` ledger entries after `after_id`, in ledger order, as events."""
    rows = await session.execute(
        select(InventoryTransaction, Product.sku, Product.reorder_point, Warehouse.code)
        .join(Product, Product.id == InventoryTransaction.product_id)
        .join(Warehouse, Warehouse.id == InventoryTransaction.warehouse_id)
        .where(InventoryTransaction.id > after_id)
        .order_by(InventoryTransaction.id)
        .limit(limit)
    )
    return [Event(entry, sku, code, event_names(entry, point)) for entry, sku, point, code in rows]


async def endpoints_to_deliver(session: AsyncSession, *, now: datetime) -> list[WebhookEndpoint]:
    """The active endpoints whose next attempt is due (or none waits)."""
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(
            WebhookEndpoint.is_active.is_(True),
            (WebhookEndpoint.next_attempt_at.is_(None)) | (WebhookEndpoint.next_attempt_at <= now),
        )
        .order_by(WebhookEndpoint.id)
    )
    return list(rows)


async def next_attempt_due(session: AsyncSession) -> datetime | None:
    """When the soonest retry of an active endpoint is due (None if none waits)."""
    return await session.scalar(
        select(func.min(WebhookEndpoint.next_attempt_at)).where(WebhookEndpoint.is_active.is_(True))
    )


async def get_endpoint(session: AsyncSession, *, endpoint_id: int) -> WebhookEndpoint | None:
    return await session.get(WebhookEndpoint, endpoint_id, populate_existing=True)


async def skip_to(session: AsyncSession, *, endpoint_id: int, event_id: int) -> None:
    """Move an endpoint's cursor over entries that make none of its events."""
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.last_event_id < event_id)
        .values(last_event_id=event_id)
    )


def backoff(failures: int, *, base: float, maximum: float) -> timedelta:
    """How long to wait after the `failures`-th failure in a row: doubling from `base` up to `maximum`, less
    up to half at random, so that receivers coming back are not met by every retry at once."""
    delay = min(maximum, base * 2 ** min(failures - 1, 60))
    return timedelta(seconds=delay * (1 - random.random() / 2))


@dataclass(frozen=True)
class Outcome:
    """What a delivery attempt came to, as the log keeps it."""

    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def record_attempt(
    session: AsyncSession,
    *,
    endpoint: WebhookEndpoint,
    event_id: int,
    outcome: Outcome,
    max_failures: int,
    backoff_base: float,
    backoff_max: float,
) -> bool:
    """Log an attempt to deliver event `event_id` to `endpoint` (as the deliverer read it) and move the
    endpoint on: delivered, its cursor passes the event and its failures are cleared; failed, it waits
    (backoff) or, after `max_failures` in a row, is disabled. Returns whether the endpoint may go on to its
    next event; nothing changes if the endpoint was changed meanwhile (its cursor moved, it was disabled)."""
    now = utcnow()
    failures = 0 if outcome.delivered else endpoint.consecutive_failures + 1
    disabled = failures >= max_failures
    retry_at = None if outcome.delivered or disabled else now + backoff(failures, base=backoff_base, maximum=backoff_max)
    values: dict[str, Any] = {"consecutive_failures": failures, "next_attempt_at": retry_at}
    if outcome.delivered:
        values["last_event_id"] = event_id
    if disabled:
        values.update(is_active=False, disabled_at=now)
    moved = await session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint.id,
            WebhookEndpoint.is_active.is_(True),
            WebhookEndpoint.last_event_id == endpoint.last_event_id,
            WebhookEndpoint.consecutive_failures == endpoint.consecutive_failures,
        )
        .values(**values)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    session.add(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event_id,
            attempt=endpoint.consecutive_failures + 1,
            status_code=outcome.status_code,
            error=None if outcome.error is None else outcome.error[:MAX_ERROR_LENGTH],
            duration_ms=round(outcome.duration_ms, 3),
            created_at=now,
            next_attempt_at=retry_at,
        )
    )
    await session.flush()
    return outcome.delivered
