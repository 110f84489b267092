"""The response side of a plan: writers that turn the JSON rows of the plan's statements into the response's
data, field by field as the document selects them, with GraphQL's rules for errors: a field that fails is
null with an error at its path, and a null where the schema says non-null makes the nearest nullable parent
null instead (graphql-core's executor does the same; the reference path is held to it by tests).

Each writer writes two ways. `write` follows the rules above, path in hand. `fast` is for the common case
where nothing fails: no paths, and each object's fields written by one function generated for it (one
dict display, its scalars inlined). The moment anything would fail, `fast` raises `Slow`, and the root
field is written again by `write` (serve.py): the fast way never records an error, so both give the same.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from graphql import FieldNode, GraphQLError, located_error

from db.pagination import Window, cut_page, encode_cursor
from db.users import SignedIn
from graph.plans.rows import RowPlan
from graph.scalars import LONG_MAX, LONG_MIN, serialize_long

Path = tuple[str | int, ...]
Convert = Callable[[Any], Any]
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class Propagate(Exception):
    """A non-null field came out null: its parent must be null too (the error is recorded already)."""


class Slow(Exception):
    """The fast way met what only `write` handles: a null in a non-null field, a value its scalar cannot
    represent, a refused argument."""


def slow() -> Any:
    raise Slow


@dataclass
class State:
    """One request's run of a plan: its argument specs, the signed-in user and the errors so far."""

    specs: list[Any]
    viewer: SignedIn | None
    errors: list[GraphQLError] = field(default_factory=list)

    def fail(self, error: Exception, nodes: Sequence[FieldNode], path: Path) -> None:
        self.errors.append(located_error(error, list(nodes), list(path)))


class Source:
    """The Python source of generated writers: the objects their code refers to, by name."""

    _names = count()

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {"slow": slow, "Slow": Slow}

    def name(self, value: Any) -> str:
        name = f"g{next(self._names)}"
        self.globals[name] = value
        return name


class FieldWriter:
    """Writes one response key of an object from the object's row."""

    key: str
    nodes: Sequence[FieldNode]
    nullable: bool
    # "Type.field", for the error of a null in a non-null field.
    coordinate: str

    def write(self, row: list[Any], path: Path, state: State) -> Any:
        raise NotImplementedError

    def fast(self, row: list[Any], state: State) -> Any:
        raise Slow

    def expression(self, source: Source) -> str:
        """Python code for the field's value, with the object's row in `row` and the state in `state`."""
        return f"{source.name(self)}.fast(row, state)"

    def null(self, path: Path, state: State) -> None:
        """The field is null: fine if it may be, else an error and its parent null too."""
        if self.nullable:
            return None
        state.fail(TypeError(f"Cannot return null for non-nullable field {self.coordinate}."), self.nodes, path)
        raise Propagate

    def failed(self, error: Exception, path: Path, state: State) -> None:
        """The field failed with `error`: null, with the error at its path."""
        state.fail(error, self.nodes, path)
        if not self.nullable:
            raise Propagate


@dataclass(eq=False)
class Named:
    """What every field writer is told: its response key, its nodes, its nullability and coordinate."""

    key: str
    nodes: Sequence[FieldNode]
    nullable: bool
    coordinate: str


class ObjectWriter:
    """An object: each selected field in the document's order, from the values of its row."""

    def __init__(self, fields: list[FieldWriter], row: RowPlan) -> None:
        self.fields = fields
        self.row = row
        self._fast: Callable[[list[Any], State], dict[str, Any]] | None = None

    def write(self, row: list[Any], path: Path, state: State) -> dict[str, Any]:
        if self.row.chunked:
            row = self.row.unpack(row)
        return {writer.key: writer.write(row, path, state) for writer in self.fields}

    def fast(self, row: list[Any], state: State) -> dict[str, Any]:
        return self.generated()(row, state)

    def generated(self) -> Callable[[list[Any], State], dict[str, Any]]:
        """The function that writes this object the fast way (made on first use, once the plan's rows
        have all their slots; nested objects' functions are called from it directly)."""
        if self._fast is None:
            source = Source()
            items = ", ".join(f"{writer.key!r}: {writer.expression(source)}" for writer in self.fields)
            unpack = f"    row = {source.name(self.row.unpack)}(row)\n" if self.row.chunked else ""
            exec(f"def write(row, state):\n{unpack}    return {{{items}}}\n", source.globals)  # noqa: S102
            self._fast = source.globals["write"]
        return self._fast


