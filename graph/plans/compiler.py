"""The plan compiler: from a parsed, validated query operation, the values of the variables its @skip and
@include directives use, and who asks (no token, a token that names nobody, or a user's role), a `Plan`:
per root field, the SQL its statement is built from and the writer of its value. It reads the document
with graphql-core's public AST and schema, collecting fields as graphql-core's executor does (aliases,
fragments whose type matches, directives).

A document the compiler cannot plan raises `Unplannable`; the request then runs on the reference path.
"""

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
    is_non_null_type,
)
from graphql.execution import get_argument_values

from db.config import Settings
from db.json_rows import Decode, JsonRows
from db.models import Role
from graph.plans import writers as w
from graph.plans.rows import Arguments, RowPlan
from graph.plans.writers import Convert, serialize_int
from graph.scalars import serialize_long

# Scalars whose values pass as they are: JSON has them already as GraphQL serializes them.
PLAIN_SCALARS = frozenset({"String", "Boolean", "ID"})


class Unplannable(Exception):
    """The document asks for something the compiler does not plan; the message says what."""


@dataclass(frozen=True)
class Viewer:
    """Whom a plan is for: its root fields' role checks are decided when it is made."""

    token_sent: bool
    role: Role | None  # None: no valid token


@dataclass(eq=False)
class Field:
    """One response key of an object type: its nodes in the document and its definition."""

    key: str
    nodes: list[FieldNode]
    definition: GraphQLField
    parent: GraphQLObjectType
    parent_model: Any

    @property
    def name(self) -> str:
        return self.nodes[0].name.value

    @property
    def named(self) -> w.Named:
        return w.Named(
            self.key, self.nodes, not is_non_null_type(self.definition.type), f"{self.parent.name}.{self.name}"
        )


# A field's spec as graph/plans/fields.py declares it; TypeMap: type name -> (model, field name -> spec).
TypeMap = Mapping[str, tuple[Any, Mapping[str, Any]]]


class Compiler:
    """Compiles the fields of one operation for one viewer; holds what the fields' compilation shares."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        directive_values: Mapping[str, Any],
        viewer: Viewer,
        settings: Settings,
        json: JsonRows,
        types: TypeMap,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.directive_values = directive_values
        self.viewer = viewer
        self.settings = settings
        self.json = json
        self.types = types
        self.argument_list: list[Arguments] = []
        # The arguments of the root field being compiled, for fields below it that depend on them.
        self.root_arguments: Arguments | None = None
        # While compiling `me`: its row holds the signed-in user's values as Python has them.
        self.python_values = False
        # How many lists or pages the fields being compiled are below: a value computed for every item of
        # a list may be better computed once for all of them (Category.productCount).
        self.lists = 0

    @contextlib.contextmanager
    def listed(self) -> Iterator[None]:
        """Compile the items of a list or page."""
        self.lists += 1
        try:
            yield
        finally:
            self.lists -= 1

    def unplannable(self, what: str) -> Unplannable:
        return Unplannable(f"no plan for {what}")

    # --- the document -------------------------------------------------------------------------------

    def collect(self, type_: GraphQLObjectType, nodes: Iterable[FieldNode]) -> dict[str, list[FieldNode]]:
        """The fields selected below `nodes` on `type_`, by response key, in the document's order."""
        fields: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is not None:
                self._collect(type_, node.selection_set, fields, set())
        return fields

    def collect_operation(self, type_: GraphQLObjectType, operation: OperationDefinitionNode) -> dict[str, list[FieldNode]]:
        fields: dict[str, list[FieldNode]] = {}
        self._collect(type_, operation.selection_set, fields, set())
        return fields

    def _collect(
        self, type_: GraphQLObjectType, selections: SelectionSetNode, fields: dict[str, list[FieldNode]], seen: set[str]
    ) -> None:
        for selection in selections.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._matches(type_, condition.name.value):
                    self._collect(type_, selection.selection_set, fields, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in seen or fragment is None:
                    continue
                seen.add(name)
                if self._matches(type_, fragment.type_condition.name.value):
                    self._collect(type_, fragment.selection_set, fields, seen)

    def _matches(self, type_: GraphQLObjectType, condition: str) -> bool:
        conditional = self.schema.get_type(condition)
        if conditional is None:
            return False
        if is_abstract_type(conditional):
            return self.schema.is_sub_type(conditional, type_)  # type: ignore[arg-type]
        return conditional is type_

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise self.unplannable(f"the @{name} directive")
            [argument] = [a for a in directive.arguments if a.name.value == "if"]
            value = argument.value
            if isinstance(value, VariableNode):
                condition = bool(self.directive_values.get(value.name.value))
            elif isinstance(value, BooleanValueNode):
                condition = value.value
            else:  # pragma: no cover - validation allows only those two
                raise self.unplannable(f"a @{name} condition")
            if condition == (name == "skip"):
                return False
        return True

    # --- objects ------------------------------------------------------------------------------------

    def field(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode], parent_model: Any) -> Field:
        name = nodes[0].name.value
        definition = parent.fields.get(name)
        if definition is None:
            raise self.unplannable(f"{parent.name}.{name}")
        return Field(key, nodes, definition, parent, parent_model)

    def object_writer(self, field: Field, row: RowPlan, model: Any) -> w.ObjectWriter:
        """The writer of the object `field` returns, read from `row` (of `model`, the entity its values come
        from); the fields it selects add their slots to `row`."""
        type_ = get_named_type(field.definition.type)
        if not isinstance(type_, GraphQLObjectType):
            raise self.unplannable(f"{field.parent.name}.{field.name} (of an abstract type)")
        return self.fields_writer(type_, field.nodes, row, model)

    def fields_writer(
        self, type_: GraphQLObjectType, nodes: list[FieldNode], row: RowPlan, model: Any
    ) -> w.ObjectWriter:
        if type_.name not in self.types:
            raise self.unplannable(type_.name)
        row.model = model
        _model, specs = self.types[type_.name]
        writers: list[w.FieldWriter] = []
        for key, field_nodes in self.collect(type_, nodes).items():
            field = self.field_or_typename(type_, key, field_nodes, model)
            if isinstance(field, w.FieldWriter):
                writers.append(field)
                continue
            spec = specs.get(field.name)
            if spec is None:
                raise self.unplannable(f"{type_.name}.{field.name}")
            writers.append(spec.compile(self, field, row))
        return w.ObjectWriter(writers, row)

    def field_or_typename(
        self, type_: GraphQLObjectType, key: str, nodes: list[FieldNode], model: Any
    ) -> "Field | w.FieldWriter":
        if nodes[0].name.value == "__typename":
            return w.Constant(w.Named(key, nodes, False, f"{type_.name}.__typename"), type_.name)
        return self.field(type_, key, nodes, model)

    def column_slot(self, row: RowPlan, model: Any, attribute: str) -> tuple[int, Decode | None]:
        """The slot of a column of the row's entity, and how its JSON value reads back."""
        column_type = getattr(model, attribute).type
        json = self.json
        slot = row.add(("column", attribute), lambda context, entity: json.value(getattr(entity, attribute), column_type))
        return slot, None if self.python_values else json.decoder(column_type)

    def convert(self, decode: Decode | None, definition: GraphQLField) -> Convert | None:
        """How a value read back (by `decode`) becomes what the field's scalar or enum serializes."""
        type_ = get_named_type(definition.type)
        serialize: Convert | None
        if type_.name in PLAIN_SCALARS:
            serialize = None
        elif type_ is GraphQLInt:
            serialize = serialize_int
        elif type_.name == "Long":
            serialize = serialize_long
        elif isinstance(type_, GraphQLEnumType):
            serialize = _enum_names(type_)
        elif isinstance(type_, GraphQLScalarType):
            serialize = type_.serialize
        else:  # pragma: no cover - only leaf fields are converted
            raise self.unplannable(type_.name)
        if decode is None:
            return serialize
        if serialize is None:
            return decode
        return w.Composed(decode, serialize)

    def arguments(self, field: Field, spec: Callable[[dict[str, Any], Settings], Any]) -> Arguments:
        """The field's arguments in the plan: worked out now when the document gives them as literals, else
        on each request from its variables."""
        definition, node, settings = field.definition, field.nodes[0], self.settings
        arguments = Arguments(
            len(self.argument_list), lambda variables: spec(get_argument_values(definition, node, variables), settings)
        )
        if not _uses_variables(node):
            arguments.static = arguments.evaluate(None)
            arguments.is_static = True
        self.argument_list.append(arguments)
        return arguments


