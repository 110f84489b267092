"""What each field of the schema's object types reads, for the plan compiler: the models' columns, the
relationships between them (with the orders the reference path's loaders use), and the values computed
from them. Root fields are in graph/plans/roots.py; connections' own fields in graph/plans/fields.py.
"""

from typing import Any

from graphql import get_named_type
from sqlalchemy import func, literal, select
from sqlalchemy.orm import aliased

from db import catalog_reads, purchasing_reads, reports, selling_reads, stock_reads
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
    SalesReturn,
    StockLevel,
    Supplier,
    User,
    Warehouse,
    WebhookDelivery,
    WebhookEndpoint,
)
from db.pagination import SortKey
from db.types import utcnow
from graph.auth import is_self_or_admin
from graph.plans import arguments
from graph.plans.fields import Aggregate, Column, Computed, FieldSpec, GlobalId, Many, One, Page
from graph.plans import writers as w
from graph.plans.rows import RowPlan, SqlContext
from graph.plans.writers import State
from graph.relay import to_global_id
from graph.types.changes import present, shows_email

# GraphQL type name -> (the model its rows are read from, its fields).
TypeMap = dict[str, tuple[Any, dict[str, FieldSpec]]]


def _columns(**names: str) -> dict[str, FieldSpec]:
    """Fields that are columns: GraphQL name = model attribute."""
    return {graphql: Column(attribute) for graphql, attribute in names.items()}


def _to(model: Any, key: str) -> One:
    """The `model` row the row's foreign key `key` names."""
    return One(model, lambda row, target, _spec, _bind: [target.id == getattr(row, key)])


def _created_by() -> One:
    return _to(User, "created_by_id")


def _updated_by() -> One:
    return _to(User, "updated_by_id")


TIMESTAMPS = _columns(createdAt="created_at", updatedAt="updated_at")


def _suppliers(_context: SqlContext, product: Any, offer: Any) -> Any:
    """A product's offers, the preferred supplier's first (db.catalog_reads.offers_by_product_ids)."""
    return select(offer).where(offer.product_id == product.id), (offer.is_preferred.desc(), offer.id)


def _stock(_context: SqlContext, product: Any, level: Any) -> Any:
    """A product's stock levels by warehouse name (db.stock_reads.levels_by_product_ids)."""
    warehouse = aliased(Warehouse)
    rows = select(level).join(warehouse, warehouse.id == level.warehouse_id).where(level.product_id == product.id)
    return rows, stock_reads.WAREHOUSE_SORT.on(warehouse).order_by()


def _children(_context: SqlContext, category: Any, child: Any) -> Any:
    return select(child).where(child.parent_id == category.id), catalog_reads.CATEGORY_SORT.on(child).order_by()


def _ancestors(_context: SqlContext, category: Any, ancestor: Any) -> Any:
    """The category's ancestors, from the root down to its parent."""
    start = aliased(Category)
    chain = (
        select(start.id.label("id"), start.parent_id.label("parent_id"), literal(1).label("depth"))
        .where(start.id == category.parent_id)
        .correlate(category)
        .cte("ancestors", recursive=True, nesting=True)
    )
    up = aliased(Category)
    chain = chain.union_all(
        select(up.id, up.parent_id, chain.c.depth + 1).where(up.id == chain.c.parent_id)
    )
    return select(ancestor).join(chain, chain.c.id == ancestor.id), (chain.c.depth.desc(),)


def _lines(_context: SqlContext, order: Any, line: Any) -> Any:
    return select(line).where(line.purchase_order_id == order.id), (line.id,)


def _sales_lines(_context: SqlContext, order: Any, line: Any) -> Any:
    return select(line).where(line.sales_order_id == order.id), (line.id,)


def _line_holds(_context: SqlContext, line: Any, hold: Any) -> Any:
    return select(hold).where(hold.sales_order_line_id == line.id), (hold.id,)


def _line_returns(_context: SqlContext, line: Any, back: Any) -> Any:
    return select(back).where(back.sales_order_line_id == line.id), (back.id,)


