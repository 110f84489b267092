"""SQLAlchemy models; importing this package registers every table on `Base.metadata`."""

from db.models.base import Base
from db.models.catalog import Category, Product, ProductSupplier, Supplier
from db.models.changes import Change
from db.models.stock import (
    AdjustmentReason,
    IdempotencyKey,
    InventoryTransaction,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockLevel,
    TransactionKind,
    Warehouse,
)
from db.models.selling import Customer, Reservation, ReturnDisposition, SalesOrder, SalesOrderLine, SalesOrderStatus, SalesReturn
from db.models.users import ApiToken, Role, User
from db.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AdjustmentReason",
    "ApiToken",
    "Base",
    "Category",
    "Customer",
    "Reservation",
    "ReturnDisposition",
    "SalesOrder",
    "SalesOrderLine",
    "SalesOrderStatus",
    "SalesReturn",
    "Change",
    "IdempotencyKey",
    "InventoryTransaction",
    "Product",
    "ProductSupplier",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "Role",
    "StockLevel",
    "Supplier",
    "TransactionKind",
    "User",
    "Warehouse",
    "WebhookDelivery",
    "WebhookEndpoint",
]
