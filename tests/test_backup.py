"""`inventory db backup` and `inventory db restore`, run as processes: a backup taken while stock mutations go on
restores to a database whose ledger adds up; restore refuses a database with rows unless forced, upgrades an
older backup and fails when its audit does; on PostgreSQL a failed restore changes nothing and tables that are
not the inventory's stay; `--keep`; every mistake is one line."""

import asyncio
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url

from db import backup, migrate
from db.config import Settings
from db.engine import Database
from tests.factories import build_catalog, build_stock
from tests.utils import GraphQLClient, global_id, run_command

RECEIVE = "mutation ($input: ReceiveStockInput!) { receiveStock(input: $input) { errors { message } } }"
SHIP = "mutation ($input: ShipStockInput!) { shipStock(input: $input) { errors { code } } }"


@pytest.fixture
def needs_pg_dump(database_url: str) -> None:
    if not database_url.startswith("sqlite") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (apt-get install postgresql-client)")


@pytest.fixture
def needs_postgresql(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's restore (INVENTORY_TEST_DATABASE_URL names a PostgreSQL database)")
    missing = [tool for tool in ("pg_dump", "pg_restore", "psql") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install postgresql-client)")


def _backup_name(database_url: str) -> str:
    return "backup.sqlite3" if database_url.startswith("sqlite") else "backup.pgdump"


def _back_up(database_url: str, file: Path) -> Path:
    """A backup made in this process, as the command makes it (for tests of what is done with one)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        backup.backup_sqlite(Path(str(url.database)), file)
    else:
        backup.backup_postgresql(url, file)
    return file


async def _execute(database_url: str, *statements: str, upgrade_to: str | None = None) -> None:
    """Migrate the database to `upgrade_to` if given, then run `statements` in one transaction."""
    database = Database(Settings(database_url=database_url))
    try:
        if upgrade_to is not None:
            await migrate.upgrade(database.engine, upgrade_to)
        async with database.engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await database.dispose()


async def _contents(database_url: str) -> tuple[tuple[str, ...], list[str], list[str], list[str]]:
    """What a failed restore must leave as it was: the migration, every table (the inventory's and others),
    the warehouses' codes and the notes of unrelated_table."""
    database = Database(Settings(database_url=database_url))
    try:
        revisions = await migrate.current(database.engine)
        async with database.engine.connect() as conn:
            tables = sorted(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
            codes = [] if "warehouses" not in tables else list(
                (await conn.execute(text("SELECT code FROM warehouses ORDER BY code"))).scalars()
            )
            notes = [] if "unrelated_table" not in tables else list(
                (await conn.execute(text("SELECT note FROM unrelated_table ORDER BY note"))).scalars()
            )
    finally:
        await database.dispose()
    return revisions, tables, codes, notes


async def _occupied_target(database_url: str, revision: str) -> None:
    """The database at `revision`, with a warehouse of its own and a table that is not the inventory's."""
    await _execute(
        database_url,
        "INSERT INTO warehouses (code, name, is_active, created_at, updated_at) "
        "VALUES ('KEPT', 'k', true, now(), now())",
        "CREATE TABLE unrelated_table (note text)",
        "INSERT INTO unrelated_table VALUES ('theirs')",
        upgrade_to=revision,
    )


Entry = tuple[int, int, int, int, int]


async def _ledger(database_url: str) -> tuple[list[Entry], dict[tuple[int, int], int]]:
    """The ledger's (id, product, warehouse, quantity, balance after) in id order, and the stock levels."""
    database = Database(Settings(database_url=database_url))
    try:
        async with database.engine.connect() as conn:
            entries = (
                await conn.execute(
                    text(
                        "SELECT id, product_id, warehouse_id, quantity, balance_after FROM inventory_transactions "
                        "ORDER BY id"
                    )
                )
            ).all()
            levels = (await conn.execute(text("SELECT product_id, warehouse_id, quantity FROM stock_levels"))).all()
    finally:
        await database.dispose()
    return [tuple(row) for row in entries], {(p, w): q for p, w, q in levels}


def _assert_chains_match_levels(entries: list[Entry], levels: dict[tuple[int, int], int]) -> None:
    """Each entry's balance is the one before it plus its quantity, and each level is its last balance."""
    balances: dict[tuple[int, int], int] = defaultdict(int)
    for _id, product, warehouse, quantity, balance_after in entries:
        balances[(product, warehouse)] += quantity
        assert balance_after == balances[(product, warehouse)], (product, warehouse, quantity, balance_after)
    assert levels == dict(balances)


async def test_a_backup_taken_under_write_load_restores_a_consistent_ledger(
    needs_pg_dump: None, database: Database, database_url: str, fresh_database_url: str, gql: GraphQLClient,
    tmp_path: Path,
) -> None:
    catalog = await build_catalog(database, products=12, suppliers=2)
    await build_stock(database, catalog, warehouses=3, entries=200)
    active = [pk for pk, product in catalog.products.items() if product["is_active"]]
    targets = [(global_id("Product", p), global_id("Warehouse", w)) for p in active for w in (1, 2)]
    done = 0
    stop = asyncio.Event()

    async def clerk(number: int) -> None:
        # Two clerks receive and two ship, into and out of the same levels: each movement changes a level and
        # adds a ledger entry.
        nonlocal done
        step = number
        while not stop.is_set():
            product, warehouse = targets[step % len(targets)]
            move = {"productId": product, "warehouseId": warehouse, "quantity": 1 + step % 3}
            if step % 2:
                data = await gql(SHIP, {"input": move})
                assert data["shipStock"]["errors"] in ([], [{"code": "INSUFFICIENT_STOCK"}]), data
            else:
                data = await gql(RECEIVE, {"input": {**move, "unitCost": "2.50"}})
                assert data["receiveStock"]["errors"] == [], data
            done += 1
            step += 4

    clerks = [asyncio.create_task(clerk(n)) for n in range(4)]
    try:
        while done < 20:
            await asyncio.sleep(0.01)
        before = done
        committed, _ = await _ledger(database_url)
        file = tmp_path / _backup_name(database_url)
        code, out, err = await run_command(database_url, "db", "backup", str(file))
        during = done - before
        while done < before + during + 20:  # the server still takes writes after the backup
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.gather(*clerks)
    assert code == 0, out + err
    assert "Backed up" in out, out
    assert during > 0, "no mutation ran while the backup was taken"

    code, out, err = await run_command(fresh_database_url, "db", "restore", str(file))
    assert code == 0, out + err
    assert "stock levels match the ledger" in out, out
    code, out, err = await run_command(fresh_database_url, "audit")
    assert (code, out.strip()) == (0, "stock levels match the ledger"), out + err

    entries, levels = await _ledger(fresh_database_url)
    _assert_chains_match_levels(entries, levels)
    live_entries, _ = await _ledger(database_url)
    # The copy holds what was committed before the backup started, not what came after it, and every entry
    # as the live ledger has it (on PostgreSQL ids are drawn before commit, so not necessarily a prefix).
    assert len(committed) <= len(entries) < len(live_entries)
    assert set(committed) <= set(entries) <= set(live_entries)


async def test_restore_refuses_a_database_with_rows_unless_forced_and_audits(
    needs_pg_dump: None, database: Database, database_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    catalog = await build_catalog(database, products=6, suppliers=2)
    await build_stock(database, catalog, warehouses=2, entries=40)
    file = _back_up(database_url, tmp_path / _backup_name(database_url))
    expected = await _ledger(database_url)

    code, out, err = await run_command(fresh_database_url, "db", "restore", str(file))
    assert code == 0, out + err
    assert await _ledger(fresh_database_url) == expected

    # A change after the restore: refused, it stays; forced, the backup's content replaces it.
    await _execute(fresh_database_url, "UPDATE inventory_transactions SET balance_after = balance_after + 1")
    changed = await _ledger(fresh_database_url)
    assert changed != expected

    code, out, err = await run_command(fresh_database_url, "db", "restore", str(file))
    assert code == 1, out + err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "is not empty" in err and "--force" in err, err
    assert await _ledger(fresh_database_url) == changed

    # A backup whose ledger does not add up is restored, and its audit fails.
    broken = _back_up(fresh_database_url, tmp_path / f"broken-{file.name}")
    code, out, err = await run_command(fresh_database_url, "db", "restore", "--force", str(broken))
    assert code == 1, out + err
    assert "stock level(s) differ from the ledger" in err and "last balance" in out, out + err

    code, out, err = await run_command(fresh_database_url, "db", "restore", "--force", str(file))
    assert code == 0, out + err
    assert await _ledger(fresh_database_url) == expected


async def test_an_older_backup_is_restored_then_upgraded(
    needs_pg_dump: None, database: Database, database_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    older = "0007"
    await _execute(fresh_database_url, upgrade_to=older)
    file = _back_up(fresh_database_url, tmp_path / _backup_name(fresh_database_url))
    await _execute(fresh_database_url, upgrade_to="head")

    # The database is at the head, the backup one revision behind: replaced, then upgraded.
    code, out, err = await run_command(fresh_database_url, "db", "restore", "--force", str(file))
    assert code == 0, out + err
    assert f"(revision {older})" in out and "Upgraded it" in out, out
    database = Database(Settings(database_url=fresh_database_url))
    try:
        assert await migrate.current(database.engine) == migrate.heads()
    finally:
        await database.dispose()


# The database at the backup's migration, or at another one (the backup is at the head, the database one behind).
@pytest.mark.parametrize("revision", ["head", "0007"])
async def test_a_postgresql_restore_that_fails_partway_changes_nothing(
    needs_postgresql: None, database: Database, database_url: str, fresh_database_url: str, tmp_path: Path,
    revision: str,
) -> None:
    await build_catalog(database, products=6, suppliers=2)
    # A backup holding a table the database has too: its CREATE TABLE fails after the inventory's tables
    # are dropped and some of the backup is restored.
    await _execute(database_url, "CREATE TABLE unrelated_table (note text)")
    try:
        file = _back_up(database_url, tmp_path / "backup.pgdump")
    finally:
        await _execute(database_url, "DROP TABLE unrelated_table")
    await _occupied_target(fresh_database_url, revision)
    before = await _contents(fresh_database_url)

    code, out, err = await run_command(fresh_database_url, "db", "restore", "--force", str(file))
    assert code == 1, out + err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert 'relation "unrelated_table" already exists' in err, err
    assert await _contents(fresh_database_url) == before


@pytest.mark.parametrize("revision", ["head", "0007"])
async def test_a_postgresql_restore_of_a_truncated_backup_changes_nothing(
    needs_postgresql: None, database: Database, database_url: str, fresh_database_url: str, tmp_path: Path,
    revision: str,
) -> None:
    catalog = await build_catalog(database, products=6, suppliers=2)
    await build_stock(database, catalog, warehouses=2, entries=40)
    whole = _back_up(database_url, tmp_path / "backup.pgdump").read_bytes()
    # Its table of contents and first tables' data are whole (it still reads as a backup of ours); pg_restore
    # fails at the end that is cut off, after it has written the SQL of the tables and most of their data.
    file = tmp_path / "truncated.pgdump"
    file.write_bytes(whole[:-64])
    await _occupied_target(fresh_database_url, revision)
    before = await _contents(fresh_database_url)

    code, out, err = await run_command(fresh_database_url, "db", "restore", "--force", str(file))
    assert code == 1, out + err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "pg_restore failed" in err, err
    assert await _contents(fresh_database_url) == before


@pytest.mark.parametrize("revision", ["head", "0007"])
async def test_a_forced_postgresql_restore_keeps_tables_that_are_not_the_inventorys(
    needs_postgresql: None, database: Database, database_url: str, fresh_database_url: str, tmp_path: Path,
    revision: str,
) -> None:
    await build_catalog(database, products=6, suppliers=2)
    file = _back_up(database_url, tmp_path / "backup.pgdump")
    await _occupied_target(fresh_database_url, revision)

    code, out, err = await run_command(fresh_database_url, "db", "restore", "--force", str(file))
    assert code == 0, out + err
    revisions, tables, codes, notes = await _contents(fresh_database_url)
    assert revisions == migrate.heads()
    assert "unrelated_table" in tables and notes == ["theirs"]
    assert codes == []  # the backup's warehouses: none


@pytest.mark.parametrize(
    ("query", "mode"),
    [
        ({"ssl": "require"}, "require"),
        ({"ssl": "true"}, "require"),
        ({"ssl": "verify-full"}, "verify-full"),
        ({"sslmode": "verify-ca"}, "verify-ca"),
        ({"ssl": "disable"}, "disable"),
        ({"ssl": "prefer"}, "prefer"),
        ({"ssl": "allow"}, "allow"),
    ],
)
def test_the_urls_ssl_option_reaches_the_postgresql_tools(
    monkeypatch: pytest.MonkeyPatch, query: dict[str, str], mode: str
) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    url = URL.create(
        "postgresql+asyncpg", username="u", password="secret", host="db.example", database="inv", query=query
    )
    options, env = backup._connection(url)
    assert env["PGSSLMODE"] == mode
    assert env["PGPASSWORD"] == "secret"
    assert not any("ssl" in option or "secret" in option for option in options), options


def test_without_an_ssl_option_the_tools_keep_the_environments_pgsslmode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    _, env = backup._connection(URL.create("postgresql+asyncpg", host="db.example", database="inv"))
    assert env["PGSSLMODE"] == "verify-full"
    monkeypatch.delenv("PGSSLMODE")
    _, env = backup._connection(URL.create("postgresql+asyncpg", host="db.example", database="inv"))
    assert "PGSSLMODE" not in env


def test_an_ssl_option_the_tools_do_not_know_is_one_line() -> None:
    url = URL.create("postgresql+asyncpg", host="db.example", database="inv", query={"ssl": "maybe"})
    known = "disable, allow, prefer, require, verify-ca, verify-full"
    with pytest.raises(backup.BackupProblem, match=f"ssl=maybe.*{known}"):
        backup._connection(url)


async def test_keep_deletes_only_the_oldest_of_our_backups(
    needs_pg_dump: None, database: Database, database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    others = ["notes.txt", "inventory-before-upgrade.sqlite3", "inventory-20000101T000000.000Z.sqlite3.partial"]
    for name in others:
        (folder / name).write_text("not ours")
    written = []
    for _ in range(3):
        code, out, err = await run_command(database_url, "db", "backup", "--dir", str(folder), "--keep", "2")
        assert code == 0, out + err
        written.append(Path(out.split(" to ")[1].split(" (")[0]).name)
    assert len(set(written)) == 3
    assert sorted(p.name for p in folder.iterdir()) == sorted([*others, *written[1:]])
    assert "Deleted 1 older backup(s)" in out


def _not_ours(path: Path) -> Path:
    path.write_text("name,quantity\nbolt,3\n")
    return path


def _sqlite_without_migrations(path: Path) -> Path:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (body TEXT)")
    connection.commit()
    connection.close()
    return path


async def test_every_mistake_is_one_line(
    needs_pg_dump: None, database: Database, database_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    sqlite = database_url.startswith("sqlite")
    good = _back_up(database_url, tmp_path / _backup_name(database_url))
    # A backup of a revision this version does not know, as a newer version would make it.
    await _execute(fresh_database_url, "UPDATE alembic_version SET version_num = '9999_future'", upgrade_to="head")
    future = _back_up(fresh_database_url, tmp_path / f"future-{_backup_name(database_url)}")

    other_kind = tmp_path / "other-kind"
    if sqlite:
        other_kind.write_bytes(b"PGDMP" + bytes(200))
    else:
        _sqlite_without_migrations(other_kind)
    cases: list[tuple[tuple[str, ...], str]] = [
        (("db", "restore", str(tmp_path / "missing.backup")), "There is no backup at"),
        (("db", "restore", str(tmp_path)), "is not a file"),
        (("db", "restore", str(_not_ours(tmp_path / "stock.csv"))), "is not a backup made by `inventory db backup`"),
        (("db", "restore", str(other_kind)), "is a backup of a "),
        (("db", "restore", "--force", str(future)), "9999_future, which this version of inventory does not know"),
        (("db", "backup",), "Name the backup FILE, or pass --dir DIR"),
        (("db", "backup", str(good), "--keep", "2"), "--keep deletes older backups in a --dir"),
        (("db", "backup", str(tmp_path / "missing" / "b")), f"The folder {tmp_path / 'missing'} does not exist"),
    ]
    if sqlite:
        database_file = str(make_url(database_url).database)
        cases += [
            (("db", "restore", str(_sqlite_without_migrations(tmp_path / "plain.db"))), "is not a backup made by"),
            (("db", "backup", database_file), "is the database itself"),
            (("db", "backup", f"{database_file}-wal"), "is the database itself"),
            (("db", "restore", "--force", database_file), "is the database itself"),
        ]
    else:
        fake = tmp_path / "fake.pgdump"
        fake.write_bytes(b"PGDMP" + bytes(200))
        cases.append((("db", "restore", str(fake)), "is not a backup made by"))
    no_tools: dict[str, str] = {}
    if not sqlite:
        # Without PostgreSQL's client tools on PATH (the `inventory` script names its Python by full path).
        no_tools = {"PATH": str(tmp_path)}
        for command in [("db", "backup", str(tmp_path / "b.pgdump")), ("db", "restore", "--force", str(good))]:
            cases.append((command, "is not installed (or not on PATH): install PostgreSQL's client tools"))
    results = await asyncio.gather(
        *(
            run_command(database_url, *command, **(no_tools if "not installed" in words else {}))
            for command, words in cases
        )
    )
    for (command, words), (code, out, err) in zip(cases, results, strict=True):
        shown = f"`inventory {' '.join(command)}`:\nstdout: {out}\nstderr: {err}"
        assert code == 1, shown
        assert "Traceback" not in out + err, shown
        assert len(err.strip().splitlines()) == 1, shown
        assert words in err, shown
    assert not (tmp_path / "missing").exists()
