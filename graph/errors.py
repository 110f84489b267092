"""The one place where domain exceptions become GraphQL errors: payload `errors` for mutations,
`extensions.code` for queries; anything unexpected is masked and logged."""

import logging
from collections.abc import Iterator
from enum import Enum

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from db.errors import DomainError

logger = logging.getLogger("inventory.graphql")


@strawberry.enum(description="Why a mutation was refused.")
class ErrorCode(Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    IN_USE = "IN_USE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"


@strawberry.type(description="A problem with a mutation's input; `field` names the input field when there is one.")
class UserError:
    field: str | None
    message: str
    code: ErrorCode


def user_errors(error: DomainError) -> list[UserError]:
    return [UserError(field=e.field, message=e.message, code=ErrorCode(e.code)) for e in error.errors]


def _graphql_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error  # syntax/validation errors and errors raised as GraphQLError on purpose
    if isinstance(original, DomainError):
        first = original.errors[0] if original.errors else None
        extensions = {"code": "BAD_USER_INPUT" if first is None or first.code == "INVALID" else first.code}
        if first is not None and first.field:
            extensions["field"] = first.field
        return GraphQLError(str(original), nodes=error.nodes, path=error.path, extensions=extensions)
    logger.error("unexpected error in %s", ".".join(map(str, error.path or [])), exc_info=original)
    return GraphQLError(
        "Unexpected error.", nodes=error.nodes, path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR"}
    )


class ErrorTranslation(SchemaExtension):
    """Gives expected errors their `extensions.code` and masks unexpected ones."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result and result.errors:
            result.errors = [_graphql_error(e) for e in result.errors]
