"""Execution with less work per field for values already in hand.

graphql-core's general path for one field builds a ResolveInfo, calls the field's resolver and then
dispatches on the return type, whatever the field. Most fields of a read need none of that: a plain
attribute (`name`, `edges`, `node`) or a relationship look-ahead loaded (graph/lookahead.py) is a value
on the object already. For those, `DirectExecutor` reads the value and completes it itself: a scalar is
coerced in place, and null checks, lists and objects follow graphql-core's `complete_value`. Everything
else takes graphql-core's own path: fields with resolvers or extensions, relationships look-ahead did
not load, awaitable values, abstract types, fields with directives (`@stream`), and any schema
extension that wraps every field's resolver.

Data, errors and their paths come out as graphql-core's executor gives them (tests/test_execution.py
holds the two to that). The time saved is a few microseconds per field, which a nested page has
thousands of.
"""

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
)
from graphql.execution.executor import invalid_return_type_error, to_nodes
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.lookahead import MISSING, loaded_value, relation_of

# Set on a GraphQLField whose value can be read without its resolver: read(source, node) -> value or MISSING.
_READ = "_direct_read"
# Set on a GraphQLObjectType whose is_type_of is strawberry's own, which looks at the value only.
_CHECK_WITHOUT_INFO = "_is_type_of_without_info"
# Values that are never awaitable: a scalar of one of these types is coerced without asking.
_PLAIN = frozenset({str, int, float, bool, Decimal, datetime, date})

# One field of a selection set: response name, field details, first node, the direct read (or None),
# and the coercion of the scalar or enum it returns (None for other fields).
_Step = tuple[str, Any, FieldNode, Callable[[Any, FieldNode], Any] | None, Callable[[Any], Any] | None]
# The field a value is completed for: parent type, definition and path (for a ResolveInfo when needed).
_Field = tuple[GraphQLObjectType, GraphQLField, Path]


def read_fields_directly(schema: GraphQLSchema) -> None:
    """Mark the fields DirectExecutor may read without their resolvers: a strawberry field with neither
    resolver nor extensions (an attribute), and a relationship field (its value, when loaded ahead).
    Where graphql-core's own path runs a relationship field (a field with directives, or under a schema
    extension that wraps resolvers), its resolver takes the value loaded ahead straight off the object,
    without strawberry's per-field machinery (Info, argument conversion)."""
    for named_type in schema.type_map.values():
        if not isinstance(named_type, GraphQLObjectType):
            continue
        definition = named_type.extensions.get("strawberry-definition")
        if named_type.is_type_of is not None and definition is not None and definition.is_type_of is None:
            setattr(named_type, _CHECK_WITHOUT_INFO, True)
        for field_def in named_type.fields.values():
            read = _reader(field_def)
            if read is not None:
                setattr(field_def, _READ, read)
            if read is loaded_value:
                field_def.resolve = _reading_loaded(field_def.resolve)


def _reading_loaded(resolve: Callable[..., Any]) -> Callable[..., Any]:
    def read(source: Any, info: Any, **arguments: Any) -> Any:
        found = loaded_value(source, info.field_nodes[0])
        return resolve(source, info, **arguments) if found is MISSING else found

    return read


def _reader(field_def: GraphQLField) -> Callable[[Any, FieldNode], Any] | None:
    field = field_def.extensions.get("strawberry-definition")
    if field is None or field.extensions:
        return None
    if relation_of(field_def) is not None:
        return loaded_value
    # What strawberry's resolver does for a field without resolver: the default resolver (getattr) on
    # the Python name.
    if (
        field.base_resolver is None
        and getattr(field_def.resolve, "_is_default", False)
        and field.default_resolver is getattr
    ):
        name = field.python_name
        return lambda source, _node: getattr(source, name, MISSING)
    return None


