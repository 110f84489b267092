"""Read queries for the catalog: filters, sorted pages, batched lookups for the GraphQL loaders."""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, String, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import lengths
from db.binds import Bind, with_values
from db.models import Category, Product, ProductSupplier, Supplier
from db.pagination import Page, SortKey, Window, fetch_pages
from db.rows import fetch_row, fetch_rows, one_of, select_rows


class ProductSortField(Enum):
    NAME = "name"
    SKU = "sku"
    PRICE = "unit_price"
    CREATED_AT = "created_at"


def product_sort(field: ProductSortField = ProductSortField.NAME, descending: bool = False) -> SortKey:
    return SortKey((getattr(Product, field.value), Product.id), descending)


CATEGORY_SORT = SortKey((Category.name, Category.id))
SUPPLIER_SORT = SortKey((Supplier.name, Supplier.id))
OFFER_SORT = SortKey((ProductSupplier.id,))


@dataclass(frozen=True)
class ProductFilter:
    search: str | None = None
    category_id: int | None = None
    include_descendants: bool = False
    supplier_id: int | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    is_active: bool | None = None


@dataclass(frozen=True)
class CategoryFilter:
    parent_id: int | None = None
    roots_only: bool = False
    search: str | None = None


@dataclass(frozen=True)
class SupplierFilter:
    search: str | None = None
    is_active: bool | None = None


# Longer than any searchable column holds, so it can match nothing (and SQLite refuses LIKE patterns
# over 50,000 bytes).
MAX_SEARCH_LENGTH = lengths.MAX_SEARCH_LENGTH


def like_pattern(text: str | None) -> str | None:
    """The LIKE pattern of "contains `text`", with its %, _ and / escaped by /; None (which matches nothing)
    for a text longer than any searchable column."""
    if text is None or len(text) > MAX_SEARCH_LENGTH:
        return None
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def contains_text(column: ColumnElement[str], pattern: ColumnElement[str | None]) -> ColumnElement[bool]:
    """Case-insensitive match of a `like_pattern`: the user's % and _ are matched literally."""
    return column.ilike(pattern, escape="/")


def search_pattern(bind: Bind, get: Callable[[Any], str | None]) -> ColumnElement[str | None]:
    return bind("search", lambda spec: like_pattern(get(spec)), String())


def subtree(category_id: Any) -> CTE:
    """A recursive CTE of the ids (column `id`) of a category and all its descendants; `category_id` may be
    a value or a SQL expression (a parameter, an outer query's column)."""
    # Nested in the statement that uses it: a read plan may use several subtrees, of outer rows too.
    start = select(Category.id).where(Category.id == category_id).correlate_except(Category)
    tree = start.cte("subtree", recursive=True, nesting=True)
    return tree.union_all(select(Category.id).where(Category.parent_id == tree.c.id))


def subtree_ids(category_id: Any) -> Select[tuple[int]]:
    """The ids of a category and all its descendants (a recursive query), as `subtree` gives them."""
    return select(subtree(category_id).c.id)


# The condition builders below take the entity their conditions are on: the mapped class, or an alias of it
# (a read plan gives each table it reads an alias of its own, so that no subquery correlates by accident).


def product_conditions(
    spec: ProductFilter, bind: Bind | None = None, product: Any = Product
) -> list[ColumnElement[bool]]:
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.search:
        pattern = search_pattern(bind, lambda s: s.search)
        conditions.append(or_(contains_text(product.name, pattern), contains_text(product.sku, pattern)))
    if spec.category_id is not None:
        category = bind("category_id", lambda s: s.category_id, Category.id.type)
        if spec.include_descendants:
            conditions.append(product.category_id.in_(subtree_ids(category)))
        else:
            conditions.append(product.category_id == category)
    if spec.supplier_id is not None:
        supplier = bind("supplier_id", lambda s: s.supplier_id)
        offered = select(ProductSupplier.product_id).where(ProductSupplier.supplier_id == supplier)
        conditions.append(product.id.in_(offered))
    if spec.min_price is not None:
        conditions.append(product.unit_price >= bind("min_price", lambda s: s.min_price))
    if spec.max_price is not None:
        conditions.append(product.unit_price <= bind("max_price", lambda s: s.max_price))
    if spec.is_active is not None:
        conditions.append(product.is_active == bind("is_active", lambda s: s.is_active))
    return conditions


def category_conditions(
    spec: CategoryFilter, bind: Bind | None = None, category: Any = Category
) -> list[ColumnElement[bool]]:
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.roots_only:
        conditions.append(category.parent_id.is_(None))
    if spec.parent_id is not None:
        conditions.append(category.parent_id == bind("parent_id", lambda s: s.parent_id))
    if spec.search:
        conditions.append(contains_text(category.name, search_pattern(bind, lambda s: s.search)))
    return conditions


def supplier_conditions(
    spec: SupplierFilter, bind: Bind | None = None, supplier: Any = Supplier
) -> list[ColumnElement[bool]]:
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.search:
        conditions.append(contains_text(supplier.name, search_pattern(bind, lambda s: s.search)))
    if spec.is_active is not None:
        conditions.append(supplier.is_active == bind("is_active", lambda s: s.is_active))
    return conditions


