"""Relationship fields of the reference path: each is declared once, as a `Relation` (which DataLoader
fetches it, and the key one object asks it for), and its resolver returns `Relation.resolve`: the
loader's future, batched with every other object's of the same level into one statement.
"""

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strawberry.types import Info

from graph.relay import Connection

if TYPE_CHECKING:
    from graph.context import Context
    from graph.loaders import Loaders


@dataclass(frozen=True, eq=False)
class Relation:
    """One relationship field: the loader that fetches it and the key one object asks that loader for.

    `key(source, settings, **arguments)` gets the resolver's arguments (Python names, converted); None
    means the field is null without a load (a foreign key that is not set). The loaded value is the
    field's value, or a Connection's page (`connection`: its rows converted with `convert`, its count,
    when selected, through `count_loader` at `count_key(key)`), or is reduced by `finish` (a sum, say).
    """

    loader: Callable[["Loaders"], Any]
    key: Callable[..., Hashable | None]
    finish: Callable[[Any], Any] | None = None
    connection: bool = False
    convert: Callable[[Any], Any] | None = None
    count_loader: Callable[["Loaders"], Any] | None = None
    count_key: Callable[[Hashable], Hashable] = lambda key: key

    def resolve(self, source: Any, info: Info, **arguments: Any) -> Any:
        """The field's value: an awaitable of what the loader gives for the object's key."""
        context: Context = info.context
        key = self.key(source, context.settings, **arguments)
        if key is None:
            return None
        pending = self.loader(context.loaders).load(key)
        if self.connection or self.finish is not None:
            return self._later(pending, context, key)
        return pending

    async def _later(self, pending: Awaitable[Any], context: "Context", key: Hashable) -> Any:
        loaded = await pending
        if not self.connection:
            return self.finish(loaded)  # type: ignore[misc]
        assert self.convert is not None and self.count_loader is not None
        loader, count_key = self.count_loader(context.loaders), self.count_key(key)
        return Connection.of(loaded, self.convert, lambda: loader.load(count_key))
