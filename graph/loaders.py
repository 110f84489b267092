"""Per-request DataLoaders, one class per relationship (graph/relations.py). `fetch_batch` is one SQL
statement for a whole batch of keys, each batch in a short session of its own (sibling fields resolve
concurrently; one AsyncSession must not be shared)."""

from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal
from functools import cached_property
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader

from db import catalog_reads as reads
from db import purchasing_reads, selling_reads, stock_reads
from db.engine import Database
from db.errors import DomainError
from db.models import (
    Category,
    Change,
    Customer,
    InventoryTransaction,
    Product,
    ProductSupplier,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    SalesOrder,
    SalesOrderLine,
    Supplier,
    Warehouse,
    WebhookEndpoint,
)
from db.pagination import Page, SortKey, Window, empty_page
from graph.types import catalog as types
from graph.types import changes as change_types
from graph.types import selling as selling_types
from graph.types import stock as stock_types
from graph.types import webhooks as webhook_types
from graph.types.users import UserByIdLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Loader(DataLoader[K, V], Generic[K, V]):
    def __init__(self, db: Database) -> None:
        self.db = db
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[K]) -> Sequence[V]:
        async with self.db.read_session() as session:
            return await self.fetch_batch(session, keys)

    async def fetch_batch(self, session: Any, keys: list[K]) -> Sequence[V]:
        raise NotImplementedError


class _ByIdLoader(_Loader[int, Any]):
    model: Any
    convert: Callable[[Any], Any]

    async def fetch_batch(self, session: Any, keys: list[int]) -> Sequence[Any]:
        rows = await reads.by_ids(session, self.model, keys)
        convert = type(self).convert
        return [convert(rows[k]) if k in rows else None for k in keys]


class ProductByIdLoader(_ByIdLoader):
    model = Product
    convert = types.Product.from_model


class CategoryByIdLoader(_ByIdLoader):
    model = Category
    convert = types.Category.from_model


class SupplierByIdLoader(_ByIdLoader):
    model = Supplier
    convert = types.Supplier.from_model


class ProductSupplierByIdLoader(_ByIdLoader):
    model = ProductSupplier
    convert = types.ProductSupplier.from_model


class WarehouseByIdLoader(_ByIdLoader):
    model = Warehouse
    convert = stock_types.Warehouse.from_model


class InventoryTransactionByIdLoader(_ByIdLoader):
    model = InventoryTransaction
    convert = stock_types.InventoryTransaction.from_model


class PurchaseOrderByIdLoader(_ByIdLoader):
    model = PurchaseOrder
    convert = stock_types.PurchaseOrder.from_model


class PurchaseOrderLineByIdLoader(_ByIdLoader):
    model = PurchaseOrderLine
    convert = stock_types.PurchaseOrderLine.from_model


class StockLevelByKeyLoader(_Loader[tuple[int, int], Any]):
    """Stock levels by (product id, warehouse id), their table's key (for `node`/`nodes`)."""

    async def fetch_batch(self, session: Any, keys: list[tuple[int, int]]) -> Sequence[Any]:
        rows = await stock_reads.levels_by_keys(session, keys)
        return [stock_types.StockLevel.from_model(rows[k]) if k in rows else None for k in keys]


class CustomerByIdLoader(_ByIdLoader):
    model = Customer
    convert = selling_types.Customer.from_model


class SalesOrderByIdLoader(_ByIdLoader):
    model = SalesOrder
    convert = selling_types.SalesOrder.from_model


class SalesOrderLineByIdLoader(_ByIdLoader):
    model = SalesOrderLine
    convert = selling_types.SalesOrderLine.from_model


class ReservationByIdLoader(_ByIdLoader):
    model = Reservation
    convert = selling_types.Reservation.from_model


class HeldByLevelLoader(_Loader[tuple[int, int], int]):
    """Units open holds keep of each (product id, warehouse id)."""

    async def fetch_batch(self, session: Any, keys: list[tuple[int, int]]) -> Sequence[int]:
        held = await selling_reads.held_by_levels(session, keys)
        return [held.get(key, 0) for key in keys]


