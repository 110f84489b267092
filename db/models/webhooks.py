"""Webhook endpoints (where ledger events are POSTed) and the log of every delivery attempt."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.lengths import MAX_WEBHOOK_SECRET_LENGTH, MAX_WEBHOOK_URL_LENGTH
from db.models.base import Base, Timestamped
from db.types import UTCDateTime, utcnow


class WebhookEndpoint(Timestamped, Base):
    """A receiver of ledger events. `last_event_id` is the cursor: the ledger id of the last entry dealt with
    (delivered, or not of its events); the deliverer goes on after it, in ledger order."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(MAX_WEBHOOK_URL_LENGTH))
    # Event names (db.webhooks.EVENTS), in that order.
    events: Mapped[list[str]] = mapped_column(JSON)
    # Signs every delivery; the API shows it only when it is made (creating the endpoint, rotating it).
    secret: Mapped[str] = mapped_column(String(MAX_WEBHOOK_SECRET_LENGTH))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # When the deliverer disabled it after too many failures (null once enabled again, or if never).
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    # When the failed delivery is to be tried again; null when nothing waits.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    __table_args__ = (
        CheckConstraint("consecutive_failures >= 0", name="consecutive_failures_not_negative"),
        CheckConstraint("last_event_id >= 0", name="last_event_id_not_negative"),
    )


class WebhookDelivery(Base):
    """One attempt to deliver one event (a ledger entry) to one endpoint: rows are only ever inserted, and
    deleted with their endpoint."""

    __tablename__ = "webhook_deliveries"

    # Ids grow with time: newest first is the primary key's order, read backwards.
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The ledger id of the entry delivered. Not a foreign key: the log outlives nothing it names.
    event_id: Mapped[int] = mapped_column(Integer)
    # 1 for the first attempt at the event, counting up while it fails.
    attempt: Mapped[int] = mapped_column(Integer)
    # The receiver's HTTP status; null when none came (timeout, refused connection, refused address).
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the event is tried again after this failed attempt; null after a success or when disabled.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # One endpoint's log, newest first.
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        CheckConstraint("attempt > 0", name="attempt_positive"),
    )
