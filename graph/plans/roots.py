"""The root query fields in plans, and the report types below them: what each reads, with the same
queries, orders and checks as the reference path's resolvers (graph/queries/). Each root field is one
statement (`me` and `__typename` none): a JSON array holding the field's value.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLObjectType, get_named_type
from sqlalchemy import ARRAY, Integer, and_, null, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement
from strawberry.utils.str_converters import to_camel_case

from db import catalog_reads, purchasing_reads, reports, selling_reads, stock_reads
from db import changes as changes_db
from db import users as users_db
from db import webhooks as webhooks_db
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
    StockLevel,
    Supplier,
    User,
    Warehouse,
    WebhookDelivery,
    WebhookEndpoint,
)
from graph.auth import may_fetch, refusal
from graph.plans import arguments
from graph.plans import writers as w
from graph.plans.compiler import Compiler, Field, RootField, Viewer
from graph.plans.fields import Aggregate, Column, Columns, Computed, FieldSpec, One, Page, RowShape
from graph.plans.rows import Relation, RowPlan, SqlContext
from graph.plans.schema_map import PRODUCT_SORTS, TYPES
from graph.relay import from_node_id
from graph.schema import QUERY_ACCESS

# --- objects by key -----------------------------------------------------------------------------------


def _by_key(model: Any, type_name: str, key_name: str, column: str, normalize: Callable[[str], str]) -> One:
    """Query.product and its like: by global ID or by a natural key, normalized as the writes store it."""

    def join(_row: Any, target: Any, spec: arguments.ByKey, bind: Any) -> list[ColumnElement[bool]]:
        if spec.pk is not None:
            return [target.id == bind("pk", lambda s: s.pk, target.id.type)]
        return [getattr(target, column) == bind("key", lambda s: normalize(s.key))]

    return One(model, join, arguments.by_key(type_name, key_name))


def _upper(text: str) -> str:
    return text.strip().upper()


def _as_given(text: str) -> str:
    return text


def _page(model: Any, spec: Any, conditions: Callable[..., list[Any]], sort: Any) -> Page:
    """A root connection: `conditions(filter, bind, entity)` from db/."""
    return Page(model, spec, lambda _root, child, spec, bind: conditions(spec.filter, bind, child), (sort,))


# --- reports ----------------------------------------------------------------------------------------


def _warehouse_asked(_row: Any, target: Any, spec: arguments.PageArgs, bind: Any) -> list[Any] | None:
    """LowStockItem.warehouse: the warehouse the report was asked for, if any."""
    if spec.filter.warehouse_id is None:
        return None
    return [target.id == bind("warehouse_id", lambda s: s.filter.warehouse_id)]


def _low_on_hand(_context: SqlContext, product: Any, spec: arguments.PageArgs, bind: Any, _listed: bool) -> Any:
    warehouse = None if spec.filter.warehouse_id is None else bind("warehouse_id", lambda s: s.filter.warehouse_id)
    return reports.on_hand(product.id, warehouse)


def _low_available(_context: SqlContext, product: Any, spec: arguments.PageArgs, bind: Any, _listed: bool) -> Any:
    warehouse = None if spec.filter.warehouse_id is None else bind("warehouse_id", lambda s: s.filter.warehouse_id)
    return reports.available(product.id, warehouse)


def _on_order(_context: SqlContext, product: Any, _spec: Any, _bind: Any, _listed: bool) -> Any:
    return purchasing_reads.on_order(product.id)


LOW_ON_HAND = Aggregate(_low_on_hand, root_arguments=True, key="on_hand")
LOW_AVAILABLE = Aggregate(_low_available, root_arguments=True, key="available")
# The same slot as Product.quantityOnOrder's (graph/plans/schema_map.py), which the item's product shares.
LOW_ON_ORDER = Aggregate(_on_order, key="on_order")


class QuantityReserved(FieldSpec):
    """LowStockItem.quantityReserved: on hand less available."""

    def compile(self, compiler: Compiler, field: Field, row: RowPlan) -> w.FieldWriter:
        on_hand, _ = LOW_ON_HAND.slot(compiler, field, row)
        available, _ = LOW_AVAILABLE.slot(compiler, field, row)

        def compute(_state: w.State, on_hand: int, available: int) -> int:
            return on_hand - available

        return w.Computed(field.named, [on_hand, available], compute, compiler.convert(None, field.definition))


class QuantityToOrder(FieldSpec):
    """LowStockItem.quantityToOrder, from the stock position and the product's reorder terms."""

    def compile(self, compiler: Compiler, field: Field, row: RowPlan) -> w.FieldWriter:
        available, _ = LOW_AVAILABLE.slot(compiler, field, row)
        on_order, _ = LOW_ON_ORDER.slot(compiler, field, row)
        point, _ = compiler.column_slot(row, Product, "reorder_point")
        quantity, _ = compiler.column_slot(row, Product, "reorder_quantity")

        def compute(_state: w.State, available: int, on_order: int, point: int, quantity: int) -> int:
            return reports.quantity_to_order(available + on_order, point, quantity)

        slots = [available, on_order, point, quantity]
        return w.Computed(field.named, slots, compute, compiler.convert(None, field.definition))


