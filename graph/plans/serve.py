"""The read path: a GraphQL request that is a valid query is answered by its plan, on one pooled connection
(the bearer token's look-up, then one statement per root field), and its response written from the rows.
Anything else (mutations, introspection, a document that fails parsing, limits, validation or its
variables, GraphiQL) returns None, and strawberry's view answers it: the reference path.

Each document text is parsed and validated once (`Documents`); each plan is compiled once per document,
operation, viewer and @skip/@include values (`Plans`), both in bounded LRU caches. In compare mode
(`INVENTORY_PLAN_COMPARE`) every planned read also runs on the reference path, and a difference in `data`
or `errors` is logged as an error.
"""

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    VariableNode,
    get_operation_ast,
    parse,
    validate,
    visit,
    Visitor,
)
from graphql.execution import get_variable_values
from sqlalchemy import ARRAY, Integer, bindparam, select
from sqlalchemy.orm import aliased
from starlette.requests import Request
from starlette.responses import Response

from db.config import Settings
from db.direct import CompiledRead, ReadConnection, compile_read, is_disconnect
from db.engine import Database, is_unavailable
from db.json_rows import JsonRows
from db.users import SignedIn, signed_in
from graph.access import note_operation, note_user
from graph.auth import bearer_token
from graph.context import Context
from graph.errors import UNAVAILABLE_MESSAGE, translate_errors
from graph.http import (
    DATABASE_UNAVAILABLE,
    JSON,
    RETRY_AFTER,
    UNAVAILABLE_STATUS,
    current_request_id,
    error_body,
    is_unavailable_response,
    response_media_type,
)
from graph.limits import (
    Limits,
    check_document,
    check_literals,
    check_values,
    root_field_names,
    sizing_key,
    sizing_variables,
)
from graph.plans.compiler import Plan, RootField, Unplannable, Viewer, compile_plan
from graph.plans.roots import ALL_TYPES, root_field, root_refusal
from graph.plans.rows import NESTING, Split, SqlContext
from graph.plans.writers import Propagate, State

logger = logging.getLogger("inventory.plans")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_DECLINED = object()
# Per document, how many sets of page sizes the limits' verdicts are kept for.
MAX_SIZINGS = 64
# Introspection is the reference path's (strawberry's own schema types answer it).
INTROSPECTION = frozenset({"__schema", "__type"})


