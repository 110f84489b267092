"""What a field of an object type reads, for the plan compiler: a column, a global ID, a value computed from
other columns, a count or sum in SQL, or a relationship (one object, a list, a connection). Each kind adds
the slots it needs to the row of its object (graph/plans/rows.py) and returns the writer of its value
(graph/plans/writers.py). graph/plans/schema_map.py says which field is which.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import GraphQLObjectType, get_named_type
from sqlalchemy import Select, func, null, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from db.pagination import Keyset, SortKey, keyset_conditions
from graph.plans.rows import Arguments, Relation, RowPlan, SqlContext
from graph.plans import writers as w
from graph.relay import to_global_id

if TYPE_CHECKING:
    from graph.plans.compiler import Compiler, Field

# One related object: (the parent's entity, the child's, the arguments' spec, a binder of their values) ->
# the conditions that find it, or None when there is none (a report grouped by something else).
Join = Callable[[Any, Any, Any, Any], Sequence[ColumnElement[bool]] | None]


def correlated(statement: Select[Any], entity: Any) -> Select[Any]:
    """`statement`, which refers to the parent row's `entity` (None at the root), as a subquery of the
    parent's statement: the parent is not added to its FROM. (SQLAlchemy correlates scalar subqueries by
    itself, but not a subquery in a FROM clause, as lists and pages are on SQLite.)"""
    if entity is None:
        return statement
    return statement.correlate(entity.selectable if isinstance(entity, Columns) else entity)


class FieldSpec:
    """How one field of an object type is read and written."""

    def compile(self, compiler: "Compiler", field: "Field", row: RowPlan) -> w.FieldWriter:
        raise NotImplementedError


@dataclass(frozen=True)
class Column(FieldSpec):
    """An attribute of the row's model."""

    attribute: str

    def compile(self, compiler: "Compiler", field: "Field", row: RowPlan) -> w.FieldWriter:
        slot, decode = compiler.column_slot(row, field.parent_model, self.attribute)
        return w.Scalar(field.named, slot, compiler.convert(decode, field.definition))


@dataclass(frozen=True)
class GlobalId(FieldSpec):
    """`id`: the type's name and the row's primary key, as one opaque string."""

    type_name: str

    def compile(self, compiler: "Compiler", field: "Field", row: RowPlan) -> w.FieldWriter:
        slot, _ = compiler.column_slot(row, field.parent_model, "id")
        type_name = self.type_name
        return w.Scalar(field.named, slot, lambda pk: to_global_id(type_name, pk))


@dataclass(frozen=True)
class Computed(FieldSpec):
    """A value worked out in Python from attributes of the row: `compute(state, *values)`."""

    attributes: tuple[str, ...]
    compute: Callable[..., Any]

    def compile(self, compiler: "Compiler", field: "Field", row: RowPlan) -> w.FieldWriter:
        slots, decoders = zip(
            *(compiler.column_slot(row, field.parent_model, name) for name in self.attributes), strict=True
        )
        compute = self.compute

        def computed(state: w.State, *values: Any) -> Any:
            return compute(
                state, *(v if d is None or v is None else d(v) for v, d in zip(values, decoders, strict=True))
            )

        return w.Computed(field.named, list(slots), computed, compiler.convert(None, field.definition))


@dataclass(frozen=True)
class Aggregate(FieldSpec):
    """A value computed in SQL for the row (a count or a sum): `sql(context, entity, spec, bind, listed)`,
    where the spec and binder are those of the field's arguments (`arguments`), or of the root field's it
    is under (`root_arguments`: a report's warehouse), or None, and `listed` says whether the row is an
    item of a list (so that the value is asked for many rows). Slots with equal `key`s are one."""

    sql: Callable[[SqlContext, Any, Any, Any, bool], ColumnElement[Any]]
    arguments: Callable[[dict[str, Any], Any], Any] | None = None  # (coerced arguments, settings) -> spec
    root_arguments: bool = False
    key: str | None = None
    # How much of SQLite's parser stack its subquery takes (graph/plans/rows.py).
    nesting: int = 2

    def slot(self, compiler: "Compiler", field: "Field", row: RowPlan) -> tuple[int, Arguments | None]:
        arguments = compiler.arguments(field, self.arguments) if self.arguments else None
        own = arguments
        if self.root_arguments:
            arguments = compiler.root_arguments
        sql, listed = self.sql, compiler.lists > 0

        def build(context: SqlContext, entity: Any) -> ColumnElement[Any]:
            if arguments is None:
                return sql(context, entity, None, None, listed)
            if context.failed(arguments):
                return null()
            return sql(context, entity, context.spec(arguments), context.binder(arguments), listed)

        return row.add(self.key, build, nesting=self.nesting), own

    def compile(self, compiler: "Compiler", field: "Field", row: RowPlan) -> w.FieldWriter:
        slot, arguments = self.slot(compiler, field, row)
        scalar = w.Scalar(field.named, slot, compiler.convert(None, field.definition))
        return scalar if arguments is None else _Refusable(scalar, arguments.index)