class TotalBySalesOrderIdLoader(_Loader[int, Decimal]):
    async def fetch_batch(self, session: Any, keys: list[int]) -> Sequence[Decimal]:
        totals = await selling_reads.totals_by_order_ids(session, keys)
        return [totals.get(key, Decimal("0.00")) for key in keys]


class HeldByProductIdLoader(_Loader[int, int]):
    async def fetch_batch(self, session: Any, keys: list[int]) -> Sequence[int]:
        held = await selling_reads.held_by_products(session, keys)
        return [held.get(key, 0) for key in keys]


class _GroupedLoader(_Loader[K, V]):
    """Keys are (parent id, *arguments); one statement per distinct set of arguments. Arguments the query
    refuses (a cursor that is not one) fail the keys that carry them, not the whole batch."""

    default: Callable[[Any], V]

    async def fetch_batch(self, session: Any, keys: list[K]) -> Sequence[V | DomainError]:
        groups: dict[Any, list[int]] = {}
        for key in keys:
            parent_id, *arguments = key  # type: ignore[misc]
            groups.setdefault(tuple(arguments), []).append(parent_id)
        found: dict[Hashable, V] = {}
        refused: dict[Any, DomainError] = {}
        for arguments, parent_ids in groups.items():
            try:
                fetched = await self.fetch(session, parent_ids, *arguments)
            except DomainError as error:
                refused[arguments] = error
                continue
            for parent_id, value in fetched.items():
                found[(parent_id, *arguments)] = value
        values: list[V | DomainError] = []
        for key in keys:
            _parent_id, *arguments = key  # type: ignore[misc]
            error = refused.get(tuple(arguments))
            values.append(error if error is not None else found[key] if key in found else self.default(key))
        return values

    async def fetch(self, session: Any, parent_ids: list[int], *arguments: Any) -> dict[int, V]:
        raise NotImplementedError


class ChildrenByCategoryIdLoader(_GroupedLoader[tuple[int], list[types.Category]]):
    def default(self, key: Any) -> list[types.Category]:
        return []

    async def fetch(self, session: Any, parent_ids: list[int]) -> dict[int, list[types.Category]]:
        rows = await reads.children_by_parent_ids(session, parent_ids)
        return {pid: [types.Category.from_model(c) for c in children] for pid, children in rows.items()}


class AncestorsByCategoryIdLoader(_GroupedLoader[tuple[int], list[types.Category]]):
    def default(self, key: Any) -> list[types.Category]:
        return []

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, list[types.Category]]:
        rows = await reads.ancestors_by_category_ids(session, ids)
        return {cid: [types.Category.from_model(c) for c in chain] for cid, chain in rows.items()}


class OffersByProductIdLoader(_GroupedLoader[tuple[int], list[types.ProductSupplier]]):
    def default(self, key: Any) -> list[types.ProductSupplier]:
        return []

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, list[types.ProductSupplier]]:
        rows = await reads.offers_by_product_ids(session, ids)
        return {pid: [types.ProductSupplier.from_model(o) for o in offers] for pid, offers in rows.items()}


class ProductPageByCategoryIdLoader(_GroupedLoader[tuple[int, reads.ProductFilter, SortKey, Window], Page[Any]]):
    def default(self, key: Any) -> Page[Any]:
        return empty_page(key[2])

    async def fetch(
        self, session: Any, ids: list[int], spec: reads.ProductFilter, sort: SortKey, window: Window
    ) -> dict[int, Page[Any]]:
        return await reads.product_pages_by_category_ids(session, ids, spec, sort, window)


class ProductCountByCategoryIdLoader(_GroupedLoader[tuple[int, reads.ProductFilter], int]):
    def default(self, key: Any) -> int:
        return 0

    async def fetch(self, session: Any, ids: list[int], spec: reads.ProductFilter) -> dict[int, int]:
        return await reads.product_counts_by_category_ids(session, ids, spec)


