"""Users, their roles and the bearer tokens they sign in with (only a token's SHA-256 is stored)."""

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from db.lengths import MAX_EMAIL_LENGTH, MAX_USERNAME_LENGTH
from db.models.base import Base, Timestamped
from db.types import UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a user may do; each role may also do everything the roles before it may."""

    VIEWER = "VIEWER"
    CLERK = "CLERK"
    MANAGER = "MANAGER"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {role: rank for rank, role in enumerate(Role)}


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lowercase; the unique index on lower(username) holds even for rows written around db/users.py.
    username: Mapped[str] = mapped_column(String(MAX_USERNAME_LENGTH))
    email: Mapped[str | None] = mapped_column(String(MAX_EMAIL_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Text with a CHECK constraint, like the enums of db/models/stock.py.
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, create_constraint=True, length=20, name="role",
             values_callable=lambda e: [m.value for m in e]),
        default=Role.VIEWER,
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Login throttling lives in the database so that every API process sees the same counts.
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("uq_users_lower_username", func.lower(username), unique=True),
        CheckConstraint("failed_login_count >= 0", name="failed_login_count_not_negative"),
    )


class ApiToken(Base):
    """A bearer token: usable until it expires or is revoked."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
