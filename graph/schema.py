"""The strawberry Schema: root types, extensions and configuration."""

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.schema.config import StrawberryConfig

from graph.errors import ErrorTranslation
from graph.mutations.catalog import CatalogMutations
from graph.mutations.purchasing import PurchasingMutations
from graph.mutations.stock import StockMutations
from graph.queries.catalog import CatalogQueries
from graph.queries.purchasing import PurchasingQueries
from graph.queries.stock import StockQueries
from graph.types import catalog, stock


@strawberry.type
class Query(CatalogQueries, StockQueries, PurchasingQueries):
    pass


@strawberry.type
class Mutation(CatalogMutations, StockMutations, PurchasingMutations):
    pass


class InventorySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in ErrorTranslation, which knows expected errors from unexpected ones."""


def build_schema() -> strawberry.Schema:
    return InventorySchema(
        query=Query,
        mutation=Mutation,
        types=[catalog.ProductSupplier, stock.Warehouse, stock.InventoryTransaction, stock.PurchaseOrder],
        extensions=[ErrorTranslation],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
