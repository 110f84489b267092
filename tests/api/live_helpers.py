"""A subscriber for the subscription tests: a real graphql-transport-ws client (gql with its websockets
transport) whose results are collected as they arrive."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import websockets
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportClosed, TransportQueryError
from gql.transport.websockets import WebsocketsTransport

WAIT = 10.0  # seconds an expected event may take


def ws_url(server: str) -> str:
    return server.replace("http://", "ws://", 1) + "/graphql"


def transport(server: str, init_payload: dict[str, Any] | None) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=ws_url(server),
        init_payload=init_payload or {},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        close_timeout=2,
    )


class Subscription:
    """The results of one subscription, in order; `error` once the server ended it with one."""

    def __init__(self) -> None:
        self.results: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.error: BaseException | None = None
        self.ended = asyncio.Event()

    async def next(self, timeout: float = WAIT) -> dict[str, Any]:
        getter = asyncio.ensure_future(self.results.get())
        ended = asyncio.ensure_future(self.ended.wait())
        done, _ = await asyncio.wait({getter, ended}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            ended.cancel()
            return getter.result()
        getter.cancel()
        ended.cancel()
        raise AssertionError(f"no event within {timeout} s (ended: {self.ended.is_set()}, error: {self.error!r})")

    async def take(self, count: int, timeout: float = WAIT) -> list[dict[str, Any]]:
        return [await self.next(timeout) for _ in range(count)]

    async def nothing_more(self, seconds: float = 1.0) -> None:
        await asyncio.sleep(seconds)
        assert self.results.empty(), self.results.get_nowait()

    async def wait_ended(self, timeout: float = WAIT) -> BaseException | None:
        await asyncio.wait_for(self.ended.wait(), timeout)
        return self.error


class Connection:
    """One signed-in WebSocket connection; `subscribe` starts a subscription on it."""

    def __init__(self, session: Any, transport: WebsocketsTransport) -> None:
        self.session = session
        self.transport = transport
        self.tasks: list[asyncio.Task[None]] = []
        # the client's websockets connection, kept: the transport forgets it once closed
        self.websocket: Any = transport.adapter.websocket

    async def subscribe(self, document: str, variables: dict[str, Any] | None = None) -> Subscription:
        subscription = Subscription()
        started = asyncio.Event()

        async def run() -> None:
            try:
                request = GraphQLRequest(document, variable_values=variables)
                stream = self.session.subscribe(request)
                started.set()
                async for result in stream:
                    await subscription.results.put(result)
            except (TransportQueryError, TransportClosed, Exception) as error:  # noqa: BLE001
                subscription.error = error
            finally:
                started.set()
                subscription.ended.set()

        self.tasks.append(asyncio.create_task(run()))
        await started.wait()
        # The subscribe message is sent when the generator first runs; give the server a moment to register it.
        await asyncio.sleep(0.2)
        return subscription

    async def closed_with(self, timeout: float = WAIT) -> int | None:
        """The code the server closes the connection with, once it has."""
        await asyncio.wait_for(self.websocket.wait_closed(), timeout)
        return self.close_code

    @property
    def close_code(self) -> int | None:
        """The code the server closed the connection with (None while open)."""
        return self.websocket.close_code  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def connected(server: str, token: str | None, **payload: Any) -> AsyncIterator[Connection]:
    """A connection whose connection_init carries `Authorization: Bearer <token>` (or `payload` as given)."""
    init = payload or ({"authorization": f"Bearer {token}"} if token is not None else {})
    ws = transport(server, init)
    async with Client(transport=ws) as session:
        connection = Connection(session, ws)
        try:
            yield connection
        finally:
            for task in connection.tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


async def subscription_error(server: str, token: str, document: str, variables: dict[str, Any] | None = None) -> str:
    """The error the server ends a subscription of `document` with, which it must."""
    async with connected(server, token) as connection:
        subscription = await connection.subscribe(document, variables)
        error = await subscription.wait_ended()
    assert error is not None, "the subscription was not refused"
    return str(error)


async def refused_close_code(server: str, init_payload: dict[str, Any], *, binary: bool = False) -> int | None:
    """The close code the server ends a connection with that sends `init_payload` (in a binary frame with
    `binary`), or None if it accepts."""
    protocols = [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]
    async with websockets.connect(ws_url(server), subprotocols=protocols) as ws:  # type: ignore[arg-type]
        message = json.dumps({"type": "connection_init", "payload": init_payload})
        await ws.send(message.encode() if binary else message)
        try:
            message = await asyncio.wait_for(ws.recv(), WAIT)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        assert '"connection_ack"' in str(message), message
        return None
