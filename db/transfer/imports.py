"""CSV import: every row checked by the mutations' own rules (db/catalog.py, db/stock.py), rows referring to
others by natural keys, then the good rows written in bulk statements.

Nothing is written until every row has been checked: the caller's transaction then holds all of the file or,
with `skip_invalid`, all of its good rows.
"""

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import changes as change_log
from db import locks, stock
from db.catalog import (
    KEEP,
    _category_changes,
    _offer_changes,
    _product_changes,
    _slugify,
    _supplier_changes,
)
from db.errors import DomainError
from db.models import Category, InventoryTransaction, Product, ProductSupplier, Supplier, Warehouse
from db.transfer import csvfile
from db.transfer.csvfile import CellError, FileProblem, Row, RowError, Table
from db.transfer.formats import FORMATS, PATH_SEPARATOR
from db.warehouses import warehouse_fields

# Keys per IN (...) list: far below asyncpg's 32,767 parameters.
CHUNK = 5_000
# Taken by every stock import: the check that a row is not imported yet and its receipt are one step.
STOCK_IMPORT_LOCK = "stock import"
# The column a rejected rows' file adds to its kind's columns.
REJECTED_COLUMN = "error"


@dataclass
class ImportResult:
    """What an import found and did (`written` is False on a dry run or when errors kept everything out)."""

    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected: list[Row] = field(default_factory=list)
    written: bool = False
    # The columns of the file as its header names them, in its order (a rejected rows' file keeps them).
    header: list[str] = field(default_factory=list)


Progress = Callable[[int], None]


class _Rows:
    """The rows of one import, each either accepted (with what to write) or rejected with its errors."""

    def __init__(self, kind: str, result: ImportResult, progress: Progress) -> None:
        self.fields = FORMATS[kind].fields
        self.result = result
        self.progress = progress
        self.failed: dict[int, list[RowError]] = {}

    def fail(self, row: Row, column: str | None, message: str, code: str = "INVALID") -> None:
        self.failed.setdefault(row.number, []).append(RowError(row.number, column, message, code))

    def refused(self, row: Row, error: DomainError) -> None:
        for problem in csvfile.column_errors(row.number, error, self.fields):
            self.failed.setdefault(row.number, []).append(problem)

    def ok(self, row: Row) -> bool:
        return row.number not in self.failed

    def finish(self, rows: list[Row]) -> None:
        for row in rows:
            errors = self.failed.get(row.number)
            if errors:
                self.result.errors.extend(errors)
                self.result.rejected.append(row)


def _cells(rows: _Rows, row: Row, read: dict[str, Callable[[], Any]]) -> dict[str, Any] | None:
    """Each column's value read by its notation; None (the row failed) when a cell is no such value."""
    values: dict[str, Any] = {}
    for column, reader in read.items():
        try:
            values[column] = reader()
        except CellError as error:
            rows.fail(row, error.column, error.message)
    if len(row.cells) > len(row.values):
        rows.fail(row, None, f"The row has {len(row.cells)} cells; the header names {len(row.values)} columns.")
    return values if rows.ok(row) else None


async def _by_key(
    session: AsyncSession, columns: Iterable[Any], key: ColumnElement[Any], keys: Iterable[Any]
) -> dict[Any, Any]:
    """The rows whose `key` is among `keys`, by key, read in chunks."""
    found: dict[Any, Any] = {}
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for row in await session.execute(select(key.label("key"), *columns).where(key.in_(chunk))):
            found[row.key] = row
    return found


def _changed(existing: Any, values: dict[str, Any], header: Iterable[str]) -> dict[str, Any]:
    """The values that differ from an existing row's, among the file's columns: an update leaves the columns
    a file does not have as they are."""
    columns = {"category_id" if column == "category" else column for column in header}
    return {
        name: value for name, value in values.items() if name in columns and getattr(existing, name) != value
    }


