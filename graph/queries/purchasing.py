"""Purchasing root query fields: one purchase order, and the list of them, newest first."""

import strawberry
from strawberry.types import Info

from db import purchasing_reads as reads
from db.models import PurchaseOrder as PurchaseOrderModel
from db.models import PurchaseOrderStatus as StatusModel
from graph.context import Context
from graph.relay import Connection, decode_optional_id, window
from graph.roots import by_id_or_key, connection_of
from graph.types.stock import PurchaseOrder, PurchaseOrderStatus


@strawberry.input
class PurchaseOrderFilter:
    status: PurchaseOrderStatus | None = None
    supplier_id: strawberry.ID | None = None
    product_id: strawberry.ID | None = strawberry.field(default=None, description="Orders with a line for it.")

    def spec(self) -> reads.PurchaseOrderFilter:
        return reads.PurchaseOrderFilter(
            status=None if self.status is None else StatusModel(self.status.value),
            supplier_id=decode_optional_id(self.supplier_id, "Supplier", "filter.supplierId"),
            product_id=decode_optional_id(self.product_id, "Product", "filter.productId"),
        )


@strawberry.type
class PurchasingQueries:
    @strawberry.field(description="A purchase order by global ID or by number.")
    async def purchase_order(
        self, info: Info[Context, None], id: strawberry.ID | None = None, number: str | None = None
    ) -> PurchaseOrder | None:
        return await by_id_or_key(
            info, "PurchaseOrder", id, number=number,
            loader=info.context.loaders.purchase_order_by_id, find=reads.purchase_order_by_number, convert=PurchaseOrder.from_model,
        )

    @strawberry.field(description="Purchase orders, newest first, a page at a time.")
    async def purchase_orders(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: PurchaseOrderFilter | None = None,
    ) -> Connection[PurchaseOrder]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.purchase_order_conditions((filter or PurchaseOrderFilter()).spec())
        sort = reads.PURCHASE_ORDER_SORT
        return await connection_of(
            info, PurchaseOrderModel, conditions, sort, page_window, PurchaseOrder.from_model
        )
