"""Read queries for stock: levels, ledger pages, purchase orders, batched lookups for the loaders."""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PurchaseOrderLine


async def lines_by_purchase_order_ids(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, list[PurchaseOrderLine]]:
    rows = await session.scalars(
        select(PurchaseOrderLine)
        .where(PurchaseOrderLine.purchase_order_id.in_(order_ids))
        .order_by(PurchaseOrderLine.id)
    )
    grouped: dict[int, list[PurchaseOrderLine]] = defaultdict(list)
    for row in rows:
        grouped[row.purchase_order_id].append(row)
    return grouped
