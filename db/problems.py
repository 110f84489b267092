"""What is wrong with the configured database, in one line that names the cause and the fix: a URL the API
cannot use, a server that does not answer, a missing database, role or SQLite folder."""

import socket
import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from db.direct import is_disconnect

DRIVERS = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
_EXAMPLES = "sqlite+aiosqlite:///path/to/inventory.db or postgresql+asyncpg://user:password@host:5432/database"


class DatabaseProblem(Exception):
    """The configured database cannot be used; the message is one line naming the cause and the fix."""


def parse_url(url: str) -> URL:
    """`url` parsed, or DatabaseProblem if it is not a URL the API can use (its backend and driver)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseProblem(f"INVENTORY_DATABASE_URL is not a database URL; expected {_EXAMPLES}.") from None
    backend = "postgresql" if parsed.get_backend_name() in ("postgres", "postgresql") else parsed.get_backend_name()
    driver = DRIVERS.get(backend)
    if driver is None:
        raise DatabaseProblem(
            f"INVENTORY_DATABASE_URL names {parsed.drivername}, which this API does not run on; expected {_EXAMPLES}."
        )
    if parsed.drivername != driver:
        fixed = parsed.set(drivername=driver).render_as_string(hide_password=True)
        raise DatabaseProblem(
            f"INVENTORY_DATABASE_URL starts with {parsed.drivername}:// but the API connects through "
            f"{driver.split('+')[1]}: write it as {fixed}"
        )
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database or a `file:` URI (left to SQLite)."""
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:") or url.query.get("uri"):
        return None
    return Path(name)


def check_sqlite_file(url: URL, *, create: bool) -> None:
    """With `create`, the folder of the SQLite file must exist; without, the file itself (commands that only
    read, or need a migrated database, must not leave an empty file behind)."""
    path = sqlite_path(url)
    if path is None:
        return
    shown = path.absolute()
    if create:
        if not path.absolute().parent.is_dir():
            raise DatabaseProblem(
                f"The folder {shown.parent} of the SQLite database does not exist: create it "
                f"(mkdir -p {shown.parent}) or point INVENTORY_DATABASE_URL at a file in an existing folder."
            )
    elif not path.is_file():
        raise DatabaseProblem(
            f"There is no SQLite database at {shown}: `inventory db upgrade` creates it "
            "(or point INVENTORY_DATABASE_URL at an existing one)."
        )


def explain(error: BaseException, url: str) -> DatabaseProblem | None:
    """The one-line explanation of a failure to connect to or use the database, if it is one we know."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _explain_sqlite(error, parsed)
    return _explain_postgresql(error, parsed)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _explain_postgresql(error: BaseException, url: URL) -> DatabaseProblem | None:
    host, port = url.host or "localhost", url.port or 5432
    server = f"PostgreSQL at {host}:{port}"
    user, database = url.username or "(the login user)", url.database or url.username
    for cause in _chain(error):
        state = getattr(cause, "sqlstate", None)
        message = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        if state == "3D000":
            owner = f' OWNER "{url.username}"' if url.username else ""
            return DatabaseProblem(
                f'{server} has no database "{database}": create it (as a superuser: CREATE DATABASE "{database}"'
                f"{owner};) or name an existing one in INVENTORY_DATABASE_URL."
            )
        if state == "28000" and "role" in message and "does not exist" in message:
            return DatabaseProblem(
                f'{server} has no role "{user}": create it (as a superuser: CREATE ROLE "{user}" LOGIN '
                "PASSWORD '...';) or put an existing user and its password in INVENTORY_DATABASE_URL."
            )
        if state == "28P01":
            return DatabaseProblem(
                f'{server} refused the password of "{user}": correct it in INVENTORY_DATABASE_URL '
                f"(or, as a superuser: ALTER ROLE \"{user}\" PASSWORD '...';)."
            )
        if state == "28000":
            return DatabaseProblem(
                f"{server} refused the login of \"{user}\" ({message}): allow it in the server's pg_hba.conf "
                "or use another user in INVENTORY_DATABASE_URL."
            )
        if state in ("57P03", "55000"):
            return DatabaseProblem(
                f'{server} does not accept connections to "{database}" now ({message}): wait for it, '
                "or ask its administrator."
            )
        if state == "53300":
            return DatabaseProblem(
                f"{server} has no connection slot free ({message}): lower INVENTORY_POOL_SIZE or raise the "
                "server's max_connections."
            )
        if state == "42501":
            return DatabaseProblem(
                f'"{user}" may not do this in "{database}" ({message}): make it the owner of the database, '
                "or use the owner in INVENTORY_DATABASE_URL."
            )
        if state == "42P01":
            return DatabaseProblem(f"The database lacks a table ({message}): run `inventory db upgrade`.")
        if state is not None and state.startswith(("08", "57P")):
            return DatabaseProblem(f"{server} closed the connection ({message}): is the server running?")
        if isinstance(cause, socket.gaierror):
            return DatabaseProblem(
                f'Cannot find the host "{host}" ({cause.strerror}): correct the host in INVENTORY_DATABASE_URL.'
            )
        if isinstance(cause, ConnectionRefusedError):
            return DatabaseProblem(
                f"Nothing answers at {host}:{port} (connection refused): start PostgreSQL there, or correct "
                "the host and port in INVENTORY_DATABASE_URL."
            )
        if isinstance(cause, TimeoutError):
            return DatabaseProblem(
                f"{server} did not answer in time: is the host reachable and the server running? "
                "Otherwise correct the host and port in INVENTORY_DATABASE_URL."
            )
        if isinstance(cause, OSError):
            return DatabaseProblem(
                f"Cannot connect to {server} ({message}): is the server running, and are the host and port "
                "in INVENTORY_DATABASE_URL right?"
            )
    for cause in _chain(error):
        if is_disconnect(cause):  # the driver's own errors for a connection that went away
            message = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
            return DatabaseProblem(f"{server} closed the connection ({message}): is the server running?")
    return None


def _explain_sqlite(error: BaseException, url: URL) -> DatabaseProblem | None:
    path = sqlite_path(url)
    shown = str(path.absolute()) if path is not None else url.database or "(in memory)"
    for cause in _chain(error):
        if not isinstance(cause, sqlite3.Error):
            continue
        message = str(cause)
        if "unable to open database file" in message:
            return DatabaseProblem(
                f"Cannot open the SQLite database {shown}: its folder must exist and be writable by this user."
            )
        if "file is not a database" in message:
            return DatabaseProblem(
                f"{shown} is not a SQLite database: point INVENTORY_DATABASE_URL at an inventory database."
            )
        if "database is locked" in message:
            return DatabaseProblem(
                f"The SQLite database {shown} stayed locked by another process: let it finish, or raise "
                "INVENTORY_SQLITE_BUSY_TIMEOUT_MS."
            )
        if "readonly database" in message:
            return DatabaseProblem(f"The SQLite database {shown} is read-only for this user: allow it to write there.")
        if "no such table" in message:
            return DatabaseProblem(f"The database lacks a table ({message}): run `inventory db upgrade`.")
    return None
