"""Backups of the database while it serves, and their restore: SQLite through its online backup API, PostgreSQL
through pg_dump's custom format, and pg_restore into psql; what a backup file is and which migration it holds."""

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Base

# The first bytes of each kind of file: SQLite's database header, pg_dump's custom-format archive.
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_DUMP_MAGIC = b"PGDMP"
# Backups `backup --dir` writes, and the only files `--keep` deletes: inventory-20260102T030405.678Z.sqlite3.
BACKUP_NAME = re.compile(r"^inventory-\d{8}T\d{6}\.\d{3}Z\.(sqlite3|pgdump)$")
# Bytes copied at a time from pg_restore to psql.
_CHUNK = 1 << 16


class BackupProblem(Exception):
    """A backup or restore cannot be done; the message is one line naming the cause and the fix."""


class Kind(StrEnum):
    SQLITE = "SQLite"
    POSTGRESQL = "PostgreSQL"


@dataclass(frozen=True)
class Backup:
    """A backup file: its kind and the migration revisions it holds."""

    path: Path
    kind: Kind
    revisions: tuple[str, ...]


def kind_of_url(url: URL) -> Kind:
    return Kind.SQLITE if url.get_backend_name() == "sqlite" else Kind.POSTGRESQL


def timestamped_path(directory: Path, kind: Kind, *, now: datetime | None = None) -> Path:
    """A new backup's file in `directory`, named after the moment (UTC) so that names sort by age."""
    now = now or datetime.now(UTC)
    suffix = "sqlite3" if kind is Kind.SQLITE else "pgdump"
    return directory / f"inventory-{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z.{suffix}"