def read_table(kind: str, content: bytes, *, name: str) -> Table:
    """A CSV file of `kind` as a table; FileProblem for a file that cannot be read."""
    spec = FORMATS[kind]
    # A rejected rows' file (--skip-invalid) imports once corrected: its error column is not read.
    return csvfile.parse(content, name=name, required=spec.required, optional=(*spec.optional, REJECTED_COLUMN))


def table_of(kind: str, records: list[dict[str, Any]]) -> Table:
    """Rows given as values by column rather than as a file (the API's input objects), as the table of the file
    that holds them: each value in the files' notation, the rows numbered as below a header (as a file's rows
    are), the header naming the columns any record gives."""
    header = [column for column in FORMATS[kind].columns if any(column in record for record in records)]
    rows = []
    for index, record in enumerate(records):
        cells = [_notation(record.get(column)) for column in header]
        rows.append(Row(index + 2, {c: cell.strip() or None for c, cell in zip(header, cells, strict=True)}, cells))
    return Table(header, rows)


def _notation(value: Any) -> str:
    # A Decimal as digits and a point: str() may write an exponent, which no money cell may have.
    return format(value, "f") if isinstance(value, Decimal) else csvfile.cell(value)


async def import_rows(
    session: AsyncSession, *, kind: str, content: bytes, name: str, **options: Any
) -> ImportResult:
    """`import_table` of a CSV file. FileProblem for a file that cannot be read."""
    return await import_table(session, kind=kind, table=read_table(kind, content, name=name), **options)


async def import_table(
    session: AsyncSession,
    *,
    kind: str,
    table: Table,
    mode: str = "insert",
    warehouse: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    created_by_id: int | None = None,
    progress: Progress = lambda _n: None,
    counted: Progress = lambda _n: None,
) -> ImportResult:
    """Check every row of a table of `kind` and, unless a row failed (and `skip_invalid` is off) or this is
    a dry run, write the good rows in the session's transaction (what it creates or changes recorded as
    `created_by_id`'s). `counted` is told the number of rows, `progress` each row checked."""
    result = ImportResult(rows=len(table.rows), header=table.header)
    counted(result.rows)
    rows = _Rows(kind, result, progress)
    importer = _IMPORTERS[kind]
    write = await importer(
        session, table.rows, rows, mode=mode, warehouse=warehouse, header=table.header, created_by_id=created_by_id
    )
    rows.finish(table.rows)
    if dry_run or (result.errors and not skip_invalid):
        return result
    await write()
    result.written = True
    return result


# --- categories ---------------------------------------------------------------------------------


def _path_key(names: Iterable[str]) -> str:
    return PATH_SEPARATOR.join(names).lower()


async def category_paths(session: AsyncSession) -> dict[int, list[str]]:
    """Every category's path (its ancestors' names and its own), by id."""
    parents = {row.id: (row.name, row.parent_id) for row in await session.execute(
        select(Category.id, Category.name, Category.parent_id)
    )}
    paths: dict[int, list[str]] = {}

    def path(category_id: int) -> list[str]:
        if category_id not in paths:
            name, parent_id = parents[category_id]
            paths[category_id] = [*([] if parent_id is None else path(parent_id)), name]
        return paths[category_id]

    for category_id in parents:
        path(category_id)
    return paths


