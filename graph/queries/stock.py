"""Stock root query fields: warehouses, the ledger and the stock reports."""

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from db import reports
from db import stock_reads as reads
from db.models import InventoryTransaction as InventoryTransactionModel
from db.models import Warehouse as WarehouseModel
from graph.context import Context
from graph.relay import After, Before, Connection, First, Last, by_id_or, decode_optional_id, id_input, window
from graph.roots import by_id_or_key, connection, connection_of, loaded
from graph.types.reports import InventoryValuation, LowStockItem, MovementGroupBy, StockMovementSummary
from graph.types.catalog import IS_ACTIVE_FILTER
from graph.types.stock import InventoryTransaction, TransactionFilter, Warehouse

_PERIOD_START = "The period's start (inclusive), with a UTC offset; no limit when not given."
_PERIOD_END = "The period's end (exclusive), with a UTC offset, not before `from`; no limit when not given."


@strawberry.input(description="Narrows a list of warehouses; every condition given must hold.")
class WarehouseFilter:
    search: str | None = strawberry.field(default=None, description="Part of the name or code, any case.")
    is_active: bool | None = strawberry.field(default=None, description=IS_ACTIVE_FILTER)

    def spec(self) -> reads.WarehouseFilter:
        return reads.WarehouseFilter(search=self.search or None, is_active=self.is_active)


@strawberry.type
class StockQueries:
    @strawberry.field(description="A warehouse by global ID or by code; null if there is none.")
    async def warehouse(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID | None, by_id_or("the warehouse", "code")] = None,
        code: Annotated[
            str | None,
            strawberry.argument(description="The warehouse's code, any case. Give this or `id`, not both."),
        ] = None,
    ) -> Warehouse | None:
        return await by_id_or_key(
            info, "Warehouse", id, code=code,
            loader=info.context.loaders.warehouse_by_id, find=reads.warehouse_by_code, convert=Warehouse.from_model,
        )

    @strawberry.field(description="Warehouses by name, a page at a time.")
    async def warehouses(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            WarehouseFilter | None, strawberry.argument(description="Narrows the warehouses.")
        ] = None,
    ) -> Connection[Warehouse]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.warehouse_conditions((filter or WarehouseFilter()).spec())
        return await connection_of(
            info, WarehouseModel, conditions, reads.WAREHOUSE_SORT, page_window, Warehouse.from_model
        )

    @strawberry.field(description="The stock ledger, newest first.")
    async def transactions(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            TransactionFilter | None, strawberry.argument(description="Narrows the entries.")
        ] = None,
    ) -> Connection[InventoryTransaction]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.transaction_conditions((filter or TransactionFilter()).spec())
        return await connection_of(
            info,
            InventoryTransactionModel,
            conditions,
            reads.TRANSACTION_SORT,
            page_window,
            InventoryTransaction.from_model,
        )

    @strawberry.field(
        description="Active products whose stock position is at or below their reorder point, by name: units "
        "available (in the warehouse, or over all warehouses) plus units on order (submitted purchase orders not "
        "yet received; orders name no warehouse, so all of them count). Products with a reorder point of 0 are "
        "not reordered; for one warehouse, only products it holds or has held are considered."
    )
    async def low_stock(
        self,
        info: Info[Context, None],
        warehouse_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=f"{id_input('a warehouse')} Only its stock counts; all warehouses together when not "
                "given."
            ),
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[LowStockItem]:
        context = info.context
        page_window = window(context.settings, first, after, last, before)
        warehouse_pk = decode_optional_id(warehouse_id, "Warehouse", "warehouseId")
        return await connection(
            info,
            LowStockItem.from_row,
            lambda session: reports.low_stock_page(session, warehouse_id=warehouse_pk, window=page_window),
            lambda session: reports.low_stock_count(session, warehouse_id=warehouse_pk),
        )

    @strawberry.field(description="The value of the stock on hand at average cost, in total and by category.")
    async def inventory_valuation(
        self,
        info: Info[Context, None],
        warehouse_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=f"{id_input('a warehouse')} Only its stock is valued; all warehouses when not given."
            ),
        ] = None,
        category_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=f"{id_input('a category')} Only the stock of its products and its subcategories' is "
                "valued."
            ),
        ] = None,
    ) -> InventoryValuation:
        warehouse_pk = decode_optional_id(warehouse_id, "Warehouse", "warehouseId")
        category_pk = decode_optional_id(category_id, "Category", "categoryId")

        async def fetch(session: Any) -> InventoryValuation:
            valuation = await reports.inventory_valuation(session, warehouse_id=warehouse_pk, category_id=category_pk)
            return InventoryValuation.of(valuation)

        return await loaded(info, fetch)

    @strawberry.field(
        description="What the ledger moved from `from` (inclusive) to `to` (exclusive), per product, category "
        "or warehouse, ordered by name. Only groups with entries in the period appear."
    )
    async def stock_movements(
        self,
        info: Info[Context, None],
        group_by: Annotated[
            MovementGroupBy, strawberry.argument(description="One row per product, category or warehouse.")
        ],
        from_: Annotated[datetime | None, strawberry.argument(name="from", description=_PERIOD_START)] = None,
        to: Annotated[datetime | None, strawberry.argument(description=_PERIOD_END)] = None,
        warehouse_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description=f"{id_input('a warehouse')} Only its entries count."),
        ] = None,
        category_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=f"{id_input('a category')} Only the entries of its products and its subcategories' "
                "count."
            ),
        ] = None,
    ) -> list[StockMovementSummary]:
        reads.check_period(from_, to, start_field="from", end_field="to")
        warehouse_pk = decode_optional_id(warehouse_id, "Warehouse", "warehouseId")
        category_pk = decode_optional_id(category_id, "Category", "categoryId")

        async def fetch(session: Any) -> list[StockMovementSummary]:
            rows = await reports.stock_movements(
                session,
                group_by=reports.MovementGroup(group_by.value),
                created_from=from_,
                created_to=to,
                warehouse_id=warehouse_pk,
                category_id=category_pk,
            )
            return [StockMovementSummary.of(row, group_by) for row in rows]

        return await loaded(info, fetch)
