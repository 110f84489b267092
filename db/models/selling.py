"""Selling: customers, sales orders and their lines, stock reservations (holds) and customer returns."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from db.lengths import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_ORDER_NUMBER_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_REFERENCE_LENGTH,
)
from db.models.base import Base, Timestamped
from db.models.stock import _enum
from db.types import Money, UTCDateTime, utcnow


class SalesOrderStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    CONFIRMED = "CONFIRMED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"


class ReturnDisposition(enum.StrEnum):
    RESTOCK = "RESTOCK"
    SCRAP = "SCRAP"


class Customer(Timestamped, Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), index=True)
    email: Mapped[str | None] = mapped_column(String(MAX_EMAIL_LENGTH))
    phone: Mapped[str | None] = mapped_column(String(MAX_PHONE_LENGTH))
    shipping_address: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # The acting user (null for rows written outside the API, such as the demo data).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    __table_args__ = (Index("uq_customers_lower_name", func.lower(name), unique=True),)


class SalesOrder(Timestamped, Base):
    __tablename__ = "sales_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(MAX_ORDER_NUMBER_LENGTH), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    status: Mapped[SalesOrderStatus] = mapped_column(
        _enum(SalesOrderStatus), default=SalesOrderStatus.DRAFT, index=True
    )
    requested_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_shipped: Mapped[int] = mapped_column(Integer, default=0)
    quantity_returned: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal] = mapped_column(Money(14, 2))

    __table_args__ = (
        UniqueConstraint("sales_order_id", "product_id", "warehouse_id"),
        CheckConstraint("quantity_ordered > 0", name="quantity_ordered_positive"),
        CheckConstraint(
            "quantity_shipped >= 0 AND quantity_shipped <= quantity_ordered", name="quantity_shipped_in_range"
        ),
        CheckConstraint(
            "quantity_returned >= 0 AND quantity_returned <= quantity_shipped", name="quantity_returned_in_range"
        ),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )


class Reservation(Base):
    """Units of one level set aside: for a sales order's line (from confirmation until shipped or cancelled)
    or free-standing (a cart, a quote), optionally until `expires_at`.

    `quantity` is what is still held. A hold is open while `released_at` is null; the level's `reserved` is
    the sum of its open holds' quantities. An expired hold counts as released in every read at once; the
    next write that needs the level's availability closes it (db/selling.py `sweep`)."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reference: Mapped[str | None] = mapped_column(String(MAX_REFERENCE_LENGTH))
    sales_order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_order_lines.id", ondelete="RESTRICT"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # A level's open holds: what the sweep and the availability reads look for.
        Index("ix_reservations_level_open", "product_id", "warehouse_id", "released_at"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )


class SalesReturn(Base):
    """Goods a customer sent back against a shipped order line; RESTOCK ones have their RETURN entry."""

    __tablename__ = "sales_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_order_line_id: Mapped[int] = mapped_column(
        ForeignKey("sales_order_lines.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    disposition: Mapped[ReturnDisposition] = mapped_column(_enum(ReturnDisposition))
    note: Mapped[str | None] = mapped_column(Text)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("inventory_transactions.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
