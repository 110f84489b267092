"""Field arguments, as graphql-core coerces them, turned into what the read queries take (filters, orders,
keysets), by the same input types and checks as the reference path's resolvers, in the same order, so
that a refused argument gets the same error either way."""

from dataclasses import dataclass
from typing import Any

from db import catalog_reads, reports, stock_reads
from db import changes as changes_db
from db import purchasing_reads, selling_reads
from db import users as users_db
from db import webhooks as webhooks_db
from db.config import Settings
from db.errors import Invalid
from db.pagination import Keyset, SortKey
from graph.auth import Role
from graph.queries.auth import UserFilter
from graph.queries.catalog import CategoryFilter, SupplierFilter
from graph.queries.changes import ChangeFilter
from graph.queries.purchasing import PurchaseOrderFilter
from graph.queries.selling import CustomerFilter, ReservationFilter, SalesOrderFilter
from graph.queries.stock import WarehouseFilter
from graph.queries.webhooks import delivery_filter
from graph.relay import decode_id, decode_optional_id, id_or_key, window
from graph.types.catalog import OrderDirection, ProductFilter, ProductOrder, ProductOrderField
from graph.types.reports import MovementGroupBy
from graph.types.selling import SalesOrderStatus
from graph.types.stock import (
    AdjustmentReason,
    ProductTransactionFilter,
    PurchaseOrderStatus,
    TransactionFilter,
    TransactionKind,
)

Arguments = dict[str, Any]


@dataclass(frozen=True)
class PageArgs:
    """A connection's arguments: its keyset (window and cursors), order and filter (None for lists that
    take none)."""

    keyset: Keyset
    sort: SortKey
    filter: Any = None


@dataclass(frozen=True)
class ByKey:
    """A root object asked for by primary key (`pk`) or natural key (`key`)."""

    pk: int | None
    key: str | None


def _window(arguments: Arguments, settings: Settings) -> Any:
    return window(settings, arguments.get("first"), arguments.get("after"), arguments.get("last"), arguments.get("before"))


def page(sort: SortKey, filter: Any = None) -> Any:
    """A connection's arguments with a fixed order: window, then filter, then cursors (the reference path's
    order of checks)."""

    def spec(arguments: Arguments, settings: Settings) -> PageArgs:
        page_window = _window(arguments, settings)
        spec = filter(arguments.get("filter")) if filter else None
        return PageArgs(Keyset.of(sort, page_window), sort, spec)

    return spec


# --- inputs -----------------------------------------------------------------------------------------


def product_filter(value: Arguments | None) -> catalog_reads.ProductFilter:
    value = value or {}
    return ProductFilter(
        search=value.get("search"),
        category_id=value.get("categoryId"),
        include_descendants=value.get("includeDescendants", False),
        supplier_id=value.get("supplierId"),
        min_price=value.get("minPrice"),
        max_price=value.get("maxPrice"),
        is_active=value.get("isActive"),
    ).spec()


def product_order(value: Arguments | None) -> SortKey:
    if value is None:
        return ProductOrder().sort_key()
    return ProductOrder(
        field=ProductOrderField(value.get("field", "NAME")), direction=OrderDirection(value.get("direction", "ASC"))
    ).sort_key()


def category_filter(value: Arguments | None) -> catalog_reads.CategoryFilter:
    value = value or {}
    return CategoryFilter(
        parent_id=value.get("parentId"), roots_only=value.get("rootsOnly", False), search=value.get("search")
    ).spec()


def supplier_filter(value: Arguments | None) -> catalog_reads.SupplierFilter:
    value = value or {}
    return SupplierFilter(search=value.get("search"), is_active=value.get("isActive")).spec()


def warehouse_filter(value: Arguments | None) -> stock_reads.WarehouseFilter:
    value = value or {}
    return WarehouseFilter(search=value.get("search"), is_active=value.get("isActive")).spec()


def _kinds(value: Arguments) -> list[Any] | None:
    kinds = value.get("kinds")
    return None if kinds is None else [TransactionKind(kind) for kind in kinds]


def _reasons(value: Arguments) -> list[Any] | None:
    reasons = value.get("reasons")
    return None if reasons is None else [AdjustmentReason(reason) for reason in reasons]


def transaction_filter(value: Arguments | None) -> stock_reads.TransactionFilter:
    value = value or {}
    return TransactionFilter(
        product_id=value.get("productId"),
        warehouse_id=value.get("warehouseId"),
        kinds=_kinds(value),
        created_from=value.get("from"),
        created_to=value.get("to"),
        reference=value.get("reference"),
        reasons=_reasons(value),
    ).spec()


def product_transaction_filter(value: Arguments | None) -> stock_reads.TransactionFilter:
    value = value or {}
    return ProductTransactionFilter(
        warehouse_id=value.get("warehouseId"),
        kinds=_kinds(value),
        created_from=value.get("from"),
        created_to=value.get("to"),
        reference=value.get("reference"),
        reasons=_reasons(value),
    ).spec()


def purchase_order_filter(value: Arguments | None) -> purchasing_reads.PurchaseOrderFilter:
    value = value or {}
    status = value.get("status")
    return PurchaseOrderFilter(
        status=None if status is None else PurchaseOrderStatus(status),
        supplier_id=value.get("supplierId"),
        product_id=value.get("productId"),
    ).spec()


