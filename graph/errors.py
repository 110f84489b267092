"""The one place where domain exceptions become GraphQL errors: payload `errors` for mutations,
`extensions.code` for queries; anything unexpected is masked and logged."""

import logging
from collections.abc import Iterator
from enum import Enum

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from db.errors import DomainError
from graph.http import current_request_id

logger = logging.getLogger("inventory.graphql")


@strawberry.enum(description="Why a mutation was refused.")
class ErrorCode(Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    IN_USE = "IN_USE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"


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
        # syntax/validation errors and errors raised as GraphQLError on purpose, such as the
        # UNAUTHENTICATED and FORBIDDEN refusals of graph/auth.py, which carry their own code
        if not error.path and not (error.extensions or {}).get("code"):
            # parse and validation errors got theirs already: this is a variable that does not fit its type
            error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return error
    if isinstance(original, DomainError):
        first = original.errors[0] if original.errors else None
        extensions = {"code": "BAD_USER_INPUT" if first is None or first.code == "INVALID" else first.code}
        if first is not None and first.field:
            extensions["field"] = first.field
        return GraphQLError(str(original), nodes=error.nodes, path=error.path, extensions=extensions)
    request_id = current_request_id()
    logger.error(
        "unexpected error in %s (request %s)", ".".join(map(str, error.path or [])), request_id, exc_info=original
    )
    extensions = {"code": "INTERNAL_SERVER_ERROR"}
    if request_id:
        extensions["requestId"] = request_id
    return GraphQLError("Unexpected error.", nodes=error.nodes, path=error.path, extensions=extensions)


def translate_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    """`ErrorTranslation`'s work, for errors that did not pass through it: strawberry turns an
    exception raised by an extension before execution into an error the extensions never see."""
    return [_graphql_error(e) for e in errors]


def _code_request_errors(errors: list[GraphQLError] | None) -> None:
    """Parse and validation errors without a code get the one Apollo clients know them by."""
    for error in errors or ():
        if not (error.extensions or {}).get("code"):
            if isinstance(error, GraphQLSyntaxError):
                # graphql-core's parser limits (size and tokens) end their message this way
                code = "DOCUMENT_TOO_LARGE" if error.message.endswith("Parsing aborted.") else "GRAPHQL_PARSE_FAILED"
            else:
                code = "GRAPHQL_VALIDATION_FAILED"
            error.extensions = {**(error.extensions or {}), "code": code}


class ErrorTranslation(SchemaExtension):
    """Gives expected errors their `extensions.code` and masks unexpected ones."""

    def on_parse(self) -> Iterator[None]:
        yield
        _code_request_errors(self.execution_context.pre_execution_errors)

    def on_validate(self) -> Iterator[None]:
        yield
        _code_request_errors(self.execution_context.pre_execution_errors)

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result and result.errors:
            result.errors = [_graphql_error(e) for e in result.errors]
