"""Catalog write rules: create, change and delete categories, suppliers, products and supplier terms.

Error fields are named as the API's input fields (camelCase), since that is where users see them.
"""

import re
import unicodedata
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from enum import Enum
from typing import Any, Final, Literal, TypeVar

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import changes as change_log
from db.catalog_reads import subtree_ids
from db.errors import DomainError, Duplicate, FieldError, InUse, Invalid, InvalidInput, NotFound
from db.lengths import (
    MAX_ADDRESS_LENGTH,
    MAX_CATEGORY_NAME_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_SKU_LENGTH,
    MAX_SLUG_LENGTH,
    MAX_WEBSITE_LENGTH,
)
from db.models import (
    Category,
    InventoryTransaction,
    Product,
    ProductSupplier,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
    Supplier,
)


class _Keep(Enum):
    KEEP = "KEEP"


KEEP: Final = _Keep.KEEP
"""Default of every field an update function takes: leave the stored value as it is."""

Keep = Literal[_Keep.KEEP]
M = TypeVar("M", Category, Supplier, Product, ProductSupplier)

SKU_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,63}")
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MONEY_LIMIT = Decimal(10) ** 12
CENT = Decimal("0.01")
# What a price or a cost may be (Validator.money), in words for descriptions and messages.
MONEY_RULE = f"at least 0, below {MONEY_LIMIT:,}, with at most 2 decimal places"
MAX_QUANTITY = 1_000_000_000
MAX_LEAD_TIME_DAYS = 3650
SLUG_LENGTH = MAX_SLUG_LENGTH
# A generated slug leaves room for a "-N" suffix that makes it unique.
SLUG_BASE_LENGTH = SLUG_LENGTH - 10


class _Checks:
    """Validates the fields of one input, collecting every problem before raising them together.

    Each check returns the cleaned value, and passes KEEP through untouched.
    """

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)

    def text(self, field: str, value: Any, *, max_length: int | None = None, required: bool = True) -> Any:
        if value is KEEP:
            return KEEP
        cleaned = None if value is None else value.strip()
        if not cleaned:
            if required:
                self.fail(field, f"`{field}` is required." if value is None else f"`{field}` must not be blank.")
            return None
        if max_length is not None and len(cleaned) > max_length:
            self.fail(field, f"`{field}` must be at most {max_length:,} characters.")
        return cleaned

    def sku(self, field: str, value: Any) -> Any:
        cleaned = self.text(field, value, max_length=MAX_SKU_LENGTH)
        if cleaned is KEEP or cleaned is None:
            return cleaned
        cleaned = cleaned.upper()
        if len(cleaned) <= MAX_SKU_LENGTH and not SKU_PATTERN.fullmatch(cleaned):
            self.fail(
                field,
                f"`{field}` may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit.",
            )
        return cleaned

    def slug(self, field: str, value: Any) -> Any:
        cleaned = self.text(field, value, max_length=SLUG_LENGTH)
        if cleaned is KEEP or cleaned is None:
            return cleaned
        cleaned = cleaned.lower()
        if not SLUG_PATTERN.fullmatch(cleaned):
            self.fail(field, f"`{field}` must be lowercase letters and digits in words joined by single hyphens.")
        return cleaned

    def email(self, field: str, value: Any) -> Any:
        cleaned = self.text(field, value, max_length=MAX_EMAIL_LENGTH, required=False)
        if isinstance(cleaned, str) and not EMAIL_PATTERN.fullmatch(cleaned):
            self.fail(field, f"`{field}` is not an email address.")
        return cleaned

    def money(self, field: str, value: Any) -> Any:
        if value is KEEP:
            return KEEP
        if value is None:
            self.fail(field, f"`{field}` is required.")
            return None
        amount = Decimal(value)
        if not amount.is_finite():
            self.fail(field, f"`{field}` must be a number.")
        elif amount < 0:
            self.fail(field, f"`{field}` must not be negative.")
        elif amount >= MONEY_LIMIT:
            self.fail(field, f"`{field}` must be less than {MONEY_LIMIT:,}.")
        elif amount != amount.quantize(CENT):
            self.fail(field, f"`{field}` must have at most two decimal places.")
        else:
            return amount.quantize(CENT)
        return None

    def count(self, field: str, value: Any, *, maximum: int) -> Any:
        if value is KEEP:
            return KEEP
        if value is None:
            self.fail(field, f"`{field}` is required.")
        elif not 0 <= value <= maximum:
            self.fail(field, f"`{field}` must be between 0 and {maximum:,}.")
        return value

    def flag(self, field: str, value: Any) -> Any:
        if value is None:
            self.fail(field, f"`{field}` is required.")
        return value