def customer_filter(value: Arguments | None) -> selling_reads.CustomerFilter:
    value = value or {}
    return CustomerFilter(search=value.get("search"), is_active=value.get("isActive")).spec()


def sales_order_filter(value: Arguments | None) -> selling_reads.SalesOrderFilter:
    value = value or {}
    status = value.get("status")
    return SalesOrderFilter(
        status=None if status is None else SalesOrderStatus(status), customer_id=value.get("customerId")
    ).spec()


def reservation_filter(value: Arguments | None) -> selling_reads.ReservationFilter:
    value = value or {}
    return ReservationFilter(
        product_id=value.get("productId"),
        warehouse_id=value.get("warehouseId"),
        include_closed=value.get("includeClosed", False),
    ).spec()


def change_filter(value: Arguments | None) -> changes_db.ChangeFilter:
    value = value or {}
    return ChangeFilter(
        entity_id=value.get("entityId"),
        actor_id=value.get("actorId"),
        created_from=value.get("from"),
        created_to=value.get("to"),
    ).spec()


def user_filter(value: Arguments | None) -> users_db.UserFilter:
    value = value or {}
    role = value.get("role")
    return UserFilter(
        search=value.get("search"), role=None if role is None else Role(role), is_active=value.get("isActive")
    ).spec()


# --- fields -----------------------------------------------------------------------------------------


def products(arguments: Arguments, settings: Settings) -> PageArgs:
    """Query.products: window, filter, order, then cursors."""
    page_window = _window(arguments, settings)
    spec = product_filter(arguments.get("filter"))
    sort = product_order(arguments.get("orderBy"))
    return PageArgs(Keyset.of(sort, page_window), sort, spec)


def category_products(arguments: Arguments, settings: Settings) -> PageArgs:
    """Category.products: filter, order, window, then cursors."""
    spec = product_filter(arguments.get("filter"))
    sort = product_order(arguments.get("orderBy"))
    return PageArgs(Keyset.of(sort, _window(arguments, settings)), sort, spec)


def product_transactions(arguments: Arguments, settings: Settings) -> PageArgs:
    """Product.transactions: filter, window, then cursors."""
    spec = product_transaction_filter(arguments.get("filter"))
    sort = stock_reads.TRANSACTION_SORT
    return PageArgs(Keyset.of(sort, _window(arguments, settings)), sort, spec)


def product_count(arguments: Arguments, settings: Settings) -> bool:
    """Category.productCount: whether the subcategories' products count too."""
    return bool(arguments.get("includeDescendants", False))


def low_stock(arguments: Arguments, settings: Settings) -> PageArgs:
    page_window = _window(arguments, settings)
    warehouse = decode_optional_id(arguments.get("warehouseId"), "Warehouse", "warehouseId")
    sort = reports.LOW_STOCK_SORT
    return PageArgs(Keyset.of(sort, page_window), sort, reports.LowStockFilter(warehouse))


def by_key(type_name: str, key_name: str) -> Any:
    """A root field taking `id` or a natural key (Query.product's `sku`, ...)."""

    def spec(arguments: Arguments, settings: Settings) -> ByKey:
        return ByKey(*id_or_key(type_name, arguments.get("id"), key_name, arguments.get(key_name)))

    return spec


def by_id(type_name: str) -> Any:
    def spec(arguments: Arguments, settings: Settings) -> ByKey:
        return ByKey(decode_id(arguments["id"], type_name, "id"), None)

    return spec


def inventory_valuation(arguments: Arguments, settings: Settings) -> reports.ValuationFilter:
    warehouse = decode_optional_id(arguments.get("warehouseId"), "Warehouse", "warehouseId")
    category = decode_optional_id(arguments.get("categoryId"), "Category", "categoryId")
    return reports.ValuationFilter(warehouse, category)


def stock_movements(arguments: Arguments, settings: Settings) -> reports.MovementFilter:
    created_from, created_to = arguments.get("from"), arguments.get("to")
    stock_reads.check_period(created_from, created_to, start_field="from", end_field="to")
    warehouse = decode_optional_id(arguments.get("warehouseId"), "Warehouse", "warehouseId")
    category = decode_optional_id(arguments.get("categoryId"), "Category", "categoryId")
    group = reports.MovementGroup(MovementGroupBy(arguments["groupBy"]).value)
    return reports.MovementFilter(group, created_from, created_to, warehouse, category)


def webhook_deliveries(arguments: Arguments, settings: Settings) -> PageArgs:
    """Query.webhookDeliveries: window, the endpoint's ID, then cursors."""
    page_window = _window(arguments, settings)
    spec = delivery_filter(arguments["endpointId"])
    sort = webhooks_db.DELIVERY_SORT
    return PageArgs(Keyset.of(sort, page_window), sort, spec)


def node_ids(arguments: Arguments, settings: Settings) -> list[str]:
    """Query.nodes: at most a page's worth of IDs."""
    ids = arguments["ids"]
    if len(ids) > settings.max_page_size:
        raise Invalid(f"At most {settings.max_page_size} IDs at once.", field="ids")
    return list(ids)