class OfferPageBySupplierIdLoader(_GroupedLoader[tuple[int, Window], Page[Any]]):
    def default(self, key: Any) -> Page[Any]:
        return empty_page(reads.OFFER_SORT)

    async def fetch(self, session: Any, ids: list[int], window: Window) -> dict[int, Page[Any]]:
        return await reads.offer_pages_by_supplier_ids(session, ids, window)


class OfferCountBySupplierIdLoader(_GroupedLoader[tuple[int], int]):
    def default(self, key: Any) -> int:
        return 0

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, int]:
        return await reads.offer_counts_by_supplier_ids(session, ids)


class LinesByPurchaseOrderIdLoader(_GroupedLoader[tuple[int], list[stock_types.PurchaseOrderLine]]):
    def default(self, key: Any) -> list[stock_types.PurchaseOrderLine]:
        return []

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, list[stock_types.PurchaseOrderLine]]:
        rows = await stock_reads.lines_by_purchase_order_ids(session, ids)
        return {oid: [stock_types.PurchaseOrderLine.from_model(line) for line in lines] for oid, lines in rows.items()}


class LinesBySalesOrderIdLoader(_GroupedLoader[tuple[int], list[selling_types.SalesOrderLine]]):
    def default(self, key: Any) -> list[selling_types.SalesOrderLine]:
        return []

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, list[selling_types.SalesOrderLine]]:
        rows = await selling_reads.lines_by_order_ids(session, ids)
        return {oid: [selling_types.SalesOrderLine.from_model(line) for line in lines] for oid, lines in rows.items()}


class ReservationsByLineIdLoader(_GroupedLoader[tuple[int], list[selling_types.Reservation]]):
    def default(self, key: Any) -> list[selling_types.Reservation]:
        return []

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, list[selling_types.Reservation]]:
        rows = await selling_reads.holds_by_line_ids(session, ids)
        return {lid: [selling_types.Reservation.from_model(row) for row in held] for lid, held in rows.items()}


class ReturnsByLineIdLoader(_GroupedLoader[tuple[int], list[selling_types.SalesReturn]]):
    def default(self, key: Any) -> list[selling_types.SalesReturn]:
        return []

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, list[selling_types.SalesReturn]]:
        rows = await selling_reads.returns_by_line_ids(session, ids)
        return {lid: [selling_types.SalesReturn.from_model(row) for row in back] for lid, back in rows.items()}


class StockLevelsByProductIdLoader(_GroupedLoader[tuple[int], list[stock_types.StockLevel]]):
    def default(self, key: Any) -> list[stock_types.StockLevel]:
        return []

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, list[stock_types.StockLevel]]:
        rows = await stock_reads.levels_by_product_ids(session, ids)
        return {pid: [stock_types.StockLevel.from_model(level) for level in levels] for pid, levels in rows.items()}


class OnOrderByProductIdLoader(_GroupedLoader[tuple[int], int]):
    def default(self, key: Any) -> int:
        return 0

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, int]:
        return await purchasing_reads.on_order_by_product_ids(session, ids)


class StockPageByWarehouseIdLoader(_GroupedLoader[tuple[int, Window], Page[Any]]):
    def default(self, key: Any) -> Page[Any]:
        return empty_page(stock_reads.WAREHOUSE_STOCK_SORT)

    async def fetch(self, session: Any, ids: list[int], window: Window) -> dict[int, Page[Any]]:
        return await stock_reads.level_pages_by_warehouse_ids(session, ids, window)


class StockCountByWarehouseIdLoader(_GroupedLoader[tuple[int], int]):
    def default(self, key: Any) -> int:
        return 0

    async def fetch(self, session: Any, ids: list[int]) -> dict[int, int]:
        return await stock_reads.level_counts_by_warehouse_ids(session, ids)


