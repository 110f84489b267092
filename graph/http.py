"""HTTP around /graphql: request ids, the GraphQL-over-HTTP media types and status codes (503 for a response
that is only a database being unavailable), a deadline for reading request bodies, and JSON error bodies for
requests that never reach GraphQL."""

import asyncio
import logging
import re
import uuid
from contextvars import ContextVar
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode, OperationType
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError

from graph.access import note_operation
from graph.limits import parsed_document

logger = logging.getLogger("inventory.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept when it is short and made of characters that are safe in a log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
OPERATION_NAME_REQUIRED = "operationName is required when the document has several operations"
# The `extensions.code` of a field that failed because the database was unavailable for a moment (graph/errors.py).
DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
# What a response that is only that says: 503, and when to try again.
UNAVAILABLE_STATUS = 503
RETRY_AFTER = {"Retry-After": "1"}


def current_request_id() -> str | None:
    """The id of the HTTP request being served, if any."""
    return _request_id.get()


class RequestIdMiddleware:
    """Gives every HTTP request an id (a sane incoming `X-Request-ID`, else a new one), returns it in
    `X-Request-ID`, turns an unhandled exception into a logged 500 that carries it, and rewrites the plain
    text errors of the layers below (Starlette's 404, 405 and 413) as JSON error bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False
        plain_error: Message | None = None  # the start of a text/plain error response, held back
        plain_text = bytearray()

        async def send_with_id(message: Message) -> None:
            nonlocal started, plain_error
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers.append(REQUEST_ID_HEADER, request_id)
                if message["status"] >= 400 and headers.get("content-type", "").startswith("text/plain"):
                    plain_error = message
                    return
            elif message["type"] == "http.response.body" and plain_error is not None:
                plain_text.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                start, body = _as_json_error(scope, plain_error, plain_text.decode("utf-8", "replace"))
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        token = _request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error (request %s)", request_id)
            if started:
                raise
            body = {"errors": [error_body("Internal server error.", "INTERNAL_SERVER_ERROR")]}
            await JSONResponse(body, status_code=500)(scope, receive, send_with_id)
        finally:
            _request_id.reset(token)


def _as_json_error(scope: Scope, start: Message, text: str) -> tuple[Message, bytes]:
    """The start message and body of a JSON error response with the status, headers and text of a plain one."""
    status = start["status"]
    body = orjson.dumps({"errors": [error_body(text.strip() or "Request refused.", _error_code(status))]})
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-type", b"content-length")]
    headers += [(b"content-type", _media_type(scope).encode()), (b"content-length", str(len(body)).encode())]
    return {**start, "headers": headers}, body


def _error_code(status: int) -> str:
    return _HTTP_ERROR_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR")


def _media_type(scope: Scope) -> str:
    """The media type of an error response to the request of `scope`, as its Accept header asks."""
    return response_media_type(next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept"), None))


class _BodyReadTimeout(Exception):
    """The request body did not arrive before the deadline."""


class BodyReadDeadline:
    """Gives each request `seconds` to deliver its whole body; a client that sends it slower (a byte a
    second, say) gets a 408 and its connection closed, rather than holding it for as long as it likes.
    uvicorn bounds the wait for a new request (`timeout_keep_alive`) but not the wait for a body."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_read = started = False

        async def receive_by_deadline() -> Message:
            nonlocal body_read
            if body_read:  # later calls wait for the client to disconnect, for as long as the response takes
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyReadTimeout from None
            body_read = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def send_started(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_by_deadline, send_started)
        except _BodyReadTimeout:
            if started:
                raise
            message = f"The request body did not arrive within {self.seconds:g} seconds."
            body = {"errors": [error_body(message, "REQUEST_TIMEOUT")]}
            headers = {"Connection": "close"}
            await JSONResponse(body, status_code=408, headers=headers, media_type=_media_type(scope))(
                scope, receive, send
            )


def error_body(message: str, code: str) -> dict[str, Any]:
    extensions = {"code": code}
    if request_id := current_request_id():
        extensions["requestId"] = request_id
    return {"message": message, "extensions": extensions}


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when the client's Accept prefers it; else (no Accept,
    `*/*`, only `application/json`) the `application/json` that older clients expect."""
    if not accept or accept in ("*/*", JSON):
        return JSON
    graphql_q = json_q = 0.0
    json_specificity = -1
    for media_range in (accept or "").split(","):
        media_type, params = parse_content_type(media_range.strip())
        try:
            q = float(params.get("q", 1))
        except ValueError:
            q = 0.0
        if media_type == GRAPHQL_RESPONSE:
            graphql_q = max(graphql_q, q)
        specificity = {JSON: 2, "application/*": 1, "*/*": 0}.get(media_type, -1)
        if specificity > json_specificity:
            json_specificity, json_q = specificity, q
    if json_specificity < 0:
        json_q = 0.0
    return GRAPHQL_RESPONSE if graphql_q > 0 and graphql_q >= json_q else JSON


def is_unavailable_response(response: GraphQLHTTPResponse | dict[str, Any]) -> bool:
    """Whether the database's being unavailable is all the response says: an error is DATABASE_UNAVAILABLE
    and no root field has a value (`data` is null, or each of its fields is). It is then answered with 503
    and `Retry-After`, whatever the media type: the client has nothing to show and should try again."""
    errors = response.get("errors") or []
    if not any((e.get("extensions") or {}).get("code") == DATABASE_UNAVAILABLE for e in errors):  # type: ignore[union-attr]
        return False
    data = response.get("data")
    return data is None or all(value is None for value in data.values())  # type: ignore[union-attr]


def is_request_error(response: GraphQLHTTPResponse) -> bool:
    """Whether the request failed before execution (parse, validation, limits, variables), when
    no field was resolved: such errors carry no path."""
    errors = response.get("errors") or []
    return response.get("data") is None and bool(errors) and all(not e.get("path") for e in errors)  # type: ignore[union-attr]


class GraphQLOverHTTP:
    """Strawberry's ASGI view, with the GraphQL over HTTP specification's media types and status
    codes: `application/graphql-response+json` when accepted (request errors then get 400 and no
    `data`), 415 for a POST that is not JSON, 405 for a mutation over GET, 400 for a document of several
    operations without `operationName`, JSON error bodies."""

    # graphql-core's parse() limits (max_lexical_tokens, ...) for counting a document's operations
    parse_limits: dict[str, int] = {}

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # type: ignore[misc]
            return
        request = Request(scope, receive)
        response = await self.answer(request)
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        """The response to one GraphQL request over HTTP."""
        try:
            return await self.run(request)  # type: ignore[attr-defined,no-any-return]
        except HTTPException as error:
            return _http_error(request, error)
        except RefusedVariable as refused:
            # as graphql-core reports a variable that does not fit its type: a request error
            error = error_body(refused.message, "BAD_USER_INPUT")
            error["extensions"]["field"] = refused.field
            return self.create_response({"data": None, "errors": [error]}, await self.get_sub_response(request))

    async def parse_http_body(self, request: Any) -> Any:
        if request.method == "POST":
            media_type, _ = parse_content_type(request.content_type or "")
            if media_type != JSON:
                raise HTTPException(415, "Send GraphQL requests as `Content-Type: application/json`.")
        data = await super().parse_http_body(request)  # type: ignore[misc]
        for item in data if isinstance(data, list) else [data]:
            _refuse_lone_surrogates(item)
        if isinstance(data, GraphQLRequestData):
            note_operation(data.operation_name)
            operations = _operations(data.query, self.parse_limits) if data.query else []
            if data.operation_name is None and data.query:
                if len(operations) > 1:
                    # graphql-core's execute() would run the first operation; the specification says to fail
                    raise HTTPException(400, OPERATION_NAME_REQUIRED)
                if operations and operations[0].name is not None:
                    note_operation(operations[0].name.value)
            chosen = [o for o in operations if data.operation_name in (None, o.name and o.name.value)]
            if chosen and chosen[0].operation is OperationType.SUBSCRIPTION:
                raise HTTPException(400, SUBSCRIPTIONS_OVER_WEBSOCKET)
        return data

    def parse_json(self, data: str | bytes) -> Any:
        try:
            value = super().parse_json(data)  # type: ignore[misc]
        except (UnicodeDecodeError, RecursionError):
            # bytes that are not UTF-8 (or -16, -32), and arrays or objects nested deeper than Python's
            # recursion limit: the parser's JSONDecodeError covers neither
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(value, (dict, list)):
            raise HTTPException(400, "Expected a JSON object.")
        return value

    async def get_sub_response(self, request: Request) -> Response:
        sub_response: Response = await super().get_sub_response(request)  # type: ignore[misc]
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or JSON
        status = sub_response.status_code or 200
        if media_type == GRAPHQL_RESPONSE and isinstance(response_data, dict) and is_request_error(response_data):
            response_data = {key: value for key, value in response_data.items() if key != "data"}  # type: ignore[assignment]
            codes = {(e.get("extensions") or {}).get("code") for e in response_data["errors"]}  # type: ignore[index,union-attr]
            status = 500 if "INTERNAL_SERVER_ERROR" in codes else 400
        unavailable = isinstance(response_data, dict) and is_unavailable_response(response_data)
        if unavailable:
            status = UNAVAILABLE_STATUS
        response = Response(self.encode_json(response_data), status_code=status, media_type=media_type)
        if unavailable:
            response.headers.update(RETRY_AFTER)
        response.headers.raw.extend(
            (k, v) for k, v in sub_response.headers.raw if k not in (b"content-type", b"content-length")
        )
        if sub_response.background:
            response.background = sub_response.background
        return response


class RefusedVariable(Exception):
    """A variable's value that is no text: refused before the operation runs."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class RefusedEnvelope(HTTPException):
    """A request whose query, operation name or extensions hold what is no text (HTTP 400, BAD_USER_INPUT)."""

    code = "BAD_USER_INPUT"