async def _import_categories(
    session: AsyncSession, table: list[Row], rows: _Rows, *, mode: str, header: list[str], **_: Any
) -> Any:
    existing = {
        c.id: c for c in await session.execute(select(Category.id, Category.slug, Category.description))
    }
    by_path = {_path_key(names): category_id for category_id, names in (await category_paths(session)).items()}
    slugs = {c.slug: c.id for c in existing.values()}
    new: list[tuple[list[str], dict[str, Any]]] = []
    updates: list[dict[str, Any]] = []
    in_file: set[str] = set()
    for row in table:
        rows.progress(1)
        values = _cells(rows, row, {})
        if values is None:
            continue
        path = row.values["path"] or ""
        names = [part.strip() for part in path.split(PATH_SEPARATOR)]
        if any(not part for part in names):
            rows.fail(row, "path", f"`path` must be category names joined by “{PATH_SEPARATOR}” (got “{path}”).")
            continue
        try:
            fields = _category_changes(
                name=names[-1], slug=row.values.get("slug") or KEEP, description=row.values.get("description")
            )
        except DomainError as error:
            rows.refused(row, error)
            continue
        key = _path_key(names)
        parent = _path_key(names[:-1])
        if key in in_file:
            rows.fail(row, "path", f"Category “{path}” appears in an earlier row too.")
            continue
        if len(names) > 1 and parent not in by_path and parent not in in_file:
            rows.fail(row, "path", f"There is no category “{PATH_SEPARATOR.join(names[:-1])}”: "
                                   "list a category before its subcategories.")
            continue
        current = by_path.get(key)
        if current is not None and mode == "insert":
            rows.fail(row, "path", f"Category “{path}” exists already (--mode upsert updates it).")
            continue
        slug = fields.get("slug")
        if slug is not None and slugs.get(slug, current) != current:
            rows.fail(row, "slug", f"Another category already has the slug “{slug}”.")
            continue
        in_file.add(key)
        if current is not None:
            changes = _changed(existing[current], {"description": fields["description"]} | (
                {"slug": slug} if slug is not None else {}
            ), header)
            if slug is not None:
                slugs.pop(existing[current].slug, None)
                slugs[slug] = current
            if changes:
                updates.append({"id": current, **changes})
            else:
                rows.result.unchanged += 1
            continue
        if slug is None:
            slug = base = _slugify(names[-1])
            n = 2
            while slug in slugs:
                slug, n = f"{base}-{n}", n + 1
        slugs[slug] = -row.number  # taken by this file's row
        new.append((names, {"name": names[-1], "slug": slug, "description": fields["description"]}))

    async def write() -> None:
        if updates:
            await session.execute(update(Category), updates)
        # Level by level: a level's parents have ids once the level above is in.
        for depth in sorted({len(names) for names, _ in new}):
            level = [(names, values) for names, values in new if len(names) == depth]
            params = [values | {"parent_id": by_path.get(_path_key(names[:-1]))} for names, values in level]
            ids = await session.scalars(
                insert(Category).returning(Category.id, sort_by_parameter_order=True), params
            )
            for (names, _values), category_id in zip(level, ids, strict=True):
                by_path[_path_key(names)] = category_id
        rows.result.inserted += len(new)
        rows.result.updated += len(updates)

    return write


# --- suppliers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Named:
    """A kind whose rows are keyed by one unique text column: suppliers by name (whatever the case),
    warehouses by code."""

    model: Any
    columns: tuple[str, ...]
    key: str
    # The mutations' rule for the row's fields (db/catalog.py, db/warehouses.py), given the columns' values.
    rules: Callable[..., dict[str, Any]]
    what: str

    def key_of(self, value: str) -> str:
        return value.lower()

    def stored_key(self) -> ColumnElement[Any]:
        return func.lower(getattr(self.model, self.key))


