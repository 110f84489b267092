"""DirectExecutor (graph/execution.py) gives what graphql-core's own executor gives: the same data, the
same errors at the same paths, for values it reads directly and for the ones it hands back."""

import asyncio
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.execution import DirectExecutor, read_fields_directly


@strawberry.enum
class Color(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    name: str
    size: int | None = None


@strawberry.type
class Item(Named):
    name: str
    count: int | None
    price: Decimal
    color: Color
    tags: list[str]
    loose_tags: list[str | None] | None
    child: Leaf | None
    children: list[Leaf]
    required: Leaf

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


async def _later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


def _item(name: str = "bolt", **changes: Any) -> Item:
    values: dict[str, Any] = {
        "name": name,
        "count": 3,
        "price": Decimal("1.50"),
        "color": Color.RED,
        "tags": ["a", "b"],
        "loose_tags": ["x", None],
        "child": Leaf(name=f"{name}-child", size=1),
        "children": [Leaf(name=f"{name}-0"), Leaf(name=f"{name}-1", size=2)],
        "required": Leaf(name=f"{name}-required"),
    }
    values.update(changes)
    return Item(**values)


EVERYTHING = """{ items { __typename name count price color tags looseTags shout
    child { name size } children { name size } required { ... on Leaf { name } } } }"""

# Per case: the query, and a function making the items the root field returns (anew for each run: an
# awaitable is awaited once).
CASES: dict[str, tuple[str, Any]] = {
    "plain values": (EVERYTHING, lambda: [_item("bolt"), _item("nut", count=None, child=None, loose_tags=None)]),
    "aliases, fragments and directives": (
        """query { items { n: name, ...F, child @include(if: false) { name }, again: name @skip(if: false) } }
        fragment F on Named { name }""",
        lambda: [_item()],
    ),
    "null in a non-null scalar nulls the parents up to a nullable one": (
        EVERYTHING,
        lambda: [_item(), _item(name=None)],
    ),
    "null in a non-null object": (EVERYTHING, lambda: [_item(required=None)]),
    "a scalar that cannot be coerced": (EVERYTHING, lambda: [_item(count="many"), _item(color="green")]),
    "null inside a non-null list": (EVERYTHING, lambda: [_item(tags=["a", None])]),
    "null inside a list of nullable items": ("{ items { looseTags } }", lambda: [_item(loose_tags=[None, "y"])]),
    "a wrong object in a list": (
        "{ items { children { name } } }",
        lambda: [_item(children=[Leaf(name="ok"), "not a leaf"])],
    ),
    "an error value": ("{ items { name count } }", lambda: [_item(count=ValueError("count failed"))]),
    "awaitable values": (
        "{ items { name count child { name } children { name size } tags } }",
        lambda: [
            _item(
                count=_later(7),
                child=_later(Leaf(name="late")),
                children=[Leaf(name="x"), _later(Leaf(name="y"))],
                tags=[_later("t")],
            )
        ],
    ),
    "an awaitable that fails": ("{ items { name count } }", lambda: [_item(count=_later(ValueError("late failure")))]),
    "no items": (EVERYTHING, lambda: []),
    "null root list items": (
        "{ maybeItems { name required { name } } }",
        lambda: [None, _item(required=None), _item()],
    ),
}


def _schema(executor: type | None, extensions: list[Any] | None = None) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def items(self, info: strawberry.Info) -> list[Item]:
            return info.context["items"]

        @strawberry.field
        def maybe_items(self, info: strawberry.Info) -> list[Item | None] | None:
            return info.context["items"]

        @strawberry.field
        def named(self, info: strawberry.Info) -> list[Named]:
            return info.context["items"]

    schema = strawberry.Schema(query=Query, types=[Leaf], execution_context_class=executor, extensions=extensions or [])
    if executor is DirectExecutor:
        read_fields_directly(schema._schema)
    return schema


def _outcome(result: Any) -> tuple[Any, list[tuple[str, list[Any]]]]:
    errors = sorted((error.message, error.path) for error in result.errors or [])
    return result.data, errors


async def _run_both(query: str, make_items: Any, extensions: list[Any] | None = None) -> tuple[Any, Any]:
    direct, general = _schema(DirectExecutor, extensions), _schema(StrawberryGraphQLCoreExecutionContext, extensions)
    mine = await direct.execute(query, context_value={"items": make_items()})
    theirs = await general.execute(query, context_value={"items": make_items()})
    return _outcome(mine), _outcome(theirs)


@pytest.mark.parametrize("case", list(CASES))
async def test_same_data_and_errors_as_graphql_core(case: str) -> None:
    mine, theirs = await _run_both(*CASES[case])
    assert mine == theirs


async def test_the_cases_cover_data_and_errors() -> None:
    """The comparison means something: plain values give data, broken ones give errors at paths."""
    (data, errors), _ = await _run_both(*CASES["plain values"])
    assert data["items"][1] == {
        "__typename": "Item",
        "name": "nut",
        "count": None,
        "price": "1.50",
        "color": "RED",
        "tags": ["a", "b"],
        "looseTags": None,
        "shout": "NUT",
        "child": None,
        "children": [{"name": "nut-0", "size": None}, {"name": "nut-1", "size": 2}],
        "required": {"name": "nut-required"},
    }
    assert errors == []
    (data, errors), _ = await _run_both(*CASES["null in a non-null scalar nulls the parents up to a nullable one"])
    assert data is None
    assert errors == [("Cannot return null for non-nullable field Item.name.", ["items", 1, "name"])]
    (data, errors), _ = await _run_both(*CASES["awaitable values"])
    assert errors == []
    assert data["items"][0]["count"] == 7 and data["items"][0]["children"][1] == {"name": "y", "size": None}


async def test_interface_fields_take_graphql_cores_path() -> None:
    mine, theirs = await _run_both("{ named { name ... on Item { count } } }", lambda: [_item(), _item(name=None)])
    assert mine == theirs
    assert mine[1] == [("Cannot return null for non-nullable field Item.name.", ["named", 1, "name"])]


async def test_a_resolve_hook_sees_every_field() -> None:
    """A schema extension that wraps resolvers must be called for plain fields too."""
    seen: list[str] = []

    class Record(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    await _schema(DirectExecutor, [Record]).execute(
        "{ items { name child { name } } }", context_value={"items": [_item()]}
    )
    assert seen == ["items", "name", "child", "name"]


async def test_plain_fields_are_read_without_resolve_info() -> None:
    """Only the root field (it has a resolver) gets a ResolveInfo; the twelve fields read below it don't."""
    built: list[str] = []

    class Counting(DirectExecutor):
        def build_resolve_info(self, field_def: Any, field_nodes: Any, parent_type: Any, path: Any) -> Any:
            built.append(field_nodes[0].name.value)
            return super().build_resolve_info(field_def, field_nodes, parent_type, path)

    schema = _schema(DirectExecutor)
    schema.execution_context_class = Counting
    result = await schema.execute(
        "{ items { name count child { name } } }", context_value={"items": [_item(), _item()]}
    )
    assert result.errors is None and len(result.data["items"]) == 2
    assert built == ["items"]