def _plan(parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[_Step]:
    steps: list[_Step] = []
    for name, field_details_list in grouped_field_set.items():
        node = field_details_list[0].node
        field_def = parent_type.fields.get(node.name.value)
        read = None if node.directives else getattr(field_def, _READ, None)
        coerce = None
        if read is not None:
            leaf = field_def.type  # type: ignore[union-attr]
            if isinstance(leaf, GraphQLNonNull):
                leaf = leaf.of_type
            if isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
                coerce = leaf.coerce_output_value
        steps.append((name, field_details_list, node, read, coerce))
    return steps


async def _gather(values: Any, pending: list[Any]) -> Any:
    """`values` (a dict of fields or a list of items) once the awaitables at `pending` have settled."""
    settled = await gather_with_cancel(*(values[key] for key in pending))
    for key, value in zip(pending, settled, strict=True):
        values[key] = value
    return values


class DirectExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, reading and completing plain values directly (see the module's text)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A schema extension with a `resolve` hook wraps every field's resolver: then none is skipped.
        self.reads_directly = not (self.middleware_manager and self.middleware_manager.middlewares)
        # By selection set (graphql-core keeps each for the whole execution): how to read its fields.
        self._plans: dict[int, tuple[Any, list[_Step]]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's execute_fields, with a scalar read straight off the object and coerced in place
        (no path, no completion call). Any other field or outcome (null, an awaitable, a coercion that
        fails) goes to execute_field, which also reports the error."""
        if not self.reads_directly:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        planned = self._plans.get(id(grouped_field_set))
        if planned is None or planned[0] is not grouped_field_set:
            planned = self._plans[id(grouped_field_set)] = (grouped_field_set, _plan(parent_type, grouped_field_set))
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for name, field_details_list, node, read, coerce in planned[1]:
                if coerce is not None:
                    value = read(source_value, node)  # type: ignore[misc]
                    if (
                        value is not None
                        and value is not MISSING
                        and (type(value) in _PLAIN or not is_awaitable(value))
                    ):
                        try:
                            completed = coerce(value)
                        except Exception:  # noqa: BLE001  # execute_field coerces it again and reports the error
                            completed = None
                        if completed is not None and completed is not Undefined:
                            results[name] = completed
                            continue
                result = self.execute_field(
                    parent_type, source_value, field_details_list, Path(path, name, parent_type.name), position_context
                )
                if result is not Undefined:
                    results[name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _gather(results, awaitable_fields)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """graphql-core's execute_field; a field read directly skips the ResolveInfo and the resolver."""
        node = field_details_list[0].node
        field_def = parent_type.fields.get(node.name.value)
        read = getattr(field_def, _READ, None)
        result = MISSING if read is None or node.directives or not self.reads_directly else read(source, node)
        if result is MISSING or self.is_awaitable(result):
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        return_type = field_def.type  # type: ignore[union-attr]
        try:
            completed = self._complete(
                return_type, field_details_list, path, result, (parent_type, field_def, path), position_context
            )
        except Exception as raw_error:  # noqa: BLE001  # as graphql-core: the error goes to the response
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._settle(completed, return_type, field_details_list, path)
        return completed

    def _complete(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        path: Path,
        result: Any,
        field: _Field,
        position_context: Any,
    ) -> Any:
        """graphql-core's complete_value for a value that is not awaitable."""
        if isinstance(result, Exception):
            raise result
        kind = type(return_type)
        if kind is GraphQLNonNull:
            inner = return_type.of_type  # type: ignore[union-attr]
            completed = self._complete(inner, field_details_list, path, result, field, position_context)
            if completed is None:
                name = field_details_list[0].node.name.value
                raise TypeError(f"Cannot return null for non-nullable field {field[0]}.{name}.")
            return completed
        if result is None or result is Undefined:
            return None
        if kind is GraphQLScalarType or kind is GraphQLEnumType:
            return self.complete_leaf_value(return_type, result)  # type: ignore[arg-type]
        if kind is GraphQLList and type(result) is list:
            return self._complete_list(return_type.of_type, field_details_list, path, result, field, position_context)  # type: ignore[union-attr]
        if kind is GraphQLObjectType:
            check = return_type.is_type_of  # type: ignore[union-attr]
            if check is not None:
                if not getattr(return_type, _CHECK_WITHOUT_INFO, False):
                    return self._general(return_type, field_details_list, path, result, field, position_context)
                if not check(result, None):
                    raise invalid_return_type_error(return_type, result, field_details_list)  # type: ignore[arg-type]
            return self.collect_and_execute_subfields(
                return_type,  # type: ignore[arg-type]
                field_details_list,
                path,
                result,
                position_context,
            )
        return self._general(return_type, field_details_list, path, result, field, position_context)

    def _complete_list(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        path: Path,
        items: list[Any],
        field: _Field,
        position_context: Any,
    ) -> Any:
        """graphql-core's complete_iterable_value: an item's error nulls that item (or, non-null, the
        list), and awaitable items are awaited together."""
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        pending: list[int] = []
        for index, item in enumerate(items):
            item_path = Path(path, index, None)
            if is_awaitable(item):
                info = self._info(field_details_list, field)
                completed.append(
                    self.complete_awaitable_list_item_value(
                        item, item_type, field_details_list, info, item_path, position_context
                    )
                )
                pending.append(index)
                continue
            try:
                value = self._complete(item_type, field_details_list, item_path, item, field, position_context)
                if is_awaitable(value):
                    value = self._settle(value, item_type, field_details_list, item_path)
                    pending.append(index)
            except Exception as raw_error:  # noqa: BLE001  # as graphql-core: the error goes to the response
                self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                value = None
            completed.append(value)
        if not pending:
            return completed
        return _gather(completed, pending)

    async def _settle(self, completed: Awaitable[Any], return_type: Any, field_details_list: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001  # as graphql-core: the error goes to the response
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def _general(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        path: Path,
        result: Any,
        field: _Field,
        position_context: Any,
    ) -> Any:
        """graphql-core's own completion, with the ResolveInfo the field's resolver would have had."""
        info = self._info(field_details_list, field)
        return self.complete_value(return_type, field_details_list, info, path, result, position_context)

    def _info(self, field_details_list: Any, field: _Field) -> Any:
        parent_type, field_def, field_path = field
        return self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, field_path)