def _holding(_state: State, released_at: Any, expires_at: Any) -> bool:
    """Reservation.isActive, as graph.types.selling.Reservation works it out."""
    return released_at is None and (expires_at is None or expires_at > utcnow())


def _product_count(context: SqlContext, category: Any, include_descendants: bool, _bind: Any, listed: bool) -> Any:
    """Category.productCount: the category's products, or its subtree's. For one category, counted from
    the products' category index (as `JsonRows.within` reads a subtree). For a list of them, every
    category's count is taken once, for the whole statement, and each subtree sums its categories' counts:
    a tree of categories would otherwise count its leaves once per level."""
    if listed:
        counts = context.shared("category_counts", _category_counts)
        total = select(func.coalesce(func.sum(counts.c.products), 0))
        if include_descendants:
            # Driven by the subtree, a look-up of each of its categories' counts: SQLite would run a
            # subtree IN-list once per category's count, 300 recursive queries for each subtree.
            tree = catalog_reads.subtree(category.id)
            return total.select_from(tree).join(counts, counts.c.category_id == tree.c.id).scalar_subquery()
        return total.where(counts.c.category_id == category.id).scalar_subquery()
    product = aliased(Product)
    if include_descendants:
        condition = context.json.within(product.category_id, catalog_reads.subtree_ids(category.id))
    else:
        condition = product.category_id == category.id
    return select(func.count()).select_from(product).where(condition).scalar_subquery()


def _category_counts() -> Any:
    """Every category's own product count, each counted from the products' category index (a GROUP BY over
    the products reads the whole table and hashes it: twice the time)."""
    category, product = aliased(Category), aliased(Product)
    count = select(func.count()).select_from(product).where(product.category_id == category.id).scalar_subquery()
    counted = select(category.id.label("category_id"), count.label("products"))
    return counted.cte("category_counts").prefix_with("MATERIALIZED")


def _email(state: State, email: str | None, pk: int) -> str | None:
    """User.email: for the user itself and for administrators (graph.auth.IsSelfOrAdmin)."""
    return email if is_self_or_admin(state.viewer, pk) else None


def _on_hand(_context: SqlContext, product: Any, _spec: Any, _bind: Any, _listed: bool) -> Any:
    return reports.on_hand(product.id)


def _on_order(_context: SqlContext, product: Any, _spec: Any, _bind: Any, _listed: bool) -> Any:
    return purchasing_reads.on_order(product.id)


def _in_category(category: Any, product: Any, spec: Any, bind: Any) -> list[Any]:
    """Category.products: the category's products (or its subtree's), and the filter."""
    conditions = catalog_reads.product_conditions(spec.filter, bind, product)
    if spec.filter.include_descendants:
        return [product.category_id.in_(catalog_reads.subtree_ids(category.id)), *conditions]
    return [product.category_id == category.id, *conditions]


def _of_product(product: Any, entry: Any, spec: Any, bind: Any) -> list[Any]:
    conditions = stock_reads.transaction_conditions(spec.filter, bind, entry)
    return [entry.product_id == product.id, *conditions]


class OrderTotal(FieldSpec):
    """SalesOrder.total: summed in SQL, exactly (db.selling_reads.order_total), and read back as money."""

    def compile(self, compiler: Any, field: Any, row: RowPlan) -> w.FieldWriter:
        json, money = compiler.json, selling_reads.ORDER_TOTAL
        slot = row.add(
            ("order_total",), lambda _context, order: json.value(selling_reads.order_total(order.id), money), nesting=2
        )
        decode = None if compiler.python_values else json.decoder(money)
        return w.Scalar(field.named, slot, compiler.convert(decode, field.definition))