def _given(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not KEEP}


def _assign(row: Any, changes: Mapping[str, Any]) -> None:
    for name, value in changes.items():
        setattr(row, name, value)


def _stamp(row: Any, changes: dict[str, Any], updated_by_id: int | None) -> None:
    """Add `updated_by_id` to `changes` when they change a value of `row`: an update that sets what is
    there already changes nothing and names no one (as the change log records nothing)."""
    if any(getattr(row, name) != value for name, value in changes.items()):
        changes["updated_by_id"] = updated_by_id


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _violated(error: IntegrityError) -> set[str]:
    """What an integrity error broke: the constraint's name where known, and "foreign key" for any FK."""
    message = str(error.orig)
    found = {"foreign key"} if "foreign key" in message.lower() else set()
    if named := re.search(r'constraint "([^"]+)"', message):  # PostgreSQL names the constraint
        found.add(named[1])
    elif index := re.search(r"UNIQUE constraint failed: index '([^']+)'", message):  # SQLite, expression index
        found.add(index[1])
    elif columns := re.search(r"UNIQUE constraint failed: (.+)$", message):  # SQLite names the columns
        found.add(_SQLITE_UNIQUE_COLUMNS.get(columns[1].strip(), columns[1]))
    return found


_SQLITE_UNIQUE_COLUMNS = {
    "categories.slug": "uq_categories_slug",
    "products.sku": "uq_products_sku",
    "product_suppliers.product_id, product_suppliers.supplier_id": "uq_product_suppliers_product_id_supplier_id",
    "product_suppliers.product_id": "uq_product_suppliers_preferred",
}


@asynccontextmanager
async def _guarded(session: AsyncSession, conflicts: Mapping[str, DomainError]) -> AsyncIterator[None]:
    """Make the changes done in the block in a savepoint and flush them; a constraint broken by a
    concurrent transaction raises the domain error `conflicts` gives for it, and the outer transaction
    stays usable. Changes must be made inside the block: a savepoint flushes what is pending first."""
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as error:
        broken = _violated(error)
        for constraint, domain_error in conflicts.items():
            if constraint in broken:
                raise domain_error from error
        raise


_LABELS = {Category: "category", Supplier: "supplier", Product: "product", ProductSupplier: "supplier offer"}


async def _get(session: AsyncSession, model: type[M], pk: int, field: str) -> M:
    row = await session.get(model, pk)
    if row is None:
        raise NotFound(f"There is no {_LABELS[model]} with this ID.", field=field)
    return row


async def _count(session: AsyncSession, model: type, condition: ColumnElement[bool]) -> int:
    return (await session.scalar(select(func.count()).select_from(model).where(condition))) or 0


async def _exists(session: AsyncSession, model: Any, *conditions: ColumnElement[bool]) -> bool:
    return (await session.scalar(select(model.id).where(*conditions).limit(1))) is not None


# --- categories ---------------------------------------------------------------------------------