class _Refusable(w.FieldWriter):
    """A scalar whose arguments the request may refuse: then null, with the refusal as its error."""

    def __init__(self, scalar: w.Scalar, arguments: int) -> None:
        self.__dict__.update({k: v for k, v in vars(scalar).items()})
        self.scalar = scalar
        self.arguments = arguments

    def write(self, row: list[Any], path: w.Path, state: w.State) -> Any:
        refusal = state.specs[self.arguments]
        if isinstance(refusal, Exception):
            return self.failed(refusal, path + (self.key,), state)
        return self.scalar.write(row, path, state)

    def expression(self, source: w.Source) -> str:
        refused = f"isinstance(state.specs[{self.arguments}], Exception)"
        return f"(slow() if {refused} else {self.scalar.expression(source)})"


@dataclass(frozen=True)
class One(FieldSpec):
    """One object of `model` related to the row (null when there is none), by `join`, which gets the spec
    and binder of the field's arguments (`arguments`) or of its root field's (`root_arguments`), if any;
    with `same_row`, the row itself seen as another type (a report line's product)."""

    model: Any
    join: Join | None = None
    arguments: Callable[[dict[str, Any], Any], Any] | None = None
    root_arguments: bool = False
    same_row: bool = False

    def compile(self, compiler: "Compiler", field: "Field", row: RowPlan) -> w.FieldWriter:
        own = compiler.arguments(field, self.arguments) if self.arguments else None
        arguments = compiler.root_arguments if self.root_arguments else own
        child_row = RowPlan()
        child = compiler.object_writer(field, child_row, self.model)
        if self.same_row:
            slot = row.add(None, lambda context, entity: child_row.json(context, entity), Relation("same", child_row))
            return w.Nested(field.named, slot, child)
        join, model = self.join, self.model
        assert join is not None

        def build(context: SqlContext, entity: Any) -> ColumnElement[Any]:
            spec = bind = None
            if arguments is not None:
                if context.failed(arguments):
                    return null()
                spec, bind = context.spec(arguments), context.binder(arguments)
            target = aliased(model)
            conditions = join(entity, target, spec, bind)
            if conditions is None:
                return null()
            found = select(child_row.json(context, target)).select_from(target).where(*conditions)
            return context.json.nested(correlated(found, entity).scalar_subquery())

        slot = row.add(None, build, Relation("one", child_row))
        return w.Nested(field.named, slot, child, None if own is None else own.index)


# A list's rows: (the statement's context, the parent's entity, the child's) -> (a select whose FROM and
# WHERE give the rows, the columns they are listed in order of).
Listing = Callable[[SqlContext, Any, Any], tuple[Select[Any], Sequence[Any]]]


@dataclass(frozen=True)
class Many(FieldSpec):
    """The objects of `model` related to the row, as `listing` gives them."""

    model: Any
    listing: Listing
    # How much of SQLite's parser stack its subquery takes, when more than a plain list's.
    nesting: int = 0

    def compile(self, compiler: "Compiler", field: "Field", row: RowPlan) -> w.FieldWriter:
        child_row = RowPlan()
        with compiler.listed():
            child = compiler.object_writer(field, child_row, self.model)
        model, listing = self.model, self.listing

        def build(context: SqlContext, entity: Any) -> ColumnElement[Any]:
            target = aliased(model)
            rows, order = listing(context, entity, target)
            listed = context.json.aggregate(child_row.json(context, target), correlated(rows, entity), order)
            return context.json.nested(listed.scalar_subquery())

        return w.Items(field.named, row.add(None, build, Relation("many", child_row, self.nesting)), child)