def _import_named(kind: _Named) -> Callable[..., Any]:
    async def importer(
        session: AsyncSession, table: list[Row], rows: _Rows, *, mode: str, header: list[str], **_: Any
    ) -> Any:
        model = kind.model
        keys = [kind.key_of(row.values[kind.key]) for row in table if row.values[kind.key]]
        existing = await _by_key(
            session, [model.id, *(getattr(model, c) for c in kind.columns)], kind.stored_key(), keys
        )
        new: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for row in table:
            rows.progress(1)
            v = row.values
            values = _cells(
                rows, row, {"is_active": lambda v=v: csvfile.flag("is_active", v.get("is_active"), default=True)}
            )
            if values is None:
                continue
            try:
                given = {c: v.get(c) for c in kind.columns if c != "is_active"}
                fields = kind.rules(**given, is_active=values["is_active"])
            except DomainError as error:
                rows.refused(row, error)
                continue
            key = kind.key_of(fields[kind.key])
            if key in seen:
                rows.fail(row, kind.key, f"{kind.what} “{fields[kind.key]}” appears in row {seen[key]} too.")
                continue
            seen[key] = row.number
            current = existing.get(key)
            if current is not None:
                if mode == "insert":
                    rows.fail(
                        row, kind.key,
                        f"{kind.what} “{getattr(current, kind.key)}” already exists (--mode upsert updates it).",
                    )
                    continue
                changes = _changed(current, fields, header)
                if changes:
                    updates.append({"id": current.id, **changes})
                else:
                    rows.result.unchanged += 1
            else:
                new.append(fields)

        async def write() -> None:
            if updates:
                await session.execute(update(model), updates)
            if new:
                await session.execute(insert(model), new)
            rows.result.inserted += len(new)
            rows.result.updated += len(updates)

        return write

    return importer


_import_suppliers = _import_named(
    _Named(Supplier, FORMATS["suppliers"].columns, "name", _supplier_changes, "Supplier")
)
_import_warehouses = _import_named(
    _Named(Warehouse, FORMATS["warehouses"].columns, "code", warehouse_fields, "Warehouse")
)


# --- products -----------------------------------------------------------------------------------


async def _import_products(
    session: AsyncSession,
    table: list[Row],
    rows: _Rows,
    *,
    mode: str,
    header: list[str],
    created_by_id: int | None,
    **_: Any,
) -> Any:
    columns = ("name", "description", "unit_price", "category_id", "reorder_point", "reorder_quantity", "is_active")
    existing = await _by_key(
        session, [Product.id, *(getattr(Product, c) for c in columns)], Product.sku,
        [row.values["sku"].upper() for row in table if row.values["sku"]],
    )
    categories = await category_paths(session)
    by_path = {_path_key(names): category_id for category_id, names in categories.items()}
    by_slug = {slug: category_id for slug, category_id in await session.execute(select(Category.slug, Category.id))}
    new: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in table:
        rows.progress(1)
        v = row.values
        values = _cells(rows, row, {
            "unit_price": lambda v=v: csvfile.money("unit_price", v["unit_price"]),
            "reorder_point": lambda v=v: csvfile.whole("reorder_point", v.get("reorder_point")),
            "reorder_quantity": lambda v=v: csvfile.whole("reorder_quantity", v.get("reorder_quantity")),
            "is_active": lambda v=v: csvfile.flag("is_active", v.get("is_active"), default=True),
        })
        if values is None:
            continue
        try:
            fields = _product_changes(
                sku=v["sku"], name=v["name"], description=v.get("description"), unit_price=values["unit_price"],
                reorder_point=0 if values["reorder_point"] is None else values["reorder_point"],
                reorder_quantity=0 if values["reorder_quantity"] is None else values["reorder_quantity"],
                is_active=values["is_active"],
            )
        except DomainError as error:
            rows.refused(row, error)
            fields = None
        category = v.get("category")
        category_id = None
        if category is not None:
            category_id = by_path.get(category.lower(), by_slug.get(category))
            if category_id is None:
                missing = f"There is no category with the path or slug “{category}”."
                rows.fail(row, "category", missing, "NOT_FOUND")
        if fields is None or not rows.ok(row):
            continue
        fields["category_id"] = category_id
        sku = fields.pop("sku")
        if sku in seen:
            rows.fail(row, "sku", f"SKU {sku} appears in row {seen[sku]} too.", "DUPLICATE")
            continue
        seen[sku] = row.number
        current = existing.get(sku)
        if current is not None:
            if mode == "insert":
                taken = f"Another product already has SKU {sku} (--mode upsert updates it)."
                rows.fail(row, "sku", taken, "DUPLICATE")
                continue
            changes = _changed(current, fields, header)
            if changes:
                updates.append({"id": current.id, **changes})
            else:
                rows.result.unchanged += 1
        else:
            new.append({"sku": sku, **fields})

    async def write() -> None:
        for changes in updates:
            changes["updated_by_id"] = created_by_id
        for values in new:
            # As createProduct: the creator is the last to have changed it, too.
            values["created_by_id"] = values["updated_by_id"] = created_by_id
        for start in range(0, len(updates), CHUNK):
            await session.execute(update(Product), updates[start : start + CHUNK])
        for start in range(0, len(new), CHUNK):
            await session.execute(insert(Product), new[start : start + CHUNK])
        rows.result.inserted += len(new)
        rows.result.updated += len(updates)
        await _log_products(session, existing, new, updates)

    return write