def _category_changes(*, name: Any, slug: Any, description: Any) -> dict[str, Any]:
    check = _Checks()
    changes = _given(
        {
            "name": check.text("name", name, max_length=MAX_CATEGORY_NAME_LENGTH),
            "slug": check.slug("slug", slug),
            "description": check.text("description", description, max_length=MAX_DESCRIPTION_LENGTH, required=False),
        }
    )
    check.done()
    return changes


def _slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_BASE_LENGTH].rstrip("-") or "category"


async def _unique_slug(session: AsyncSession, name: str) -> str:
    base = _slugify(name)
    rows = await session.scalars(
        select(Category.slug).where((Category.slug == base) | Category.slug.startswith(f"{base}-", autoescape=True))
    )
    taken = set(rows)
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def _check_slug_free(session: AsyncSession, slug: str, exclude_id: int | None = None) -> None:
    if await _exists(session, Category, Category.slug == slug, Category.id != exclude_id):
        raise Duplicate(f"Another category already has the slug “{slug}”.", field="slug")


async def _check_sibling_name(
    session: AsyncSession, name: str, parent_id: int | None, exclude_id: int | None = None
) -> None:
    # Compared with SQL's lower() so the check agrees with the unique index uq_categories_sibling_name.
    same_name = func.lower(Category.name) == func.lower(name)
    if await _exists(session, Category, same_name, Category.parent_id == parent_id, Category.id != exclude_id):
        where = "under the same parent" if parent_id is not None else "at the top level"
        raise Duplicate(f"A category named “{name}” already exists {where}.", field="name")


def _category_conflicts(name: str, slug: str) -> dict[str, DomainError]:
    return {
        "uq_categories_sibling_name": Duplicate(f"A category named “{name}” already exists there.", field="name"),
        "uq_categories_slug": Duplicate(f"Another category already has the slug “{slug}”.", field="slug"),
        "fk_categories_parent_id_categories": NotFound("The parent category no longer exists.", field="parentId"),
    }


async def create_category(
    session: AsyncSession,
    *,
    name: str,
    slug: str | None = None,
    description: str | None = None,
    parent_id: int | None = None,
    created_by_id: int | None = None,
) -> Category:
    """Add a category; without a slug, one is derived from the name and made unique with a -2, -3... suffix.
    `created_by_id` is recorded as its creator and as the last to change it."""
    fields = _category_changes(name=name, slug=KEEP if slug is None else slug, description=description)
    name, slug, description = fields["name"], fields.get("slug"), fields["description"]
    if parent_id is not None:
        await _get(session, Category, parent_id, "parentId")
    await _check_sibling_name(session, name, parent_id)
    if slug is None:
        slug = await _unique_slug(session, name)
    else:
        await _check_slug_free(session, slug)
    category = Category(
        name=name,
        slug=slug,
        description=description,
        parent_id=parent_id,
        created_by_id=created_by_id,
        updated_by_id=created_by_id,
    )
    async with _guarded(session, _category_conflicts(name, slug)):
        session.add(category)
    await change_log.created(session, category)
    return category


async def update_category(
    session: AsyncSession,
    *,
    category_id: int,
    name: str | Keep = KEEP,
    slug: str | Keep = KEEP,
    description: str | None | Keep = KEEP,
    parent_id: int | None | Keep = KEEP,
    updated_by_id: int | None = None,
) -> Category:
    """Change the given fields of a category; a None parent makes it a root, a None description clears it.
    `updated_by_id` is recorded as the last to change it."""
    category = await _get(session, Category, category_id, "id")
    before = change_log.snapshot(category)
    changes = _category_changes(name=name, slug=slug, description=description)
    if parent_id is not KEEP:
        changes["parent_id"] = parent_id
        if parent_id is not None:
            await _get(session, Category, parent_id, "parentId")
            subtree = subtree_ids(category.id).subquery()
            if await session.scalar(select(subtree.c.id).where(subtree.c.id == parent_id)) is not None:
                raise Invalid("A category cannot be moved under itself or one of its subcategories.", field="parentId")
    new_name = changes.get("name", category.name)
    new_parent = changes.get("parent_id", category.parent_id)
    if new_name.lower() != category.name.lower() or new_parent != category.parent_id:
        await _check_sibling_name(session, new_name, new_parent, exclude_id=category.id)
    if changes.get("slug", category.slug) != category.slug:
        await _check_slug_free(session, changes["slug"], exclude_id=category.id)
    _stamp(category, changes, updated_by_id)
    async with _guarded(session, _category_conflicts(new_name, changes.get("slug", category.slug))):
        _assign(category, changes)
    await change_log.record(session, category, before, change_log.snapshot(category))
    return category