class Constant(FieldWriter):
    """A value known when the plan is made: `__typename`."""

    def __init__(self, named: Named, value: Any) -> None:
        self.__dict__.update(vars(named))
        self.value = value

    def write(self, row: list[Any], path: Path, state: State) -> Any:
        return self.value

    def fast(self, row: list[Any], state: State) -> Any:
        return self.value

    def expression(self, source: Source) -> str:
        return source.name(self.value)


@dataclass(frozen=True)
class Composed:
    """A value read back from JSON (`decode`), then serialized as its GraphQL type does (`serialize`)."""

    decode: Convert
    serialize: Convert

    def __call__(self, value: Any) -> Any:
        return self.serialize(self.decode(value))

    def source(self, source: "Source", value: str) -> str:
        return f"{source.name(self.serialize)}({source.name(self.decode)}({value}))"


def serialize_int(value: Any) -> int:
    """GraphQL's Int: a 32-bit integer; graphql-core's own error (and message) for anything else."""
    if type(value) is int and INT_MIN <= value <= INT_MAX:
        return value
    from graphql import GraphQLInt

    return GraphQLInt.serialize(value)  # type: ignore[no-any-return]


# Integer scalars whose range check is inlined in the generated writers: Int and Long.
INTEGER_RANGES: dict[Convert, tuple[int, int]] = {
    serialize_int: (INT_MIN, INT_MAX),
    serialize_long: (LONG_MIN, LONG_MAX),
}


class Scalar(FieldWriter):
    """A value of the row, converted to what the field's scalar or enum serializes it to."""

    def __init__(self, named: Named, slot: int, convert: Convert | None) -> None:
        self.__dict__.update(vars(named))
        self.slot = slot
        self.convert = convert

    def write(self, row: list[Any], path: Path, state: State) -> Any:
        value = row[self.slot]
        if value is None:
            return self.null(path + (self.key,), state)
        if self.convert is None:
            return value
        try:
            return self.convert(value)
        except GraphQLError as error:  # a value the scalar cannot represent (an Int above 2^31, a Long above 2^63)
            return self.failed(error, path + (self.key,), state)

    def expression(self, source: Source) -> str:
        value = f"row[{self.slot}]"
        bounds = INTEGER_RANGES.get(self.convert) if self.convert is not None else None
        if bounds is not None:
            # Inlined: an integer within the scalar's range (32 bits, or 64), else the careful way.
            fits = f"(type(x) is int and {bounds[0]} <= x <= {bounds[1]})"
            if self.nullable:
                return f"(x if (x := {value}) is None or {fits} else slow())"
            return f"(x if (x := {value}) is not None and {fits} else slow())"
        if self.convert is None:
            converted = "x"
        elif isinstance(self.convert, Composed):
            converted = self.convert.source(source, "x")
        else:
            converted = f"{source.name(self.convert)}(x)"
        if self.nullable:
            return value if self.convert is None else f"(None if (x := {value}) is None else {converted})"
        return f"({converted} if (x := {value}) is not None else slow())"


class Computed(FieldWriter):
    """A value worked out from several of the row's values (a quantity still to receive, say)."""

    def __init__(self, named: Named, slots: list[int], compute: Callable[..., Any], convert: Convert | None) -> None:
        self.__dict__.update(vars(named))
        self.slots = slots
        self.compute = compute
        self.convert = convert

    def write(self, row: list[Any], path: Path, state: State) -> Any:
        value = self.compute(state, *(row[slot] for slot in self.slots))
        if value is None:
            return self.null(path + (self.key,), state)
        if self.convert is None:
            return value
        try:
            return self.convert(value)
        except GraphQLError as error:
            return self.failed(error, path + (self.key,), state)

    def fast(self, row: list[Any], state: State) -> Any:
        value = self.compute(state, *(row[slot] for slot in self.slots))
        if value is None:
            return None if self.nullable else slow()
        return value if self.convert is None else self.convert(value)


class Failing(FieldWriter):
    """A field refused for the whole request (a role the user lacks): null with its error, wherever it is."""

    def __init__(self, named: Named, error: Exception) -> None:
        self.__dict__.update(vars(named))
        self.error = error

    def write(self, row: list[Any], path: Path, state: State) -> Any:
        return self.failed(self.error, path + (self.key,), state)


def _refused(state: State, arguments: int | None) -> Exception | None:
    if arguments is None:
        return None
    spec = state.specs[arguments]
    return spec if isinstance(spec, Exception) else None


