"""The strawberry Schema: root types, extensions and configuration."""

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.schema.config import StrawberryConfig

from graph.errors import ErrorTranslation
from graph.mutations.catalog import CatalogMutations
from graph.queries import Query
from graph.types import catalog


@strawberry.type
class Mutation(CatalogMutations):
    pass


class InventorySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in ErrorTranslation, which knows expected errors from unexpected ones."""


def build_schema() -> strawberry.Schema:
    return InventorySchema(
        query=Query,
        mutation=Mutation,
        types=[catalog.ProductSupplier],
        extensions=[ErrorTranslation],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