async def delete_category(session: AsyncSession, *, category_id: int) -> Category:
    """Delete a category that has no subcategories and no products."""
    category = await _get(session, Category, category_id, "id")
    children = await _count(session, Category, Category.parent_id == category.id)
    products = await _count(session, Product, Product.category_id == category.id)
    if children or products:
        holds = [
            _plural(n, one, many)
            for n, one, many in ((children, "subcategory", "subcategories"), (products, "product", "products"))
            if n
        ]
        raise InUse(
            f"Category “{category.name}” still has {' and '.join(holds)}; move or delete them first.", field="id"
        )
    in_use = InUse(f"Category “{category.name}” was just given subcategories or products.", field="id")
    await change_log.deleted(session, category)
    async with _guarded(session, {"foreign key": in_use}):
        await session.delete(category)
    return category


# --- suppliers ----------------------------------------------------------------------------------


def _supplier_changes(
    *, name: Any, email: Any, phone: Any, website: Any, address: Any, is_active: Any
) -> dict[str, Any]:
    check = _Checks()
    changes = _given(
        {
            "name": check.text("name", name, max_length=MAX_NAME_LENGTH),
            "email": check.email("email", email),
            "phone": check.text("phone", phone, max_length=MAX_PHONE_LENGTH, required=False),
            "website": check.text("website", website, max_length=MAX_WEBSITE_LENGTH, required=False),
            "address": check.text("address", address, max_length=MAX_ADDRESS_LENGTH, required=False),
            "is_active": check.flag("isActive", is_active),
        }
    )
    check.done()
    return changes


async def _check_supplier_name_free(session: AsyncSession, name: str, exclude_id: int | None = None) -> None:
    same_name = func.lower(Supplier.name) == func.lower(name)
    if await _exists(session, Supplier, same_name, Supplier.id != exclude_id):
        raise Duplicate(f"A supplier named “{name}” already exists.", field="name")


def _supplier_conflicts(name: str) -> dict[str, DomainError]:
    return {"uq_suppliers_lower_name": Duplicate(f"A supplier named “{name}” already exists.", field="name")}


async def create_supplier(
    session: AsyncSession,
    *,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    website: str | None = None,
    address: str | None = None,
    is_active: bool = True,
    created_by_id: int | None = None,
) -> Supplier:
    """Add a supplier; its name must be unique, whatever the case. `created_by_id` is recorded as its creator
    and as the last to change it."""
    fields = _supplier_changes(
        name=name, email=email, phone=phone, website=website, address=address, is_active=is_active
    )
    await _check_supplier_name_free(session, fields["name"])
    supplier = Supplier(**fields, created_by_id=created_by_id, updated_by_id=created_by_id)
    async with _guarded(session, _supplier_conflicts(fields["name"])):
        session.add(supplier)
    await change_log.created(session, supplier)
    return supplier


