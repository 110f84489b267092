"""Webhook types: an endpoint (never its secret), the events it may take, and its delivery log."""

from datetime import datetime
from enum import Enum

import strawberry

from db import models
from db import webhooks as webhooks_db
from graph.relay import Node, id_of, to_global_id

_EVENT_DESCRIPTIONS = {
    webhooks_db.TRANSACTION_ADDED: "A ledger entry was made (every stock movement makes one per stock level it moves).",
    webhooks_db.STOCK_CHANGED: "A stock level changed: sent with every ledger entry, with the level after it.",
    webhooks_db.LOW_STOCK_REACHED: "A ledger entry took a stock level from above its product's reorder point "
    "(when the product has one) to it or below.",
}

WebhookEvent = strawberry.enum(
    Enum(
        "WebhookEvent",
        {name: strawberry.enum_value(name, description=_EVENT_DESCRIPTIONS[name]) for name in webhooks_db.EVENTS},
    ),
    description="What a webhook endpoint can be sent. Each ledger entry is one event (its id the entry's id); "
    "an endpoint gets one request per entry that makes at least one of its events, naming all of those.",
)


@strawberry.type(
    description="A URL that ledger events are POSTed to, signed with the endpoint's secret (the README says how "
    "to check a signature). Delivery goes in ledger order, at least once: a failed one is retried with growing "
    "waits, and after too many failures in a row the endpoint is disabled until it is enabled again."
)
class WebhookEndpoint(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this webhook endpoint"))
    url: str = strawberry.field(description="Where the events are POSTed.")
    events: list[WebhookEvent] = strawberry.field(  # type: ignore[valid-type]
        description="The events it gets, in a fixed order."
    )
    is_active: bool = strawberry.field(
        description="Whether events are delivered to it; false when switched off or disabled after failures."
    )
    consecutive_failures: int = strawberry.field(
        description="Failed attempts since its last successful delivery (0 after one)."
    )
    disabled_at: datetime | None = strawberry.field(
        description="When it was disabled after too many failures in a row; null if it was not (or was enabled "
        "again since)."
    )
    last_event_id: int = strawberry.field(
        description="The id of the last event (ledger entry) dealt with: delivered, or making none of its events. "
        "Delivery goes on after it; at creation, the newest entry's id, so an endpoint gets only new events."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When the failed delivery is tried again; null when nothing waits."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.WebhookEndpoint) -> "WebhookEndpoint":
        return cls(
            id=strawberry.ID(to_global_id("WebhookEndpoint", row.id)),
            pk=row.id,
            url=row.url,
            events=[WebhookEvent[name] for name in row.events],
            is_active=row.is_active,
            consecutive_failures=row.consecutive_failures,
            disabled_at=row.disabled_at,
            last_event_id=row.last_event_id,
            next_attempt_at=row.next_attempt_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One attempt to deliver one event to a webhook endpoint.")
class WebhookDelivery:
    event_id: int = strawberry.field(
        description="The event's id: the ledger entry's id (the `Inventory-Event-Id` header of the request)."
    )
    attempt: int = strawberry.field(description="1 for the first attempt at the event, counting up while it fails.")
    status_code: int | None = strawberry.field(
        description="The receiver's HTTP status; null when none came (timeout, connection refused, address "
        "refused). Any 2xx status is a delivery."
    )
    error: str | None = strawberry.field(description="Why it failed, in short; null when it was delivered.")
    duration_ms: float = strawberry.field(description="How long the request took, in milliseconds.")
    created_at: datetime = strawberry.field(description="When the attempt was made.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When the event is tried again after this failed attempt; null after a delivery, or when the "
        "endpoint was disabled by it."
    )

    @classmethod
    def from_model(cls, row: models.WebhookDelivery) -> "WebhookDelivery":
        return cls(
            event_id=row.event_id,
            attempt=row.attempt,
            status_code=row.status_code,
            error=row.error,
            duration_ms=row.duration_ms,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
        )