def _refuse_lone_surrogates(request: Any) -> None:
    """Refuse strings holding a lone UTF-16 surrogate (JSON's `"\\ud800"` with no partner): they are no
    Unicode text, so nothing can store, compare or encode them. The envelope's get a 400; a variable's,
    the error a variable of the wrong type gets."""
    for name, value in (
        ("query", request.query),
        ("operationName", request.operation_name),
        ("extensions", request.extensions),
    ):
        if (where := _lone_surrogate(value, name)) is not None:
            raise RefusedEnvelope(400, f"`{where}` holds a lone surrogate (\\ud800 to \\udfff), which is not text.")
    for name, value in (request.variables or {}).items():
        if (where := _lone_surrogate(value, f"${name}")) is not None:
            message = f"Variable `{where}` holds a lone surrogate (\\ud800 to \\udfff), which is not text."
            raise RefusedVariable(message, where)


def _lone_surrogate(value: Any, name: str) -> str | None:
    """Where in `value` (named `name`) a string, or an object's key, holds a lone surrogate; None if nowhere.

    Walked with a stack of its own: a body may nest as deep as the JSON parser allows."""
    # Each entry's path is (parent's path, segment), rendered only for the string found.
    stack: list[tuple[Any, Any]] = [(value, (None, name))]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item) is not None:
                return _rendered(path)
        elif isinstance(item, list):
            stack.extend((v, (path, f"[{i}]")) for i, v in enumerate(item))
        elif isinstance(item, dict):
            for key, v in item.items():
                if _SURROGATE.search(key) is not None:
                    return _rendered(path)
                stack.append((v, (path, f".{key}")))
    return None