async def update_supplier(
    session: AsyncSession,
    *,
    supplier_id: int,
    name: str | Keep = KEEP,
    email: str | None | Keep = KEEP,
    phone: str | None | Keep = KEEP,
    website: str | None | Keep = KEEP,
    address: str | None | Keep = KEEP,
    is_active: bool | Keep = KEEP,
    updated_by_id: int | None = None,
) -> Supplier:
    """Change the given fields of a supplier; None clears the contact fields. `updated_by_id` is recorded as
    the last to change it."""
    supplier = await _get(session, Supplier, supplier_id, "id")
    before = change_log.snapshot(supplier)
    changes = _supplier_changes(
        name=name, email=email, phone=phone, website=website, address=address, is_active=is_active
    )
    if "name" in changes and changes["name"].lower() != supplier.name.lower():
        await _check_supplier_name_free(session, changes["name"], exclude_id=supplier.id)
    _stamp(supplier, changes, updated_by_id)
    async with _guarded(session, _supplier_conflicts(changes.get("name", supplier.name))):
        _assign(supplier, changes)
    await change_log.record(session, supplier, before, change_log.snapshot(supplier))
    return supplier


async def delete_supplier(session: AsyncSession, *, supplier_id: int) -> Supplier:
    """Delete a supplier that offers no products and has no purchase orders."""
    supplier = await _get(session, Supplier, supplier_id, "id")
    offers = await _count(session, ProductSupplier, ProductSupplier.supplier_id == supplier.id)
    orders = await _count(session, PurchaseOrder, PurchaseOrder.supplier_id == supplier.id)
    if offers or orders:
        holds = [f"offers {_plural(offers, 'product', 'products')}"] if offers else []
        if orders:
            holds.append(f"has {_plural(orders, 'purchase order', 'purchase orders')}")
        # Purchase orders are history: such a supplier is archived (isActive: false) instead.
        advice = "archive it instead" if orders else "remove those offers first"
        raise InUse(f"Supplier “{supplier.name}” still {' and '.join(holds)}; {advice}.", field="id")
    in_use = InUse(f"Supplier “{supplier.name}” was just given an offer or a purchase order.", field="id")
    await change_log.deleted(session, supplier)
    async with _guarded(session, {"foreign key": in_use}):
        await session.delete(supplier)
    return supplier


# --- products -----------------------------------------------------------------------------------


def _product_changes(
    *,
    sku: Any,
    name: Any,
    description: Any,
    unit_price: Any,
    reorder_point: Any,
    reorder_quantity: Any,
    is_active: Any,
) -> dict[str, Any]:
    check = _Checks()
    changes = _given(
        {
            "sku": check.sku("sku", sku),
            "name": check.text("name", name, max_length=MAX_NAME_LENGTH),
            "description": check.text("description", description, max_length=MAX_DESCRIPTION_LENGTH, required=False),
            "unit_price": check.money("unitPrice", unit_price),
            "reorder_point": check.count("reorderPoint", reorder_point, maximum=MAX_QUANTITY),
            "reorder_quantity": check.count("reorderQuantity", reorder_quantity, maximum=MAX_QUANTITY),
            "is_active": check.flag("isActive", is_active),
        }
    )
    check.done()
    return changes


async def _check_sku_free(session: AsyncSession, sku: str, exclude_id: int | None = None) -> None:
    if await _exists(session, Product, Product.sku == sku, Product.id != exclude_id):
        raise Duplicate(f"Another product already has SKU {sku}.", field="sku")


def _product_conflicts(sku: str) -> dict[str, DomainError]:
    return {
        "uq_products_sku": Duplicate(f"Another product already has SKU {sku}.", field="sku"),
        "fk_products_category_id_categories": NotFound("The category no longer exists.", field="categoryId"),
    }


async def create_product(
    session: AsyncSession,
    *,
    sku: str,
    name: str,
    unit_price: Decimal,
    description: str | None = None,
    category_id: int | None = None,
    reorder_point: int = 0,
    reorder_quantity: int = 0,
    is_active: bool = True,
    created_by_id: int | None = None,
) -> Product:
    """Add a product; the SKU is stored trimmed and uppercase and must be unique. `created_by_id` is recorded
    as its creator and as the last to change it."""
    fields = _product_changes(
        sku=sku,
        name=name,
        description=description,
        unit_price=unit_price,
        reorder_point=reorder_point,
        reorder_quantity=reorder_quantity,
        is_active=is_active,
    )
    if category_id is not None:
        await _get(session, Category, category_id, "categoryId")
    await _check_sku_free(session, fields["sku"])
    product = Product(**fields, category_id=category_id, created_by_id=created_by_id, updated_by_id=created_by_id)
    async with _guarded(session, _product_conflicts(fields["sku"])):
        session.add(product)
    await change_log.created(session, product)
    return product


