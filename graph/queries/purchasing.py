"""Purchasing root query fields: one purchase order, and the list of them, newest first."""

from typing import Annotated

import strawberry
from strawberry.types import Info

from db import purchasing_reads as reads
from db.models import PurchaseOrder as PurchaseOrderModel
from db.models import PurchaseOrderStatus as StatusModel
from graph.context import Context
from graph.relay import After, Before, Connection, First, Last, by_id_or, decode_optional_id, id_input, window
from graph.roots import by_id_or_key, connection_of
from graph.types.stock import PurchaseOrder, PurchaseOrderStatus


@strawberry.input(description="Narrows a list of purchase orders; every condition given must hold.")
class PurchaseOrderFilter:
    status: PurchaseOrderStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only orders with this status."
    )
    supplier_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a supplier')} Only the orders placed with it are listed."
    )
    product_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a product')} Only the orders with a line for it are listed."
    )

    def spec(self) -> reads.PurchaseOrderFilter:
        return reads.PurchaseOrderFilter(
            status=None if self.status is None else StatusModel(self.status.value),
            supplier_id=decode_optional_id(self.supplier_id, "Supplier", "filter.supplierId"),
            product_id=decode_optional_id(self.product_id, "Product", "filter.productId"),
        )


@strawberry.type
class PurchasingQueries:
    @strawberry.field(description="A purchase order by global ID or by number; null if there is none.")
    async def purchase_order(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID | None, by_id_or("the purchase order", "number")] = None,
        number: Annotated[
            str | None,
            strawberry.argument(description="The order's number, any case. Give this or `id`, not both."),
        ] = None,
    ) -> PurchaseOrder | None:
        return await by_id_or_key(
            info, "PurchaseOrder", id, number=number,
            loader=info.context.loaders.purchase_order_by_id, find=reads.purchase_order_by_number, convert=PurchaseOrder.from_model,
        )

    @strawberry.field(description="Purchase orders, newest first, a page at a time.")
    async def purchase_orders(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            PurchaseOrderFilter | None, strawberry.argument(description="Narrows the orders.")
        ] = None,
    ) -> Connection[PurchaseOrder]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.purchase_order_conditions((filter or PurchaseOrderFilter()).spec())
        sort = reads.PURCHASE_ORDER_SORT
        return await connection_of(
            info, PurchaseOrderModel, conditions, sort, page_window, PurchaseOrder.from_model
        )