def _rendered(path: Any) -> str:
    segments = []
    while path is not None:
        path, segment = path
        segments.append(segment)
    return "".join(reversed(segments))


SUBSCRIPTIONS_OVER_WEBSOCKET = (
    "Subscriptions are served over a WebSocket at /graphql (protocol graphql-transport-ws), not over HTTP."
)


def _operations(query: str, limits: dict[str, int]) -> list[OperationDefinitionNode]:
    """The operations `query` defines; none when it does not parse (GraphQL then reports why)."""
    try:
        document = parsed_document(query, **limits)  # the tree strawberry's parse then finds cached
    except GraphQLError:
        return []
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def _http_error(request: Request, error: HTTPException) -> Response:
    status, headers = error.status_code, {}
    if isinstance(error.__cause__, InvalidOperationTypeError) and request.method == "GET":
        status, headers = 405, {"Allow": "POST"}  # the specification's answer to a mutation over GET
    elif status == 405:
        headers = {"Allow": "GET, POST"}
    code = getattr(error, "code", None) or _HTTP_ERROR_CODES.get(status, "BAD_REQUEST")
    body = {"errors": [error_body(error.reason, code)]}
    media_type = response_media_type(request.headers.get("accept"))
    return JSONResponse(body, status_code=status, headers=headers, media_type=media_type)