class TransactionPageByProductIdLoader(
    _GroupedLoader[tuple[int, stock_reads.TransactionFilter, Window], Page[Any]]
):
    def default(self, key: Any) -> Page[Any]:
        return empty_page(stock_reads.TRANSACTION_SORT)

    async def fetch(
        self, session: Any, ids: list[int], spec: stock_reads.TransactionFilter, window: Window
    ) -> dict[int, Page[Any]]:
        return await stock_reads.transaction_pages_by_product_ids(session, ids, spec, window)


class ChangeByIdLoader(_ByIdLoader):
    model = Change
    convert = change_types.Change.from_model


class WebhookEndpointByIdLoader(_ByIdLoader):
    model = WebhookEndpoint
    convert = webhook_types.WebhookEndpoint.from_model


class TransactionCountByProductIdLoader(_GroupedLoader[tuple[int, stock_reads.TransactionFilter], int]):
    def default(self, key: Any) -> int:
        return 0

    async def fetch(self, session: Any, ids: list[int], spec: stock_reads.TransactionFilter) -> dict[int, int]:
        return await stock_reads.transaction_counts_by_product_ids(session, ids, spec)


class Loaders:
    """The loaders of one request, each made on first use."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @cached_property
    def product_by_id(self) -> ProductByIdLoader:
        return ProductByIdLoader(self.db)

    @cached_property
    def category_by_id(self) -> CategoryByIdLoader:
        return CategoryByIdLoader(self.db)

    @cached_property
    def supplier_by_id(self) -> SupplierByIdLoader:
        return SupplierByIdLoader(self.db)

    @cached_property
    def product_supplier_by_id(self) -> ProductSupplierByIdLoader:
        return ProductSupplierByIdLoader(self.db)

    @cached_property
    def children_by_category_id(self) -> ChildrenByCategoryIdLoader:
        return ChildrenByCategoryIdLoader(self.db)

    @cached_property
    def ancestors_by_category_id(self) -> AncestorsByCategoryIdLoader:
        return AncestorsByCategoryIdLoader(self.db)

    @cached_property
    def offers_by_product_id(self) -> OffersByProductIdLoader:
        return OffersByProductIdLoader(self.db)

    @cached_property
    def product_page_by_category_id(self) -> ProductPageByCategoryIdLoader:
        return ProductPageByCategoryIdLoader(self.db)

    @cached_property
    def product_count_by_category_id(self) -> ProductCountByCategoryIdLoader:
        return ProductCountByCategoryIdLoader(self.db)

    @cached_property
    def offer_page_by_supplier_id(self) -> OfferPageBySupplierIdLoader:
        return OfferPageBySupplierIdLoader(self.db)

    @cached_property
    def offer_count_by_supplier_id(self) -> OfferCountBySupplierIdLoader:
        return OfferCountBySupplierIdLoader(self.db)

    @cached_property
    def warehouse_by_id(self) -> WarehouseByIdLoader:
        return WarehouseByIdLoader(self.db)

    @cached_property
    def inventory_transaction_by_id(self) -> InventoryTransactionByIdLoader:
        return InventoryTransactionByIdLoader(self.db)

    @cached_property
    def purchase_order_by_id(self) -> PurchaseOrderByIdLoader:
        return PurchaseOrderByIdLoader(self.db)

    @cached_property
    def purchase_order_line_by_id(self) -> PurchaseOrderLineByIdLoader:
        return PurchaseOrderLineByIdLoader(self.db)

    @cached_property
    def stock_level_by_key(self) -> StockLevelByKeyLoader:
        return StockLevelByKeyLoader(self.db)

    @cached_property
    def lines_by_purchase_order_id(self) -> LinesByPurchaseOrderIdLoader:
        return LinesByPurchaseOrderIdLoader(self.db)

    @cached_property
    def stock_levels_by_product_id(self) -> StockLevelsByProductIdLoader:
        return StockLevelsByProductIdLoader(self.db)

    @cached_property
    def on_order_by_product_id(self) -> OnOrderByProductIdLoader:
        return OnOrderByProductIdLoader(self.db)

    @cached_property
    def stock_page_by_warehouse_id(self) -> StockPageByWarehouseIdLoader:
        return StockPageByWarehouseIdLoader(self.db)

    @cached_property
    def stock_count_by_warehouse_id(self) -> StockCountByWarehouseIdLoader:
        return StockCountByWarehouseIdLoader(self.db)

    @cached_property
    def transaction_page_by_product_id(self) -> TransactionPageByProductIdLoader:
        return TransactionPageByProductIdLoader(self.db)

    @cached_property
    def transaction_count_by_product_id(self) -> TransactionCountByProductIdLoader:
        return TransactionCountByProductIdLoader(self.db)

    @cached_property
    def customer_by_id(self) -> CustomerByIdLoader:
        return CustomerByIdLoader(self.db)

    @cached_property
    def sales_order_by_id(self) -> SalesOrderByIdLoader:
        return SalesOrderByIdLoader(self.db)

    @cached_property
    def sales_order_line_by_id(self) -> SalesOrderLineByIdLoader:
        return SalesOrderLineByIdLoader(self.db)

    @cached_property
    def reservation_by_id(self) -> ReservationByIdLoader:
        return ReservationByIdLoader(self.db)

    @cached_property
    def lines_by_sales_order_id(self) -> LinesBySalesOrderIdLoader:
        return LinesBySalesOrderIdLoader(self.db)

    @cached_property
    def reservations_by_line_id(self) -> ReservationsByLineIdLoader:
        return ReservationsByLineIdLoader(self.db)

    @cached_property
    def returns_by_line_id(self) -> ReturnsByLineIdLoader:
        return ReturnsByLineIdLoader(self.db)

    @cached_property
    def held_by_level(self) -> HeldByLevelLoader:
        return HeldByLevelLoader(self.db)

    @cached_property
    def total_by_sales_order_id(self) -> TotalBySalesOrderIdLoader:
        return TotalBySalesOrderIdLoader(self.db)

    @cached_property
    def held_by_product_id(self) -> HeldByProductIdLoader:
        return HeldByProductIdLoader(self.db)

    @cached_property
    def user_by_id(self) -> UserByIdLoader:
        return UserByIdLoader(self.db)

    @cached_property
    def change_by_id(self) -> ChangeByIdLoader:
        return ChangeByIdLoader(self.db)

    @cached_property
    def webhook_endpoint_by_id(self) -> WebhookEndpointByIdLoader:
        return WebhookEndpointByIdLoader(self.db)

    def by_type_name(self, type_name: str) -> "_Loader[Any, Any] | None":
        """The loader that fetches nodes of a GraphQL type by key (for `node`/`nodes`): the primary key, or
        for a stock level the (product id, warehouse id) pair (graph.relay.KEY_PARTS)."""
        return {
            "Product": lambda: self.product_by_id,
            "Category": lambda: self.category_by_id,
            "Supplier": lambda: self.supplier_by_id,
            "ProductSupplier": lambda: self.product_supplier_by_id,
            "Warehouse": lambda: self.warehouse_by_id,
            "User": lambda: self.user_by_id,
            "InventoryTransaction": lambda: self.inventory_transaction_by_id,
            "PurchaseOrder": lambda: self.purchase_order_by_id,
            "PurchaseOrderLine": lambda: self.purchase_order_line_by_id,
            "StockLevel": lambda: self.stock_level_by_key,
            "Change": lambda: self.change_by_id,
            "WebhookEndpoint": lambda: self.webhook_endpoint_by_id,
            "Customer": lambda: self.customer_by_id,
            "SalesOrder": lambda: self.sales_order_by_id,
            "SalesOrderLine": lambda: self.sales_order_line_by_id,
            "Reservation": lambda: self.reservation_by_id,
        }.get(type_name, lambda: None)()

