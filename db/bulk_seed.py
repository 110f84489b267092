"""A large generated dataset of any size for benchmarks: categories three levels deep, suppliers and their
offers, products, warehouses and a stock ledger, loaded by COPY (PostgreSQL) or executemany (SQLite).

The rows depend only on the sizes and the seed. The ledger is consistent the way the API keeps it: each
(product, warehouse) opens with a receipt, `balance_after` runs on per pair in id order and never goes
below zero, stock levels are the sums, and receipts are at the preferred supplier's cost (what
`receive_stock` defaults to), so a product's average cost is that cost.
"""

import itertools
import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Category, InventoryTransaction, Product, ProductSupplier, StockLevel, Supplier, Warehouse

# Rows go to the database in batches of this many: one COPY or one executemany each.
BATCH_ROWS = 50_000
# The catalog was set up at CATALOG_AT; the ledger runs evenly from LEDGER_START over LEDGER_DAYS.
CATALOG_AT = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
LEDGER_START = datetime(2025, 1, 2, 7, 0, tzinfo=UTC)
LEDGER_DAYS = 365

ProgressCallback = Callable[[str, int], None]


@dataclass(frozen=True)
class BulkSpec:
    """How many of each to generate, and the seed that makes the rows reproducible."""

    products: int
    suppliers: int = 500
    categories: int = 300
    warehouses: int = 5
    transactions: int = 1_000_000
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("products", "suppliers", "categories", "warehouses"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.transactions < 0:
            raise ValueError("transactions must not be negative")


@dataclass(frozen=True)
class TableRows:
    """Rows for one table, as tuples in the order of `columns`."""

    table: Table
    columns: tuple[str, ...]
    rows: Iterable[tuple[Any, ...]]


# Every table the dataset fills, in the order it is loaded (parents before children).
TABLES: tuple[Table, ...] = tuple(
    m.__table__  # type: ignore[attr-defined]
    for m in (Category, Supplier, Warehouse, Product, ProductSupplier, InventoryTransaction, StockLevel)
)

_COLUMNS: dict[str, tuple[str, ...]] = {
    "categories": ("id", "name", "slug", "description", "parent_id", "created_at", "updated_at"),
    "suppliers": ("id", "name", "email", "phone", "website", "address", "is_active", "created_at", "updated_at"),
    "warehouses": ("id", "code", "name", "address", "is_active", "created_at", "updated_at"),
    "products": (
        "id",
        "sku",
        "name",
        "description",
        "unit_price",
        "category_id",
        "reorder_point",
        "reorder_quantity",
        "is_active",
        "average_cost",
        "created_at",
        "updated_at",
    ),
    "product_suppliers": (
        "id",
        "product_id",
        "supplier_id",
        "supplier_sku",
        "unit_cost",
        "lead_time_days",
        "is_preferred",
        "created_at",
        "updated_at",
    ),
    "inventory_transactions": (
        "id",
        "product_id",
        "warehouse_id",
        "kind",
        "quantity",
        "balance_after",
        "unit_cost",
        "reference",
        "note",
        "created_at",
    ),
    "stock_levels": ("product_id", "warehouse_id", "quantity", "updated_at"),
}

# fmt: off
_DEPARTMENTS = (
    "Electronics", "Hardware", "Garden", "Office", "Kitchen", "Automotive", "Sports", "Toys", "Health", "Apparel",
    "Books", "Pet Supplies", "Lighting", "Plumbing", "Furniture", "Music", "Crafts", "Outdoor", "Baby", "Beauty",
)
_QUALIFIERS = (
    "Power", "Hand", "Smart", "Compact", "Professional", "Outdoor", "Indoor", "Portable", "Heavy-Duty", "Wireless",
    "Classic", "Modular", "Travel", "Premium", "Budget", "Eco", "Industrial", "Home", "Mini", "Large",
)
_NOUNS = (
    "Tools", "Storage", "Cables", "Lamps", "Chairs", "Desks", "Pumps", "Filters", "Bags", "Cases", "Mats", "Racks",
    "Fans", "Heaters", "Brushes", "Boxes", "Sensors", "Speakers", "Mounts", "Kits", "Bottles", "Gloves", "Clamps",
    "Hoses", "Ladders", "Shelves", "Timers", "Scales", "Trays", "Covers",
)
_BRANDS = (
    "Acme", "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell",
    "Cyberdyne", "Hooli", "Vandelay", "Soylent", "Wonka", "Gringotts", "Oscorp", "Monarch", "Aperture", "Massive",
    "Vortex", "Zenith", "Apex", "Nimbus", "Orion", "Polaris", "Quasar", "Summit", "Titan", "Vertex",
)
_ITEMS = (
    "Drill", "Saw", "Hammer", "Wrench", "Lamp", "Chair", "Desk", "Pump", "Filter", "Backpack", "Case", "Mat", "Rack",
    "Fan", "Heater", "Brush", "Box", "Sensor", "Speaker", "Mount", "Kit", "Bottle", "Glove", "Clamp", "Hose",
    "Ladder", "Shelf", "Timer", "Scale", "Tray", "Cover", "Router", "Switch", "Monitor", "Keyboard", "Mouse",
    "Charger", "Battery", "Cable", "Adapter", "Blender", "Kettle", "Toaster", "Pan", "Knife", "Tent", "Lantern",
    "Helmet", "Jacket", "Boot",
)
_SUPPLIER_SUFFIXES = ("Ltd", "GmbH", "Inc", "Supply Co", "Trading", "Wholesale", "Distribution", "Group")
_CITIES = (
    "Rotterdam", "Leipzig", "Lyon", "Milan", "Porto", "Gdansk", "Brno", "Ghent", "Aarhus", "Graz", "Tampere",
    "Bilbao", "Cork", "Turin", "Malmo", "Basel",
)
# fmt: on


def table_columns(table: Table) -> tuple[str, ...]:
    return _COLUMNS[table.name]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _distinct(rand: Callable[[], float], n: int, k: int) -> list[int]:
    """min(k, n) different numbers from 1 to n, in the order drawn (k is small, n usually large)."""
    chosen: list[int] = []
    while len(chosen) < min(k, n):
        pick = 1 + int(rand() * n)
        if pick not in chosen:
            chosen.append(pick)
    return chosen


class Dataset:
    """The generated rows, table by table; each table's rows must be consumed before the next table's
    (the ledger decides the stock levels)."""

    def __init__(self, spec: BulkSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self._leaves: list[int] = []
        self._branches: list[int] = []
        self._preferred_cost: list[Decimal] = []
        self._reorder_point: list[int] = []
        self._reorder_quantity: list[int] = []
        # (product, warehouse) pairs that get an opening receipt, in the order they get it.
        self._homes: list[tuple[int, int]] = []
        self._levels: dict[tuple[int, int], list[Any]] = {}

    def tables(self) -> Iterator[TableRows]:
        """Each table's rows in load order; generated lazily, as the loader asks for them."""
        yield self._rows(Category.__table__, self._categories())  # type: ignore[arg-type]
        yield self._rows(Supplier.__table__, self._suppliers())  # type: ignore[arg-type]
        yield self._rows(Warehouse.__table__, self._warehouses())  # type: ignore[arg-type]
        # Offers decide the preferred cost, which products need for their average cost: generate both first.
        products, offers = self._products_and_offers()
        yield self._rows(Product.__table__, products)  # type: ignore[arg-type]
        yield self._rows(ProductSupplier.__table__, offers)  # type: ignore[arg-type]
        yield self._rows(InventoryTransaction.__table__, self._ledger())  # type: ignore[arg-type]
        yield self._rows(StockLevel.__table__, self._stock_levels())  # type: ignore[arg-type]

    def _rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> TableRows:
        return TableRows(table, table_columns(table), rows)

    # --- catalog ----------------------------------------------------------------------------------

    def _categories(self) -> Iterator[tuple[Any, ...]]:
        """Roots, then their subcategories, then leaves under those: three levels, names unique among siblings."""
        rng, total = self.rng, self.spec.categories
        roots = max(1, total // 50)
        rest = total - roots
        middle = min(rest, max(1, rest // 7)) if rest else 0
        leaves = rest - middle
        at = CATALOG_AT
        taken: set[tuple[int, str]] = set()
        next_id = 0

        def make(parent_id: int | None, base: str) -> tuple[Any, ...]:
            nonlocal next_id
            next_id += 1
            name, n = base, 1
            while (parent_id or 0, name.lower()) in taken:
                n += 1
                name = f"{base} {n}"
            taken.add((parent_id or 0, name.lower()))
            description = f"{name} and related products." if rng.random() < 0.5 else None
            return (next_id, name, f"{_slug(name)}-{next_id}", description, parent_id, at, at)

        root_ids = []
        for i in range(roots):
            row = make(None, _DEPARTMENTS[i % len(_DEPARTMENTS)])
            root_ids.append(row[0])
            yield row
        for i in range(middle):
            row = make(root_ids[i % roots], f"{rng.choice(_QUALIFIERS)} {rng.choice(_NOUNS)}")
            self._branches.append(row[0])
            yield row
        for i in range(leaves):
            row = make(self._branches[i % middle], f"{rng.choice(_QUALIFIERS)} {rng.choice(_NOUNS)}")
            self._leaves.append(row[0])
            yield row

    def _suppliers(self) -> Iterator[tuple[Any, ...]]:
        rng, at = self.rng, CATALOG_AT
        taken: set[str] = set()
        for sid in range(1, self.spec.suppliers + 1):
            base = f"{rng.choice(_BRANDS)} {rng.choice(_NOUNS)} {rng.choice(_SUPPLIER_SUFFIXES)}"
            name, n = base, 1
            while name.lower() in taken:
                n += 1
                name = f"{base} {n}"
            taken.add(name.lower())
            domain = _slug(name).replace("-", "")[:40]
            yield (
                sid,
                name,
                f"orders@{domain}.example",
                f"+31 10 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                f"https://{domain}.example",
                f"{rng.randint(1, 300)} Harbour Road, {rng.choice(_CITIES)}",
                rng.random() < 0.95,
                at,
                at,
            )

    def _warehouses(self) -> Iterator[tuple[Any, ...]]:
        at = CATALOG_AT
        for wid in range(1, self.spec.warehouses + 1):
            city = _CITIES[(wid - 1) % len(_CITIES)]
            name = city if wid <= len(_CITIES) else f"{city} {wid}"
            yield (wid, f"WH{wid:02d}", f"{name} Warehouse", f"{wid} Depot Street, {city}", True, at, at)

    def _products_and_offers(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        spec, rand = self.spec, self.rng.random
        # With too few categories for three levels, products go to the deepest level there is.
        leaves = self._leaves or self._branches or [1]
        branches = self._branches or leaves
        created_step = timedelta(days=1) / max(spec.products, 1)
        products: list[tuple[Any, ...]] = []
        offers: list[tuple[Any, ...]] = []
        offer_id = 0
        # random.randint costs a microsecond a call, a tenth of the whole row: int(rand() * n) it is.
        for pid in range(1, spec.products + 1):
            price = 199 + int(rand() * 99_800)
            reorder_point = 0 if rand() < 0.1 else 5 + int(rand() * 36)
            reorder_quantity = max(10, reorder_point * (2 + int(rand() * 4)))
            at = CATALOG_AT + created_step * pid
            suppliers = _distinct(rand, spec.suppliers, (1, 1, 2, 2, 2, 3, 3, 4)[int(rand() * 8)])
            preferred_cost = 0
            for rank, sid in enumerate(suppliers):
                offer_id += 1
                cost = max(1, price * (45 + int(rand() * 36)) // 100)
                if rank == 0:
                    preferred_cost = cost
                offers.append(
                    (offer_id, pid, sid, f"S{sid}-{pid:07d}", _money(cost), 1 + int(rand() * 30), rank == 0, at, at)
                )
            # Homes get their opening receipts in product order; a ledger too short for all leaves the
            # last products without stock, and so without an average cost.
            opened = len(self._homes) < spec.transactions
            self._homes.extend((pid, wid) for wid in _distinct(rand, spec.warehouses, 1 + int(rand() * 3)))
            cost_decimal = _money(preferred_cost)
            self._preferred_cost.append(cost_decimal)
            self._reorder_point.append(reorder_point)
            self._reorder_quantity.append(reorder_quantity)
            category = leaves[int(rand() * len(leaves))] if rand() < 0.9 else branches[int(rand() * len(branches))]
            name = (
                f"{_BRANDS[int(rand() * len(_BRANDS))]} {_QUALIFIERS[int(rand() * len(_QUALIFIERS))]} "
                f"{_ITEMS[int(rand() * len(_ITEMS))]} {chr(65 + int(rand() * 26))}-{100 + int(rand() * 900)}"
            )
            description = f"{name}, sold by the piece." if rand() < 0.5 else None
            products.append(
                (
                    pid,
                    f"BLK-{pid:07d}",
                    name,
                    description,
                    _money(price),
                    category,
                    reorder_point,
                    reorder_quantity,
                    rand() < 0.97,
                    cost_decimal if opened else Decimal(0),
                    at,
                    at,
                )
            )
        return products, offers

    # --- stock ----------------------------------------------------------------------------------

    def _ledger(self) -> Iterator[tuple[Any, ...]]:
        """Opening receipts for every home, then a year of shipments, replenishments, counts, returns
        and transfers, picked with a skew so that some products move far more than others."""
        spec, rand = self.spec, self.rng.random
        total = spec.transactions
        levels = self._levels
        cost, point, batch = self._preferred_cost, self._reorder_point, self._reorder_quantity
        step = timedelta(days=LEDGER_DAYS) / max(total, 1)
        at = LEDGER_START
        homes = self._homes[:total]
        entry = 0
        for pid, wid in homes:
            entry += 1
            at += step
            quantity = max(1, int(point[pid - 1] * (1.5 + 2.5 * rand()))) + int(rand() * 11)
            levels[(pid, wid)] = [quantity, at]
            yield (entry, pid, wid, "RECEIPT", quantity, quantity, cost[pid - 1], None, "Opening stock", at)
        count = len(homes)
        warehouses = spec.warehouses
        while entry < total:
            pid, wid = homes[int(count * rand() * rand())]
            level = levels[(pid, wid)]
            on_hand = level[0]
            entry += 1
            at += step
            r = rand()
            if r < 0.12 and on_hand > 0 and warehouses > 1 and entry < total:
                target = 1 + int(rand() * (warehouses - 1))
                target += target >= wid
                moved = max(1, on_hand // 3)
                reference = f"TR-{entry:08d}"
                level[0] = on_hand = on_hand - moved
                level[1] = at
                yield (entry, pid, wid, "TRANSFER_OUT", -moved, on_hand, None, reference, "Rebalancing stock", at)
                other = levels.get((pid, target))
                if other is None:
                    other = levels[(pid, target)] = [0, at]
                entry += 1
                other[0] += moved
                other[1] = at
                yield (entry, pid, target, "TRANSFER_IN", moved, other[0], None, reference, "Rebalancing stock", at)
                continue
            if r < 0.20:
                change = max((-2, -1, -1, 1, 2)[int(rand() * 5)], -on_hand) or 1
                kind, unit_cost, reference, note = "ADJUSTMENT", None, None, "Cycle count"
            elif r < 0.27:
                change = 1 + int(rand() * 3)
                kind, unit_cost, reference, note = "RETURN", None, f"RMA-{entry:08d}", None
            elif on_hand == 0 or (on_hand <= point[pid - 1] and rand() < 0.5):
                change = batch[pid - 1]
                kind, unit_cost, reference, note = "RECEIPT", cost[pid - 1], f"RCV-{entry:08d}", None
            else:
                change = -min(on_hand, 1 + int(rand() * (point[pid - 1] // 3 + 1)))
                kind, unit_cost, reference, note = "SHIPMENT", None, f"SO-{entry:08d}", None
            level[0] = on_hand = on_hand + change
            level[1] = at
            yield (entry, pid, wid, kind, change, on_hand, unit_cost, reference, note, at)

    def _stock_levels(self) -> Iterator[tuple[Any, ...]]:
        for (pid, wid), (quantity, at) in sorted(self._levels.items()):
            yield (pid, wid, quantity, at)


# --- loading --------------------------------------------------------------------------------------


async def occupied_tables(session: AsyncSession) -> list[str]:
    """The tables the dataset fills that already hold rows (it loads only into empty ones)."""
    occupied = []
    for table in TABLES:
        if await session.scalar(select(select(text("1")).select_from(table).exists())):
            occupied.append(table.name)
    return occupied


async def load(
    session: AsyncSession, tables: Iterable[TableRows], *, on_loaded: ProgressCallback | None = None
) -> dict[str, int]:
    """Insert every table's rows in batches: COPY on PostgreSQL, executemany of one INSERT on SQLite.

    The rows carry their ids; afterwards PostgreSQL's id sequences are moved past them. Runs in the
    session's transaction; returns the rows inserted per table.
    """
    conn = await session.connection()
    postgres = conn.dialect.name == "postgresql"
    # The first statement opens the transaction that COPY, sent straight to the driver, joins.
    await conn.execute(select(1))
    raw = (await conn.get_raw_connection()).driver_connection if postgres else None
    counts: dict[str, int] = {}
    for part in tables:
        rows, done = iter(part.rows), 0
        while True:
            if raw is not None:
                status = await raw.copy_records_to_table(
                    part.table.name, records=itertools.islice(rows, BATCH_ROWS), columns=list(part.columns)
                )
                n = int(status.rsplit(" ", 1)[-1])
            else:
                batch = list(itertools.islice(rows, BATCH_ROWS))
                n = len(batch)
                if n:
                    columns = part.columns
                    await conn.execute(insert(part.table), [dict(zip(columns, row, strict=True)) for row in batch])
            if not n:
                break
            done += n
            if on_loaded is not None:
                on_loaded(part.table.name, n)
        counts[part.table.name] = done
    if postgres:
        for table in TABLES:
            if "id" in table.c:
                await conn.execute(
                    select(
                        func.setval(
                            func.pg_get_serial_sequence(table.name, "id"),
                            func.coalesce(select(func.max(table.c.id)).scalar_subquery(), 0) + 1,
                            False,
                        )
                    )
                )
    return counts


async def seed_bulk(
    session: AsyncSession, *, spec: BulkSpec, on_loaded: ProgressCallback | None = None
) -> dict[str, int]:
    """Generate the dataset of `spec` and load it as it is generated; the rows inserted per table.

    The caller checks that the tables are empty (`occupied_tables`) and commits.
    """
    return await load(session, Dataset(spec).tables(), on_loaded=on_loaded)


def materialize(spec: BulkSpec) -> list[TableRows]:
    """The whole dataset generated up front, as lists: for timing the insert of the same rows alone."""
    return [TableRows(part.table, part.columns, list(part.rows)) for part in Dataset(spec).tables()]


async def analyze(session: AsyncSession) -> None:
    """Refresh the planner's statistics after a bulk load."""
    await session.execute(text("ANALYZE"))
