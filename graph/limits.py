"""Abuse limits, checked on the parsed document before validation and execution: size and tokens
(graphql-core's parser), depth, aliases, field count, page sizes and a cost that multiplies page
sizes down the tree; `login` at most once; and no NUL characters in the request's text. A text that
passed once is not parsed or validated again."""

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    is_list_type,
    parse,
    value_from_ast_untyped,
    visit,
)
from graphql.type import GraphQLField, GraphQLNamedType
from strawberry.extensions import DisableIntrospection, SchemaExtension

from db.config import Settings
from db.errors import Invalid
from db.pagination import Window

# However the depth limit is set, no document may nest fields, fragments and inline fragments more
# than this (introspection and fragments are not counted as depth, but still take walking).
MAX_NESTING = 64
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
# graphql-core's validation compares every pair of fields that end up at the same response path
# (repeats, fragments and the repeats of their parents all count), which grows with the square of
# their number: 200 fields at one path take it about a second. Legitimate documents put a field at
# one path a few times, through fragments.
MAX_REPEATS = 20
# Root fields a request may select only once: each `login` checks a password (argon2id: a large share of
# a CPU and 64 MiB), so that aliases cannot make one anonymous request check dozens.
ONCE_PER_REQUEST = frozenset({"login"})


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_fields: int
    max_cost: int
    list_size: int  # the length assumed for a list field that takes no page arguments
    default_page_size: int
    max_page_size: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_fields=settings.max_fields,
            max_cost=settings.max_query_cost,
            list_size=settings.cost_list_size,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
        )


@dataclass(frozen=True)
class Measure:
    """What a selection set asks for: `cost` counts each field once per value it would resolve."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    cost: int = 0
    # How many fields end up at each response path below the selection set measured.
    paths: Counter[tuple[str, ...]] = field(default_factory=Counter, compare=False)

    def __add__(self, other: "Measure") -> "Measure":
        return Measure(
            max(self.depth, other.depth), self.aliases + other.aliases, self.fields + other.fields, self.cost + other.cost
        )


class _Refused(Exception):
    def __init__(self, error: GraphQLError) -> None:
        self.error = error


def _error(message: str, code: str, node: Any = None, **extensions: Any) -> _Refused:
    return _Refused(GraphQLError(message, nodes=node, extensions={"code": code, **extensions}))


class _Walker:
    """Measures one operation; each fragment is measured once, however often it is spread."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits
        self.measured: dict[tuple[str, bool], Measure] = {}
        self.in_progress: set[str] = set()

    def selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, level: int, steps: int, meta: bool
    ) -> Measure:
        """`level` is the depth of the fields in this set, `steps` how far the walk has recursed, and
        `meta` whether this is inside introspection, which the depth limit leaves out."""
        if steps > MAX_NESTING:
            raise _error(f"The document is nested more than {MAX_NESTING} levels deep.", "QUERY_TOO_DEEP")
        total = Measure()
        paths: Counter[tuple[str, ...]] = Counter()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                measure = self.field(selection, parent, level + 1, steps + 1, meta)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                fragment_type = self.schema.get_type(condition.name.value) if condition else parent
                measure = self.selection_set(selection.selection_set, fragment_type, level, steps + 1, meta)
            elif isinstance(selection, FragmentSpreadNode):
                measure = self.fragment(selection.name.value, steps + 1, meta)
                if level + measure.depth > self.limits.max_depth:
                    raise self._too_deep(selection)
            else:
                continue
            total += measure
            paths.update(measure.paths)
        return replace(total, paths=paths)

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, level: int, steps: int, meta: bool) -> Measure:
        meta = meta or node.name.value in INTROSPECTION_FIELDS
        if level > self.limits.max_depth and not meta:
            raise self._too_deep(node)
        definition = _field_definition(parent, node.name.value)
        size = self._size(node, definition, parent)
        below = Measure()
        if node.selection_set:
            below_type = get_named_type(definition.type) if definition else None
            below = self.selection_set(node.selection_set, below_type, level, steps, meta)
        key = (node.alias or node.name).value
        paths = Counter({(key,): 1})
        paths.update({(key, *path): count for path, count in below.paths.items()})
        return Measure(
            depth=0 if meta else 1 + below.depth,
            aliases=(1 if node.alias else 0) + below.aliases,
            fields=1 + below.fields,
            cost=1 + size * below.cost,
            paths=paths,
        )

    def fragment(self, name: str, steps: int, meta: bool) -> Measure:
        key = (name, meta)
        if key in self.measured:
            return self.measured[key]
        definition = self.fragments.get(name)
        if definition is None or name in self.in_progress:
            return Measure()  # unknown fragments and cycles are left to validation
        self.in_progress.add(name)
        fragment_type = self.schema.get_type(definition.type_condition.name.value)
        measure = self.selection_set(definition.selection_set, fragment_type, 0, steps, meta)
        self.in_progress.discard(name)
        self.measured[key] = measure
        return measure

    def _size(self, node: FieldNode, definition: GraphQLField | None, parent: GraphQLNamedType | None) -> int:
        """How many values the field's selection is resolved for: its page size, or a list's assumed length."""
        if definition is None:
            return 1
        if "first" in definition.args or "last" in definition.args:
            first, last = self._int_argument(node, definition, "first"), self._int_argument(node, definition, "last")
            try:
                window = Window.from_args(
                    first=first,
                    after=None,
                    last=last,
                    before=None,
                    default_size=self.limits.default_page_size,
                    max_size=self.limits.max_page_size,
                )
            except Invalid as error:  # the same refusal as at execution, but before any SQL
                raise _error(str(error), "BAD_USER_INPUT", node, field=error.errors[0].field) from None
            return window.limit
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        if isinstance(parent, GraphQLNamedType) and "pageInfo" in getattr(parent, "fields", {}):
            return 1  # a connection's `edges` and `nodes`: the page was counted on the connection
        lengths = [len(v) for v in self._argument_values(node) if isinstance(v, list)]
        return max(lengths) if lengths else self.limits.list_size

    def _int_argument(self, node: FieldNode, definition: GraphQLField, name: str) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value == name:
                value = self._value(argument.value)
                return value if isinstance(value, int) and not isinstance(value, bool) else None
        default = definition.args[name].default_value if name in definition.args else None
        return default if isinstance(default, int) else None

    def _argument_values(self, node: FieldNode) -> Iterator[Any]:
        for argument in node.arguments or ():
            yield self._value(argument.value)

    def _value(self, value: ValueNode) -> Any:
        if isinstance(value, VariableNode):
            return self.variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, ListValueNode):
            return list(value.values)
        if isinstance(value, NullValueNode):
            return None
        return value  # other literals never size a page

    def _too_deep(self, node: Any) -> _Refused:
        return _error(
            f"The query is nested more than {self.limits.max_depth} levels deep.", "QUERY_TOO_DEEP", node
        )


