"""`python -m bench subscriptions`: how fast stock movements reach many subscribers, and the server's memory.

The API runs as in production (bench/server.py: uvicorn, a worker per core). `subscribers` WebSocket clients
(graphql-transport-ws, one connection each, spread by the kernel over the workers) subscribe to
`transactionAdded`; a driver then records `receiveStock` movements over HTTP at a steady rate for `duration`
seconds. Each movement's entry must reach every subscriber. The latency of a delivery is measured twice,
both on this machine's monotonic clock: from the moment the mutation's response arrived (its transaction had
committed by then: a lower bound of commit-to-client) and from the moment the request was sent (an upper
bound). The dataset's size does not matter here (events are read by ledger id), so the small preset is used.
"""

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench import database as bench_db
from bench import server
from bench.database import SMALL, BenchDatabase
from bench.load import RssSampler

PROTOCOL = "graphql-transport-ws"
SUBSCRIPTION = "subscription Ledger { transactionAdded { id kind quantity balanceAfter } }"
RECEIVE = """mutation Receive($input: ReceiveStockInput!) {
  receiveStock(input: $input) { transactions { id } errors { code message } }
}"""
CONNECT_BATCH = 20
TARGETS = """query Targets {
  products(first: 20, filter: {isActive: true}) { nodes { id } }
  warehouses(first: 5, filter: {isActive: true}) { nodes { id } }
}"""


@dataclass
class Movement:
    sent: float
    answered: float = 0.0


@dataclass
class Tally:
    """What the subscribers saw: arrival times per entry id, and what went wrong."""

    arrivals: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


async def _handshake(socket: ClientConnection, token: str) -> None:
    await socket.send(orjson.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    reply = orjson.loads(await socket.recv())
    if reply.get("type") != "connection_ack":
        raise RuntimeError(f"the server did not acknowledge the connection: {reply}")
    await socket.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))


async def _subscriber(url: str, token: str, tally: Tally, ready: asyncio.Queue[None], stop: asyncio.Event) -> None:
    async with connect(url, subprotocols=[PROTOCOL], max_queue=None, ping_interval=None) as socket:  # type: ignore[list-item]
        await _handshake(socket, token)
        await ready.put(None)
        receiving = asyncio.ensure_future(_receive(socket, tally))
        await stop.wait()
        receiving.cancel()
        await socket.send(orjson.dumps({"id": "1", "type": "complete"}))


async def _receive(socket: ClientConnection, tally: Tally) -> None:
    async for raw in socket:
        now = time.perf_counter()
        message = orjson.loads(raw)
        kind = message.get("type")
        if kind == "next":
            payload = message["payload"]
            if payload.get("errors"):
                tally.errors.append(str(payload["errors"])[:200])
                continue
            entry = payload["data"]["transactionAdded"]["id"]
            tally.arrivals.setdefault(entry, []).append(now)
        elif kind == "ping":
            await socket.send(orjson.dumps({"type": "pong"}))
        elif kind in ("error", "complete"):
            tally.errors.append(f"{kind}: {str(message)[:200]}")
            return


async def _drive(
    client: httpx.AsyncClient, targets: list[tuple[str, str]], rate: float, duration: float
) -> dict[str, Movement]:
    """receiveStock at `rate` a second for `duration` seconds, on schedule (not waiting for the previous)."""
    movements: dict[str, Movement] = {}
    failures: list[str] = []

    async def one(n: int) -> None:
        product, warehouse = targets[n % len(targets)]
        movement = Movement(sent=time.perf_counter())
        body = {"query": RECEIVE, "variables": {"input": {
            "productId": product, "warehouseId": warehouse, "quantity": 1, "unitCost": "1.00",
        }}}
        response = await client.post("/graphql", json=body)
        movement.answered = time.perf_counter()
        result = response.json()["data"]["receiveStock"]
        if result["errors"]:
            failures.append(str(result["errors"]))
            return
        movements[result["transactions"][0]["id"]] = movement

    started, tasks, n = time.perf_counter(), [], 0
    while (due := started + n / rate) < started + duration:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.ensure_future(one(n)))
        n += 1
    await asyncio.gather(*tasks)
    if failures:
        raise RuntimeError(f"{len(failures)} movements failed, e.g. {failures[0]}")
    return movements


