"""What every mutation module shares: one write transaction per mutation, domain errors as payload errors."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol, Self, TypeVar

import strawberry
from strawberry.types import Info

from db import changes as change_log
from db.catalog import MONEY_LIMIT
from db.errors import DomainError
from graph.auth import acting_user_id
from graph.context import Context
from graph.errors import UserError, user_errors
from graph.http import current_request_id


class Payload(Protocol):
    def __init__(self, *, errors: list[UserError]) -> None: ...

    @classmethod
    def of(cls, row: Any) -> Self: ...


P = TypeVar("P", bound=Payload)


# A mutation's `input` argument: the input type's fields say what each one is.
INPUT = strawberry.argument(description="What to do; each field of the input type says what it takes.")


def errors_field() -> Any:
    """A payload's `errors`."""
    return strawberry.field(
        default_factory=list,
        description="Why the mutation was refused, one entry per problem; empty when it succeeded.",
    )


def result_field(what: str) -> Any:
    """A payload's field for what the mutation made or changed (`what`: "The category as saved")."""
    return strawberry.field(default=None, description=f"{what}; null when the mutation was refused.")


def optional(description: str, default: Any = None) -> Any:
    """A field that may be left out, with `description` and the `default` it then takes (UNSET: in an update
    input, the stored value stays)."""
    return strawberry.field(default=default, description=description)


def changed(description: str) -> Any:
    """An update input's field: left out, the stored value stays."""
    return optional(description, strawberry.UNSET)


def money_refused(field: str) -> str:
    """Why a money input (a price or a cost) is refused, for mutation descriptions."""
    return f"`{field}` is negative, {MONEY_LIMIT:,} or more, or has more than 2 decimal places"


async def write(
    info: Info[Context, None],
    payload: type[P],
    action: Callable[..., Awaitable[Any]],
    arguments: Callable[[], dict[str, Any]],
    *,
    records_user: str | None = None,
    idempotent: bool = False,
) -> P:
    """Call `action(session, **arguments())` in one write transaction and return its result in `payload`;
    a domain error rolls the transaction back and is returned as the payload's `errors`. With
    `records_user` (an argument name of `action`: "created_by_id" for what it creates, "updated_by_id" for
    what it changes), `action` also gets the signed-in user's id under that name. With `idempotent` (an
    action that takes an `idempotency_key`), it also gets `key_ttl`: how long the settings keep keys. What
    `action` changes is logged (db/changes.py) under the mutation's name, the signed-in user and the
    request's id."""
    try:
        kwargs = arguments()
        actor_id = await acting_user_id(info)
        if records_user is not None:
            kwargs[records_user] = actor_id
        if idempotent:
            kwargs["key_ttl"] = timedelta(hours=info.context.settings.idempotency_key_ttl_hours)
        async with info.context.db.write_session() as session, session.begin():
            change_log.act(
                session, operation=info.field_name, actor_id=actor_id, request_id=current_request_id()
            )
            row = await action(session, **kwargs)
    except DomainError as error:
        return payload(errors=user_errors(error))
    return payload.of(row)
