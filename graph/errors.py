"""The one place where domain exceptions become GraphQL errors: payload `errors` for mutations,
`extensions.code` for queries; a database that is unavailable for a moment is DATABASE_UNAVAILABLE (with
HTTP 503 when nothing else succeeded, graph/http.py); anything unexpected is masked and logged."""

import logging
import re
from collections.abc import Iterator
from typing import Any
from enum import Enum

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError

from db.engine import is_unavailable
from db.errors import DomainError
from graph.http import DATABASE_UNAVAILABLE, current_request_id, error_body

logger = logging.getLogger("inventory.graphql")


@strawberry.enum(
    description="Why a mutation was refused: the `code` of each entry of its payload's `errors`. Each mutation's "
    "description lists the codes it can give. Queries report the same problems as GraphQL errors, with "
    "`extensions.code` BAD_USER_INPUT for INVALID and the code itself for the others. DATABASE_UNAVAILABLE is "
    "never in a payload: it is a GraphQL error's `extensions.code`, for queries and mutations alike."
)
class ErrorCode(Enum):
    INVALID = strawberry.enum_value(
        "INVALID",
        description="The input breaks a rule: a field is missing, blank, too long, out of range or badly formed "
        "(an ID that is not a global ID at all, a price with more than 2 decimal places, ...), or the object is "
        "in a state that does not allow the change (an archived warehouse or product, a purchase order that is "
        "no longer a draft, the last active administrator, ...). Every problem found is listed, each with its "
        "`field`.",
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND",
        description="An ID in the input names nothing: no object has it (any more), or it is the ID of an "
        "object of another type. `field` names the input that holds it.",
    )
    DUPLICATE = strawberry.enum_value(
        "DUPLICATE",
        description="A value that must be unique is taken: a SKU, a category slug, a category name under the "
        "same parent, a supplier name, a warehouse code, a purchase order number or a username. Also given "
        "when a concurrent request took it first.",
    )
    IN_USE = strawberry.enum_value(
        "IN_USE",
        description="A delete was refused because other data depends on the object (a category's products or "
        "subcategories, a supplier's offers or orders, a product's or warehouse's stock history). `message` "
        "says what, and whether to archive the object instead.",
    )
    INSUFFICIENT_STOCK = strawberry.enum_value(
        "INSUFFICIENT_STOCK",
        description="A shipment or transfer asks for more units than the warehouse holds; `message` says how "
        "many it holds. Nothing was moved.",
    )
    IDEMPOTENCY_CONFLICT = strawberry.enum_value(
        "IDEMPOTENCY_CONFLICT",
        description="You sent the `idempotencyKey` before with a different request (another mutation, or other "
        "input) and it has not expired; send a new key for a new request. Keys are each user's own: another "
        "user's key never conflicts with yours.",
    )
    DATABASE_UNAVAILABLE = strawberry.enum_value(
        "DATABASE_UNAVAILABLE",
        description="Not a refusal: the database was unavailable for a moment (busy past its timeout, or the "
        "connection to it was lost), so the field failed. Given as a GraphQL error's `extensions.code`, never "
        "in a payload's `errors`; when nothing else in the response succeeded, the HTTP status is 503 with "
        "`Retry-After`. Retrying is safe: a query as it is, a stock mutation with the same `idempotencyKey` "
        "(it takes effect once, even if the first attempt did). Other mutations may have taken effect when "
        "the connection was lost as they committed: read before retrying them.",
    )
    INVALID_CREDENTIALS = strawberry.enum_value(
        "INVALID_CREDENTIALS",
        description="`login` was refused: an unknown username, a wrong password, a deactivated user, or a user "
        "whose logins are delayed after repeated failures. The message is the same whatever the reason.",
    )


def with_error_codes(summary: str, **codes: str) -> str:
    """A mutation's description: `summary`, then the ErrorCode values it can give (the keywords), each with
    when it gives it."""
    listed = "\n".join(f"- `{ErrorCode[code].name}`: {when}" for code, when in codes.items())
    return f"{summary}\n\n**Error codes** (in the payload's `errors`):\n{listed}"


@strawberry.type(
    description="Why a mutation was refused. A refused mutation changes nothing (only `login` counts the failure)."
)
class UserError:
    field: str | None = strawberry.field(
        description="The input field at fault, named as in the mutation's input (`sku`, `lines[2].quantity`, "
        "`id`); null when the problem is not one field's."
    )
    message: str = strawberry.field(description="What is wrong, in a sentence for people.")
    code: ErrorCode = strawberry.field(description="The kind of problem, for programs to branch on.")


def user_errors(error: DomainError) -> list[UserError]:
    return [UserError(field=e.field, message=e.message, code=ErrorCode(e.code)) for e in error.errors]


UNAVAILABLE_MESSAGE = (
    "The database is unavailable for the moment. Retry shortly; retry a stock mutation with the same "
    "`idempotencyKey`."
)


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
    if is_unavailable(original):
        logger.warning(
            "database unavailable in %s (request %s): %s", ".".join(map(str, error.path or [])), request_id, original
        )
        extensions = error_body(UNAVAILABLE_MESSAGE, DATABASE_UNAVAILABLE)["extensions"]
        return GraphQLError(UNAVAILABLE_MESSAGE, nodes=error.nodes, path=error.path, extensions=extensions)
    logger.error(
        "unexpected error in %s (request %s)", ".".join(map(str, error.path or [])), request_id, exc_info=original
    )
    extensions = {"code": "INTERNAL_SERVER_ERROR"}
    if request_id:
        extensions["requestId"] = request_id
    return GraphQLError("Unexpected error.", nodes=error.nodes, path=error.path, extensions=extensions)


def _streamed_error(error: GraphQLError) -> GraphQLError:
    if isinstance(error.original_error, InvalidOperationTypeError):  # a query or mutation over the WebSocket
        return GraphQLError(
            "Only subscriptions are served over the WebSocket: send queries and mutations over HTTP.",
            extensions={"code": "BAD_REQUEST"},
        )
    return _graphql_error(error)


def translate_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    """`ErrorTranslation`'s work, for errors that did not pass through it: strawberry turns an
    exception raised by an extension before execution into an error the extensions never see."""
    return [_graphql_error(e) for e in errors]


# graphql-core's did_you_mean() ends a message with this sentence, naming types, fields, arguments or values
_SUGGESTION = re.compile(r" Did you mean [^?]*\?")


def without_suggestions(errors: list[GraphQLError]) -> list[GraphQLError]:
    """`errors` with graphql-core's "Did you mean ...?" suggestions taken out of their messages."""
    for error in errors:
        error.message = _SUGGESTION.sub("", error.message)
    return errors


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

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Each result a subscription sends: it does not pass through on_operation until the stream ends.
        if getattr(result, "errors", None):
            result.errors = [_streamed_error(e) for e in result.errors]
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result and result.errors:
            result.errors = [_graphql_error(e) for e in result.errors]