async def _log_products(
    session: AsyncSession, existing: dict[Any, Any], new: list[dict[str, Any]], updates: list[dict[str, Any]]
) -> None:
    """The change log's entries for the products an import created and changed (when the session says who acts),
    as createProduct and updateProduct log them."""
    if change_log.acting(session) is None:
        return
    ids = await _by_key(session, [Product.id], Product.sku, [values["sku"] for values in new])
    before = {current.id: current for current in existing.values()}
    entries: list[tuple[int, dict[str, Any] | None, dict[str, Any] | None]] = [
        (ids[values["sku"]].id, None, values) for values in new
    ]
    for changes in updates:
        names = [name for name in changes if name not in ("id", "updated_by_id")]
        old = before[changes["id"]]
        entries.append((changes["id"], {n: getattr(old, n) for n in names}, {n: changes[n] for n in names}))
    await change_log.record_many(session, Product, entries)


# --- supplier offers ----------------------------------------------------------------------------


async def _import_offers(
    session: AsyncSession, table: list[Row], rows: _Rows, *, mode: str, header: list[str], **_: Any
) -> Any:
    products = await _by_key(session, [Product.id], Product.sku,
                             [row.values["sku"].upper() for row in table if row.values["sku"]])
    suppliers = await _by_key(session, [Supplier.id], func.lower(Supplier.name),
                              [row.values["supplier"].lower() for row in table if row.values["supplier"]])
    offers: dict[tuple[int, int], Any] = {}
    product_ids = sorted({p.id for p in products.values()})
    for start in range(0, len(product_ids), CHUNK):
        chunk = product_ids[start : start + CHUNK]
        for offer in await session.execute(
            select(ProductSupplier.id, ProductSupplier.product_id, ProductSupplier.supplier_id,
                   ProductSupplier.supplier_sku, ProductSupplier.unit_cost, ProductSupplier.lead_time_days,
                   ProductSupplier.is_preferred).where(ProductSupplier.product_id.in_(chunk))
        ):
            offers[(offer.product_id, offer.supplier_id)] = offer
    new: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    seen: dict[tuple[int, int], int] = {}
    preferred: dict[int, tuple[int, int]] = {}  # product id: (supplier id, row)
    for row in table:
        rows.progress(1)
        v = row.values
        values = _cells(rows, row, {
            "unit_cost": lambda v=v: csvfile.money("unit_cost", v["unit_cost"]),
            "lead_time_days": lambda v=v: csvfile.whole("lead_time_days", v.get("lead_time_days")),
            "is_preferred": lambda v=v: csvfile.flag("is_preferred", v.get("is_preferred"), default=False),
        })
        product = products.get((v["sku"] or "").upper())
        supplier = suppliers.get((v["supplier"] or "").lower())
        if v["sku"] is not None and product is None:
            rows.fail(row, "sku", f"There is no product with SKU {v['sku']}.")
        elif v["sku"] is None:
            rows.fail(row, "sku", "`sku` is required.")
        if v["supplier"] is not None and supplier is None:
            rows.fail(row, "supplier", f"There is no supplier named “{v['supplier']}”.")
        elif v["supplier"] is None:
            rows.fail(row, "supplier", "`supplier` is required.")
        if values is None:
            continue
        try:
            fields = _offer_changes(
                unit_cost=values["unit_cost"], supplier_sku=v.get("supplier_sku"),
                lead_time_days=values["lead_time_days"] or 0, is_preferred=values["is_preferred"],
            )
        except DomainError as error:
            rows.refused(row, error)
            continue
        if not rows.ok(row):
            continue
        pair = (product.id, supplier.id)
        if pair in seen:
            rows.fail(row, "supplier", f"This supplier's terms for {v['sku'].upper()} are in row {seen[pair]} too.")
            continue
        if fields["is_preferred"] and product.id in preferred:
            rows.fail(row, "is_preferred", f"Row {preferred[product.id][1]} makes another supplier preferred for "
                                           f"{v['sku'].upper()}.")
            continue
        seen[pair] = row.number
        if fields["is_preferred"]:
            preferred[product.id] = (supplier.id, row.number)
        current = offers.get(pair)
        if current is not None:
            if mode == "insert":
                rows.fail(row, "supplier", f"Supplier “{v['supplier']}” has terms for {v['sku'].upper()} "
                                           "already (--mode upsert updates them).")
                continue
            changes = _changed(current, fields, header)
            if changes:
                updates.append({"id": current.id, **changes})
            else:
                rows.result.unchanged += 1
        else:
            new.append({"product_id": product.id, "supplier_id": supplier.id, **fields})

    async def write() -> None:
        # As set_product_supplier does: making an offer preferred un-prefers the product's others, first
        # (the partial unique index allows one preferred offer per product).
        updated = {u["id"] for u in updates}
        unprefer = [
            {"id": offer.id, "is_preferred": False}
            for (product_id, supplier_id), offer in offers.items()
            if offer.is_preferred and product_id in preferred and preferred[product_id][0] != supplier_id
            and offer.id not in updated
        ]
        losing = [u for u in updates if not u.get("is_preferred")]
        gaining = [u for u in updates if u.get("is_preferred")]
        for changes in (unprefer, losing, gaining):
            for start in range(0, len(changes), CHUNK):
                await session.execute(update(ProductSupplier), changes[start : start + CHUNK])
        for start in range(0, len(new), CHUNK):
            await session.execute(insert(ProductSupplier), new[start : start + CHUNK])
        rows.result.inserted += len(new)
        rows.result.updated += len(updates)

    return write


