"""The API served as in production: uvicorn with a worker per core, uvloop, httptools, warnings only."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from bench.database import OUT_DIR, REPO_DIR, BenchDatabase
from bench.load import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    bench: BenchDatabase, *, port: int, workers: int, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """uvicorn serving the API on `port`; `env`: more environment variables (INVENTORY_* settings, say)."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "graph.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    environment = {**os.environ, "INVENTORY_DATABASE_URL": bench.url, "INVENTORY_GRAPHIQL": "false", **(env or {})}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log = (OUT_DIR / f"server-{bench.kind}.log").open("ab")
    process = subprocess.Popen(command, cwd=REPO_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _healthy(port, process), timeout=60, what="The API server")
    except BaseException:
        stop(process)
        raise
    return process


def _healthy(port: int, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise SystemExit(f"The API server exited ({process.returncode}); see {OUT_DIR / 'server-*.log'}")
    return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop uvicorn's master, which stops its workers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_path(kind: str) -> Path:
    return OUT_DIR / f"server-{kind}.log"