class LRU(Generic[K, V]):
    """The `size` latest entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, make: Callable[[], V]) -> V:
        try:
            self._entries.move_to_end(key)
            return self._entries[key]
        except KeyError:
            value = self._entries[key] = make()
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
            return value


@dataclass(eq=False)
class Prepared:
    """A document text that parsed and validated, with what plans need to know of its operations."""

    document: DocumentNode
    fragments: dict[str, FragmentDefinitionNode]
    # Per operation name: the operation (None: no such operation, or an ambiguous one).
    operations: dict[str | None, OperationDefinitionNode | None] = field(default_factory=dict)
    # The variables @skip and @include take: their values are part of a plan's key.
    directive_variables: tuple[str, ...] = ()
    # The variables the abuse limits depend on (graph/limits.py), and the limits' verdict per their values.
    sizing_variables: tuple[str, ...] = ()
    within_limits: dict[tuple[Any, ...], bool] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        if name not in self.operations:
            self.operations[name] = get_operation_ast(self.document, name)
        return self.operations[name]

    def allowed(self, schema: Any, variables: dict[str, Any] | None, limits: Limits) -> bool:
        """Whether the request is within the abuse limits (checked once per document and sizes)."""
        key = sizing_key(self.sizing_variables, variables)
        verdict = self.within_limits.get(key)
        if verdict is None:
            if len(self.within_limits) >= MAX_SIZINGS:
                self.within_limits.clear()
            verdict = self.within_limits[key] = check_document(schema, self.document, variables, limits) is None
        return verdict and check_values(variables) is None


class _DirectiveVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: Any, *_args: Any) -> None:
        if node.name.value in ("skip", "include"):
            self.names.update(a.value.name.value for a in node.arguments if isinstance(a.value, VariableNode))


def _prepare(schema: Any, text: str, settings: Settings) -> Prepared | None:
    """The document, or None if it does not parse, holds a NUL character or does not validate (the
    reference path reports why)."""
    try:
        document = parse(text, max_lexical_tokens=settings.max_tokens, max_source_length=settings.max_document_chars)
    except GraphQLError:
        return None
    if check_literals(document) is not None or validate(schema, document):
        return None
    names = _DirectiveVariables()
    visit(document, names)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return Prepared(
        document,
        fragments,
        directive_variables=tuple(sorted(names.names)),
        sizing_variables=sizing_variables(document),
    )


@dataclass(frozen=True)
class _Request:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None


@dataclass(eq=False)
class _Read:
    """A statement's SQL and where its parameters' values come from."""

    read: CompiledRead
    parameters: list[tuple[str, int, Any]]

    def values(self, specs: list[Any]) -> dict[str, Any]:
        return {name: get(specs[index]) for name, index, get in self.parameters}


@dataclass(eq=False)
class _Statement:
    """One root field's statement for one shape; on SQLite, with the statements of the relationships split
    off it (graph/plans/rows.py), each after those whose rows hold its parents."""

    main: _Read
    splits: list[tuple[Split, _Read]]


class ReadPlans:
    """Answers read requests with plans (see the module's docstring)."""

    def __init__(self, schema: Any, database: Database, settings: Settings, *, reference: Database | None = None) -> None:
        self.strawberry_schema = schema
        self.schema = schema._schema
        self.database = database
        self.settings = settings
        self.limits = Limits.from_settings(settings)
        self.json = JsonRows(database.engine.dialect)
        self.documents: LRU[str, Prepared | None] = LRU(256)
        self.plans: LRU[Hashable, Plan | str] = LRU(512)
        # Compare mode: the database the reference path's run uses (its own engine, so that it adds no
        # statements to what the plans' engine sees).
        self.reference = reference

    async def respond(self, request: Request) -> Response | None:
        """The response to a planned read, or None for strawberry's view to answer."""
        asked = await _read_request(request)
        if asked is None:
            return None
        note_operation(asked.operation_name)
        prepared = self.documents.get(asked.query, lambda: _prepare(self.schema, asked.query, self.settings))
        if prepared is None:
            return None
        operation = prepared.operation(asked.operation_name)
        if operation is None or operation.operation.value != "query":
            return None
        if operation.name is not None:
            note_operation(operation.name.value)
        roots = set(root_field_names(operation, prepared.fragments))
        if roots & INTROSPECTION:
            return None
        if not prepared.allowed(self.schema, asked.variables, self.limits):
            return None
        variables = get_variable_values(self.schema, operation.variable_definitions or (), asked.variables or {})
        if isinstance(variables, list):
            return None
        directives = tuple(bool(variables.coerced.get(name)) for name in prepared.directive_variables)
        token = bearer_token(request)
        anonymous = token is None or roots <= {"__typename"}

        async def run(connection: ReadConnection) -> Any:
            viewer = None if anonymous else await signed_in(connection, self.database.engine.dialect, token=token)  # type: ignore[arg-type]
            if not anonymous:
                note_user(None if viewer is None else viewer.id)
            who = Viewer(token_sent=token is not None and not anonymous, role=None if viewer is None else viewer.role)
            key = (asked.query, asked.operation_name, who, directives)
            plan = self.plans.get(key, lambda: self._compile(prepared, operation, who, variables, directives))
            if isinstance(plan, str):
                logger.debug("read served by the reference path: %s", plan)
                return _DECLINED
            return await self._execute(plan, connection, variables, viewer)

        media_type = response_media_type(request.headers.get("accept"))
        try:
            result = await self.database.run_read(run)
        except Exception as error:
            if not is_unavailable(error):
                raise
            # Both connections tried were lost (or SQLite stayed busy): the reference path would fail as well.
            logger.warning("database unavailable for a planned read (request %s): %s", current_request_id(), error)
            body: dict[str, Any] = {"data": None, "errors": [error_body(UNAVAILABLE_MESSAGE, DATABASE_UNAVAILABLE)]}
            return Response(orjson.dumps(body), UNAVAILABLE_STATUS, RETRY_AFTER, media_type=media_type)
        if result is _DECLINED:
            return None
        data, errors = result
        if self.reference is not None:
            await self._compare(request, asked, token, data, errors)
        body = {"data": data}
        if errors:
            body["errors"] = errors
        if is_unavailable_response(body):
            return Response(orjson.dumps(body), UNAVAILABLE_STATUS, RETRY_AFTER, media_type=media_type)
        return Response(orjson.dumps(body), media_type=media_type)

    def _compile(
        self,
        prepared: Prepared,
        operation: OperationDefinitionNode,
        viewer: Viewer,
        variables: Any,
        directives: tuple[bool, ...],
    ) -> Plan | str:
        try:
            return compile_plan(
                self.schema,
                prepared.fragments,
                operation,
                dict(zip(prepared.directive_variables, directives, strict=True)),
                viewer,
                self.settings,
                self.json,
                ALL_TYPES,
                root_field,
                root_refusal,
            )
        except Unplannable as reason:
            return str(reason)

    async def _execute(
        self, plan: Plan, connection: ReadConnection, variables: Any, viewer: SignedIn | None
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        specs = [arguments.evaluate(variables) for arguments in plan.arguments]
        state = State(specs, viewer)
        data: dict[str, Any] | None = {}
        for root in plan.roots:
            try:
                row = await self._row(root, connection, specs, viewer)
            except Exception as error:  # noqa: BLE001 - masked and logged by translate_errors, as the reference path
                if is_disconnect(error):
                    raise  # the whole read runs again, on a fresh connection (Database.run_read)
                state.fail(error, root.writer.nodes, (root.key,))
                if not root.writer.nullable:
                    data = None
                elif data is not None:
                    data[root.key] = None
                continue
            try:
                value = root.writer.fast(row, state)
            except Exception:  # noqa: BLE001 - Slow, or anything else: the careful way says what it was
                try:
                    value = root.writer.write(row, (), state)
                except Propagate:
                    data = None
                    continue
            if data is not None:
                data[root.key] = value
        errors = [error.formatted for error in translate_errors(state.errors)]
        return data, errors

    async def _row(
        self, root: RootField, connection: ReadConnection, specs: list[Any], viewer: SignedIn | None
    ) -> list[Any]:
        """The root field's row: what its statement returns, or the signed-in user (`me`)."""
        if root.python_row is not None:
            return root.python_row(viewer)
        if root.row is None:
            return []
        shape = tuple(arguments.shape(specs[arguments.index]) for arguments in root.arguments)
        statement = root.statements.get(shape)
        if statement is None:
            statement = root.statements[shape] = self._statement(root, specs)
        row = await _fetch(connection, statement.main, specs)
        for split, read in statement.splits:
            await self._read_split(connection, root, row, split, read, specs)
        return row  # type: ignore[no-any-return]

    async def _read_split(
        self, connection: ReadConnection, root: RootField, row: list[Any], split: Split, read: _Read, specs: list[Any]
    ) -> None:
        """Read a relationship split off for every parent row, and put it in their rows."""
        assert root.row is not None
        found: list[list[Any]] = []
        root.row.rows_of(row, split.row, found, specs)
        # Each row once: parents with the same id share what an earlier split put in them.
        parents = list({id(parent): parent for parent in found}.values())
        ids = sorted({split.row.get(parent, split.slot) for parent in parents})
        if not ids:
            return
        listed = await _fetch(connection, read, specs, split_ids=self.json.id_list(ids))
        by_id = dict(listed)
        for parent in parents:
            split.row.set(parent, split.slot, by_id.get(split.row.get(parent, split.slot)))

    def _statement(self, root: RootField, specs: list[Any]) -> _Statement:
        assert root.row is not None
        dialect = self.database.engine.dialect
        context = SqlContext(self.json, specs)
        main = _Read(compile_read(select(root.row.json(context, None)), dialect), context.parameters)
        splits: list[tuple[Split, _Read]] = []
        pending = list(context.splits)
        while pending:
            split = pending.pop(0)
            context = SqlContext(self.json, specs)
            context.nesting = NESTING[split.relation.kind]
            parent = aliased(split.row.model)
            ids = bindparam("split_ids", type_=ARRAY(Integer) if self.json.postgresql else None)
            element = self.json.array([parent.id, split.build(context, parent)])
            listed = self.json.aggregate(element, select(parent).where(self.json.in_list(parent.id, ids)), ())
            splits.append((split, _Read(compile_read(listed, dialect), context.parameters)))
            pending.extend(context.splits)
        return _Statement(main, splits)

    async def _compare(
        self, request: Request, asked: _Request, token: str | None, data: Any, errors: list[dict[str, Any]]
    ) -> None:
        """Run the read on the reference path too; log any difference in `data` or `errors`."""
        assert self.reference is not None
        context = Context(db=self.reference, settings=self.settings, request=request, token=token)
        result = await self.strawberry_schema.execute(
            asked.query, variable_values=asked.variables, context_value=context, operation_name=asked.operation_name
        )
        expected_errors = [error.formatted for error in translate_errors(result.errors or [])]
        if result.data is None and data is None:
            # A root field's null took `data` with it: graphql-core then drops the root fields still running,
            # and their errors, where a plan has run them all. The reference's errors must be among the plan's.
            same = set(_sorted(expected_errors)) <= set(_sorted(errors))
        else:
            same = result.data == data and _sorted(expected_errors) == _sorted(errors)
        if not same:
            logger.error(
                "a plan's answer differs from the reference path's: query %r, variables %r\n"
                "plan: %r\nreference: %r",
                asked.query,
                asked.variables,
                {"data": data, "errors": errors},
                {"data": result.data, "errors": expected_errors},
            )


async def _fetch(connection: ReadConnection, read: _Read, specs: list[Any], **extra: Any) -> Any:
    value = await connection.fetch_value(read.read, {**read.values(specs), **extra})
    # asyncpg decodes JSON itself (db/engine.py); aiosqlite gives the text.
    return orjson.loads(value) if isinstance(value, str) else value


def _sorted(errors: list[dict[str, Any]]) -> list[bytes]:
    """Errors in a stable order (root fields' errors arrive in whatever order they complete)."""
    return sorted(orjson.dumps(error, option=orjson.OPT_SORT_KEYS) for error in errors)


async def _read_request(request: Request) -> _Request | None:
    """The query, operation name and variables of a GraphQL request, when it is an ordinary one."""
    if request.method == "GET":
        accept = request.headers.get("accept", "")
        if "text/html" in accept:
            return None  # a browser: GraphiQL
        params = request.query_params
        query = params.get("query")
        raw_variables = params.get("variables")
        try:
            variables = orjson.loads(raw_variables) if raw_variables else None
        except orjson.JSONDecodeError:
            return None
        operation_name = params.get("operationName")
    elif request.method == "POST":
        if request.headers.get("content-type", "").partition(";")[0].strip().lower() != JSON:
            return None
        try:
            body = orjson.loads(await request.body())
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(body, dict):
            return None
        query, variables, operation_name = body.get("query"), body.get("variables"), body.get("operationName")
    else:
        return None
    if not isinstance(query, str) or not query:
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    if operation_name is not None and not isinstance(operation_name, str):
        return None
    return _Request(query, operation_name, variables)