class ChangedFields(FieldSpec):
    """Change.fields: the JSON column's list, presented as the reference path does (graph.types.changes),
    each FieldChange written with the fields the document selects."""

    def compile(self, compiler: Any, field: Any, row: RowPlan) -> w.FieldWriter:
        slot, decode = compiler.column_slot(row, field.parent_model, "fields")
        # Whose change it is: a user's email shows only to that user and administrators.
        entity_type_slot, _ = compiler.column_slot(row, field.parent_model, "entity_type")
        entity_id_slot, _ = compiler.column_slot(row, field.parent_model, "entity_id")
        item_type = get_named_type(field.definition.type)
        selected = [(key, nodes[0].name.value) for key, nodes in compiler.collect(item_type, field.nodes).items()]
        return _ChangedFieldsWriter(
            field.named, (slot, entity_type_slot, entity_id_slot), decode, item_type.name, selected
        )


class _ChangedFieldsWriter(w.FieldWriter):
    def __init__(
        self,
        named: w.Named,
        slots: tuple[int, int, int],
        decode: Any,
        type_name: str,
        selected: list[tuple[str, str]],
    ) -> None:
        self.__dict__.update(vars(named))
        self.slot, self.entity_type_slot, self.entity_id_slot = slots
        self.decode = decode
        self.type_name = type_name
        self.selected = selected

    def _items(self, row: list[Any], state: State) -> list[dict[str, Any]]:
        value = row[self.slot]
        stored = value if self.decode is None else self.decode(value)
        email_shown = shows_email(state.viewer, row[self.entity_type_slot], int(row[self.entity_id_slot]))
        return [
            {key: self.type_name if name == "__typename" else item[name] for key, name in self.selected}
            for item in present(stored, email_shown=email_shown)
        ]

    def write(self, row: list[Any], path: w.Path, state: State) -> Any:
        if row[self.slot] is None:
            return self.null(path + (self.key,), state)
        return self._items(row, state)

    def fast(self, row: list[Any], state: State) -> Any:
        if row[self.slot] is None:
            return w.slow()
        return self._items(row, state)


class EventNames(FieldSpec):
    """WebhookEndpoint.events: the JSON column's list of names, which are the enum's names."""

    def compile(self, compiler: Any, field: Any, row: RowPlan) -> w.FieldWriter:
        slot, decode = compiler.column_slot(row, field.parent_model, "events")

        def names(_state: State, stored: Any) -> list[str]:
            return list(stored if decode is None else decode(stored))

        return w.Computed(field.named, [slot], names, None)


PRODUCT_SORTS: tuple[SortKey, ...] = tuple(
    catalog_reads.product_sort(field) for field in catalog_reads.ProductSortField
)