VALUATION_ROWS = RowShape(reports.valuation_groups(reports.ValuationFilter()))
MOVEMENT_ROWS = RowShape(reports.movement_rows(reports.MovementFilter(reports.MovementGroup.PRODUCT)))


def _group(group: reports.MovementGroup) -> Callable[..., list[Any] | None]:
    """StockMovementSummary.product and its like: the row's group, when the report is grouped by it."""

    def join(row: Any, target: Any, spec: reports.MovementFilter, _bind: Any) -> list[Any] | None:
        return [target.id == row.group_id] if spec.group_by is group else None

    return join


def _decode(compiler: Compiler, model: Any, attribute: str) -> Callable[[Any], Any]:
    decode = compiler.json.decoder(getattr(model, attribute).type)
    return (lambda value: value) if decode is None else (lambda value: None if value is None else decode(value))


class Valuation(FieldSpec):
    """Query.inventoryValuation: the valuation's rows (db.reports.valuation_groups), one per category,
    totalled as db.reports.valuation_of does."""

    def compile(self, compiler: Compiler, field: Field, row: RowPlan) -> w.FieldWriter:
        args = compiler.arguments(field, arguments.inventory_valuation)
        compiler.root_arguments = args
        type_ = get_named_type(field.definition.type)
        assert isinstance(type_, GraphQLObjectType)
        group_row = RowPlan()
        groups = [compiler.column_slot(group_row, VALUATION_ROWS, name)[0] for name in ("category_id", "quantity", "value")]
        decode = [_decode(compiler, VALUATION_ROWS, name) for name in ("category_id", "quantity", "value")]
        fields: list[tuple[str, str, Any, list[Any]]] = []
        for key, nodes in compiler.collect(type_, field.nodes).items():
            name = nodes[0].name.value
            if name == "byCategory":
                by_category = compiler.field(type_, key, nodes, VALUATION_ROWS)
                fields.append((key, name, compiler.object_writer(by_category, group_row, VALUATION_ROWS), nodes))
            elif name == "__typename":
                fields.append((key, name, type_.name, nodes))
            else:
                fields.append((key, name, compiler.convert(None, type_.fields[name]), nodes))

        def build(context: SqlContext, _root: Any) -> ColumnElement[Any]:
            if context.failed(args):
                return null()
            rows = reports.valuation_groups(context.spec(args), context.binder(args)).subquery()
            listed = context.json.aggregate(group_row.json(context, Columns(rows)), select(rows), (rows.c.ordinal,))
            return context.json.nested(listed.scalar_subquery())

        relation = Relation("many", group_row)
        return _ValuationWriter(field.named, row.add(None, build, relation), args.index, groups, decode, fields)