@dataclass(frozen=True)
class Page(FieldSpec):
    """A connection over `model`'s rows: `spec(coerced arguments, settings)` gives an object with `keyset`
    (db.pagination.Keyset), `sort` (SortKey) and `filter`; `conditions(parent entity, child, spec, bind)`
    restricts the rows to the parent's and by the filter (`bind` takes values from the filter). `sorts` lists every order the arguments may
    choose, so that the cursors can be read whichever it is."""

    model: Any
    spec: Callable[[dict[str, Any], Any], Any]
    conditions: Callable[..., Sequence[ColumnElement[bool]]]
    sorts: tuple[SortKey, ...]

    def compile(self, compiler: "Compiler", field: "Field", row: RowPlan) -> w.FieldWriter:
        arguments = compiler.arguments(field, self.spec)
        if field.parent_model is None:  # a root field: what lies below may depend on its arguments
            compiler.root_arguments = arguments
        with compiler.listed():
            return self._compile(compiler, field, row, arguments)

    def _compile(self, compiler: "Compiler", field: "Field", row: RowPlan, arguments: Arguments) -> w.FieldWriter:
        page_row = RowPlan()
        connection_type = get_named_type(field.definition.type)
        assert isinstance(connection_type, GraphQLObjectType)
        writers: list[w.PageWriter] = []
        counted = with_cursors = False
        for key, nodes in compiler.collect(connection_type, field.nodes).items():
            name = nodes[0].name.value
            if name == "__typename":
                writers.append(w.PageConstant(key, connection_type.name))
            elif name == "totalCount":
                counted = True
                writers.append(w.TotalCount(key, nodes, compiler.convert(None, connection_type.fields[name])))
            elif name == "nodes":
                node_field = compiler.field(connection_type, key, nodes, self.model)
                writers.append(w.NodesOfPage(key, compiler.object_writer(node_field, page_row, self.model)))
            elif name == "edges":
                edges, cursor = self._edges(compiler, connection_type, key, nodes, page_row)
                writers.append(edges)
                with_cursors |= cursor
            elif name == "pageInfo":
                info_type = get_named_type(connection_type.fields[name].type)
                assert isinstance(info_type, GraphQLObjectType)
                selected = [(k, n[0].name.value) for k, n in compiler.collect(info_type, nodes).items()]
                with_cursors |= any(name in ("startCursor", "endCursor") for _, name in selected)
                writers.append(w.PageInfo(key, selected))
            else:
                raise compiler.unplannable(f"{connection_type.name}.{name}")
        slot = row.add(None, self._sql(arguments, page_row, counted), Relation("page", page_row))
        cursors = None
        if with_cursors:
            by_sort = self._cursors(compiler, page_row)
            cursors = lambda sort: by_sort.get(sort.__shape__()[:-1])  # noqa: E731
        return w.Connection(field.named, slot, arguments.index, writers, cursors)

    def _edges(
        self, compiler: "Compiler", connection_type: GraphQLObjectType, key: str, nodes: list[Any], page_row: RowPlan
    ) -> tuple[w.PageWriter, bool]:
        edge_type = get_named_type(connection_type.fields["edges"].type)
        assert isinstance(edge_type, GraphQLObjectType)
        fields: list[tuple[str, str, Any]] = []
        for edge_key, edge_nodes in compiler.collect(edge_type, nodes).items():
            name = edge_nodes[0].name.value
            if name == "cursor":
                fields.append((edge_key, "cursor", None))
            elif name == "node":
                node_field = compiler.field(edge_type, edge_key, edge_nodes, self.model)
                fields.append((edge_key, "node", compiler.object_writer(node_field, page_row, self.model)))
            else:
                fields.append((edge_key, "typename", edge_type.name))
        return w.EdgesOfPage(key, fields), any(kind == "cursor" for _, kind, _ in fields)

    def _cursors(self, compiler: "Compiler", page_row: RowPlan) -> dict[Any, w.Cursors]:
        """The cursors of each order the arguments may choose, by the order's columns."""
        by_sort = {}
        for sort in self.sorts:
            slots, decoders = [], []
            for column in sort.columns:
                slot, decode = compiler.column_slot(page_row, self.model, column.key)  # type: ignore[attr-defined]
                slots.append(slot)
                decoders.append(decode)
            by_sort[sort.__shape__()[:-1]] = w.Cursors(sort.order, slots, decoders)
        return by_sort

    def _sql(self, arguments: Arguments, page_row: RowPlan, counted: bool) -> Callable[[SqlContext, Any], Any]:
        model, restrict = self.model, self.conditions

        def build(context: SqlContext, entity: Any) -> ColumnElement[Any]:
            if context.failed(arguments):
                return null()
            spec = context.spec(arguments)
            bind = context.binder(arguments)
            by_filter = context.binder(arguments, "filter")
            keyset: Keyset = spec.keyset
            backward = keyset.window.backward
            child = aliased(model)
            sort = spec.sort.on(child)
            # One more row than the page, to tell whether more follow; none for `first: 0`.
            limit = bind("limit", lambda s: s.keyset.window.limit + 1 if s.keyset.window.limit else 0)
            inner = correlated(
                select(child)
                .where(
                    *restrict(entity, child, spec, by_filter),
                    *keyset_conditions(sort, keyset, context.binder(arguments, "keyset")),
                )
                .order_by(*sort.order_by(reverse=backward))
                .limit(limit),
                entity,
            ).subquery()
            rows = aliased(model, inner)
            order = spec.sort.on(rows).order_by(reverse=backward)
            listed = context.json.aggregate(page_row.json(context, rows), select(rows), order)
            count: ColumnElement[Any] = null()
            if counted:
                counted_rows = aliased(model)
                count = correlated(
                    select(func.count())
                    .select_from(counted_rows)
                    .where(*restrict(entity, counted_rows, spec, by_filter)),
                    entity,
                ).scalar_subquery()
            return context.json.array([context.json.nested(listed.scalar_subquery()), count])

        return build


class RowShape:
    """The columns of a select (a report's rows), standing in for a model when a plan is compiled."""

    def __init__(self, statement: Select[Any]) -> None:
        self._columns = statement.selected_columns

    def __getattr__(self, name: str) -> Any:
        try:
            return self._columns[name]
        except KeyError:
            raise AttributeError(name) from None


class Columns:
    """A subquery's columns as attributes, as a model's alias has them."""

    def __init__(self, subquery: Any) -> None:
        self.selectable = subquery
        self._columns = subquery.c

    def __getattr__(self, name: str) -> Any:
        try:
            return self._columns[name]
        except KeyError:
            raise AttributeError(name) from None
