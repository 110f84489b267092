"""Starting `inventory serve`: two servers started at once on a fresh database both migrate it, load the demo
data once between them, and come up."""

import asyncio
import re
from pathlib import Path

import httpx
from sqlalchemy import func, select

from db.config import Settings
from db.engine import Database
from db.models import Product, User
from tests.utils import INVENTORY, command_env, free_port

DEADLINE_SECONDS = 300  # far more than starting takes; only a server that never comes up reaches it


async def _wait_until_ready(process: asyncio.subprocess.Process, port: int) -> int | None:
    """The status of /health/ready once the server answers it with 200, or None when the process ended first."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        for _ in range(DEADLINE_SECONDS * 5):
            if process.returncode is not None:
                return None
            try:
                response = await http.get("/health/ready")
            except httpx.TransportError:
                pass  # not listening yet
            else:
                if response.status_code == 200:
                    return response.status_code
            await asyncio.sleep(0.2)
    raise AssertionError(f"the server on port {port} never became ready")


async def test_two_servers_started_at_once_on_a_fresh_database(fresh_database_url: str, tmp_path: Path) -> None:
    # A busy timeout far shorter than loading the demo catalog takes: on SQLite the second server waits for
    # the first one's migration and demo data past it.
    env = {**command_env(fresh_database_url), "INVENTORY_SQLITE_BUSY_TIMEOUT_MS": "100"}
    ports = [free_port(), free_port()]
    processes = [
        await asyncio.create_subprocess_exec(
            INVENTORY, "serve", "--demo", "--port", str(port), "--log-level", "warning",
            env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for port in ports
    ]
    try:
        ready = await asyncio.gather(*(_wait_until_ready(p, port) for p, port in zip(processes, ports, strict=True)))
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        outputs = [await process.communicate() for process in processes]
    shown = "\n".join(f"stdout: {out.decode()}\nstderr: {err.decode()}" for out, err in outputs)
    stdout = [out.decode() for out, _err in outputs]

    assert "Traceback" not in shown, shown
    assert ready == [200, 200], shown
    # One of them loaded the demo data; the other found it loaded.
    assert sorted("Loaded the demo catalog" in out for out in stdout) == [False, True], shown
    assert sorted("The catalog already has products" in out for out in stdout) == [False, True], shown
    assert sorted("Demo administrator: username admin" in out for out in stdout) == [False, True], shown
    assert sorted("Users exist already" in out for out in stdout) == [False, True], shown

    database = Database(Settings(database_url=fresh_database_url))
    try:
        async with database.read_session() as session:
            users = await session.scalar(select(func.count(User.id)))
            products = await session.scalar(select(func.count(Product.id)))
    finally:
        await database.dispose()
    loaded = re.search(r"(\d+) products", "".join(stdout))
    assert loaded is not None, shown
    assert (users, products) == (1, int(loaded.group(1)))