class _ValuationWriter(w.FieldWriter):
    def __init__(
        self,
        named: w.Named,
        slot: int,
        arguments: int,
        groups: list[int],
        decode: list[Callable[[Any], Any]],
        fields: list[tuple[str, str, Any, list[Any]]],
    ) -> None:
        self.__dict__.update(vars(named))
        self.slot = slot
        self.arguments = arguments
        self.groups = groups
        self.decode = decode
        self.fields = fields

    def write(self, row: list[Any], path: w.Path, state: w.State) -> Any:
        path = path + (self.key,)
        refusal = state.specs[self.arguments]
        if isinstance(refusal, Exception):
            return self.failed(refusal, path, state)
        rows = row[self.slot]
        valuation = reports.valuation_of(
            [tuple(decode(group[slot]) for slot, decode in zip(self.groups, self.decode, strict=True)) for group in rows]
        )
        out: dict[str, Any] = {}
        try:
            for key, name, how, nodes in self.fields:
                if name == "byCategory":
                    out[key] = w.write_items(rows, how, path + (key,), state)
                elif name == "__typename":
                    out[key] = how
                else:
                    value = valuation.total_quantity if name == "totalQuantity" else valuation.total_value
                    try:
                        out[key] = value if how is None else how(value)
                    except GraphQLError as error:
                        state.fail(error, nodes, path + (key,))
                        raise w.Propagate from None
        except w.Propagate:
            if self.nullable:
                return None
            raise
        return out


class Movements(FieldSpec):
    """Query.stockMovements: the rows of db.reports.movement_rows, in their order."""

    def compile(self, compiler: Compiler, field: Field, row: RowPlan) -> w.FieldWriter:
        args = compiler.arguments(field, arguments.stock_movements)
        compiler.root_arguments = args
        movement_row = RowPlan()
        child = compiler.object_writer(field, movement_row, MOVEMENT_ROWS)

        def build(context: SqlContext, _root: Any) -> ColumnElement[Any]:
            if context.failed(args):
                return null()
            rows = reports.movement_rows(context.spec(args), context.binder(args)).subquery()
            listed = context.json.aggregate(movement_row.json(context, Columns(rows)), select(rows), (rows.c.ordinal,))
            return context.json.nested(listed.scalar_subquery())

        return _Refused(w.Items(field.named, row.add(None, build, Relation("many", movement_row)), child), args.index)


class _Refused(w.FieldWriter):
    """A root field's writer, preceded by its arguments' refusal, if the request's are refused."""

    def __init__(self, writer: w.FieldWriter, arguments: int) -> None:
        self.__dict__.update(vars(writer))
        self.writer = writer
        self.arguments = arguments

    def write(self, row: list[Any], path: w.Path, state: w.State) -> Any:
        refusal = state.specs[self.arguments]
        if isinstance(refusal, Exception):
            return self.failed(refusal, path + (self.key,), state)
        return self.writer.write(row, path, state)

    def fast(self, row: list[Any], state: w.State) -> Any:
        if isinstance(state.specs[self.arguments], Exception):
            raise w.Slow
        return self.writer.fast(row, state)


# --- nodes --------------------------------------------------------------------------------------------

NODE_MODELS: dict[str, Any] = {
    "Product": Product,
    "Category": Category,
    "Supplier": Supplier,
    "ProductSupplier": ProductSupplier,
    "Warehouse": Warehouse,
    "User": User,
    "InventoryTransaction": InventoryTransaction,
    "PurchaseOrder": PurchaseOrder,
    "PurchaseOrderLine": PurchaseOrderLine,
    "StockLevel": StockLevel,
    "Change": Change,
    "WebhookEndpoint": WebhookEndpoint,
    "Customer": Customer,
    "SalesOrder": SalesOrder,
    "SalesOrderLine": SalesOrderLine,
    "Reservation": Reservation,
}
# The columns a global ID's key names, where they are not `id` (graph.relay.KEY_PARTS), in its order.
NODE_KEYS: dict[str, tuple[str, ...]] = {"StockLevel": ("product_id", "warehouse_id")}


