"""Catalog entities: the category tree, products, suppliers and the terms each supplier offers."""

from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.lengths import (
    MAX_CATEGORY_NAME_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_SKU_LENGTH,
    MAX_SLUG_LENGTH,
    MAX_WEBSITE_LENGTH,
)
from db.models.base import Base, Timestamped
from db.types import Money


class Category(Timestamped, Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_CATEGORY_NAME_LENGTH))
    slug: Mapped[str] = mapped_column(String(MAX_SLUG_LENGTH), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    # The user who created the row (null for rows written outside the API, such as the demo data).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The user who created or last changed the row through the API (null as created_by_id is).
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    parent: Mapped["Category | None"] = relationship(remote_side=[id], lazy="raise")

    __table_args__ = (
        # Names are unique among siblings, case-insensitively; roots (no parent) are siblings too.
        Index(
            "uq_categories_sibling_name",
            func.coalesce(parent_id, 0),
            func.lower(name),
            unique=True,
        ),
        Index("ix_categories_name", "name"),
    )


class Supplier(Timestamped, Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH), index=True)
    email: Mapped[str | None] = mapped_column(String(MAX_EMAIL_LENGTH))
    phone: Mapped[str | None] = mapped_column(String(MAX_PHONE_LENGTH))
    website: Mapped[str | None] = mapped_column(String(MAX_WEBSITE_LENGTH))
    address: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # The user who created the row (null for rows written outside the API, such as the demo data).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The user who created or last changed the row through the API (null as created_by_id is).
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    __table_args__ = (Index("uq_suppliers_lower_name", func.lower(name), unique=True),)


class Product(Timestamped, Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(MAX_SKU_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(Text)
    unit_price: Mapped[Decimal] = mapped_column(Money(14, 2), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    reorder_point: Mapped[int] = mapped_column(Integer, default=0)
    reorder_quantity: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # Weighted average unit cost of the stock on hand, updated by receipts; used for valuation.
    average_cost: Mapped[Decimal] = mapped_column(Money(18, 4), default=Decimal("0.0000"), server_default="0")
    # The user who created the row (null for rows written outside the API, such as the demo data).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The user who created or last changed the row through the API (null as created_by_id is).
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    category: Mapped[Category | None] = relationship(lazy="raise")

    __table_args__ = (
        # A category's products in the default order (name, then id): its first page reads just that page.
        Index("ix_products_category_id_name_id", "category_id", "name", "id"),
        # Products by name, with what the low-stock report filters them on: the report walks the products
        # in name order until a page is short of stock (one in a hundred or fewer), from the index alone.
        Index("ix_products_name_id_reorder", "name", "id", "reorder_point", "is_active"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("reorder_point >= 0", name="reorder_point_not_negative"),
        CheckConstraint("reorder_quantity >= 0", name="reorder_quantity_not_negative"),
        CheckConstraint("average_cost >= 0", name="average_cost_not_negative"),
    )


class ProductSupplier(Timestamped, Base):
    """What one supplier offers for one product: its SKU, cost and lead time."""

    __tablename__ = "product_suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"))
    supplier_sku: Mapped[str | None] = mapped_column(String(MAX_SKU_LENGTH))
    unit_cost: Mapped[Decimal] = mapped_column(Money(14, 2))
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0)
    is_preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    # The user who created or last changed these terms through the API (null for rows written outside it,
    # such as the demo data).
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    product: Mapped[Product] = relationship(lazy="raise")
    supplier: Mapped[Supplier] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("product_id", "supplier_id"),
        # A supplier's offers in order (by id): its first page reads just that page.
        Index("ix_product_suppliers_supplier_id_id", "supplier_id", "id"),
        # At most one preferred supplier per product.
        Index(
            "uq_product_suppliers_preferred",
            "product_id",
            unique=True,
            sqlite_where=text("is_preferred"),
            postgresql_where=text("is_preferred"),
        ),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
    )
