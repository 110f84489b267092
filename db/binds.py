"""Parameters of read queries, so that one function builds a query's conditions for both ways it runs:
with the values at hand (a statement built for one request, as the loaders do), or as named parameters of
a statement built once and bound on every request (the read plans, graph/plans).

A condition builder takes the request's spec (a filter, a page request) and a `Bind`; it asks `bind` for
each value it compares against, naming it and saying how to get it from the spec. It may branch on the spec
only where `shape_of` sees it: whether a value is given, and the value of booleans, enums and frozensets
(a set of kinds, say; a tuple is a value, such as a cursor's key), or what its `__shape__()` says. A
statement built for one spec is then right for every spec of the same shape.
"""

import functools
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any, Protocol

from sqlalchemy import BindParameter, bindparam
from sqlalchemy.types import NULLTYPE, TypeEngine

Get = Callable[[Any], Any]


class Bind(Protocol):
    def __call__(self, name: str, get: Get, type_: TypeEngine[Any] | None = None) -> BindParameter[Any]:
        """A parameter named `name` (unique within one builder) whose value is `get(spec)`; without a type it
        takes the type of the column it is compared with."""
        ...


def with_values(spec: Any) -> Bind:
    """Parameters that carry their value for `spec`."""

    def bind(name: str, get: Get, type_: TypeEngine[Any] | None = None) -> BindParameter[Any]:
        return bindparam(None, get(spec), type_=type_ or NULLTYPE)

    return bind


def shape_of(spec: Any) -> Any:
    """What a statement built for `spec` depends on (see the module's docstring); hashable."""
    if spec is None:
        return None
    if hasattr(spec, "__shape__"):
        return spec.__shape__()
    if isinstance(spec, (bool, Enum, frozenset)):
        return spec
    if is_dataclass(spec) and not isinstance(spec, type):
        kind = type(spec)
        return (kind, tuple(shape_of(getattr(spec, name)) for name in _field_names(kind)))
    return True


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))