# --- opening stock ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StockRow:
    """A stock row whose product and warehouse were found and whose cells read as numbers."""

    row: Row
    product: Product
    warehouse: Warehouse
    quantity: int | None
    unit_cost: Decimal | None

    def receives(self) -> tuple[int, int, int | None, str]:
        """What the row receives, whatever the notation: product, warehouse, quantity, unit cost in cents."""
        cents = "" if self.unit_cost is None else format((self.unit_cost * 100).normalize(), "f")
        return self.product.id, self.warehouse.id, self.quantity, cents


def _receipt_references(stock_rows: Iterable[_StockRow]) -> list[str]:
    """The reference each row's RECEIPT carries: `import:` and a hash of what the row receives and of how many
    identical rows came before it in the file. A file's rows are thus known as imported whatever their order,
    spacing or notation, and each of several identical rows is received once."""
    seen: dict[tuple[Any, ...], int] = {}
    references = []
    for stock_row in stock_rows:
        receives = stock_row.receives()
        occurrence = seen[receives] = seen.get(receives, -1) + 1
        digest = hashlib.sha256("\x1f".join(map(str, (*receives, occurrence))).encode()).hexdigest()
        references.append(f"import:{digest[:32]}")
    return references


def _legacy_reference(row: Row) -> str:
    # The reference receipts were imported with before it was derived from what they receive (the row's number
    # and cells): a file imported then is still known when it is run again.
    digest = hashlib.sha256("\x1f".join([str(row.number), *row.cells]).encode()).hexdigest()
    return f"import:{digest[:32]}"


