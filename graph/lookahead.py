"""Look-ahead loading: a root field that returns objects first loads, for all of them at once, every
relationship the query selects below them, level by level (one batched statement per relationship and
level, all in the root field's session), and leaves each value on its object under the query's field
node. The executor then takes those values straight off the objects (graph/execution.py): no future,
no batching, no resolver call per field.

A relationship field is declared once, as a `Relation` (which loader fetches it, the key one object asks
it for); its resolver calls `Relation.resolve`, which returns the value loaded ahead or, where look-ahead
did not reach (`node`, mutation payloads), the loader's batched future. Both ways go through the same
loader's batch function and key, so they give the same result.

The selections below a field are collected the way graphql-core collects them for execution (aliases,
fragments whose type matches, `@skip`/`@include`), and arguments are coerced and converted as strawberry
does for the resolver, so the key computed ahead is the key the resolver computes.
"""

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSkipDirective,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
)
from strawberry.types import Info
from strawberry.types.arguments import convert_arguments

from db.errors import DomainError
from graph.relay import Connection

if TYPE_CHECKING:
    from graph.context import Context
    from graph.loaders import Loaders

MISSING = object()
_LOADED = "_loaded"  # the instance attribute holding what look-ahead loaded for an object
_RELATION = "relation"  # the attribute marking a resolver function as a relationship's


@dataclass(frozen=True, eq=False)
class Relation:
    """One relationship field: the loader that fetches it and the key one object asks that loader for.

    `key(source, settings, **arguments)` gets the resolver's arguments (Python names, converted); None
    means the field is null without a load (a foreign key that is not set). The loaded value is the
    field's value, or a Connection's page (`connection`: its rows converted with `convert`, its count
    through `count_loader` at `count_key(key)`), or is reduced by `finish` (a sum, say).
    """

    loader: Callable[["Loaders"], Any]
    key: Callable[..., Hashable | None]
    finish: Callable[[Any], Any] | None = None
    connection: bool = False
    convert: Callable[[Any], Any] | None = None
    count_loader: Callable[["Loaders"], Any] | None = None
    count_key: Callable[[Hashable], Hashable] = lambda key: key

    def __call__(self, resolver: Callable[..., Any]) -> Callable[..., Any]:
        """Mark `resolver` as this relationship's (a decorator, under `@strawberry.field`)."""
        setattr(resolver, _RELATION, self)
        return resolver

    def resolve(self, source: Any, info: Info, **arguments: Any) -> Any:
        """The field's value: as loaded ahead, or through the loader (an awaitable)."""
        found = loaded_value(source, info._raw_info.field_nodes[0])
        if found is not MISSING:
            return found
        context: Context = info.context
        key = self.key(source, context.settings, **arguments)
        if key is None:
            return None
        pending = self.loader(context.loaders).load(key)
        if self.connection or self.finish is not None:
            return self._later(pending, context, key)
        return pending

    async def _later(self, pending: Awaitable[Any], context: "Context", key: Hashable) -> Any:
        return self.value(await pending, context, key)

    def value(self, loaded: Any, context: "Context", key: Hashable, count: Any = MISSING) -> Any:
        """The field's value from what the loader gave; a Connection's count as given, or loaded on demand."""
        if self.connection:
            assert self.convert is not None and self.count_loader is not None
            if count is MISSING:
                loader, count_key = self.count_loader(context.loaders), self.count_key(key)
                return Connection.of(loaded, self.convert, lambda: loader.load(count_key))
            return Connection.of(loaded, self.convert, lambda: count)
        return loaded if self.finish is None else self.finish(loaded)

    def below(self, value: Any) -> list[Any]:
        """The objects in the field's value, whose relationships the next level loads."""
        if self.connection:
            return [edge.node for edge in value.edges]
        if isinstance(value, list):
            return value
        return [value] if hasattr(type(value), "__strawberry_definition__") else []


def _store(obj: Any, nodes: list[FieldNode], value: Any) -> None:
    """Keep `value` on `obj` for the field its selection `nodes` stand for: a node of the document, with
    the operation's variables, always means the same arguments. Nodes are told apart by identity (their
    own hash walks the whole node)."""
    loaded = vars(obj).setdefault(_LOADED, {})
    for node in nodes:
        loaded[id(node)] = value