class Nested(FieldWriter):
    """An object read in a slot of the row (null when there is none), or, with slot None, the row itself
    seen as another type (a report line's product); refused when its arguments are."""

    def __init__(self, named: Named, slot: int | None, child: ObjectWriter, arguments: int | None = None) -> None:
        self.__dict__.update(vars(named))
        self.slot = slot
        self.child = child
        self.arguments = arguments

    def write(self, row: list[Any], path: Path, state: State) -> Any:
        path = path + (self.key,)
        refusal = _refused(state, self.arguments)
        if refusal is not None:
            return self.failed(refusal, path, state)
        value = row if self.slot is None else row[self.slot]
        if value is None:
            return self.null(path, state)
        try:
            return self.child.write(value, path, state)
        except Propagate:
            if self.nullable:
                return None
            raise

    def fast(self, row: list[Any], state: State) -> Any:
        if self.arguments is not None and isinstance(state.specs[self.arguments], Exception):
            raise Slow
        value = row if self.slot is None else row[self.slot]
        if value is None:
            return None if self.nullable else slow()
        return self.child.fast(value, state)

    def expression(self, source: Source) -> str:
        if self.arguments is not None:
            return super().expression(source)
        write = source.name(self.child.generated())
        if self.slot is None:
            return f"{write}(row, state)"
        null = "None" if self.nullable else "slow()"
        return f"({write}(x, state) if (x := row[{self.slot}]) is not None else {null})"


class Items(FieldWriter):
    """A list of objects read in a slot of the row, each item non-null (as every list of this schema)."""

    def __init__(self, named: Named, slot: int, child: ObjectWriter) -> None:
        self.__dict__.update(vars(named))
        self.slot = slot
        self.child = child

    def write(self, row: list[Any], path: Path, state: State) -> Any:
        path = path + (self.key,)
        items = row[self.slot]
        if items is None:
            return self.null(path, state)
        try:
            return write_items(items, self.child, path, state)
        except Propagate:
            if self.nullable:
                return None
            raise

    def fast(self, row: list[Any], state: State) -> Any:
        items = row[self.slot]
        if items is None:
            return None if self.nullable else slow()
        write = self.child.generated()
        return [write(item, state) for item in items]

    def expression(self, source: Source) -> str:
        write = source.name(self.child.generated())
        null = "None" if self.nullable else "slow()"
        return f"([{write}(i, state) for i in x] if (x := row[{self.slot}]) is not None else {null})"


def write_items(items: list[Any], child: ObjectWriter, path: Path, state: State) -> list[Any]:
    """Non-null items: one that comes out null makes the list null (Propagate)."""
    return [child.write(item, path + (index,), state) for index, item in enumerate(items)]


# --- connections ----------------------------------------------------------------------------------


@dataclass
class PageOf:
    """One connection's page in a request: its rows in order, the page flags, the total if read, and how
    its rows' cursors are made (for the order the request chose)."""

    rows: list[list[Any]]
    has_next: bool
    has_previous: bool
    count: int | None
    cursors: "Cursors | None" = None


class PageWriter:
    """Writes one field of a connection (edges, nodes, pageInfo, totalCount, __typename) from its page."""

    key: str

    def write(self, page: PageOf, path: Path, state: State) -> Any:
        raise NotImplementedError

    def fast(self, page: PageOf, state: State) -> Any:
        raise NotImplementedError


class Connection(FieldWriter):
    """A connection read in a slot of the row: [rows fetched in the window's direction, count]. The
    arguments' spec holds the window (`keyset`) and the order (`sort`), which picks the cursors."""

    def __init__(
        self,
        named: Named,
        slot: int,
        arguments: int,
        fields: list[PageWriter],
        cursors: Callable[[Any], "Cursors | None"] | None,
    ) -> None:
        self.__dict__.update(vars(named))
        self.slot = slot
        self.arguments = arguments
        self.fields = fields
        self.cursors = cursors

    def _page(self, spec: Any, value: list[Any]) -> PageOf:
        page = page_of(value, spec.keyset.window)
        if self.cursors is not None:
            page.cursors = self.cursors(spec.sort)
        return page

    def write(self, row: list[Any], path: Path, state: State) -> Any:
        path = path + (self.key,)
        spec = state.specs[self.arguments]
        if isinstance(spec, Exception):
            return self.failed(spec, path, state)
        value = row[self.slot]
        if value is None:
            return self.null(path, state)
        page = self._page(spec, value)
        try:
            return {writer.key: writer.write(page, path, state) for writer in self.fields}
        except Propagate:
            if self.nullable:
                return None
            raise

    def fast(self, row: list[Any], state: State) -> Any:
        spec = state.specs[self.arguments]
        value = row[self.slot]
        if isinstance(spec, Exception) or value is None:
            raise Slow
        page = self._page(spec, value)
        return {writer.key: writer.fast(page, state) for writer in self.fields}


def page_of(value: list[Any], window: Window) -> PageOf:
    rows, count = value
    if window.limit == 0:
        return PageOf([], False, False, count)  # db.pagination.empty_page
    rows, has_next, has_previous = cut_page(rows, window)
    return PageOf(rows, has_next, has_previous, count)