async def by_ids(session: AsyncSession, entity: Any, ids: Sequence[int]) -> dict[int, Any]:
    rows = await fetch_rows(session, select_rows(entity).where(one_of(session, entity.id, ids)))
    return {row.id: row for row in rows}


async def product_by_sku(session: AsyncSession, sku: str) -> Any:
    return await fetch_row(session, select_rows(Product).where(Product.sku == sku.strip().upper()))


async def category_by_slug(session: AsyncSession, slug: str) -> Any:
    return await fetch_row(session, select_rows(Category).where(Category.slug == slug))


async def children_by_parent_ids(session: AsyncSession, parent_ids: Sequence[int]) -> dict[int, list[Category]]:
    rows = await fetch_rows(
        session,
        select_rows(Category)
        .where(one_of(session, Category.parent_id, parent_ids))
        .order_by(*CATEGORY_SORT.order_by()),
    )
    grouped: dict[int, list[Category]] = defaultdict(list)
    for row in rows:
        grouped[row.parent_id].append(row)  # type: ignore[index]
    return grouped


async def ancestors_by_category_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[Category]]:
    """For each category, its ancestors from the root down to its parent."""
    chain = select(
        Category.id.label("start"), Category.parent_id.label("ancestor"), literal(1).label("depth")
    ).where(one_of(session, Category.id, ids), Category.parent_id.is_not(None))
    chain = chain.cte("chain", recursive=True)
    chain = chain.union_all(
        select(chain.c.start, Category.parent_id, chain.c.depth + 1)
        .join(Category, Category.id == chain.c.ancestor)
        .where(Category.parent_id.is_not(None))
    )
    stmt = (
        select(chain.c.start, *Category.__table__.columns)
        .join(Category, Category.id == chain.c.ancestor)
        .order_by(chain.c.start, chain.c.depth.desc())
    )
    grouped: dict[int, list[Category]] = defaultdict(list)
    for row in await fetch_rows(session, stmt):
        grouped[row.start].append(row)
    return grouped


async def offers_by_product_ids(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, list[ProductSupplier]]:
    """Each product's supplier terms, the preferred supplier first."""
    rows = await fetch_rows(
        session,
        select_rows(ProductSupplier)
        .where(one_of(session, ProductSupplier.product_id, product_ids))
        .order_by(ProductSupplier.is_preferred.desc(), ProductSupplier.id)
    )
    grouped: dict[int, list[ProductSupplier]] = defaultdict(list)
    for row in rows:
        grouped[row.product_id].append(row)
    return grouped


def _category_products(
    session: AsyncSession, category_ids: Sequence[int], spec: ProductFilter
) -> tuple[Select[Any], ColumnElement[Any]]:
    """Products (of the categories' descendants too, if asked), with the column naming the category:
    restricted to `category_ids` only by that column where descendants are not asked for."""
    conditions = product_conditions(spec)
    if not spec.include_descendants:
        return select_rows(Product).where(*conditions), Product.category_id
    roots = one_of(session, Category.id, category_ids)
    tree = select(Category.id.label("root"), Category.id.label("member")).where(roots)
    tree = tree.cte("category_tree", recursive=True)
    tree = tree.union_all(select(tree.c.root, Category.id).where(Category.parent_id == tree.c.member))
    stmt = select_rows(Product).join(tree, Product.category_id == tree.c.member).where(*conditions)
    return stmt, tree.c.root


async def product_pages_by_category_ids(
    session: AsyncSession, category_ids: Sequence[int], spec: ProductFilter, sort: SortKey, window: Window
) -> dict[int, Page[Product]]:
    stmt, partition = _category_products(session, category_ids, spec)
    return await fetch_pages(session, stmt, Product, partition, category_ids, sort, window)


async def product_counts_by_category_ids(
    session: AsyncSession, category_ids: Sequence[int], spec: ProductFilter
) -> dict[int, int]:
    stmt, partition = _category_products(session, category_ids, spec)
    stmt = stmt.where(one_of(session, partition, category_ids))
    counted = stmt.with_only_columns(partition.label("category_id"), func.count().label("n")).group_by(partition)
    return {category_id: n for category_id, n in (await session.execute(counted)).all()}


async def offer_pages_by_supplier_ids(
    session: AsyncSession, supplier_ids: Sequence[int], window: Window
) -> dict[int, Page[ProductSupplier]]:
    return await fetch_pages(
        session,
        select_rows(ProductSupplier),
        ProductSupplier,
        ProductSupplier.supplier_id,
        supplier_ids,
        OFFER_SORT,
        window,
    )


async def offer_counts_by_supplier_ids(session: AsyncSession, supplier_ids: Sequence[int]) -> dict[int, int]:
    stmt = (
        select(ProductSupplier.supplier_id, func.count())
        .where(one_of(session, ProductSupplier.supplier_id, supplier_ids))
        .group_by(ProductSupplier.supplier_id)
    )
    return {supplier_id: n for supplier_id, n in (await session.execute(stmt)).all()}
