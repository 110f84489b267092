"""SQLAlchemy models; importing this package registers every table on `Base.metadata`."""

from db.models.base import Base
from db.models.catalog import Category, Product, ProductSupplier, Supplier

__all__ = ["Base", "Category", "Product", "ProductSupplier", "Supplier"]
