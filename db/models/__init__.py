"""SQLAlchemy models; importing this package registers every table on `Base.metadata`."""

from db.models.base import Base
from db.models.catalog import Category, Product, ProductSupplier, Supplier
from db.models.stock import (
    IdempotencyKey,
    InventoryTransaction,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockLevel,
    TransactionKind,
    Warehouse,
)

__all__ = [
    "Base",
    "Category",
    "IdempotencyKey",
    "InventoryTransaction",
    "Product",
    "ProductSupplier",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "StockLevel",
    "Supplier",
    "TransactionKind",
    "Warehouse",
]