def _key_columns(type_name: str) -> tuple[str, ...]:
    return NODE_KEYS.get(type_name, ("id",))


def _parts(pk: int | tuple[int, ...]) -> tuple[int, ...]:
    return pk if isinstance(pk, tuple) else (pk,)


@dataclass(frozen=True)
class NodeRef:
    """A global ID's type and key: the primary key, or a tuple of the numbers of a key of several columns."""

    type_name: str
    pk: int | tuple[int, ...]

    def __shape__(self) -> str:
        return self.type_name


def readable(ref: NodeRef, viewer: users_db.SignedIn | None) -> bool:
    """Whether `viewer` may fetch what `ref` names by its ID (graph.auth.may_fetch, as the reference path)."""
    return may_fetch(viewer, ref.type_name, ref.pk)


def node_ref(global_id: str) -> NodeRef | None:
    """What a global ID names, or None if it names nothing `node` can fetch (as the reference path)."""
    try:
        type_name, pk = from_node_id(global_id)
    except ValueError:
        return None
    return NodeRef(type_name, pk) if type_name in NODE_MODELS else None


def _node_writers(compiler: Compiler, field: Field) -> dict[str, tuple[RowPlan, w.ObjectWriter]]:
    """For each type a global ID may name, the row and writer of the fields selected on it."""
    writers = {}
    for type_name, model in NODE_MODELS.items():
        type_ = compiler.schema.get_type(type_name)
        assert isinstance(type_, GraphQLObjectType)
        row = RowPlan()
        writers[type_name] = (row, compiler.fields_writer(type_, field.nodes, row, model))
    return writers


def _found(context: SqlContext, row: RowPlan, model: Any, ids: ColumnElement[bool] | Callable[[Any], Any]) -> Any:
    target = aliased(model)
    condition = ids(target) if callable(ids) else ids
    return select(row.json(context, target)).select_from(target).where(condition)


class NodeField(FieldSpec):
    """Query.node: the object a global ID names, of whichever type."""

    def compile(self, compiler: Compiler, field: Field, row: RowPlan) -> w.FieldWriter:
        args = compiler.arguments(field, lambda coerced, _settings: node_ref(coerced["id"]))
        writers = _node_writers(compiler, field)

        def build(context: SqlContext, _root: Any) -> ColumnElement[Any]:
            ref: NodeRef | None = context.spec(args)
            if ref is None:
                return null()
            bind = context.binder(args)
            node_row, _ = writers[ref.type_name]

            def keyed(target: Any) -> ColumnElement[bool]:
                return and_(
                    *(
                        getattr(target, column) == bind(f"key{i}", lambda s, i=i: _parts(s.pk)[i])
                        for i, column in enumerate(_key_columns(ref.type_name))
                    )
                )

            found = _found(context, node_row, NODE_MODELS[ref.type_name], keyed)
            return context.json.nested(found.scalar_subquery())

        def rows(value: list[Any], specs: list[Any]) -> list[tuple[RowPlan, list[Any]]]:
            return [(writers[specs[args.index].type_name][0], value)]

        slot = row.add(None, build, Relation("one", None, rows=rows))
        return _NodeWriter(field.named, slot, args.index, writers)


class _NodeWriter(w.FieldWriter):
    def __init__(self, named: w.Named, slot: int, arguments: int, writers: dict[str, Any]) -> None:
        self.__dict__.update(vars(named))
        self.slot = slot
        self.arguments = arguments
        self.writers = writers

    def write(self, row: list[Any], path: w.Path, state: w.State) -> Any:
        ref = state.specs[self.arguments]
        value = row[self.slot]
        if ref is None or value is None or not readable(ref, state.viewer):
            return None
        try:
            return self.writers[ref.type_name][1].write(value, path + (self.key,), state)
        except w.Propagate:
            return None


