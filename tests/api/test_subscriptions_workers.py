"""Done-when 1: with `inventory serve --workers 2` on PostgreSQL, a subscriber connected to one worker hears of
a `shipStock` another worker handled (LISTEN/NOTIFY fan-out), and is closed by a `logout` the other handled. Which worker holds a connection is read from
Linux's /proc: the server-side socket of the client's port, and the worker process that has it open."""

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from db.config import Settings
from db.engine import Database
from db.models import Role
from tests.api.live_helpers import Connection, Subscription, connected
from tests.api.stock_helpers import RECEIVE, SHIP, make_product, make_warehouse, move
from tests.test_startup import _wait_until_ready
from tests.utils import INVENTORY, GraphQLClient, command_env, free_port, sign_in

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to tell the workers apart")

ADDED = "subscription { transactionAdded { id quantity balanceAfter } }"
LEVELS = "subscription { stockChanged { quantityOnHand product { id } warehouse { id } } }"


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                # the field after the parenthesised command name: state, then the parent's pid
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    children.append(int(entry.name))
    return children


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    return inodes


def _server_socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the TCP connection from `client_port` to `server_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                    return inode
    return None


def worker_of(workers: list[int], server_port: int, client_port: int) -> int | None:
    inode = _server_socket_inode(server_port, client_port)
    for pid in workers:
        if inode is not None and inode in _socket_inodes(pid):
            return pid
    return None


@contextlib.asynccontextmanager
async def two_workers(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, int, list[int]]]:
    """`inventory serve --workers 2`: its base URL, port and worker pids."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        INVENTORY, "serve", "--workers", "2", "--port", str(port), "--log-level", "warning",
        env=command_env(database_url), cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert await _wait_until_ready(process, port) == 200
        for _ in range(100):  # both workers up
            workers = _children(process.pid)
            if len(workers) >= 2:
                break
            await asyncio.sleep(0.1)
        yield f"http://127.0.0.1:{port}", port, workers
    finally:
        if process.returncode is None:
            process.terminate()
        out, err = await process.communicate()
        assert b"Traceback" not in out + err, (out + err).decode()


async def test_a_subscriber_on_one_worker_hears_of_a_movement_handled_by_the_other(
    database_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("the PostgreSQL fan-out across processes (SQLite's is tested in test_subscriptions.py)")
    async with two_workers(fresh_database_url, tmp_path) as (url, port, workers):
        database = Database(Settings(database_url=fresh_database_url, password_hash_time_cost=1,
                                     password_hash_memory_kib=1024, password_hash_parallelism=1))
        try:
            await _fan_out_across_workers(database, url, port, workers)
        finally:
            await database.dispose()


async def _fan_out_across_workers(database: Database, url: str, port: int, workers: list[int]) -> None:
    _viewer, viewer_token = await sign_in(database, Role.VIEWER)
    _clerk, clerk_token = await sign_in(database, Role.CLERK)
    _product, product_id = await make_product(database, "BOLT", preferred_cost="1.00")
    _warehouse, warehouse_id = await make_warehouse(database, "NORTH")

    async with contextlib.AsyncExitStack() as stack:
        # Subscribers and HTTP clients, one TCP connection each, until both workers hold some of each.
        subscribers: dict[int, list[tuple[Connection, Subscription, Subscription]]] = {}
        clerks: dict[int, GraphQLClient] = {}
        for _ in range(30):
            connection = await stack.enter_async_context(connected(url, viewer_token))
            added, levels = await connection.subscribe(ADDED), await connection.subscribe(LEVELS)
            worker = worker_of(workers, port, connection.websocket.local_address[1])
            assert worker is not None
            subscribers.setdefault(worker, []).append((connection, added, levels))
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1))
            )
            response = await http.get("/health/live")
            client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            worker = worker_of(workers, port, client_port)
            assert worker is not None
            clerks.setdefault(worker, GraphQLClient(http, clerk_token))
            if any(w != v for w in subscribers for v in clerks):
                break
        pairs = [(w, v) for w in subscribers for v in clerks if w != v]
        assert pairs, f"every connection went to one worker: {subscribers.keys()} {clerks.keys()}"
        listening, handling = pairs[0]

        clerk = clerks[handling]
        await move(clerk, RECEIVE, productId=product_id, warehouseId=warehouse_id, quantity=10)
        shipped = await move(clerk, SHIP, productId=product_id, warehouseId=warehouse_id, quantity=3)
        (entry,) = shipped["transactions"]
        for _connection, added, levels in subscribers[listening]:
            received, ship = [r["transactionAdded"] for r in await added.take(2)]
            assert ship == {"id": entry["id"], "quantity": -3, "balanceAfter": 7}
            level_events = [r["stockChanged"] for r in await levels.take(2)]
            assert level_events[1] == {
                "quantityOnHand": 7, "product": {"id": product_id}, "warehouse": {"id": warehouse_id}
            }

        # The viewer logs out through the other worker: its connections on this one are closed (4403).
        logout = await GraphQLClient(clerk.http, viewer_token)("mutation { logout { errors { code } } }")
        assert logout["logout"]["errors"] == []
        for connection, added, _levels in subscribers[listening]:
            await added.wait_ended()
            assert await connection.closed_with() == 4403
