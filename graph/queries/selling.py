"""Selling root query fields: customers, sales orders (newest first) and reservations (newest first)."""

from typing import Annotated

import strawberry
from strawberry.types import Info

from db import selling_reads as reads
from db.models import Customer as CustomerModel
from db.models import Reservation as ReservationModel
from db.models import SalesOrder as SalesOrderModel
from db.models import SalesOrderStatus as StatusModel
from graph.context import Context
from graph.relay import After, Before, Connection, First, Last, by_id_or, decode_id, decode_optional_id, id_input, window
from graph.roots import by_id, by_id_or_key, connection_of
from graph.types.catalog import IS_ACTIVE_FILTER, SEARCH_NAME
from graph.types.selling import Customer, Reservation, SalesOrder, SalesOrderStatus


@strawberry.input(description="Narrows a list of customers; every condition given must hold.")
class CustomerFilter:
    search: str | None = strawberry.field(default=None, description=SEARCH_NAME)
    is_active: bool | None = strawberry.field(default=None, description=IS_ACTIVE_FILTER)

    def spec(self) -> reads.CustomerFilter:
        return reads.CustomerFilter(search=self.search or None, is_active=self.is_active)


@strawberry.input(description="Narrows a list of sales orders; every condition given must hold.")
class SalesOrderFilter:
    status: SalesOrderStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only orders with this status."
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a customer')} Only its orders are listed."
    )

    def spec(self) -> reads.SalesOrderFilter:
        return reads.SalesOrderFilter(
            status=None if self.status is None else StatusModel(self.status.value),
            customer_id=decode_optional_id(self.customer_id, "Customer", "filter.customerId"),
        )


@strawberry.input(description="Narrows a list of reservations; every condition given must hold.")
class ReservationFilter:
    product_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a product')} Only its reservations are listed."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a warehouse')} Only its reservations are listed."
    )
    include_closed: bool = strawberry.field(
        default=False,
        description="Also list released, used-up and expired reservations; by default only those that still hold.",
    )

    def spec(self) -> reads.ReservationFilter:
        return reads.ReservationFilter(
            product_id=decode_optional_id(self.product_id, "Product", "filter.productId"),
            warehouse_id=decode_optional_id(self.warehouse_id, "Warehouse", "filter.warehouseId"),
            include_closed=self.include_closed,
        )


@strawberry.type
class SellingQueries:
    @strawberry.field(description="A customer by global ID; null if there is none.")
    async def customer(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=id_input("the customer"))],
    ) -> Customer | None:
        return await by_id(info, info.context.loaders.customer_by_id, decode_id(id, "Customer", "id"))

    @strawberry.field(description="Customers by name, a page at a time.")
    async def customers(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[CustomerFilter | None, strawberry.argument(description="Narrows the customers.")] = None,
    ) -> Connection[Customer]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.customer_conditions((filter or CustomerFilter()).spec())
        return await connection_of(
            info, CustomerModel, conditions, reads.CUSTOMER_SORT, page_window, Customer.from_model
        )

    @strawberry.field(description="A sales order by global ID or by number; null if there is none.")
    async def sales_order(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID | None, by_id_or("the sales order", "number")] = None,
        number: Annotated[
            str | None,
            strawberry.argument(description="The order's number, any case. Give this or `id`, not both."),
        ] = None,
    ) -> SalesOrder | None:
        return await by_id_or_key(
            info, "SalesOrder", id, number=number, loader=info.context.loaders.sales_order_by_id,
            find=reads.sales_order_by_number, convert=SalesOrder.from_model,
        )

    @strawberry.field(description="Sales orders, newest first, a page at a time.")
    async def sales_orders(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[SalesOrderFilter | None, strawberry.argument(description="Narrows the orders.")] = None,
    ) -> Connection[SalesOrder]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.sales_order_conditions((filter or SalesOrderFilter()).spec())
        return await connection_of(
            info, SalesOrderModel, conditions, reads.SALES_ORDER_SORT, page_window, SalesOrder.from_model
        )

    @strawberry.field(description="Reservations (orders' and free-standing holds), newest first, a page at a time.")
    async def reservations(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            ReservationFilter | None, strawberry.argument(description="Narrows the reservations.")
        ] = None,
    ) -> Connection[Reservation]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.reservation_conditions((filter or ReservationFilter()).spec())
        return await connection_of(
            info, ReservationModel, conditions, reads.RESERVATION_SORT, page_window, Reservation.from_model
        )