class NodesField(FieldSpec):
    """Query.nodes: the objects global IDs name, in the order asked, null where there is none; per type
    of object asked for, one subquery of the rows with those ids."""

    def compile(self, compiler: Compiler, field: Field, row: RowPlan) -> w.FieldWriter:
        json = compiler.json

        def spec(coerced: dict[str, Any], settings: Any) -> tuple[Any, ...]:
            refs = tuple(node_ref(global_id) for global_id in arguments.node_ids(coerced, settings))
            return _NodeRefs(refs)

        args = compiler.arguments(field, spec)
        writers = _node_writers(compiler, field)

        def build(context: SqlContext, _root: Any) -> ColumnElement[Any]:
            if context.failed(args):
                return null()
            refs: _NodeRefs = context.spec(args)
            bind = context.binder(args)
            per_type = []
            for type_name in sorted(refs.types()):
                node_row, _ = writers[type_name]
                target = aliased(NODE_MODELS[type_name])
                columns = [getattr(target, name) for name in _key_columns(type_name)]
                # A key of several columns: each column among the numbers asked for in its place, which
                # may find pairs not asked for too (the writer takes only those asked for).
                conditions = []
                for i, column in enumerate(columns):
                    ids = bind(
                        f"ids_{type_name}_{i}",
                        lambda s, t=type_name, i=i: json.id_list(
                            [_parts(r.pk)[i] for r in s.refs if r is not None and r.type_name == t]
                        ),
                        ARRAY(Integer) if json.postgresql else None,
                    )
                    conditions.append(json.in_list(column, ids))
                key = columns[0] if len(columns) == 1 else json.array(columns)
                element = json.array([key, node_row.json(context, target)])
                listed = json.aggregate(element, select(target).where(*conditions), ())
                per_type.append(json.nested(listed.scalar_subquery()))
            return json.array(per_type or [null()])

        def rows(value: list[Any], specs: list[Any]) -> list[tuple[RowPlan, list[Any]]]:
            found = []
            for type_name, listed in zip(sorted(specs[args.index].types()), value, strict=False):
                found += [(writers[type_name][0], element) for _pk, element in listed or ()]
            return found

        slot = row.add(None, build, Relation("many", None, rows=rows))
        return _NodesWriter(field.named, slot, args.index, writers)


@dataclass(frozen=True)
class _NodeRefs:
    refs: tuple[NodeRef | None, ...]

    def types(self) -> frozenset[str]:
        return frozenset(ref.type_name for ref in self.refs if ref is not None)

    def __shape__(self) -> frozenset[str]:
        return self.types()


class _NodesWriter(w.FieldWriter):
    def __init__(self, named: w.Named, slot: int, arguments: int, writers: dict[str, Any]) -> None:
        self.__dict__.update(vars(named))
        self.slot = slot
        self.arguments = arguments
        self.writers = writers

    def write(self, row: list[Any], path: w.Path, state: w.State) -> Any:
        path = path + (self.key,)
        refs = state.specs[self.arguments]
        if isinstance(refs, Exception):
            return self.failed(refs, path, state)
        found: dict[tuple[str, Any], Any] = {}
        for type_name, listed in zip(sorted(refs.types()), row[self.slot], strict=False):
            for pk, value in listed or ():
                found[(type_name, tuple(pk) if isinstance(pk, list) else pk)] = value
        values: list[Any] = []
        for index, ref in enumerate(refs.refs):
            value = None if ref is None or not readable(ref, state.viewer) else found.get((ref.type_name, ref.pk))
            if value is not None:
                try:
                    value = self.writers[ref.type_name][1].write(value, path + (index,), state)
                except w.Propagate:
                    value = None
            values.append(value)
        return values


# --- me -------------------------------------------------------------------------------------------