def prune(directory: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups in `directory` (files named as `timestamped_path` names them,
    nothing else); the files deleted."""
    ours = sorted(p for p in directory.iterdir() if BACKUP_NAME.match(p.name) and p.is_file())
    old = ours[: max(len(ours) - keep, 0)]
    for path in old:
        path.unlink()
    return old


def same_file(database: Path, other: Path) -> bool:
    """Whether `other` is the SQLite database at `database` or one of its -wal and -shm files."""
    resolved = database.resolve()
    return other.resolve() in {resolved, *(resolved.with_name(resolved.name + end) for end in ("-wal", "-shm"))}


def backup_sqlite(database: Path, target: Path) -> None:
    """Copy the SQLite database at `database` to `target` with SQLite's online backup API.

    The copy is read in one step, inside one read transaction: a consistent snapshot that includes what the WAL
    holds, while writers go on (in WAL mode readers do not block them). It is written beside `target` first and
    renamed, so `target` is never a half-written file."""
    partial = target.with_name(target.name + ".partial")
    # Read-write (the WAL index is shared memory every reader writes to), but never created.
    source = sqlite3.connect(f"{database.absolute().as_uri()}?mode=rw", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            # A single file: the copy does not need the -wal and -shm files the source runs with.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    partial.replace(target)


def restore_sqlite(backup: Path, database: Path, *, busy_timeout_seconds: float) -> None:
    """Replace the content of the SQLite database at `database` (made if missing) with that of `backup`, through
    the backup API: in one write transaction of the target, which other connections see whole or not at all."""
    source = sqlite3.connect(f"{backup.absolute().as_uri()}?mode=ro", uri=True)
    try:
        # Waits for the write lock as the API's own writers do.
        target = sqlite3.connect(database, timeout=busy_timeout_seconds)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupProblem(
            f"{name} is not installed (or not on PATH): install PostgreSQL's client tools "
            "(apt-get install postgresql-client), of the server's major version or newer."
        )
    return found


# The values of libpq's PGSSLMODE, the same as asyncpg's `ssl` takes in the URL.
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """pg_dump's, pg_restore's and psql's connection options for `url`, and their environment: the password goes
    in PGPASSWORD, never on the command line, where other users of the machine could read it; the URL's
    `?ssl=` (or `?sslmode=`) in PGSSLMODE, so the tools connect as securely as the API does."""
    options = [f"--dbname={url.database or url.username or 'postgres'}"]
    # A Unix socket's folder comes in the query (`?host=/var/run/postgresql`), as asyncpg takes it.
    host = url.host or url.query.get("host")
    if host:
        options.append(f"--host={host}")
    if url.port:
        options.append(f"--port={url.port}")
    if url.username:
        options.append(f"--username={url.username}")
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    ssl_mode = _ssl_mode(url)
    if ssl_mode is not None:
        env["PGSSLMODE"] = ssl_mode
    return options, env


def _ssl_mode(url: URL) -> str | None:
    """The libpq sslmode the URL asks for, if it asks for one (else PGSSLMODE from the environment holds, as it
    does for asyncpg)."""
    name = "ssl" if "ssl" in url.query else "sslmode"
    value = url.query.get(name)
    if value is None:
        return None
    mode = str(value).lower()
    if mode == "true":
        return "require"
    if mode not in _SSL_MODES:
        raise BackupProblem(
            f"The database URL's {name}={value} is not an SSL mode PostgreSQL's tools know: use one of "
            f"{', '.join(_SSL_MODES)}."
        )
    return mode


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BackupProblem(f"{what} failed: {lines[0] if lines else f'exit code {result.returncode}'}")
    return result.stdout


def backup_postgresql(url: URL, target: Path) -> None:
    """Dump the PostgreSQL database of `url` to `target` with pg_dump in its custom format (one snapshot, taken
    while the server goes on serving), written beside `target` first and renamed."""
    pg_dump = _tool("pg_dump")
    options, env = _connection(url)
    partial = target.with_name(target.name + ".partial")
    try:
        _run([pg_dump, "--format=custom", "--no-password", f"--file={partial}", *options], env, "pg_dump")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)


def restore_postgresql(backup: Path, url: URL) -> None:
    """Restore `backup` into the PostgreSQL database of `url` in one transaction: the inventory's tables are
    dropped (no other), then the backup's SQL, as pg_restore writes it, runs in psql. On any error nothing
    changes, and the error is a BackupProblem naming the tool's first error line."""
    pg_restore, psql = _tool("pg_restore"), _tool("psql")
    options, env = _connection(url)
    with tempfile.TemporaryFile() as restore_errors, tempfile.TemporaryFile() as psql_errors:
        # Plain SQL, streamed: a backup is not held in memory, however large.
        writer = subprocess.Popen(
            [pg_restore, "--no-owner", "--no-privileges", "--file=-", str(backup)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=restore_errors, env=env,
        )
        reader = subprocess.Popen(
            [psql, "--no-psqlrc", "--single-transaction", "--set=ON_ERROR_STOP=1", "--quiet", "--no-password",
             *options],
            # Its standard output is the results of the dump's SELECTs (setval), of no interest.
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_errors, env=env,
        )
        try:
            _feed(reader, writer, _drop_inventory_tables())
        finally:
            # Until it reads the end of its input psql has not committed: killed, its transaction rolls back.
            for process in (writer, reader):
                if process.poll() is None:
                    process.kill()
                process.wait()
            if reader.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    reader.stdin.close()
        # A process killed by a signal has a negative exit code: psql is killed when pg_restore fails, and
        # pg_restore fails on the pipe psql stopped reading at its error.
        if reader.returncode > 0 or (reader.returncode < 0 and writer.returncode == 0):
            raise _failure("psql", psql_errors)
        if writer.returncode != 0:
            raise _failure("pg_restore", restore_errors)


def _feed(reader: subprocess.Popen[bytes], writer: subprocess.Popen[bytes], prologue: bytes) -> None:
    """Pass `prologue`, then what `writer` writes, to `reader`; end `reader`'s input (whereupon psql commits)
    only if `writer` wrote all it had to."""
    assert reader.stdin is not None and writer.stdout is not None
    try:
        reader.stdin.write(prologue)
        shutil.copyfileobj(writer.stdout, reader.stdin, _CHUNK)
        writer.stdout.close()
        if writer.wait() == 0:
            reader.stdin.close()
            reader.wait()
    except BrokenPipeError:
        pass  # psql stopped at an error, which its message names
    finally:
        # pg_restore must not wait on a pipe nobody reads.
        writer.stdout.close()


def _failure(tool: str, errors: IO[bytes]) -> BackupProblem:
    """The problem `tool` stopped at: the first line it wrote on its standard error."""
    errors.seek(0)
    lines = errors.read().decode(errors="replace").splitlines()
    # psql's position in its input (`psql:<stdin>:123: `) counts the lines of the SQL stream, not the backup's.
    shown = [re.sub(r"^psql:<stdin>:\d+: ", "", line).strip() for line in lines]
    first = next((line for line in shown if line), "it stopped without a message")
    return BackupProblem(f"{tool} failed, the database was left as it was: {first}")


def _drop_inventory_tables() -> bytes:
    """The SQL run before the backup's, in the same transaction: the inventory's tables dropped, with what is
    theirs (indexes, constraints, the sequences of their ids), so that the backup's CREATE statements find no
    name taken. Every table a revision of ours ever made is in the models (no migration drops one), and our
    migrations make no types, functions or triggers; any other table stays, and a backup that holds one the
    database has too fails as a whole."""
    names = ", ".join(f'"{name}"' for name in [*Base.metadata.tables, "alembic_version"])
    return f"SET client_min_messages = warning;\nDROP TABLE IF EXISTS {names} CASCADE;\n".encode()


def read_backup(path: Path, *, expected: Kind) -> Backup:
    """What the backup at `path` is; BackupProblem if there is no file, it is not a backup of ours, or not one
    of the `expected` kind of database."""
    if not path.exists():
        raise BackupProblem(f"There is no backup at {path.absolute()}: name an existing file.")
    if not path.is_file():
        raise BackupProblem(f"{path.absolute()} is not a file: name a backup file made by `inventory db backup`.")
    with path.open("rb") as file:
        head = file.read(len(_SQLITE_MAGIC))
    not_ours = (
        f"{path.absolute()} is not a backup made by `inventory db backup` (neither a SQLite database nor a "
        "pg_dump custom-format archive of an inventory database)."
    )
    if head.startswith(_SQLITE_MAGIC):
        kind = Kind.SQLITE
    elif head.startswith(_PG_DUMP_MAGIC):
        kind = Kind.POSTGRESQL
    else:
        raise BackupProblem(not_ours)
    if kind is not expected:
        raise BackupProblem(
            f"{path.absolute()} is a backup of a {kind} database, but INVENTORY_DATABASE_URL names a {expected} "
            f"database: restore it into a {kind} database."
        )
    read = _sqlite_revisions if kind is Kind.SQLITE else _pg_dump_revisions
    return Backup(path, kind, read(path, not_ours))


def _sqlite_revisions(path: Path, not_ours: str) -> tuple[str, ...]:
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        raise BackupProblem(not_ours) from None
    if not rows:
        raise BackupProblem(not_ours)
    return tuple(row[0] for row in rows)


def _pg_dump_revisions(path: Path, not_ours: str) -> tuple[str, ...]:
    # The data of alembic_version as the plain SQL pg_restore would run: a COPY, its rows, then `\.`.
    pg_restore = _tool("pg_restore")
    result = subprocess.run(
        [pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(path)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise BackupProblem(not_ours)
    lines = result.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("COPY ") and "alembic_version" in line), None)
    if start is None:
        raise BackupProblem(not_ours)
    revisions = []
    for line in lines[start + 1 :]:
        if line == "\\.":
            break
        revisions.append(line.strip())
    if not revisions:
        raise BackupProblem(not_ours)
    return tuple(revisions)


async def occupied_tables(engine: AsyncEngine) -> list[str]:
    """The inventory tables of the database that hold rows (none in a new or only migrated database)."""
    async with engine.connect() as connection:
        present = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        occupied = []
        for table in Base.metadata.sorted_tables:
            if table.name not in present:
                continue
            if (await connection.execute(select(text("1")).select_from(table).limit(1))).first() is not None:
                occupied.append(table.name)
    return occupied