async def _targets(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    data = (await client.post("/graphql", json={"query": TARGETS})).json()["data"]
    products = [node["id"] for node in data["products"]["nodes"]]
    warehouses = [node["id"] for node in data["warehouses"]["nodes"]]
    return [(product, warehouses[i % len(warehouses)]) for i, product in enumerate(products)]


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


async def _measure(bench: BenchDatabase, port: int, subscribers: int, rate: float, duration: float,
                   pid: int) -> dict[str, Any]:
    token = await bench_db.bench_token(bench)
    base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/graphql"
    tally, ready, stop = Tally(), asyncio.Queue[None](), asyncio.Event()
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=30) as client:
        targets = await _targets(client)
        clients = []
        # Connected a batch at a time, as clients arrive in practice: 200 sign-ins at once would only
        # measure the pool's queue.
        for start in range(0, subscribers, CONNECT_BATCH):
            batch = min(CONNECT_BATCH, subscribers - start)
            clients += [asyncio.ensure_future(_subscriber(url, token, tally, ready, stop)) for _ in range(batch)]
            for _ in range(batch):
                await asyncio.wait_for(ready.get(), timeout=60)
        with RssSampler(pid) as memory:
            movements = await _drive(client, targets, rate, duration)
            # Let the last movements arrive everywhere (or give up after 10 s and count what is missing).
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline and any(
                len(tally.arrivals.get(entry, ())) < subscribers for entry in movements
            ):
                await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*clients, return_exceptions=True)
    after_commit, after_send = [], []
    for entry, movement in movements.items():
        for arrived in tally.arrivals.get(entry, ()):
            after_commit.append(max(0.0, arrived - movement.answered))
            after_send.append(arrived - movement.sent)
    expected = len(movements) * subscribers
    return {
        "subscribers": subscribers,
        "rate": rate,
        "duration": duration,
        "movements": len(movements),
        "expected_deliveries": expected,
        "deliveries": len(after_commit),
        "unexpected_events": sum(len(v) for k, v in tally.arrivals.items() if k not in movements),
        "errors": tally.errors[:5],
        "from_response_ms": _percentiles(after_commit),
        "from_request_ms": _percentiles(after_send),
        "rss_mb": memory.summary(),
    }


def run(kind: str, *, subscribers: int, rate: float, duration: float, workers: int) -> dict[str, Any]:
    bench = bench_db.bench_database(kind, SMALL, small=True)
    asyncio.run(_prepare(bench))
    port = server.free_port()
    process = server.start(bench, port=port, workers=workers)
    try:
        result = asyncio.run(_measure(bench, port, subscribers, rate, duration, process.pid))
    finally:
        server.stop(process)
    return {"db": kind, "workers": workers, **result}


async def _prepare(bench: BenchDatabase) -> None:
    await bench_db.ensure_exists(bench)
    if (await bench_db.contents(bench)).products == 0:
        await asyncio.to_thread(bench_db.seed, bench)
        await bench_db.vacuum(bench)


def markdown(result: dict[str, Any], command: str) -> str:
    commit, send, rss = result["from_response_ms"], result["from_request_ms"], result["rss_mb"]
    lines = [
        f"Command: `{command}`  ",
        f"{result['subscribers']} subscribers to `transactionAdded` over graphql-transport-ws, "
        f"{result['workers']} uvicorn workers; `receiveStock` at {result['rate']:g}/s for {result['duration']:g} s "
        f"({result['movements']:,} movements). Client and server share this machine's cores.",
        "",
        "| deliveries | expected | latency from the response (commit done) p50 / p99 / max ms "
        "| from the request sent p50 / p99 / max ms | server RSS start / max / end MiB |",
        "|---|---|---|---|---|",
        f"| {result['deliveries']:,} | {result['expected_deliveries']:,} "
        f"| {commit['p50']} / {commit['p99']} / {commit['max']} | {send['p50']} / {send['p99']} / {send['max']} "
        f"| {rss['start']} / {rss['max']} / {rss['end']} |",
    ]
    if result["errors"] or result["unexpected_events"]:
        lines += ["", f"Errors seen by subscribers: {result['errors']}; events not from this run: "
                      f"{result['unexpected_events']}."]
    return "\n".join(lines) + "\n"