def _me(compiler: Compiler, field: Field) -> RootField:
    """Query.me: the signed-in user, from the token's look-up (no statement of its own)."""
    type_ = get_named_type(field.definition.type)
    assert isinstance(type_, GraphQLObjectType)
    user_row = RowPlan()
    compiler.python_values = True
    try:
        child = compiler.fields_writer(type_, field.nodes, user_row, User)
    finally:
        compiler.python_values = False
    attributes = [key[1] for key, _index in sorted(user_row.index_items(), key=lambda item: item[1])]

    def python_row(viewer: users_db.SignedIn | None) -> list[Any]:
        return [None if viewer is None else [getattr(viewer, attribute) for attribute in attributes]]

    return RootField(field.key, w.Nested(field.named, 0, child), None, [], python_row)


# --- the root ---------------------------------------------------------------------------------------

QUERY: dict[str, FieldSpec] = {
    "node": NodeField(),
    "nodes": NodesField(),
    "product": _by_key(Product, "Product", "sku", "sku", _upper),
    "category": _by_key(Category, "Category", "slug", "slug", _as_given),
    "warehouse": _by_key(Warehouse, "Warehouse", "code", "code", _upper),
    "purchaseOrder": _by_key(PurchaseOrder, "PurchaseOrder", "number", "number", _upper),
    "supplier": One(
        Supplier, lambda _row, target, spec, bind: [target.id == bind("pk", lambda s: s.pk)], arguments.by_id("Supplier")
    ),
    "products": Page(
        Product,
        arguments.products,
        lambda _root, child, spec, bind: catalog_reads.product_conditions(spec.filter, bind, child),
        PRODUCT_SORTS,
    ),
    "categories": _page(
        Category,
        arguments.page(catalog_reads.CATEGORY_SORT, arguments.category_filter),
        catalog_reads.category_conditions,
        catalog_reads.CATEGORY_SORT,
    ),
    "suppliers": _page(
        Supplier,
        arguments.page(catalog_reads.SUPPLIER_SORT, arguments.supplier_filter),
        catalog_reads.supplier_conditions,
        catalog_reads.SUPPLIER_SORT,
    ),
    "warehouses": _page(
        Warehouse,
        arguments.page(stock_reads.WAREHOUSE_SORT, arguments.warehouse_filter),
        stock_reads.warehouse_conditions,
        stock_reads.WAREHOUSE_SORT,
    ),
    "transactions": _page(
        InventoryTransaction,
        arguments.page(stock_reads.TRANSACTION_SORT, arguments.transaction_filter),
        stock_reads.transaction_conditions,
        stock_reads.TRANSACTION_SORT,
    ),
    "purchaseOrders": _page(
        PurchaseOrder,
        arguments.page(purchasing_reads.PURCHASE_ORDER_SORT, arguments.purchase_order_filter),
        purchasing_reads.purchase_order_conditions,
        purchasing_reads.PURCHASE_ORDER_SORT,
    ),
    "customer": One(
        Customer, lambda _row, target, spec, bind: [target.id == bind("pk", lambda s: s.pk)], arguments.by_id("Customer")
    ),
    "customers": _page(
        Customer,
        arguments.page(selling_reads.CUSTOMER_SORT, arguments.customer_filter),
        selling_reads.customer_conditions,
        selling_reads.CUSTOMER_SORT,
    ),
    "salesOrder": _by_key(SalesOrder, "SalesOrder", "number", "number", _upper),
    "salesOrders": _page(
        SalesOrder,
        arguments.page(selling_reads.SALES_ORDER_SORT, arguments.sales_order_filter),
        selling_reads.sales_order_conditions,
        selling_reads.SALES_ORDER_SORT,
    ),
    "reservations": _page(
        Reservation,
        arguments.page(selling_reads.RESERVATION_SORT, arguments.reservation_filter),
        selling_reads.reservation_conditions,
        selling_reads.RESERVATION_SORT,
    ),
    "changes": _page(
        Change,
        arguments.page(changes_db.CHANGE_SORT, arguments.change_filter),
        changes_db.change_conditions,
        changes_db.CHANGE_SORT,
    ),
    "users": _page(
        User, arguments.page(users_db.USER_SORT, arguments.user_filter), users_db.user_conditions, users_db.USER_SORT
    ),
    "webhookEndpoints": _page(
        WebhookEndpoint,
        arguments.page(webhooks_db.ENDPOINT_SORT),
        webhooks_db.endpoint_conditions,
        webhooks_db.ENDPOINT_SORT,
    ),
    "webhookDeliveries": _page(
        WebhookDelivery, arguments.webhook_deliveries, webhooks_db.delivery_conditions, webhooks_db.DELIVERY_SORT
    ),
    "lowStock": _page(Product, arguments.low_stock, reports.low_stock_conditions, reports.LOW_STOCK_SORT),
    "inventoryValuation": Valuation(),
    "stockMovements": Movements(),
}

