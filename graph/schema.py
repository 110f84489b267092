"""The strawberry Schema: root types, extensions and configuration."""

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.schema.config import StrawberryConfig

from db.config import Settings
from graph.errors import ErrorTranslation
from graph.limits import limit_extensions
from graph.mutations.auth import AuthMutations
from graph.mutations.catalog import CatalogMutations
from graph.mutations.purchasing import PurchasingMutations
from graph.mutations.stock import StockMutations
from graph.mutations.warehouses import WarehouseMutations
from graph.queries.auth import AuthQueries
from graph.queries.catalog import CatalogQueries
from graph.queries.purchasing import PurchasingQueries
from graph.queries.stock import StockQueries
from graph.types import catalog, stock


@strawberry.type
class Query(CatalogQueries, StockQueries, PurchasingQueries, AuthQueries):
    pass


@strawberry.type
class Mutation(CatalogMutations, StockMutations, PurchasingMutations, WarehouseMutations, AuthMutations):
    pass


class InventorySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in ErrorTranslation, which knows expected errors from unexpected ones."""


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema; with `settings`, it enforces their abuse limits (graph/limits.py)."""
    return InventorySchema(
        query=Query,
        mutation=Mutation,
        types=[catalog.ProductSupplier, stock.Warehouse, stock.InventoryTransaction, stock.PurchaseOrder],
        extensions=[ErrorTranslation, *(limit_extensions(settings) if settings else [])],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
