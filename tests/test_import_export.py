"""CSV import and export (db/transfer/, `inventory import` and `inventory export`): the round trip through an empty
database, every bad row reported with nothing written, --skip-invalid, re-runs that change nothing, BOM and
semicolon files, dry runs, and the command's errors."""

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import migrate, stock
from db.config import Settings
from db.engine import Database
from db.models import AdjustmentReason, Base, Product, ProductSupplier, StockLevel, Supplier, Warehouse
from db.seed import seed_demo
from db.transfer import csvfile
from db.transfer.exports import export_rows, header
from db.transfer.imports import ImportResult, import_rows
from db.warehouses import create_warehouse
from tests.utils import run_command

KINDS = ("categories", "suppliers", "warehouses", "products", "offers", "stock")


async def _export(database: Database, kind: str, **bounds: Any) -> str:
    buffer = io.StringIO()
    out = csvfile.writer(buffer)
    out.writerow(header(kind))
    async with database.read_session() as session:
        async for row in export_rows(session, kind=kind, **bounds):
            out.writerow(row)
    return buffer.getvalue()


async def _import(database: Database, kind: str, content: str | bytes, **options: Any) -> ImportResult:
    data = content.encode() if isinstance(content, str) else content
    async with database.write_session() as session, session.begin():
        return await import_rows(session, kind=kind, content=data, name="in.csv", **options)


async def _snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after."""
    async with database.read_session() as session:
        return {
            table.name: sorted(map(tuple, (await session.execute(table.select())).all()), key=repr)
            for table in Base.metadata.sorted_tables
        }


async def _warehouses(database: Database, *codes: str) -> None:
    async with database.write_session() as session, session.begin():
        for code in codes:
            await create_warehouse(session, code=code, name=f"Warehouse {code}")


@pytest.fixture
async def empty_database(fresh_database_url: str) -> AsyncIterator[Database]:
    """A second, migrated and empty database of the test database's kind."""
    database = Database(Settings(database_url=fresh_database_url))
    await migrate.upgrade(database.engine)
    yield database
    await database.dispose()


CATALOG = {
    "categories": "path,slug,description\nTools,tools,Hand and power tools\nTools/Hand tools,,\n",
    "suppliers": "name,email\nAcme,sales@acme.example\n",
    "products": "sku,name,unit_price,category\nHAM-1,Hammer,12.50,Tools/Hand tools\nSAW-1,Saw,20.00,tools\n",
}


async def _catalog(database: Database) -> None:
    for kind, content in CATALOG.items():
        result = await _import(database, kind, content)
        assert result.written and not result.errors, result.errors


# --- the round trip -----------------------------------------------------------------------------


async def test_round_trip_through_an_empty_database(database: Database, empty_database: Database) -> None:
    async with database.write_session() as session, session.begin():
        await seed_demo(session)
    first = {kind: await _export(database, kind) for kind in KINDS}
    assert all(text.count("\n") > 3 for text in first.values()), first
    for kind in KINDS:
        result = await _import(empty_database, kind, first[kind])
        assert result.written and not result.errors, (kind, result.errors[:3])
        assert result.inserted == first[kind].count("\n") - 1, kind
    for kind in KINDS:
        assert await _export(empty_database, kind) == first[kind], kind
    async with empty_database.read_session() as session:
        assert await stock.audit(session) == []
    ledger = (await _export(empty_database, "ledger")).splitlines()
    assert ledger[0] == "created_at,sku,warehouse,kind,quantity,balance_after,unit_cost,reference,note,reason"
    assert len(ledger) - 1 == first["stock"].count("\n") - 1
    assert all(",RECEIPT," in line and line.split(",")[0].endswith("Z") for line in ledger[1:])

    # The same files again: upserts of what is there, and stock rows imported already, change nothing.
    before = await _snapshot(empty_database)
    for kind in KINDS:
        result = await _import(empty_database, kind, first[kind], mode="upsert")
        assert (result.inserted, result.updated, result.errors) == (0, 0, []), kind
        assert result.unchanged == first[kind].count("\n") - 1, kind
    assert await _snapshot(empty_database) == before


# --- bad rows -----------------------------------------------------------------------------------

BAD_PRODUCTS = """sku,name,unit_price,category
OK-1,Fine,1.00,Tools
BAD-1,Unknown category,2.00,Garden
OK-1,Same SKU again,3.00,
BAD-2,Negative,-1.00,
BAD-3,Three decimals,1.005,
BAD-4,Decimal comma,"1,50",
BAD-5,Thousands,"1.000,00",
BAD-6,,4.00,
HAM-1,Exists already,5.00,
"""