# The report types, read from the rows of the reports' queries.
REPORT_TYPES = {
    "LowStockItem": (
        Product,
        {
            "product": One(Product, same_row=True),
            "quantityOnHand": LOW_ON_HAND,
            "quantityAvailable": LOW_AVAILABLE,
            "quantityReserved": QuantityReserved(),
            "quantityOnOrder": LOW_ON_ORDER,
            "reorderPoint": Column("reorder_point"),
            "reorderQuantity": Column("reorder_quantity"),
            "quantityToOrder": QuantityToOrder(),
            "warehouse": One(Warehouse, _warehouse_asked, root_arguments=True),
            "preferredSupplier": One(
                ProductSupplier, lambda row, target, _spec, _bind: [target.product_id == row.id, target.is_preferred]
            ),
        },
    ),
    "CategoryValuation": (
        VALUATION_ROWS,
        {
            "quantity": Column("quantity"),
            "value": Computed(("value",), lambda _state, value: reports.cents(value)),
            "category": One(Category, lambda row, target, _spec, _bind: [target.id == row.category_id]),
        },
    ),
    "StockMovementSummary": (
        MOVEMENT_ROWS,
        {
            **{
                name: Column(column)
                for name, column in (
                    ("received", "received"),
                    ("returned", "returned"),
                    ("shipped", "shipped"),
                    ("adjusted", "adjusted"),
                    ("transferredIn", "transferred_in"),
                    ("transferredOut", "transferred_out"),
                    ("net", "net"),
                )
            },
            "adjustedByReason": One(MOVEMENT_ROWS, same_row=True),
            "product": One(Product, _group(reports.MovementGroup.PRODUCT), root_arguments=True),
            "category": One(Category, _group(reports.MovementGroup.CATEGORY), root_arguments=True),
            "warehouse": One(Warehouse, _group(reports.MovementGroup.WAREHOUSE), root_arguments=True),
        },
    ),
    "AdjustmentsByReason": (
        MOVEMENT_ROWS,
        {
            **{
                to_camel_case(reason.value.lower()): Column(column)
                for reason, column in reports.REASON_COLUMNS.items()
            },
            "notRecorded": Column(reports.UNRECORDED_COLUMN),
        },
    ),
}

ALL_TYPES = {**TYPES, **REPORT_TYPES}


def root_field(compiler: Compiler, field: Field, refused: GraphQLError | None) -> RootField:
    """One root field of a plan: refused to the viewer, `me`, or a statement and its writer."""
    if refused is not None:
        return RootField(field.key, w.Failing(field.named, refused), None, [])
    if field.name == "me":
        return _me(compiler, field)
    spec = QUERY.get(field.name)
    if spec is None:
        raise compiler.unplannable(f"Query.{field.name}")
    start = len(compiler.argument_list)
    compiler.root_arguments = None
    row = RowPlan()
    writer = spec.compile(compiler, field, row)
    return RootField(field.key, writer, row, compiler.argument_list[start:])


def root_refusal(name: str, viewer: Viewer) -> GraphQLError | None:
    """The error that refuses root field `name` to `viewer` (graph/schema.py's access table), if any."""
    return refusal(QUERY_ACCESS[name], viewer.role, token_sent=viewer.token_sent)