def _enum_names(type_: GraphQLEnumType) -> Convert:
    """The enum's serialization of the values the database holds (its values' text): their names, looked up
    in a dict; anything else as the enum type itself serializes it (an error for an unknown value)."""
    names = {value.value: name for name, value in type_.values.items() if isinstance(value.value, str)}

    def serialize(value: Any) -> Any:
        name = names.get(value)
        return type_.serialize(value) if name is None else name

    return serialize


def _uses_variables(node: FieldNode) -> bool:
    pending: list[Any] = [argument.value for argument in node.arguments or ()]
    while pending:
        value = pending.pop()
        if isinstance(value, VariableNode):
            return True
        pending.extend(getattr(value, "values", ()))  # lists
        pending.extend(f.value for f in getattr(value, "fields", ()))  # input objects
    return False


# --- plans ----------------------------------------------------------------------------------------------


@dataclass(eq=False)
class RootField:
    """One root field of a plan: the row its statement returns (None: no statement), its writer, and the
    arguments below it, whose specs decide the statement's shape."""

    key: str
    writer: w.FieldWriter
    row: RowPlan | None
    arguments: list[Arguments]
    # For `me`: the row, from the signed-in user.
    python_row: Callable[[Any], list[Any]] | None = None
    statements: dict[Any, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Plan:
    operation: str | None
    roots: list[RootField]
    arguments: list[Arguments]


def compile_plan(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    directive_values: Mapping[str, Any],
    viewer: Viewer,
    settings: Settings,
    json: JsonRows,
    types: TypeMap,
    root_field: Callable[[Compiler, Field, GraphQLError | None], RootField],
    refusal: Callable[[str, Viewer], GraphQLError | None],
) -> Plan:
    """The plan of a query `operation` for `viewer`; `root_field` compiles one root field (given the error
    that refuses it to the viewer, if any)."""
    if operation.operation.value != "query":
        raise Unplannable(f"a {operation.operation.value}")
    query = schema.query_type
    assert query is not None
    compiler = Compiler(schema, fragments, directive_values, viewer, settings, json, types)
    roots = []
    for key, nodes in compiler.collect_operation(query, operation).items():
        field = compiler.field_or_typename(query, key, nodes, None)
        if isinstance(field, w.FieldWriter):
            roots.append(RootField(key, field, None, []))
            continue
        roots.append(root_field(compiler, field, refusal(field.name, viewer)))
    return Plan(operation.name.value if operation.name else None, roots, compiler.argument_list)