async def test_every_bad_row_is_reported_and_nothing_is_written(database: Database) -> None:
    await _catalog(database)
    before = await _snapshot(database)
    result = await _import(database, "products", BAD_PRODUCTS)
    assert not result.written
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "category"), (4, "sku"), (5, "unit_price"), (6, "unit_price"), (7, "unit_price"), (8, "unit_price"),
        (9, "name"), (10, "sku"),
    ]
    messages = [e.message for e in result.errors]
    assert "“Garden”" in messages[0] and "row 2" in messages[1]
    assert messages[2] == "`unit_price` must not be negative."
    assert messages[3] == "`unit_price` must have at most two decimal places."
    assert "no thousands separators" in messages[4] and "“1.000,00”" in messages[5]
    assert messages[6] == "`name` is required."
    assert "--mode upsert" in messages[7]
    assert await _snapshot(database) == before


async def test_the_command_reports_rows_and_refuses_bad_files(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    await _catalog(database)
    before = await _snapshot(database)
    bad_rows = tmp_path / "bad.csv"
    bad_rows.write_text(BAD_PRODUCTS)
    not_utf8 = tmp_path / "latin1.csv"
    not_utf8.write_bytes("sku,name,unit_price\nX-1,Café,1.00\n".encode("latin-1"))
    missing = tmp_path / "missing.csv"
    missing.write_text("sku,name\nX-1,No price\n")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("sku,name,unit_price,colour\nX-1,Red,1.00,red\n")
    misuses = [
        ("export", "products", "--from", "2026-01-01"),
        ("export", "ledger", "--from", "yesterday"),
        ("import", "stock", str(bad_rows), "--mode", "upsert"),
        ("import", "products", str(tmp_path / "absent.csv")),
    ]
    results = await asyncio.gather(
        run_command(database_url, "import", "products", str(bad_rows)),
        *(run_command(database_url, "import", "products", str(f)) for f in (not_utf8, missing, unknown)),
        *(run_command(database_url, *command) for command in misuses),
    )
    code, out, err = results[0]
    assert code == 1 and "Traceback" not in out + err, out + err
    lines = err.strip().splitlines()
    assert lines[:2] == [
        f"{bad_rows}: row 3, category: There is no category with the path or slug “Garden”.",
        f"{bad_rows}: row 4, sku: SKU OK-1 appears in row 2 too.",
    ]
    assert lines[-1] == "8 of 9 row(s) invalid: nothing imported.", err
    expected = [
        f"{not_utf8} is not UTF-8: byte 0xe9 at line 2",
        f"{missing} lacks the required column(s) unit_price.",
        f"{unknown} has unknown column(s) colour;",
        "--from and --to bound the ledger's entries only",
        "--from yesterday is not an ISO 8601 time",
        "--mode applies to the catalog kinds",
        f"Cannot read {tmp_path / 'absent.csv'}: No such file or directory.",
    ]
    for (code, out, err), words in zip(results[1:], expected, strict=True):
        assert code == 1 and out == "" and len(err.strip().splitlines()) == 1, out + err
        assert words in err and "Traceback" not in err, err
    assert await _snapshot(database) == before


async def test_skip_invalid_writes_good_rows_and_a_rejected_file(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    await _catalog(database)
    file = tmp_path / "products.csv"
    file.write_text(BAD_PRODUCTS)
    code, out, err = await run_command(database_url, "import", "products", str(file), "--skip-invalid")
    assert code == 0, out + err
    assert "Imported products from" in out and "1 added" in out, out
    async with database.read_session() as session:
        skus = set(await session.scalars(select(Product.sku)))
    assert skus == {"HAM-1", "SAW-1", "OK-1"}
    rejected = (tmp_path / "products.csv.rejected.csv").read_text().splitlines()
    assert rejected[0] == "sku,name,unit_price,category,error"
    assert len(rejected) == 9
    assert rejected[1] == 'BAD-1,Unknown category,2.00,Garden,"row 3, category: There is no category with the '\
        'path or slug “Garden”."'
    # Corrected, the rejected file imports as it is: its error column is left out.
    fixed = tmp_path / "fixed.csv"
    fixed.write_text("\n".join([rejected[0], *(line.replace("Garden", "Tools") for line in rejected[1:2])]) + "\n")
    code, out, err = await run_command(database_url, "import", "products", str(fixed))
    assert (code, err) == (0, ""), out + err
    async with database.read_session() as session:
        assert await session.scalar(select(Product.category_id).where(Product.sku == "BAD-1")) is not None


async def test_the_rejected_file_keeps_the_rows_as_given(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    await _catalog(database)
    await _warehouses(database, "MAIN")
    file = tmp_path / "stock.csv"
    file.write_text("unit_cost, sku ,quantity,warehouse\n 2.00 , ham-1 ,10, main \n1.50, NOPE , 3 ,main\n7.5,SAW-1,2\n")
    code, out, err = await run_command(database_url, "import", "stock", str(file), "--skip-invalid")
    assert code == 0 and "1 added" in out, out + err
    rejected = tmp_path / "stock.csv.rejected.csv"
    # The file's own columns in its order, each cell as it was written (a short row's missing cells empty).
    assert rejected.read_text().splitlines() == [
        "unit_cost,sku,quantity,warehouse,error",
        '1.50, NOPE , 3 ,main,"row 3, sku: There is no product with SKU NOPE."',
        '7.5,SAW-1,2,,"row 4, warehouse: `warehouse` is required (or --warehouse)."',
    ]
    # A rejected file imported again: its error column keeps its place and holds the new errors only.
    again = tmp_path / "again.csv"
    again.write_text(rejected.read_text().replace(" NOPE ", "NOPE-2"))
    code, out, err = await run_command(database_url, "import", "stock", str(again), "--skip-invalid")
    assert code == 0, out + err
    assert (tmp_path / "again.csv.rejected.csv").read_text().splitlines() == [
        "unit_cost,sku,quantity,warehouse,error",
        '1.50,NOPE-2, 3 ,main,"row 2, sku: There is no product with SKU NOPE-2."',
        '7.5,SAW-1,2,,"row 3, warehouse: `warehouse` is required (or --warehouse)."',
    ]


async def test_the_example_files_import(database: Database) -> None:
    examples = Path(__file__).parent.parent / "examples"
    for kind in KINDS:
        content = (examples / f"{kind}.csv").read_bytes()
        result = await _import(database, kind, content)
        assert result.written and not result.errors and result.inserted == content.count(b"\n") - 1, kind
    async with database.read_session() as session:
        assert await stock.audit(session) == []


async def test_warehouse_rows_are_checked_as_createwarehouse_checks_them(database: Database) -> None:
    rows = "code,name,address\nmain,Main,\nMAIN,Again,\nno way,Bad code,\nEAST,,\nWEST,West,\n"
    result = await _import(database, "warehouses", rows)
    assert not result.written
    assert [(e.row, e.column) for e in result.errors] == [(3, "code"), (4, "code"), (5, "name")], result.errors
    result = await _import(database, "warehouses", rows, skip_invalid=True)
    assert (result.written, result.inserted) == (True, 2)
    again = await _import(database, "warehouses", "code,name\nMain,Main yard\nwest,West\n", mode="upsert")
    assert (again.updated, again.unchanged) == (1, 1), again.errors
    assert await _export(database, "warehouses") == "code,name,address,is_active\nMAIN,Main yard,,true\nWEST,West,,true\n"


# --- formats and modes --------------------------------------------------------------------------


async def test_bom_and_semicolons_and_dry_runs(database: Database) -> None:
    await _catalog(database)
    before = await _snapshot(database)
    semicolons = "sku;name;unit_price;description\nNAIL-1;Nails;0.10;Box of 100, steel\n"
    dry = await _import(database, "products", "\ufeff" + semicolons, dry_run=True)
    assert (dry.written, dry.errors, dry.rows) == (False, [], 1)
    assert await _snapshot(database) == before

    result = await _import(database, "products", "\ufeff" + semicolons)
    assert result.written and result.inserted == 1
    async with database.read_session() as session:
        nails = await session.scalar(select(Product).where(Product.sku == "NAIL-1"))
    assert nails is not None and nails.description == "Box of 100, steel" and nails.unit_price == Decimal("0.10")


async def test_upsert_updates_and_insert_refuses(database: Database) -> None:
    await _catalog(database)
    changed = "sku,name,unit_price,category\nHAM-1,Claw hammer,13.00,Tools\nSAW-1,Saw,20.00,tools\n"
    refused = await _import(database, "products", changed)
    assert [(e.row, e.column) for e in refused.errors] == [(2, "sku"), (3, "sku")] and not refused.written
    result = await _import(database, "products", changed, mode="upsert")
    assert (result.updated, result.unchanged, result.inserted) == (1, 1, 0)
    async with database.read_session() as session:
        hammer = await session.scalar(select(Product).where(Product.sku == "HAM-1"))
    assert hammer is not None and (hammer.name, hammer.unit_price) == ("Claw hammer", Decimal("13.00"))
    before = await _snapshot(database)
    again = await _import(database, "products", changed, mode="upsert")
    assert (again.updated, again.unchanged) == (0, 2)
    assert await _snapshot(database) == before


async def test_the_ledger_export_carries_adjustment_reasons(database: Database) -> None:
    await _catalog(database)
    await _warehouses(database, "MAIN")
    assert (await _import(database, "stock", "sku,warehouse,quantity,unit_cost\nHAM-1,MAIN,10,2.00\n")).inserted
    async with database.write_session() as session, session.begin():
        product = await session.scalar(select(Product.id).where(Product.sku == "HAM-1"))
        warehouse = await session.scalar(select(Warehouse.id).where(Warehouse.code == "MAIN"))
        await stock.adjust_stock(
            session, product_id=product, warehouse_id=warehouse, counted_quantity=7, reason=AdjustmentReason.DAMAGED
        )
        await stock.adjust_stock(session, product_id=product, warehouse_id=warehouse, counted_quantity=8)
    ledger = (await _export(database, "ledger")).splitlines()
    assert ledger[0].endswith(",note,reason")
    # The receipt has no reason (an empty cell); the counts theirs, the second the default.
    assert [(line.split(",")[3], line.split(",")[-1]) for line in ledger[1:]] == [
        ("RECEIPT", ""), ("ADJUSTMENT", "DAMAGED"), ("ADJUSTMENT", "CORRECTION"),
    ]


async def test_opening_stock_is_received_once(database: Database) -> None:
    await _catalog(database)
    await _warehouses(database, "MAIN", "WEST")
    rows = "sku,warehouse,quantity,unit_cost\nHAM-1,MAIN,10,2.00\nHAM-1,,30,4.00\nSAW-1,MAIN,5,7.50\n"
    bad = await _import(database, "stock", rows + "SAW-1,NOPE,1,1.00\nSAW-1,MAIN,0,1.00\nSAW-1,MAIN,1,\n")
    assert [(e.row, e.column) for e in bad.errors] == [(3, "warehouse"), (5, "warehouse"), (6, "quantity"),
                                                        (7, "unit_cost")]

    result = await _import(database, "stock", rows, warehouse="west")
    assert result.inserted == 3
    async with database.read_session() as session:
        levels = (await session.execute(
            select(Product.sku, StockLevel.warehouse_id, StockLevel.quantity, Product.average_cost)
            .join(Product, Product.id == StockLevel.product_id).order_by(Product.sku, StockLevel.warehouse_id)
        )).all()
        assert await stock.audit(session) == []
    assert [(sku, quantity, cost) for sku, _w, quantity, cost in levels] == [
        ("HAM-1", 10, Decimal("3.5000")), ("HAM-1", 30, Decimal("3.5000")), ("SAW-1", 5, Decimal("7.5000")),
    ]
    ledger = (await _export(database, "ledger")).splitlines()
    assert [line.split(",")[1:7] for line in ledger[1:]] == [
        ["HAM-1", "MAIN", "RECEIPT", "10", "10", "2.00"], ["HAM-1", "WEST", "RECEIPT", "30", "30", "4.00"],
        ["SAW-1", "MAIN", "RECEIPT", "5", "5", "7.50"],
    ]
    first = datetime.fromisoformat(ledger[1].split(",")[0])
    assert await _export(database, "ledger", since=first + timedelta(seconds=1)) == ledger[0] + "\n"
    assert await _export(database, "ledger", until=first) == ledger[0] + "\n"
    assert await _export(database, "ledger", since=first, until=first + timedelta(seconds=1)) != ledger[0] + "\n"
    before = await _snapshot(database)
    again = await _import(database, "stock", rows, warehouse="WEST")
    assert (again.inserted, again.unchanged, again.errors) == (0, 3, [])
    assert await _snapshot(database) == before


STOCK_HEADER = "sku,warehouse,quantity,unit_cost\n"


async def _ids(database: Database, sku: str, code: str) -> tuple[int, int]:
    """The ids of the product with `sku` and the warehouse with `code`."""
    async with database.read_session() as session:
        product = await session.scalar(select(Product.id).where(Product.sku == sku))
        warehouse = await session.scalar(select(Warehouse.id).where(Warehouse.code == code))
    assert product is not None and warehouse is not None
    return product, warehouse


async def _level(database: Database, sku: str, code: str) -> int | None:
    async with database.read_session() as session:
        return await session.scalar(
            select(StockLevel.quantity).join(Product).join(Warehouse)
            .where(Product.sku == sku, Warehouse.code == code)
        )


async def test_stock_rows_are_known_by_what_they_receive(database: Database) -> None:
    await _catalog(database)
    await _warehouses(database, "MAIN", "WEST")
    rows = STOCK_HEADER + "HAM-1,MAIN,10,2.00\nSAW-1,MAIN,5,7.50\nHAM-1,,3,1.00\n"
    assert (await _import(database, "stock", rows, warehouse="WEST")).inserted == 3
    before = await _snapshot(database)
    # Other columns' order, other rows' order, spaces, case and another notation of the same amounts.
    copy = "unit_cost,quantity,warehouse,sku\n1,3,west,ham-1\n 7.5 , 5 , main , saw-1 \n2,10,Main,HAM-1\n"
    again = await _import(database, "stock", copy)
    assert (again.inserted, again.unchanged, again.errors) == (0, 3, [])
    assert await _snapshot(database) == before


async def test_identical_stock_rows_are_each_received_once(database: Database) -> None:
    await _catalog(database)
    await _warehouses(database, "MAIN")
    twice = STOCK_HEADER + "HAM-1,MAIN,3,1.00\nSAW-1,MAIN,1,1.00\nHAM-1,MAIN,3,1.00\n"
    assert (await _import(database, "stock", twice)).inserted == 3
    assert await _level(database, "HAM-1", "MAIN") == 6
    before = await _snapshot(database)
    for rerun in (twice, STOCK_HEADER + "HAM-1,MAIN,3,1.00\nhAM-1,main, 3 ,1\nSAW-1,MAIN,1,1.00\n"):
        again = await _import(database, "stock", rerun)
        assert (again.inserted, again.unchanged, again.errors) == (0, 3, [])
    assert await _snapshot(database) == before
    # A third identical row is a third receipt.
    thrice = await _import(database, "stock", twice + "HAM-1,MAIN,3,1.00\n")
    assert (thrice.inserted, thrice.unchanged) == (1, 3)
    assert await _level(database, "HAM-1", "MAIN") == 9


async def test_stock_imported_under_the_earlier_references_is_known(database: Database) -> None:
    """Receipts imported when a row's reference was a hash of its number and cells are not received again."""
    await _catalog(database)
    await _warehouses(database, "MAIN")
    hammer, main = await _ids(database, "HAM-1", "MAIN")
    earlier = hashlib.sha256("\x1f".join(["2", "HAM-1", "MAIN", "10", "2.00"]).encode()).hexdigest()[:32]
    async with database.write_session() as session, session.begin():
        await stock.receive_stock(
            session, product_id=hammer, warehouse_id=main, quantity=10, unit_cost=Decimal("2.00"),
            reference=f"import:{earlier}",
        )
    again = await _import(database, "stock", STOCK_HEADER + "HAM-1,MAIN,10,2.00\n")
    assert (again.inserted, again.unchanged, again.errors) == (0, 1, [])


async def test_a_row_that_would_overflow_its_level_is_a_row_error(database: Database) -> None:
    await _catalog(database)
    await _warehouses(database, "MAIN")
    hammer, main = await _ids(database, "HAM-1", "MAIN")
    async with database.write_session() as session, session.begin():
        for quantity in (1_000_000_000, 1_000_000_000, stock.MAX_LEVEL - 2_000_000_010):
            await stock.receive_stock(session, product_id=hammer, warehouse_id=main, quantity=quantity)
    before = await _snapshot(database)
    # Ten units left below the largest level: rows 2 and 5 fit, row 4 (on top of row 2) does not.
    rows = STOCK_HEADER + "HAM-1,MAIN,6,1.00\nSAW-1,MAIN,5,1.00\nHAM-1,MAIN,5,1.00\nHAM-1,MAIN,4,1.00\n"
    refused = await _import(database, "stock", rows)
    assert not refused.written
    assert [(e.row, e.column, e.message) for e in refused.errors] == [
        (4, "quantity", f"HAM-1 in MAIN would exceed the largest stock level ({stock.MAX_LEVEL:,})."),
    ]
    assert await _snapshot(database) == before
    result = await _import(database, "stock", rows, skip_invalid=True)
    assert (result.written, result.inserted, [e.row for e in result.errors]) == (True, 3, [4])
    assert await _level(database, "HAM-1", "MAIN") == stock.MAX_LEVEL


async def test_a_return_made_while_an_import_writes_waits_for_it_and_adds_to_its_level(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction returns stock to a level the import is about to create, after the import has read
    the levels: it waits for the import (both append to the ledger, which takes turns: db/live.py) and then
    adds to the level the import made, rather than either writing over the other."""
    if database.settings.is_sqlite:
        pytest.skip("SQLite: an import's write transaction keeps every other writer out from BEGIN IMMEDIATE")
    await _catalog(database)
    await _warehouses(database, "MAIN")
    hammer, main = await _ids(database, "HAM-1", "MAIN")
    meanwhile: list[asyncio.Task[None]] = []

    async def returned_meanwhile() -> None:
        async with database.write_session() as other, other.begin():
            await stock.return_stock(other, product_id=hammer, warehouse_id=main, quantity=5)

    async def start_the_return() -> None:
        meanwhile.append(asyncio.create_task(returned_meanwhile()))
        await asyncio.sleep(0.5)
        assert not meanwhile[0].done(), "the return did not wait for the import"

    async with database.write_session() as session, session.begin():
        _before_first_level_write(monkeypatch, session, start_the_return)
        result = await import_rows(
            session, kind="stock", content=(STOCK_HEADER + "HAM-1,MAIN,10,2.00\n").encode(), name="in.csv"
        )
    await asyncio.wait_for(meanwhile[0], timeout=30)
    assert result.inserted == 1
    assert await _level(database, "HAM-1", "MAIN") == 15
    async with database.read_session() as session:
        assert await stock.audit(session) == []


def _before_first_level_write(
    monkeypatch: pytest.MonkeyPatch, session: AsyncSession, work: Callable[[], Awaitable[None]]
) -> None:
    """Run `work` once, just before `session` first writes to stock_levels."""
    execute = session.execute
    pending = [work]

    async def execute_after_work(statement: Any, *args: Any, **kwargs: Any) -> Any:
        table = getattr(statement, "table", None) if getattr(statement, "is_dml", False) else None
        if pending and table is not None and table.name == StockLevel.__tablename__:
            await pending.pop()()
        return await execute(statement, *args, **kwargs)

    monkeypatch.setattr(session, "execute", execute_after_work)


async def _preferred(database: Database) -> dict[str, tuple[str, bool]]:
    async with database.read_session() as session:
        rows = await session.execute(
            select(Supplier.name, ProductSupplier.unit_cost, ProductSupplier.is_preferred)
            .join(Supplier, Supplier.id == ProductSupplier.supplier_id)
        )
        return {name: (str(cost), preferred) for name, cost, preferred in rows}


async def test_offers_move_the_preferred_flag_as_the_mutation_does(database: Database) -> None:
    await _catalog(database)
    assert (await _import(database, "suppliers", "name\nNorthwind\n")).written
    assert (await _import(database, "offers", "sku,supplier,unit_cost,is_preferred\nHAM-1,Acme,4.00,true\n")).written
    # A new preferred offer un-prefers the product's other one.
    result = await _import(database, "offers", "sku,supplier,unit_cost,is_preferred\nHAM-1,northwind,5.00,true\n")
    assert result.written and result.inserted == 1
    assert await _preferred(database) == {"Acme": ("4.00", False), "Northwind": ("5.00", True)}
    # Swapped back by two updates in one file (the flag is cleared before it is set, whatever the rows' order);
    # a column the file lacks (is_preferred) is left as it is.
    swap = "sku,supplier,unit_cost,is_preferred\nHAM-1,Acme,4.00,true\nHAM-1,Northwind,5.00,false\n"
    assert (await _import(database, "offers", swap, mode="upsert")).updated == 2
    assert await _preferred(database) == {"Acme": ("4.00", True), "Northwind": ("5.00", False)}
    costs = await _import(database, "offers", "sku,supplier,unit_cost\nHAM-1,Northwind,5.50\n", mode="upsert")
    assert costs.updated == 1
    assert await _preferred(database) == {"Acme": ("4.00", True), "Northwind": ("5.50", False)}
    twice = "sku,supplier,unit_cost,is_preferred\nSAW-1,Acme,1.00,true\nSAW-1,Northwind,1.00,true\n"
    refused = await _import(database, "offers", twice)
    assert [(e.row, e.column) for e in refused.errors] == [(3, "is_preferred")]