TYPES: TypeMap = {
    "Product": (
        Product,
        {
            "id": GlobalId("Product"),
            **_columns(
                sku="sku",
                name="name",
                description="description",
                unitPrice="unit_price",
                reorderPoint="reorder_point",
                reorderQuantity="reorder_quantity",
                isActive="is_active",
                averageCost="average_cost",
            ),
            **TIMESTAMPS,
            "category": _to(Category, "category_id"),
            "createdBy": _created_by(),
            "updatedBy": _updated_by(),
            "suppliers": Many(ProductSupplier, _suppliers),
            "quantityOnHand": Aggregate(_on_hand),
            "quantityOnOrder": Aggregate(_on_order, key="on_order"),
            "quantityReserved": Aggregate(lambda _c, product, _s, _b, _l: selling_reads.held(product.id)),
            "quantityAvailable": Aggregate(
                lambda _c, product, _s, _b, _l: reports.on_hand(product.id) - selling_reads.held(product.id)
            ),
            "stock": Many(StockLevel, _stock),
            "transactions": Page(
                InventoryTransaction, arguments.product_transactions, _of_product, (stock_reads.TRANSACTION_SORT,)
            ),
        },
    ),
    "Category": (
        Category,
        {
            "id": GlobalId("Category"),
            **_columns(name="name", slug="slug", description="description"),
            **TIMESTAMPS,
            "parent": _to(Category, "parent_id"),
            "createdBy": _created_by(),
            "updatedBy": _updated_by(),
            "children": Many(Category, _children),
            "ancestors": Many(Category, _ancestors, nesting=6),  # a recursive CTE
            "products": Page(Product, arguments.category_products, _in_category, PRODUCT_SORTS),
            "productCount": Aggregate(_product_count, arguments.product_count, nesting=6),  # a subtree's CTE
        },
    ),
    "Supplier": (
        Supplier,
        {
            "id": GlobalId("Supplier"),
            **_columns(
                name="name", email="email", phone="phone", website="website", address="address", isActive="is_active"
            ),
            **TIMESTAMPS,
            "createdBy": _created_by(),
            "updatedBy": _updated_by(),
            "offers": Page(
                ProductSupplier,
                arguments.page(catalog_reads.OFFER_SORT),
                lambda supplier, offer, _spec, _bind: [offer.supplier_id == supplier.id],
                (catalog_reads.OFFER_SORT,),
            ),
        },
    ),
    "ProductSupplier": (
        ProductSupplier,
        {
            "id": GlobalId("ProductSupplier"),
            **_columns(
                supplierSku="supplier_sku", unitCost="unit_cost", leadTimeDays="lead_time_days", isPreferred="is_preferred"
            ),
            **TIMESTAMPS,
            "product": _to(Product, "product_id"),
            "supplier": _to(Supplier, "supplier_id"),
            "updatedBy": _updated_by(),
        },
    ),
    "Warehouse": (
        Warehouse,
        {
            "id": GlobalId("Warehouse"),
            **_columns(code="code", name="name", address="address", isActive="is_active"),
            **TIMESTAMPS,
            "createdBy": _created_by(),
            "updatedBy": _updated_by(),
            "stock": Page(
                StockLevel,
                arguments.page(stock_reads.WAREHOUSE_STOCK_SORT),
                lambda warehouse, level, _spec, _bind: [level.warehouse_id == warehouse.id],
                (stock_reads.WAREHOUSE_STOCK_SORT,),
            ),
        },
    ),
    "StockLevel": (
        StockLevel,
        {
            # Keyed by product and warehouse (graph.relay.KEY_PARTS), as the reference path's StockLevel.of.
            "id": Computed(
                ("product_id", "warehouse_id"),
                lambda _state, product, warehouse: to_global_id("StockLevel", product, warehouse),
            ),
            "quantityOnHand": Column("quantity"),
            "quantityReserved": Aggregate(
                lambda _c, level, _s, _b, _l: selling_reads.held(level.product_id, level.warehouse_id)
            ),
            "quantityAvailable": Aggregate(
                lambda _c, level, _s, _b, _l: level.quantity - selling_reads.held(level.product_id, level.warehouse_id)
            ),
            "product": _to(Product, "product_id"),
            "warehouse": _to(Warehouse, "warehouse_id"),
        },
    ),
    "InventoryTransaction": (
        InventoryTransaction,
        {
            "id": GlobalId("InventoryTransaction"),
            **_columns(
                kind="kind",
                quantity="quantity",
                balanceAfter="balance_after",
                unitCost="unit_cost",
                reference="reference",
                note="note",
                reason="reason",
                createdAt="created_at",
            ),
            "product": _to(Product, "product_id"),
            "warehouse": _to(Warehouse, "warehouse_id"),
            "createdBy": _created_by(),
            "purchaseOrder": _to(PurchaseOrder, "purchase_order_id"),
        },
    ),
    "PurchaseOrder": (
        PurchaseOrder,
        {
            "id": GlobalId("PurchaseOrder"),
            **_columns(
                number="number",
                status="status",
                expectedDate="expected_date",
                note="note",
                orderedAt="ordered_at",
                receivedAt="received_at",
                cancelledAt="cancelled_at",
            ),
            **TIMESTAMPS,
            "supplier": _to(Supplier, "supplier_id"),
            "createdBy": _created_by(),
            "lines": Many(PurchaseOrderLine, _lines),
        },
    ),
    "PurchaseOrderLine": (
        PurchaseOrderLine,
        {
            "id": GlobalId("PurchaseOrderLine"),
            **_columns(quantityOrdered="quantity_ordered", quantityReceived="quantity_received", unitCost="unit_cost"),
            "quantityOutstanding": Computed(
                ("quantity_ordered", "quantity_received"), lambda _state, ordered, received: ordered - received
            ),
            "product": _to(Product, "product_id"),
        },
    ),
    "Customer": (
        Customer,
        {
            "id": GlobalId("Customer"),
            **_columns(
                name="name", email="email", phone="phone", shippingAddress="shipping_address", isActive="is_active"
            ),
            **TIMESTAMPS,
            "createdBy": _created_by(),
            "updatedBy": _updated_by(),
        },
    ),
    "SalesOrder": (
        SalesOrder,
        {
            "id": GlobalId("SalesOrder"),
            **_columns(
                number="number",
                status="status",
                requestedDate="requested_date",
                note="note",
                confirmedAt="confirmed_at",
                shippedAt="shipped_at",
                cancelledAt="cancelled_at",
            ),
            **TIMESTAMPS,
            "customer": _to(Customer, "customer_id"),
            "createdBy": _created_by(),
            "lines": Many(SalesOrderLine, _sales_lines),
            "total": OrderTotal(),
        },
    ),
    "SalesOrderLine": (
        SalesOrderLine,
        {
            "id": GlobalId("SalesOrderLine"),
            **_columns(
                quantityOrdered="quantity_ordered",
                quantityShipped="quantity_shipped",
                quantityReturned="quantity_returned",
                unitPrice="unit_price",
            ),
            "lineTotal": Computed(("unit_price", "quantity_ordered"), lambda _state, price, quantity: price * quantity),
            "quantityOutstanding": Computed(
                ("quantity_ordered", "quantity_shipped"), lambda _state, ordered, shipped: ordered - shipped
            ),
            "product": _to(Product, "product_id"),
            "warehouse": _to(Warehouse, "warehouse_id"),
            "salesOrder": _to(SalesOrder, "sales_order_id"),
            "reservations": Many(Reservation, _line_holds),
            "returns": Many(SalesReturn, _line_returns),
        },
    ),
    "Reservation": (
        Reservation,
        {
            "id": GlobalId("Reservation"),
            **_columns(
                quantity="quantity",
                expiresAt="expires_at",
                reference="reference",
                createdAt="created_at",
                releasedAt="released_at",
            ),
            "isActive": Computed(("released_at", "expires_at"), _holding),
            "product": _to(Product, "product_id"),
            "warehouse": _to(Warehouse, "warehouse_id"),
            "salesOrderLine": _to(SalesOrderLine, "sales_order_line_id"),
            "createdBy": _created_by(),
        },
    ),
    "SalesReturn": (
        SalesReturn,
        _columns(quantity="quantity", disposition="disposition", note="note", createdAt="created_at"),
    ),
    "Change": (
        Change,
        {
            "id": GlobalId("Change"),
            **_columns(operation="operation", entityType="entity_type", requestId="request_id", at="created_at"),
            "entityId": Computed(
                ("entity_type", "entity_id"), lambda _state, type_name, pk: to_global_id(type_name, pk)
            ),
            "fields": ChangedFields(),
            "actor": _to(User, "actor_id"),
        },
    ),
    "WebhookEndpoint": (
        WebhookEndpoint,
        {
            "id": GlobalId("WebhookEndpoint"),
            **_columns(
                url="url",
                isActive="is_active",
                consecutiveFailures="consecutive_failures",
                disabledAt="disabled_at",
                lastEventId="last_event_id",
                nextAttemptAt="next_attempt_at",
            ),
            **TIMESTAMPS,
            "events": EventNames(),
        },
    ),
    "WebhookDelivery": (
        WebhookDelivery,
        _columns(
            eventId="event_id",
            attempt="attempt",
            statusCode="status_code",
            error="error",
            durationMs="duration_ms",
            createdAt="created_at",
            nextAttemptAt="next_attempt_at",
        ),
    ),
    "User": (
        User,
        {
            "id": GlobalId("User"),
            **_columns(username="username", role="role", isActive="is_active", createdAt="created_at"),
            "email": Computed(("email", "id"), _email),
        },
    ),
}