async def _import_stock(
    session: AsyncSession, table: list[Row], rows: _Rows, *, warehouse: str | None, created_by_id: int | None,
    **_: Any,
) -> Any:
    await locks.serialize(session, STOCK_IMPORT_LOCK)
    skus = [row.values["sku"].upper() for row in table if row.values["sku"]]
    products: dict[str, Product] = {}
    for start in range(0, len(skus), CHUNK):
        for product in await session.scalars(select(Product).where(Product.sku.in_(skus[start : start + CHUNK]))):
            products[product.sku] = product
    warehouses = {w.code.lower(): w for w in await session.scalars(select(Warehouse))}
    found = [
        stock_row for row in table
        if (stock_row := _stock_row(rows, row, products, warehouses, warehouse)) is not None
    ]
    references = _receipt_references(found)
    legacy = [_legacy_reference(stock_row.row) for stock_row in found]
    imported = set(await _by_key(session, [], InventoryTransaction.reference, [*references, *legacy]))
    balances = await stock.levels_of(session, sorted({stock_row.product.id for stock_row in found}))
    receipts: list[stock.Receipt] = []
    for stock_row, reference, legacy_reference in zip(found, references, legacy, strict=True):
        if reference in imported or legacy_reference in imported:
            rows.result.unchanged += 1
            continue
        try:
            receipt = stock.check_receipt(
                stock_row.product, stock_row.warehouse, quantity=stock_row.quantity, unit_cost=stock_row.unit_cost,
                reference=reference,
            )
        except DomainError as error:
            rows.refused(stock_row.row, error)
            continue
        # The level as the earlier accepted rows leave it: a row that would take it past the column's largest
        # value is refused by itself, before anything is written.
        pair = (receipt.product_id, receipt.warehouse_id)
        balance = balances.get(pair, 0) + receipt.quantity
        if balance > stock.MAX_LEVEL:
            where = f"{stock_row.product.sku} in {stock_row.warehouse.code}"
            rows.fail(stock_row.row, "quantity", f"{where} would exceed the largest stock level ({stock.MAX_LEVEL:,}).")
            continue
        balances[pair] = balance
        receipts.append(receipt)

    async def write() -> None:
        rows.result.inserted += await stock.receive_many(session, receipts, created_by_id=created_by_id)

    return write


def _stock_row(
    rows: _Rows, row: Row, products: dict[str, Product], warehouses: dict[str, Warehouse], default: str | None
) -> _StockRow | None:
    """The row with its product and warehouse found and its numbers read, or None (the row failed)."""
    rows.progress(1)
    v = row.values
    values = _cells(rows, row, {
        "quantity": lambda: csvfile.whole("quantity", v["quantity"]),
        "unit_cost": lambda: csvfile.money("unit_cost", v["unit_cost"]),
    })
    product = products.get((v["sku"] or "").upper())
    if product is None:
        if v["sku"] is None:
            rows.fail(row, "sku", "`sku` is required.")
        else:
            rows.fail(row, "sku", f"There is no product with SKU {v['sku']}.", "NOT_FOUND")
    code = v.get("warehouse") or default
    place = warehouses.get((code or "").lower())
    if place is None:
        if code is None:
            rows.fail(row, "warehouse", "`warehouse` is required (or --warehouse).")
        else:
            rows.fail(row, "warehouse", f"There is no warehouse with code {code}.", "NOT_FOUND")
    if values is None or product is None or place is None:
        return None
    return _StockRow(row, product, place, values["quantity"], values["unit_cost"])


_IMPORTERS = {
    "categories": _import_categories,
    "suppliers": _import_suppliers,
    "warehouses": _import_warehouses,
    "products": _import_products,
    "offers": _import_offers,
    "stock": _import_stock,
}

__all__ = ["FileProblem", "ImportResult", "RowError", "import_rows", "import_table", "read_table", "table_of"]