class PageConstant(PageWriter):
    def __init__(self, key: str, value: Any) -> None:
        self.key = key
        self.value = value

    def write(self, page: PageOf, path: Path, state: State) -> Any:
        return self.value

    def fast(self, page: PageOf, state: State) -> Any:
        return self.value


class TotalCount(PageWriter):
    def __init__(self, key: str, nodes: Sequence[FieldNode], convert: Convert | None) -> None:
        self.key = key
        self.nodes = nodes
        self.convert = convert

    def write(self, page: PageOf, path: Path, state: State) -> Any:
        if self.convert is None:
            return page.count
        try:
            return self.convert(page.count)
        except GraphQLError as error:
            state.fail(error, self.nodes, path + (self.key,))
            raise Propagate from None

    def fast(self, page: PageOf, state: State) -> Any:
        count = page.count
        if type(count) is int and INT_MIN <= count <= INT_MAX:
            return count
        raise Slow


class Cursors:
    """How a row's cursor is made: its sort key's values, read as the columns give them to Python."""

    def __init__(self, order: str, slots: list[int], decoders: list[Convert | None]) -> None:
        self.order = order
        self.slots = slots
        self.decoders = decoders

    def cursor(self, row: list[Any]) -> str:
        return encode_cursor(
            self.order,
            tuple(
                row[slot] if decode is None or row[slot] is None else decode(row[slot])
                for slot, decode in zip(self.slots, self.decoders, strict=True)
            )
        )


class NodesOfPage(PageWriter):
    """`nodes`: the page's rows as objects."""

    def __init__(self, key: str, child: ObjectWriter) -> None:
        self.key = key
        self.child = child

    def write(self, page: PageOf, path: Path, state: State) -> Any:
        return write_items(page.rows, self.child, path + (self.key,), state)

    def fast(self, page: PageOf, state: State) -> Any:
        write = self.child.generated()
        return [write(row, state) for row in page.rows]


class EdgesOfPage(PageWriter):
    """`edges`: per row, the fields its edge selects (cursor, node, __typename)."""

    def __init__(self, key: str, fields: list[tuple[str, str, Any]]) -> None:
        # (response key, "cursor" | "node" | "typename", None | the node's ObjectWriter | the type's name)
        self.key = key
        self.fields = fields
        self._fast: Callable[[PageOf, State], list[dict[str, Any]]] | None = None

    def write(self, page: PageOf, path: Path, state: State) -> Any:
        path = path + (self.key,)
        edges = []
        for index, row in enumerate(page.rows):
            edge: dict[str, Any] = {}
            for key, kind, how in self.fields:
                if kind == "cursor":
                    assert page.cursors is not None
                    edge[key] = page.cursors.cursor(row)
                elif kind == "node":
                    edge[key] = how.write(row, path + (index, key), state)
                else:
                    edge[key] = how
            edges.append(edge)
        return edges

    def fast(self, page: PageOf, state: State) -> Any:
        if self._fast is None:
            # One generated function, as for objects: a list display of the edges' dict displays.
            source = Source()
            items = []
            for key, kind, how in self.fields:
                if kind == "node":
                    value = f"{source.name(how.generated())}(row, state)"
                elif kind == "cursor":
                    value = "cursor(row)"
                else:
                    value = source.name(how)
                items.append(f"{key!r}: {value}")
            cursor = "    cursor = page.cursors.cursor if page.cursors else None\n"
            body = f"    return [{{{', '.join(items)}}} for row in page.rows]\n"
            exec(f"def edges(page, state):\n{cursor}{body}", source.globals)  # noqa: S102
            self._fast = source.globals["edges"]
        return self._fast(page, state)


class PageInfo(PageWriter):
    """`pageInfo`: the flags, and the first and last rows' cursors."""

    def __init__(self, key: str, fields: list[tuple[str, str]]) -> None:
        # (response key, the PageInfo field's name)
        self.key = key
        self.fields = fields

    def write(self, page: PageOf, path: Path, state: State) -> Any:
        info: dict[str, Any] = {}
        for key, name in self.fields:
            if name == "hasNextPage":
                info[key] = page.has_next
            elif name == "hasPreviousPage":
                info[key] = page.has_previous
            elif name == "startCursor":
                info[key] = page.cursors.cursor(page.rows[0]) if page.rows and page.cursors else None
            elif name == "endCursor":
                info[key] = page.cursors.cursor(page.rows[-1]) if page.rows and page.cursors else None
            else:
                info[key] = "PageInfo"
        return info

    def fast(self, page: PageOf, state: State) -> Any:
        return self.write(page, (), state)  # nothing here can fail