async def update_product(
    session: AsyncSession,
    *,
    product_id: int,
    sku: str | Keep = KEEP,
    name: str | Keep = KEEP,
    description: str | None | Keep = KEEP,
    unit_price: Decimal | Keep = KEEP,
    category_id: int | None | Keep = KEEP,
    reorder_point: int | Keep = KEEP,
    reorder_quantity: int | Keep = KEEP,
    is_active: bool | Keep = KEEP,
    updated_by_id: int | None = None,
) -> Product:
    """Change the given fields of a product; None clears its description or category. `updated_by_id` is
    recorded as the last to change it."""
    product = await _get(session, Product, product_id, "id")
    before = change_log.snapshot(product)
    changes = _product_changes(
        sku=sku,
        name=name,
        description=description,
        unit_price=unit_price,
        reorder_point=reorder_point,
        reorder_quantity=reorder_quantity,
        is_active=is_active,
    )
    if category_id is not KEEP:
        changes["category_id"] = category_id
        if category_id is not None:
            await _get(session, Category, category_id, "categoryId")
    if changes.get("sku", product.sku) != product.sku:
        await _check_sku_free(session, changes["sku"], exclude_id=product.id)
    _stamp(product, changes, updated_by_id)
    async with _guarded(session, _product_conflicts(changes.get("sku", product.sku))):
        _assign(product, changes)
    await change_log.record(session, product, before, change_log.snapshot(product))
    return product


async def delete_product(session: AsyncSession, *, product_id: int) -> Product:
    """Delete a product that no supplier offers and that has no stock history or purchase order lines."""
    product = await _get(session, Product, product_id, "id")
    offers = await _count(session, ProductSupplier, ProductSupplier.product_id == product.id)
    entries = await _count(session, InventoryTransaction, InventoryTransaction.product_id == product.id)
    levels = await _count(session, StockLevel, StockLevel.product_id == product.id)
    lines = await _count(session, PurchaseOrderLine, PurchaseOrderLine.product_id == product.id)
    if offers or entries or levels or lines:
        holds = [f"terms from {_plural(offers, 'supplier', 'suppliers')}"] if offers else []
        if entries:
            holds.append(_plural(entries, "stock ledger entry", "stock ledger entries"))
        elif levels:
            holds.append(_plural(levels, "stock level", "stock levels"))
        if lines:
            holds.append(_plural(lines, "purchase order line", "purchase order lines"))
        # Stock history is kept for good: such a product is archived instead.
        advice = "archive it instead" if entries or levels or lines else "remove them first"
        raise InUse(f"Product {product.sku} still has {' and '.join(holds)}; {advice}.", field="id")
    in_use = InUse(f"Product {product.sku} was just given supplier terms, stock or purchase order lines.", field="id")
    await change_log.deleted(session, product)
    async with _guarded(session, {"foreign key": in_use}):
        await session.delete(product)
    return product


# --- supplier terms -----------------------------------------------------------------------------


def _offer_changes(*, unit_cost: Any, supplier_sku: Any, lead_time_days: Any, is_preferred: Any) -> dict[str, Any]:
    check = _Checks()
    changes = _given(
        {
            "unit_cost": check.money("unitCost", unit_cost),
            "supplier_sku": check.text("supplierSku", supplier_sku, max_length=MAX_SKU_LENGTH, required=False),
            "lead_time_days": check.count("leadTimeDays", lead_time_days, maximum=MAX_LEAD_TIME_DAYS),
            "is_preferred": check.flag("isPreferred", is_preferred),
        }
    )
    check.done()
    return changes


