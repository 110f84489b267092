"""The SQL side of a plan: each object the response holds is read as one JSON array of values (a row's
"slots"), built by the database; a nested object or list is a subquery in a slot of its parent's row.

A `RowPlan` collects the slots its writers ask for while the plan is compiled; `RowPlan.json` builds the
array for one statement shape. Parameters come from the field arguments of the request (`Arguments`),
through a `Binder` that names them and remembers how each value is taken from the arguments' spec.

SQLite's parser takes only so many nested subqueries (about eight); where a statement would nest deeper,
a relationship is split off (`Split`): its slot holds the parent row's id, and a statement of its own
fetches the relationship for all those ids at once, to be put in place before the rows are written.
"""

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, bindparam, null
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import NULLTYPE, TypeEngine

from db.binds import Bind, Get, shape_of
from db.json_rows import MAX_ARRAY_VALUES, JsonRows

# How a slot's SQL is built: from the statement's context and the entity (an alias) the row is read from.
SlotSql = Callable[["SqlContext", Any], ColumnElement[Any]]

# How much of SQLite's parser stack a relationship's subquery takes, and what one statement may take.
# Measured (a chain of `parent` objects, then the construct: the longest chain SQLite still parses): a
# statement holds 8 nested one-row subqueries but not 9; a list takes what 2 of those take, a page, a
# recursive CTE (a category's ancestors, its subtree's product count) 3. One row counts 2, so 16 fit;
# statements are kept to 14, so that a construct measured a little low still fits.
NESTING = {"one": 2, "many": 4, "page": 6}
SQLITE_NESTING = 14


class SqlContext:
    """What building one statement needs: the dialect's JSON functions, the request's argument specs (which
    decide the statement's shape), and the parameters the statement takes."""

    def __init__(self, json: JsonRows, specs: list[Any]) -> None:
        self.json = json
        self.specs = specs
        self.parameters: list[tuple[str, int, Get]] = []  # name, index of the arguments, getter
        self._names: set[str] = set()
        self._shared: dict[str, Any] = {}
        # How deep the subquery being built is nested, and the relationships split off so far (SQLite).
        self.nesting = 0
        self.splits: list["Split"] = []

    def shared(self, name: str, make: Callable[[], Any]) -> Any:
        """One construct for the whole statement (a CTE that several subqueries read), made once."""
        if name not in self._shared:
            self._shared[name] = make()
        return self._shared[name]

    def failed(self, arguments: "Arguments") -> bool:
        """Whether the arguments were refused in this request (their field is null, with an error)."""
        return isinstance(self.specs[arguments.index], Exception)

    def spec(self, arguments: "Arguments") -> Any:
        return self.specs[arguments.index]

    def binder(
        self, arguments: "Arguments", part: str | None = None, project: Callable[[Any], Any] = lambda spec: spec
    ) -> Bind:
        """Parameters whose values are taken from `arguments`' spec, or from its attribute `part`."""
        if part is not None:
            project = lambda spec: getattr(spec, part)  # noqa: E731

        def bind(name: str, get: Get, type_: TypeEngine[Any] | None = None) -> BindParameter[Any]:
            key = f"a{arguments.index}_{part}_{name}" if part else f"a{arguments.index}_{name}"
            if key not in self._names:
                self._names.add(key)
                self.parameters.append((key, arguments.index, lambda spec: get(project(spec))))
            return bindparam(key, type_=type_ or NULLTYPE)

        return bind

    def nested(self, cost: int) -> bool:
        """Whether a subquery taking `cost` more of the parser's stack still fits in this statement."""
        return self.json.postgresql or self.nesting + cost <= SQLITE_NESTING


@dataclass(eq=False)
class Arguments:
    """A field's arguments in the plan: `spec(variables)` turns their coerced values into what the queries
    take (a filter, a keyset), or raises the DomainError the reference path reports for them."""

    index: int
    spec: Callable[[Any], Any]
    # The spec when the arguments hold no variables: worked out once, when the plan is made.
    static: Any = None
    is_static: bool = False
    _static_shape: Any = None

    def evaluate(self, variables: Any) -> Any:
        """The spec, or the exception that refuses the arguments."""
        if self.is_static:
            return self.static
        try:
            return self.spec(variables)
        except Exception as error:  # noqa: BLE001 - any refusal is the field's error, as in the reference path
            return error

    def shape(self, spec: Any) -> Any:
        """What the statements built for `spec` (this request's) depend on (db/binds.py)."""
        if self.is_static:
            if self._static_shape is None:
                self._static_shape = _shape(spec)
            return self._static_shape
        return _shape(spec)


def _shape(spec: Any) -> Any:
    return "refused" if isinstance(spec, Exception) else shape_of(spec)


# The rows a slot's value holds, with their plans, for the request's argument specs (`Relation.rows`).
Rows = Callable[[Any, list[Any]], Iterable[tuple["RowPlan", list[Any]]]]