def _field_definition(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    fields = getattr(parent, "fields", None)
    if not fields:
        return None
    return fields.get(name)


def root_field_names(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[str]:
    """The name of each field the operation selects at its root, once per selection (directives aside),
    looking into inline fragments and fragments (each fragment once)."""
    pending = [operation.selection_set]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                yield selection.name.value
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                if (definition := fragments.get(selection.name.value)) is not None:
                    pending.append(definition.selection_set)


def _once_per_request(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> GraphQLError | None:
    counts = Counter(name for name in root_field_names(operation, fragments) if name in ONCE_PER_REQUEST)
    for name, count in sorted(counts.items()):
        if count > 1:
            return GraphQLError(
                f"`{name}` is selected {count} times; a request may use it once.",
                extensions={"code": "BAD_USER_INPUT"},
            )
    return None


def _operation_variables(operation: OperationDefinitionNode, provided: Mapping[str, Any]) -> dict[str, Any]:
    values = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    values.update(provided)
    return values


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.values: list[str] = []

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        self.values.append(node.value)


def check_text(document: DocumentNode, variables: Mapping[str, Any] | None) -> GraphQLError | None:
    """An error if a string literal or variable holds a NUL character: PostgreSQL cannot store one,
    and SQLite's string functions stop at it (a search for "\\0x" would match every row)."""
    return check_literals(document) or check_values(variables)


def check_literals(document: DocumentNode) -> GraphQLError | None:
    """`check_text` for the document's own string literals."""
    literals = _StringLiterals()
    visit(document, literals)
    return check_values(literals.values)


def check_values(values: Any) -> GraphQLError | None:
    """`check_text` for values (variables)."""
    pending: list[Any] = [values]
    while pending:  # not recursive: JSON variables may nest deeper than Python's recursion limit
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return GraphQLError(
                    "Text may not contain the NUL character (U+0000).", extensions={"code": "BAD_USER_INPUT"}
                )
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return None


class _ArgumentVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_argument(self, node: Any, *_args: Any) -> None:
        if isinstance(node.value, VariableNode):
            self.names.add(node.value.name.value)


def sizing_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables `check_document` may read: those given as a field's argument (a page size, a list of
    IDs); variables inside input objects size nothing."""
    names = _ArgumentVariables()
    visit(document, names)
    return tuple(sorted(names.names))


def sizing_key(names: tuple[str, ...], variables: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """What of `variables` `check_document` depends on: the integers and list lengths among `names`' values
    (a document checked once for a key needs no second check for the same key)."""
    provided = variables or {}
    key: list[Any] = []
    for name in names:
        value = provided.get(name, MISSING_VARIABLE)
        if isinstance(value, list):
            key.append(("list", len(value)))
        elif isinstance(value, int) and not isinstance(value, bool):
            key.append(value)
        else:
            key.append(value is MISSING_VARIABLE)
    return tuple(key)


MISSING_VARIABLE = object()


def check_document(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None, limits: Limits
) -> GraphQLError | None:
    """The first limit the document's operations break, as an error with `extensions.code`, or None."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        if (once := _once_per_request(operation, fragments)) is not None:
            return once
        root = schema.get_root_type(operation.operation)
        walker = _Walker(schema, fragments, _operation_variables(operation, variables or {}), limits)
        try:
            measure = walker.selection_set(operation.selection_set, root, 0, 0, meta=False)
        except _Refused as refused:
            return refused.error
        if measure.paths:
            path, repeats = measure.paths.most_common(1)[0]
            if repeats > MAX_REPEATS:
                return _error(
                    f"`{'.'.join(path)}` is selected {repeats} times (repeats and fragments counted); "
                    f"the limit is {MAX_REPEATS}.",
                    "TOO_MANY_FIELDS",
                ).error
        if measure.aliases > limits.max_aliases:
            return _error(
                f"The query uses {measure.aliases} aliases; the limit is {limits.max_aliases}.", "TOO_MANY_ALIASES"
            ).error
        if measure.fields > limits.max_fields:
            return _error(
                f"The query selects {measure.fields} fields (fragments counted where they are spread); "
                f"the limit is {limits.max_fields}.",
                "TOO_MANY_FIELDS",
            ).error
        if measure.cost > limits.max_cost:
            return _error(
                f"The query's estimated cost is {measure.cost}, above the limit of {limits.max_cost}: "
                "ask for smaller pages or fewer nested lists.",
                "QUERY_TOO_COSTLY",
            ).error
    return None


class ValidDocuments:
    """The texts of the last documents that passed validation (which depends on the text alone), so
    that a frontend's repeated operations are validated once per process, not once per request."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._texts: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, text: object) -> bool:
        if text not in self._texts:
            return False
        self._texts.move_to_end(text)  # type: ignore[arg-type]
        return True

    def add(self, text: str) -> None:
        self._texts[text] = None
        if len(self._texts) > self.size:
            self._texts.popitem(last=False)


@lru_cache(maxsize=256)
def parsed_document(text: str, **options: Any) -> DocumentNode:
    """`text` parsed with graphql-core's `options`, once per process for the 256 latest texts and options."""
    return parse(text, **options)


class ParsedDocuments(SchemaExtension):
    """A document text parses to the same tree every time (with the same options: the limits'): the 256
    latest texts are parsed once per process. A text that fails to parse is left to strawberry, which
    parses it again and reports the error as always."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if isinstance(context.query, str):
            with suppress(GraphQLError):
                context.graphql_document = parsed_document(context.query, **context.parse_options)
        yield


class DocumentLimits(SchemaExtension):
    """Refuses a document that breaks a limit before graphql-core validates it, so that neither
    validation nor execution spends anything on it; skips validating a text that passed before."""

    def __init__(self, limits: Limits, max_tokens: int, max_chars: int, valid: ValidDocuments) -> None:
        self.limits = limits
        self.max_tokens = max_tokens
        self.max_chars = max_chars
        self.valid = valid

    def on_parse(self) -> Iterator[None]:
        options: dict[str, Any] = self.execution_context.parse_options  # type: ignore[assignment]
        options.update(max_lexical_tokens=self.max_tokens, max_source_length=self.max_chars)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            document, variables = context.graphql_document, context.variables
            error = check_document(context.schema._schema, document, variables, self.limits) or check_text(
                document, variables
            )
            if error is not None:
                context.pre_execution_errors = [error]  # strawberry then skips validation
            elif context.query in self.valid:
                context.pre_execution_errors = []  # validated before: strawberry skips it
        yield
        if context.pre_execution_errors == [] and context.query is not None:
            self.valid.add(context.query)


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """The schema extensions that enforce the configured limits, as per-request factories."""
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        partial(
            DocumentLimits,
            Limits.from_settings(settings),
            max_tokens=settings.max_tokens,
            max_chars=settings.max_document_chars,
            valid=ValidDocuments(),
        ),
        ParsedDocuments,  # after DocumentLimits, which sets the parse options
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    return extensions
