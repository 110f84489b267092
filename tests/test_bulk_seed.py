"""The generated benchmark dataset: the same rows for the same seed, a ledger consistent with the stock
levels, loaded in bulk into empty tables only, and `inventory seed --products`."""

from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from db import bulk_seed, stock
from db.bulk_seed import BulkSpec, materialize
from db.engine import Database
from db.models import Category, InventoryTransaction, Product, StockLevel
from graph.cli import app

SPEC = BulkSpec(products=300, suppliers=20, categories=40, warehouses=3, transactions=4_000, seed=7)


def _rows(spec: BulkSpec) -> dict[str, list[tuple]]:
    return {part.table.name: list(part.rows) for part in materialize(spec)}


def test_the_same_seed_gives_the_same_rows() -> None:
    assert _rows(SPEC) == _rows(SPEC)
    other = _rows(BulkSpec(**{**SPEC.__dict__, "seed": 8}))
    assert other["products"] != _rows(SPEC)["products"]


def test_the_dataset_has_the_sizes_asked_for_and_a_three_level_tree() -> None:
    rows = _rows(SPEC)
    assert len(rows["products"]) == 300
    assert len(rows["suppliers"]) == 20
    assert len(rows["warehouses"]) == 3
    assert len(rows["inventory_transactions"]) == 4_000
    parents = {row[0]: row[4] for row in rows["categories"]}
    assert len(parents) == 40

    def depth(category_id: int) -> int:
        return 1 if parents[category_id] is None else 1 + depth(parents[category_id])

    assert {depth(c) for c in parents} == {1, 2, 3}
    assert all(row[5] in parents for row in rows["products"])
    names = Counter((row[4], row[1].lower()) for row in rows["categories"])
    assert max(names.values()) == 1  # unique among siblings
    assert len({row[1].lower() for row in rows["suppliers"]}) == 20


def test_offers_have_one_preferred_supplier_whose_cost_is_the_average_cost() -> None:
    rows = _rows(SPEC)
    offers = defaultdict(list)
    for row in rows["product_suppliers"]:
        offers[row[1]].append(row)
    stocked = {row[1] for row in rows["inventory_transactions"]}
    for product in rows["products"]:
        mine = offers[product[0]]
        assert 1 <= len(mine) <= 4
        assert len({o[2] for o in mine}) == len(mine)
        preferred = [o for o in mine if o[6]]
        assert len(preferred) == 1
        assert product[9] == (preferred[0][4] if product[0] in stocked else Decimal(0))


def test_the_ledger_runs_on_per_product_and_warehouse_and_the_levels_are_its_sums() -> None:
    rows = _rows(SPEC)
    balances: dict[tuple[int, int], int] = {}
    last_at = None
    for _id, pid, wid, kind, quantity, balance, *_rest, at in rows["inventory_transactions"]:
        assert quantity != 0
        balance_before = balances.get((pid, wid), 0)
        if (pid, wid) not in balances:
            assert kind in ("RECEIPT", "TRANSFER_IN")
        assert balance == balance_before + quantity >= 0
        balances[(pid, wid)] = balance
        assert last_at is None or at >= last_at
        last_at = at
    assert [row[0] for row in rows["inventory_transactions"]] == list(range(1, 4_001))
    assert {(pid, wid): q for pid, wid, q, _at in rows["stock_levels"]} == balances
    kinds = Counter(row[3] for row in rows["inventory_transactions"])
    assert set(kinds) == {"RECEIPT", "SHIPMENT", "ADJUSTMENT", "RETURN", "TRANSFER_IN", "TRANSFER_OUT"}
    assert kinds["TRANSFER_IN"] == kinds["TRANSFER_OUT"]


def test_a_ledger_shorter_than_the_opening_receipts_leaves_the_last_products_without_stock() -> None:
    rows = _rows(BulkSpec(products=50, suppliers=5, categories=1, warehouses=2, transactions=10))
    assert len(rows["inventory_transactions"]) == 10
    assert all(row[3] == "RECEIPT" for row in rows["inventory_transactions"])
    assert rows["products"][-1][9] == Decimal(0)
    assert {row[5] for row in rows["products"]} == {1}  # a single category takes every product


async def test_bulk_load_matches_the_ledger_and_leaves_ids_to_the_api(database: Database) -> None:
    async with database.write_session() as session, session.begin():
        assert await bulk_seed.occupied_tables(session) == []
        counts = await bulk_seed.seed_bulk(session, spec=SPEC)
    assert counts["products"] == 300
    assert counts["inventory_transactions"] == 4_000
    async with database.write_session() as session, session.begin():
        assert await stock.audit(session) == []
        assert await session.scalar(select(func.count()).select_from(StockLevel)) == counts["stock_levels"]
        assert await bulk_seed.occupied_tables(session) == [t.name for t in bulk_seed.TABLES]
        # The next id the database hands out follows the loaded ones (PostgreSQL's sequences were moved).
        category = Category(name="Added later", slug="added-later")
        session.add(category)
        await session.flush()
        assert category.id == 41
    async with database.read_session() as session:
        last = await session.scalar(select(func.max(InventoryTransaction.id)))
        average = await session.scalar(select(Product.average_cost).where(Product.id == 1))
    assert last == 4_000
    assert average == _rows(SPEC)["products"][0][9]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("INVENTORY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def test_seed_products_loads_into_empty_tables_only(cli: CliRunner) -> None:
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    sizes = ["--products", "40", "--suppliers", "5", "--categories", "6", "--transactions", "300"]
    first = cli.invoke(app, ["seed", *sizes])
    assert first.exit_code == 0, first.output
    assert "Loaded " in first.output and "rows/s" in first.output
    second = cli.invoke(app, ["seed", "--products", "40"])
    assert second.exit_code == 1
    assert "already hold rows" in second.output
    assert cli.invoke(app, ["audit"]).exit_code == 0


def test_seed_takes_the_demo_or_a_size_not_both(cli: CliRunner) -> None:
    assert cli.invoke(app, ["seed", "--demo", "--products", "10"]).exit_code == 2