@dataclass(eq=False)
class Relation:
    """A slot holding a relationship: `kind` "one" (a row or null), "many" (a list of rows), "page"
    ([rows, count]) or "same" (the parent's own row, seen as another type); `child` is the rows' plan;
    `nesting` how much of SQLite's parser stack its subquery takes (NESTING's figure for its kind unless
    it says otherwise: a recursive CTE takes more). A value of another shape (`node`, whose row's type
    the request says) says what rows it holds through `rows(value, specs)` instead."""

    kind: str
    child: "RowPlan | None"
    nesting: int = 0
    rows: Rows | None = None

    def __post_init__(self) -> None:
        if not self.nesting and self.kind in NESTING:
            self.nesting = NESTING[self.kind]

    def rows_in(self, value: list[Any], specs: list[Any]) -> Iterable[tuple["RowPlan", list[Any]]]:
        if self.rows is not None:
            return self.rows(value, specs)
        assert self.child is not None
        if self.kind in ("one", "same"):
            return [(self.child, value)]
        return [(self.child, item) for item in (value if self.kind == "many" else value[0])]


@dataclass(eq=False)
class Slot:
    build: SlotSql
    relation: Relation | None = None
    # For a value computed by a subquery (a count): how much of SQLite's parser stack it takes.
    nesting: int = 0


@dataclass(eq=False)
class Split:
    """A relationship split off its parent's statement: `row`'s slot `slot` holds the parent's id until the
    statement `build(context, parent entity)` is read for all the parents' ids and put in its place."""

    row: "RowPlan"
    slot: int
    build: SlotSql
    relation: Relation


@dataclass(eq=False)
class RowPlan:
    """The values one kind of object is read with (from `model`'s rows, or a report's); the writers of its
    fields hold their slots' indexes."""

    model: Any = None
    slots: list[Slot] = field(default_factory=list)
    _index: dict[Hashable, int] = field(default_factory=dict)

    def add(self, key: Hashable | None, build: SlotSql, relation: Relation | None = None, nesting: int = 0) -> int:
        """The index of the slot for `key` (slots with equal keys are one), made with `build` if new; a
        None key always makes a new slot."""
        if key is not None and key in self._index:
            return self._index[key]
        self.slots.append(Slot(build, relation, nesting))
        index = len(self.slots) - 1
        if key is not None:
            self._index[key] = index
        return index

    def index_items(self) -> list[tuple[Hashable, int]]:
        """The keyed slots, with their indexes."""
        return list(self._index.items())

    @property
    def nesting(self) -> int:
        """How much of SQLite's parser stack the row's own computed values take (its relationships aside)."""
        return max((slot.nesting for slot in self.slots), default=0)

    @property
    def chunked(self) -> bool:
        """Whether the row comes as arrays of arrays (more values than one JSON array may take)."""
        return len(self.slots) > MAX_ARRAY_VALUES

    def json(self, context: SqlContext, entity: Any) -> ColumnElement[Any]:
        values = [self._value(context, entity, index, slot) for index, slot in enumerate(self.slots)] or [null()]
        if not self.chunked:
            return context.json.array(values)
        chunks = [values[i : i + MAX_ARRAY_VALUES] for i in range(0, len(values), MAX_ARRAY_VALUES)]
        return context.json.array([context.json.array(chunk) for chunk in chunks])

    def _value(self, context: SqlContext, entity: Any, index: int, slot: Slot) -> ColumnElement[Any]:
        relation = slot.relation
        if relation is None or relation.kind == "same":
            return slot.build(context, entity)
        cost = relation.nesting
        # The related rows' own computed values must fit too; their relationships decide for themselves.
        own = relation.child.nesting if relation.child is not None else 0
        if not context.nested(cost + own) and self.splittable(entity):
            context.splits.append(Split(self, index, slot.build, relation))
            return entity.id  # type: ignore[no-any-return]
        context.nesting += cost
        try:
            return slot.build(context, entity)
        finally:
            context.nesting -= cost

    def splittable(self, entity: Any) -> bool:
        """Whether a relationship of these rows can be split off: the rows are a model's, with an id."""
        return entity is not None and self.model is not None and hasattr(self.model, "id")

    def unpack(self, value: list[Any]) -> list[Any]:
        """A row as the database sent it, as one list of slot values."""
        return [item for chunk in value for item in chunk] if self.chunked else value

    def get(self, row: list[Any], index: int) -> Any:
        return row[index // MAX_ARRAY_VALUES][index % MAX_ARRAY_VALUES] if self.chunked else row[index]

    def set(self, row: list[Any], index: int, value: Any) -> None:
        if self.chunked:
            row[index // MAX_ARRAY_VALUES][index % MAX_ARRAY_VALUES] = value
        else:
            row[index] = value

    def rows_of(self, row: list[Any], target: "RowPlan", found: list[list[Any]], specs: list[Any]) -> None:
        """Every row of `target` within `row` (one of this plan's), into `found`."""
        if self is target:
            found.append(row)
        for index, slot in enumerate(self.slots):
            relation = slot.relation
            if relation is None:
                continue
            value = self.get(row, index)
            if not isinstance(value, list):
                continue  # null, or the id of a relationship split off and not yet read
            for plan, item in relation.rows_in(value, specs):
                plan.rows_of(item, target, found, specs)
