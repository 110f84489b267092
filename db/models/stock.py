"""Stock: warehouses, stock levels, the append-only ledger, idempotency records and purchase orders."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.lengths import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_ORDER_NUMBER_LENGTH,
    MAX_REFERENCE_LENGTH,
    MAX_WAREHOUSE_CODE_LENGTH,
)
from db.models.base import Base, Timestamped
from db.types import Money, UTCDateTime, utcnow


class TransactionKind(enum.StrEnum):
    RECEIPT = "RECEIPT"
    SHIPMENT = "SHIPMENT"
    ADJUSTMENT = "ADJUSTMENT"
    TRANSFER_IN = "TRANSFER_IN"
    TRANSFER_OUT = "TRANSFER_OUT"
    RETURN = "RETURN"


class AdjustmentReason(enum.StrEnum):
    """Why a count differed from the stock level: stored on ADJUSTMENT entries (null on entries made before
    reasons were recorded, and on every other kind)."""

    CYCLE_COUNT = "CYCLE_COUNT"
    DAMAGED = "DAMAGED"
    LOST = "LOST"
    FOUND = "FOUND"
    EXPIRED = "EXPIRED"
    CORRECTION = "CORRECTION"


class PurchaseOrderStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    ORDERED = "ORDERED"
    PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
    RECEIVED = "RECEIVED"
    CANCELLED = "CANCELLED"


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as text with a CHECK constraint: the same on SQLite and PostgreSQL, and easy to extend.
    return Enum(cls, native_enum=False, create_constraint=True, length=20, name=cls.__name__.lower(),
                values_callable=lambda e: [m.value for m in e])


class Warehouse(Timestamped, Base):
    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(MAX_WAREHOUSE_CODE_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # The user who created the row, and the one who created or last changed it, through the API (null for
    # rows written outside it, such as the demo data).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class StockLevel(Base):
    """Quantity on hand of one product in one warehouse: always the sum of its ledger entries."""

    __tablename__ = "stock_levels"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    # Units of `quantity` held by open reservations (db/selling.py); available = quantity - reserved.
    reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= quantity", name="reserved_in_range"),
        # A product's quantity on hand (the sum over its warehouses) from the index alone: the low-stock
        # report sums it for every product it walks past.
        Index("ix_stock_levels_product_id_quantity", "product_id", "quantity"),
    )


class PurchaseOrder(Timestamped, Base):
    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(MAX_ORDER_NUMBER_LENGTH), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True)
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        _enum(PurchaseOrderStatus), default=PurchaseOrderStatus.DRAFT, index=True
    )
    expected_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The acting user (null for rows written outside the API, such as the demo data).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int] = mapped_column(Integer, default=0)
    unit_cost: Mapped[Decimal] = mapped_column(Money(14, 2))

    __table_args__ = (
        UniqueConstraint("purchase_order_id", "product_id"),
        CheckConstraint("quantity_ordered > 0", name="quantity_ordered_positive"),
        CheckConstraint(
            "quantity_received >= 0 AND quantity_received <= quantity_ordered", name="quantity_received_in_range"
        ),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
    )


class InventoryTransaction(Base):
    """One entry of the stock ledger. Entries are only ever inserted: never updated, never deleted."""

    __tablename__ = "inventory_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="RESTRICT"))
    kind: Mapped[TransactionKind] = mapped_column(_enum(TransactionKind), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[Decimal | None] = mapped_column(Money(14, 2))
    reference: Mapped[str | None] = mapped_column(String(MAX_REFERENCE_LENGTH), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    # ADJUSTMENT entries only; null on the adjustments recorded before migration 0010 added it.
    reason: Mapped[AdjustmentReason | None] = mapped_column(_enum(AdjustmentReason))
    purchase_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="RESTRICT"), index=True
    )
    # SHIPMENT entries against a sales order, and RETURN entries of its lines (db/selling.py).
    sales_order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_orders.id", ondelete="RESTRICT"), index=True)
    sales_order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_order_lines.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The acting user (null for rows written outside the API, such as the demo data).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    __table_args__ = (
        # Per-product and per-warehouse history, newest first, are the common reads.
        Index("ix_inventory_transactions_product_id_id", "product_id", "id"),
        Index("ix_inventory_transactions_warehouse_id_id", "warehouse_id", "id"),
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
    )


class IdempotencyKey(Base):
    """The outcome of a stock mutation sent with an idempotency key, so a retry can return it unchanged.

    A key is its sender's own: the same key sent by another user is another key. It is kept for
    `Settings.idempotency_key_ttl_hours`; after that it counts as absent and is deleted (db/idempotency.py).
    """

    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_IDEMPOTENCY_KEY_LENGTH), primary_key=True)
    operation: Mapped[str] = mapped_column(String(50))
    request_hash: Mapped[str] = mapped_column(String(64))
    # JSON of the outcome: the ids of the ledger entries (and the order) the request produced.
    response: Mapped[str] = mapped_column(Text)
    # Expired keys are found by it (db/idempotency.py deletes them).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