def loaded_value(source: Any, node: FieldNode) -> Any:
    """What look-ahead loaded on `source` for the field at `node`, or MISSING."""
    loaded = source.__dict__.get(_LOADED)
    return MISSING if loaded is None else loaded.get(id(node), MISSING)


class Below:
    """What the query selects below the current field (a root field): collected once, then asked whether
    it holds a field, and loaded for the field's objects."""

    def __init__(self, info: Info) -> None:
        raw = info._raw_info
        self.info = info
        self.selections = _Selections(info)
        self.type = get_named_type(raw.return_type)
        self.fields = self.selections.below(self.type, raw.field_nodes)

    def selects(self, name: str) -> bool:
        """Whether field `name` is selected directly below."""
        return any(nodes[0].name.value == name for nodes in self.fields.values())

    async def load(self, session: Any, objects: list[Any], *, connection: bool = False) -> None:
        """Load, in `session`, what is selected below `objects`: the field's value, or the nodes of the
        Connection it returns."""
        object_type, fields = self.type, self.fields
        if connection:
            object_type, fields = self.selections.nodes_of(object_type, fields)
        if objects and fields and isinstance(object_type, GraphQLObjectType):
            await _Level(self.info, self.selections, session).load(objects, object_type, fields)


class _Selections:
    """Subfield collection as graphql-core does it for execution."""

    def __init__(self, info: Info) -> None:
        raw = info._raw_info
        self.fragments = raw.fragments
        variables = raw.variable_values  # strawberry's executor passes the coerced values as a plain dict
        self.variables = variables if isinstance(variables, VariableValues) else VariableValues({}, variables)

    def below(self, parent: Any, nodes: list[FieldNode]) -> dict[str, list[FieldNode]]:
        """The subfields of `nodes` on object type `parent`, by response key."""
        grouped: dict[str, list[FieldNode]] = {}
        if isinstance(parent, GraphQLObjectType):
            for node in nodes:
                if node.selection_set:
                    self._collect(parent, node.selection_set, grouped, set())
        return grouped

    def nodes_of(self, connection: Any, fields: dict[str, list[FieldNode]]) -> tuple[Any, dict[str, list[FieldNode]]]:
        """A Connection's node type and the subfields selected on its nodes (`edges { node }`, `nodes`)."""
        node_type = get_named_type(connection.fields["nodes"].type)
        edge_type = get_named_type(connection.fields["edges"].type)
        selected: dict[str, list[FieldNode]] = {}
        # Kept apart by the path they come by: `nodes { a: f(x: 1) }` and `edges { node { a: f(x: 2) } }`
        # may use one alias with different arguments.
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "nodes":
                _merge(selected, self.below(node_type, nodes), f"{key}/")
            elif name == "edges":
                for edge_key, edge_fields in self.below(edge_type, nodes).items():
                    if edge_fields[0].name.value == "node":
                        _merge(selected, self.below(node_type, edge_fields), f"{key}/{edge_key}/")
        return node_type, selected

    def _collect(
        self, parent: GraphQLObjectType, selections: SelectionSetNode, grouped: dict[str, list[FieldNode]], seen: set[str]
    ) -> None:
        for selection in selections.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._matches(parent, selection.type_condition):
                    self._collect(parent, selection.selection_set, grouped, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name not in seen and fragment is not None and self._matches(parent, fragment.type_condition):
                    seen.add(name)
                    self._collect(parent, fragment.selection_set, grouped, seen)

    def _included(self, node: Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include.get("if") is False)

    @staticmethod
    def _matches(parent: GraphQLObjectType, condition: Any) -> bool:
        if condition is None:
            return True
        name = condition.name.value
        return name == parent.name or any(interface.name == name for interface in parent.interfaces)


def _merge(into: dict[str, list[FieldNode]], fields: dict[str, list[FieldNode]], prefix: str) -> None:
    for key, nodes in fields.items():
        into.setdefault(prefix + key, []).extend(nodes)


class _Level:
    """Loads the relationships selected on a list of objects, then those below them, depth first."""

    def __init__(self, info: Info, selections: "_Selections", session: Any) -> None:
        self.context: Context = info.context
        self.session = session
        self.selections = selections
        schema = info.schema
        self.scalar_registry = schema.schema_converter.scalar_registry
        self.config = schema.config
        self.fetched: dict[type, dict[Hashable, Any]] = {}  # by loader class, what this look-ahead loaded

    async def load(self, objects: list[Any], object_type: GraphQLObjectType, fields: dict[str, list[FieldNode]]) -> None:
        for nodes in fields.values():
            definition = object_type.fields.get(nodes[0].name.value)
            if definition is None:
                continue
            relation = relation_of(definition)
            if relation is None:
                await self._load_attribute(objects, definition, nodes)
                continue
            try:
                arguments = self._arguments(definition, nodes[0])
                keys = [relation.key(obj, self.context.settings, **arguments) for obj in objects]
            except DomainError:
                continue  # bad arguments: the field's resolver reports them, at the field's path
            loaded = await self._fetch(relation.loader(self.context.loaders), keys)
            child_type = get_named_type(definition.type)
            child_fields = self.selections.below(child_type, nodes)
            counts: dict[Hashable, Any] = {}
            if relation.connection:
                if any(selected[0].name.value == "totalCount" for selected in child_fields.values()):
                    assert relation.count_loader is not None
                    count_keys = {key: relation.count_key(key) for key in keys if key is not None}
                    found = await self._fetch(relation.count_loader(self.context.loaders), list(count_keys.values()))
                    counts = {key: found[count_key] for key, count_key in count_keys.items()}
                child_type, child_fields = self.selections.nodes_of(child_type, child_fields)
            children: list[Any] = []
            for obj, key in zip(objects, keys, strict=True):
                if key is None:
                    continue
                value = relation.value(loaded[key], self.context, key, counts.get(key, MISSING))
                _store(obj, nodes, value)
                children.extend(relation.below(value))
            if children and child_fields and isinstance(child_type, GraphQLObjectType):
                await self.load(_distinct(children), child_type, child_fields)

    async def _load_attribute(self, objects: list[Any], definition: GraphQLField, nodes: list[FieldNode]) -> None:
        """Below a plain attribute that holds objects (a report row's product, say), load the next level."""
        child_type = get_named_type(definition.type)
        field = definition.extensions.get("strawberry-definition")
        if not isinstance(child_type, GraphQLObjectType) or field is None or field.base_resolver is not None:
            return
        children: list[Any] = []
        for obj in objects:
            value = getattr(obj, field.python_name, None)
            children.extend(value if isinstance(value, list) else [] if value is None else [value])
        child_fields = self.selections.below(child_type, nodes)
        if children and child_fields:
            await self.load(_distinct(children), child_type, child_fields)

    def _arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        field = definition.extensions["strawberry-definition"]
        coerced = get_argument_values(definition, node, self.selections.variables)
        return convert_arguments(coerced, field.arguments, scalar_registry=self.scalar_registry, config=self.config)

    async def _fetch(self, loader: Any, keys: list[Hashable | None]) -> dict[Hashable, Any]:
        """The loader's values for `keys`: those loaded ahead already (a product's `stock` and its
        `quantityOnHand` share one load) or held in the loader's cache, the rest in one batch."""
        known = self.fetched.setdefault(type(loader), {})
        missing: dict[Hashable, None] = {}
        for key in keys:
            if key is None or key in known or key in missing:
                continue
            cached = loader.cache_map.get(key)
            if cached is not None and cached.done() and not cached.cancelled() and cached.exception() is None:
                known[key] = cached.result()
            else:
                missing[key] = None
        if missing:
            values = await loader.fetch_batch(self.session, list(missing))
            known.update(zip(missing, values, strict=True))
        return known


def relation_of(definition: GraphQLField | None) -> Relation | None:
    if definition is None:
        return None
    field = definition.extensions.get("strawberry-definition")
    resolver = getattr(field, "base_resolver", None)
    return None if resolver is None else getattr(resolver.wrapped_func, _RELATION, None)


def _distinct(objects: list[Any]) -> list[Any]:
    """Each object once (an object shared by several parents is loaded for once)."""
    return list({id(obj): obj for obj in objects}.values())
