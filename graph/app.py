"""The Starlette application: /graphql (GraphiQL on GET from a browser), lifespan owns the engine."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from db.config import Settings
from db.engine import Database
from graph.context import Context
from graph.schema import schema


class InventoryGraphQL(GraphQL[Context, None]):
    def __init__(self, database: Database, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None)
        self.database = database
        self.settings = settings

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        return Context(db=self.database, settings=self.settings, request=request)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    """Build the app; it disposes of the engine on shutdown unless the database was passed in."""
    settings = settings or Settings()
    owns_database = database is None
    db = database or Database(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if owns_database:
            await db.dispose()

    async def health(_request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    graphql = InventoryGraphQL(db, settings)
    app = Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/health", health)],
        lifespan=lifespan,
    )
    app.state.database = db
    return app
