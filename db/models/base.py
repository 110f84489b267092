"""Declarative base with a naming convention (stable constraint names for alembic on SQLite)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column
from sqlalchemy.sql import ClauseElement

from db.types import Money, UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@event.listens_for(Base, "mapper_configured", propagate=True)
def _scale_money_on_assignment(mapper: Mapper[Any], _class: type) -> None:
    """An amount assigned to a Money attribute takes the column's scale at once, so an object written in
    this session answers with 0.0000 or 12.50 just as one read back does, not with 0 or 12.5."""
    for attribute in mapper.column_attrs:
        money = attribute.columns[0].type
        if isinstance(money, Money):
            event.listen(attribute.class_attribute, "set", _scaled_by(money), retval=True)


def _scaled_by(money: Money) -> Callable[..., Any]:
    def scaled(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        # A SQL expression assigned to the attribute is the database's to work out at the flush.
        return value if isinstance(value, ClauseElement) else money.scaled(value)

    return scaled


class Timestamped:
    """created_at / updated_at columns, set by the application in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
