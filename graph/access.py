"""The access log: one line per HTTP request on the logger `inventory.access`, written once its response is
sent, with what the code serving the request learned of it (its user and GraphQL operation); never the
query text, the variables or the headers.

    POST /graphql 200 3.2ms user=7 operation=ProductPage request_id=4f1c0a...

`user` is the id of the user whose bearer token the request was served for; `anonymous` when it sent no
valid token; `unchecked` when it sent one that nothing needed looked up (`login`, a document refused before
execution). `operation` is `-` when the request named none and its document has no single named operation.
"""

import logging
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.auth import bearer_token

logger = logging.getLogger("inventory.access")

# What a GraphQL name is; anything else a client sends as `operationName` is not repeated in the log.
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,127}")
_SAFE_IN_PATH = "/:@!$&'()*+,;=-._~"


@dataclass
class RequestFacts:
    """What the code serving one request tells its access log line."""

    token_sent: bool
    user_id: int | None = None
    token_checked: bool = False
    operation: str | None = None

    @property
    def user(self) -> str:
        if self.user_id is not None:
            return str(self.user_id)
        return "unchecked" if self.token_sent and not self.token_checked else "anonymous"


_facts: ContextVar[RequestFacts | None] = ContextVar("request_facts", default=None)


def note_user(user_id: int | None) -> None:
    """Tell the access log whom the request's token was found to belong to (None: no valid token). The
    first user found stays: a `logout` revokes the token the request came with, yet the request was theirs."""
    facts = _facts.get()
    if facts is not None:
        facts.token_checked = True
        if facts.user_id is None:
            facts.user_id = user_id


def note_operation(name: str | None) -> None:
    """Tell the access log the name of the GraphQL operation the request runs (None: none known)."""
    facts = _facts.get()
    if facts is not None and name is not None and _NAME.fullmatch(name):
        facts.operation = name


class AccessLog:
    """Writes the access log line of each HTTP request (outermost middleware, so that the time is the
    whole request's and the status and `X-Request-ID` are those the client got)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        facts = RequestFacts(token_sent=bearer_token(HTTPConnection(scope)) is not None)
        status = 500  # what the server sends when the app fails before starting a response
        request_id = "-"

        async def send_noting(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                request_id = next(
                    (v.decode("latin-1") for k, v in message.get("headers", ()) if k.lower() == b"x-request-id"), "-"
                )
            await send(message)

        token = _facts.set(facts)
        try:
            await self.app(scope, receive, send_noting)
        finally:
            _facts.reset(token)
            logger.info(
                "%s %s %d %.1fms user=%s operation=%s request_id=%s",
                scope["method"],
                quote(scope["path"], safe=_SAFE_IN_PATH),
                status,
                (time.perf_counter() - started) * 1000,
                facts.user,
                facts.operation or "-",
                request_id,
            )
