"""The change log: what each mutation did to the entities it created, changed or deleted (append-only)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import UTCDateTime, utcnow


class Change(Base):
    """One entity's change by one mutation. `fields` is a list of {"field", "old", "new"}: the stored
    attribute names and JSON values db/changes.py gives them (null `old` for what was created, null `new`
    for what was deleted). Rows are only ever inserted."""

    __tablename__ = "changes"

    # Ids grow with time: newest first is the primary key's order, read backwards.
    id: Mapped[int] = mapped_column(primary_key=True)
    # Null for changes made outside the API (the `inventory users` commands). Users are never deleted.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    operation: Mapped[str] = mapped_column(String(64))
    # The model's name, which is the name of its GraphQL type, and the row's primary key.
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int] = mapped_column(Integer)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        # One entity's history and one user's, newest first.
        Index("ix_changes_entity_type_entity_id_id", "entity_type", "entity_id", "id"),
        Index("ix_changes_actor_id_id", "actor_id", "id"),
        Index("ix_changes_created_at", "created_at"),
    )