async def set_product_supplier(
    session: AsyncSession,
    *,
    product_id: int,
    supplier_id: int,
    unit_cost: Decimal | Keep = KEEP,
    supplier_sku: str | None | Keep = KEEP,
    lead_time_days: int | Keep = KEEP,
    is_preferred: bool | Keep = KEEP,
    updated_by_id: int | None = None,
) -> ProductSupplier:
    """Create or change a supplier's terms for a product; making it preferred un-prefers the product's other offers.
    `updated_by_id` is recorded as the last to change the terms (and the offers it un-prefers)."""
    changes = _offer_changes(
        unit_cost=unit_cost, supplier_sku=supplier_sku, lead_time_days=lead_time_days, is_preferred=is_preferred
    )
    product = await _get(session, Product, product_id, "productId")
    supplier = await _get(session, Supplier, supplier_id, "supplierId")
    offer = await session.scalar(
        select(ProductSupplier).where(
            ProductSupplier.product_id == product.id, ProductSupplier.supplier_id == supplier.id
        )
    )
    if offer is None and "unit_cost" not in changes:
        raise InvalidInput([FieldError("unitCost", "`unitCost` is required for a supplier's first terms.")])
    conflicts: dict[str, DomainError] = {
        "uq_product_suppliers_product_id_supplier_id": Duplicate(
            f"Supplier “{supplier.name}” was just given terms for {product.sku}; try again.", field="supplierId"
        ),
        "uq_product_suppliers_preferred": Duplicate(
            f"Another supplier was just made preferred for {product.sku}; try again.", field="isPreferred"
        ),
        "foreign key": NotFound("The product or supplier no longer exists.", field="productId"),
    }
    before = None if offer is None else change_log.snapshot(offer)
    async with _guarded(session, conflicts):
        if changes.get("is_preferred"):
            # The offer that loses the flag is logged too (its own change, in this mutation).
            others = await session.scalars(
                select(ProductSupplier).where(
                    ProductSupplier.product_id == product.id,
                    ProductSupplier.supplier_id != supplier.id,
                    ProductSupplier.is_preferred,
                )
            )
            for other in others:
                await change_log.record(
                    session, other, {"is_preferred": True}, {"is_preferred": False}
                )
            # Cleared before this offer is flagged: the partial unique index allows one preferred offer.
            await session.execute(
                update(ProductSupplier)
                .where(
                    ProductSupplier.product_id == product.id,
                    ProductSupplier.supplier_id != supplier.id,
                    ProductSupplier.is_preferred,
                )
                .values(is_preferred=False, updated_by_id=updated_by_id)
            )
        if offer is None:
            terms = {"supplier_sku": None, "lead_time_days": 0, "is_preferred": False} | changes
            offer = ProductSupplier(
                product_id=product.id, supplier_id=supplier.id, **terms, updated_by_id=updated_by_id
            )
            session.add(offer)
        else:
            _stamp(offer, changes, updated_by_id)
            _assign(offer, changes)
    await change_log.record(session, offer, before, change_log.snapshot(offer))
    return offer


async def remove_product_supplier(session: AsyncSession, *, product_id: int, supplier_id: int) -> ProductSupplier:
    """Delete a supplier's terms for a product."""
    product = await _get(session, Product, product_id, "productId")
    supplier = await _get(session, Supplier, supplier_id, "supplierId")
    offer = await session.scalar(
        select(ProductSupplier).where(
            ProductSupplier.product_id == product.id, ProductSupplier.supplier_id == supplier.id
        )
    )
    if offer is None:
        raise NotFound(f"Supplier “{supplier.name}” has no terms for {product.sku}.", field="supplierId")
    await change_log.deleted(session, offer)
    await session.delete(offer)
    await session.flush()
    return offer
