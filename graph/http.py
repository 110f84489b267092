"""HTTP around /graphql: request ids, the GraphQL-over-HTTP media types and status codes, and
error bodies for requests that never reach GraphQL."""

import logging
import re
import uuid
from contextvars import ContextVar
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError

logger = logging.getLogger("inventory.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept when it is short and made of characters that are safe in a log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_HTTP_ERROR_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 415: "UNSUPPORTED_MEDIA_TYPE"}


def current_request_id() -> str | None:
    """The id of the HTTP request being served, if any."""
    return _request_id.get()


class RequestIdMiddleware:
    """Gives every HTTP request an id (a sane incoming `X-Request-ID`, else a new one), returns it in
    `X-Request-ID`, and turns an unhandled exception into a logged 500 that carries it."""

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

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
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


def is_request_error(response: GraphQLHTTPResponse) -> bool:
    """Whether the request failed before execution (parse, validation, limits, variables), when
    no field was resolved: such errors carry no path."""
    errors = response.get("errors") or []
    return response.get("data") is None and bool(errors) and all(not e.get("path") for e in errors)  # type: ignore[union-attr]


class GraphQLOverHTTP:
    """Strawberry's ASGI view, with the GraphQL over HTTP specification's media types and status
    codes: `application/graphql-response+json` when accepted (request errors then get 400 and no
    `data`), 415 for a POST that is not JSON, 405 for a mutation over GET, JSON error bodies."""

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
        response = Response(self.encode_json(response_data), status_code=status, media_type=media_type)
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
