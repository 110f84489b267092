"""Read queries for selling: customers, sales orders, their lines and reservations; the units open holds
keep from each level and product. A hold counts while it is unreleased and unexpired, by the database's
clock, so a hold that has just expired reads as released before any write closes it."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from db.binds import Bind, with_values
from db.catalog_reads import contains_text, search_pattern
from db.models import Customer, Reservation, SalesOrder, SalesOrderLine, SalesOrderStatus, SalesReturn
from db.pagination import SortKey
from db.rows import fetch_row, fetch_rows, one_of, select_rows
from db.types import Money, UTCDateTime, money_sum

CUSTOMER_SORT = SortKey((Customer.name, Customer.id))
# Newest first: ids grow with creation.
SALES_ORDER_SORT = SortKey((SalesOrder.id,), descending=True)
RESERVATION_SORT = SortKey((Reservation.id,), descending=True)


class utc_now(FunctionElement[Any]):
    """The database's current time, comparable with UTCDateTime columns on both databases."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(utc_now, "sqlite")
def _sqlite_now(_element: Any, _compiler: Any, **_kw: Any) -> str:
    # The text form SQLite keeps UTCDateTime values in (to the millisecond).
    return "strftime('%Y-%m-%d %H:%M:%f', 'now')"


@compiles(utc_now)
def _now(_element: Any, _compiler: Any, **_kw: Any) -> str:
    return "now()"


def holding(reservation: Any = Reservation) -> ColumnElement[bool]:
    """A hold that still holds: not released, and without an expiry or not yet past it."""
    return and_(
        reservation.released_at.is_(None), or_(reservation.expires_at.is_(None), reservation.expires_at > utc_now())
    )


def held(product_id: Any, warehouse_id: Any = None) -> ColumnElement[int]:
    """Units the open holds keep of a product (in one warehouse, or in all), for a query on products or levels."""
    # Its own alias: the query it goes into may list reservations itself.
    hold = aliased(Reservation)
    total = select(func.coalesce(func.sum(hold.quantity), 0)).where(hold.product_id == product_id, holding(hold))
    if warehouse_id is not None:
        total = total.where(hold.warehouse_id == warehouse_id)
    return total.scalar_subquery()


# An order's total: exact at two places whatever its size (`money_sum`).
ORDER_TOTAL = Money(38, 2)


def order_total(order_id: Any) -> ColumnElement[Any]:
    """The sum of an order's line totals (quantity ordered × unit price); 0 for an order without lines."""
    line = aliased(SalesOrderLine)
    total = money_sum(line.quantity_ordered, line.unit_price, type_=ORDER_TOTAL)
    summed = select(total).where(line.sales_order_id == order_id).scalar_subquery()
    return func.coalesce(summed, 0, type_=ORDER_TOTAL)


async def totals_by_order_ids(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, Any]:
    order = aliased(SalesOrder)
    rows = await session.execute(
        select(order.id, order_total(order.id)).where(one_of(session, order.id, order_ids))
    )
    return dict(rows.all())


@dataclass(frozen=True)
class CustomerFilter:
    search: str | None = None
    is_active: bool | None = None


def customer_conditions(spec: CustomerFilter, bind: Bind | None = None, customer: Any = Customer) -> list[Any]:
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.search:
        conditions.append(contains_text(customer.name, search_pattern(bind, lambda s: s.search)))
    if spec.is_active is not None:
        conditions.append(customer.is_active == bind("is_active", lambda s: s.is_active))
    return conditions


@dataclass(frozen=True)
class SalesOrderFilter:
    status: SalesOrderStatus | None = None
    customer_id: int | None = None


def sales_order_conditions(spec: SalesOrderFilter, bind: Bind | None = None, order: Any = SalesOrder) -> list[Any]:
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.status is not None:
        conditions.append(order.status == bind("status", lambda s: s.status))
    if spec.customer_id is not None:
        conditions.append(order.customer_id == bind("customer_id", lambda s: s.customer_id))
    return conditions


@dataclass(frozen=True)
class ReservationFilter:
    product_id: int | None = None
    warehouse_id: int | None = None
    # False: only holds that still hold; True: released, expired and used-up ones too.
    include_closed: bool = False


def reservation_conditions(
    spec: ReservationFilter, bind: Bind | None = None, reservation: Any = Reservation
) -> list[Any]:
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.product_id is not None:
        conditions.append(reservation.product_id == bind("product_id", lambda s: s.product_id))
    if spec.warehouse_id is not None:
        conditions.append(reservation.warehouse_id == bind("warehouse_id", lambda s: s.warehouse_id))
    if not spec.include_closed:
        conditions.append(holding(reservation))
    return conditions


async def sales_order_by_number(session: AsyncSession, number: str) -> Any:
    return await fetch_row(session, select_rows(SalesOrder).where(SalesOrder.number == number.strip().upper()))


async def _grouped(session: AsyncSession, model: Any, key: Any, ids: Sequence[int], *where: Any) -> dict[int, list[Any]]:
    rows = await fetch_rows(session, select_rows(model).where(one_of(session, key, ids), *where).order_by(model.id))
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key.key)].append(row)
    return grouped


async def lines_by_order_ids(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, list[Any]]:
    return await _grouped(session, SalesOrderLine, SalesOrderLine.sales_order_id, order_ids)


async def holds_by_line_ids(session: AsyncSession, line_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Each order line's reservations, open or closed, oldest first."""
    return await _grouped(session, Reservation, Reservation.sales_order_line_id, line_ids)


async def returns_by_line_ids(session: AsyncSession, line_ids: Sequence[int]) -> dict[int, list[Any]]:
    return await _grouped(session, SalesReturn, SalesReturn.sales_order_line_id, line_ids)


async def held_by_levels(session: AsyncSession, levels: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Units the open holds keep of each (product id, warehouse id)."""
    product_ids = sorted({p for p, _w in levels})
    rows = await session.execute(
        select(Reservation.product_id, Reservation.warehouse_id, func.sum(Reservation.quantity))
        .where(one_of(session, Reservation.product_id, product_ids), holding())
        .group_by(Reservation.product_id, Reservation.warehouse_id)
    )
    return {(p, w): int(total) for p, w, total in rows}


async def held_by_products(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Reservation.product_id, func.sum(Reservation.quantity))
        .where(one_of(session, Reservation.product_id, product_ids), holding())
        .group_by(Reservation.product_id)
    )
    return {p: int(total) for p, total in rows}
