"""The Starlette application: /graphql (GraphiQL on GET from a browser), lifespan owns the engine."""

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from db.config import Settings
from db.engine import Database
from graph import health
from graph.access import AccessLog
from graph.auth import LoginLimiter, bearer_token
from graph.context import Context
from graph.errors import translate_errors, without_suggestions
from graph.http import REQUEST_ID_HEADER, BodyReadDeadline, GraphQLOverHTTP, RequestIdMiddleware
from graph.ide import assets_mount, graphiql_page
from graph.live import LiveFeed
from graph.plans.serve import ReadPlans
from graph.schema import build_schema
from graph.subscriptions import LiveTransportWS, OpenConnections, TextFrames, connection_token
from graph.webhooks import Deliverer


class InventoryGraphQL(GraphQLOverHTTP, GraphQL[Context, None]):
    graphql_transport_ws_handler_class = LiveTransportWS
    websocket_adapter_class = TextFrames  # type: ignore[assignment]
    def __init__(self, database: Database, settings: Settings, *, reference: Database | None = None) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql else None,
            # Subscriptions (graph/subscriptions.py) over the protocol current clients speak only.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.cors_origins,
        )
        self.live = LiveFeed(settings)
        self.connections = OpenConnections(self.live)
        self.database = database
        self.settings = settings
        self.login_limiter = LoginLimiter(settings.login_rate_per_minute)
        self.plans = ReadPlans(self.schema, database, settings, reference=reference) if settings.read_plans else None
        self.parse_limits = {
            "max_lexical_tokens": settings.max_tokens,
            "max_source_length": settings.max_document_chars,
        }

    async def answer(self, request: Request) -> Response:
        """A planned read's response, else strawberry's (graph/plans/serve.py says which are planned)."""
        if self.plans is not None:
            planned = await self.plans.respond(request)
            if planned is not None:
                return planned
        return await super().answer(request)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:  # type: ignore[override]
        """A WebSocket connection signs in with connection_init's payload (or, from clients that can send
        one, the handshake's Authorization header); without a valid token it is closed with 4403."""
        context.sign_in_with(connection_token(context.connection_params) or context.token)
        if await context.user() is None:
            raise ConnectionRejectionError()
        return UNSET

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql_page(request)  # strawberry's own page loads GraphiQL from a CDN

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:  # masks what an extension raised before execution, out of ErrorTranslation's reach
            result.errors = translate_errors(result.errors)
            if not self.settings.introspection:  # "Did you mean 'createUser'?" would describe the schema
                result.errors = without_suggestions(result.errors)
        return await super().process_result(request, result)

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        # No SQL here: the token's user is looked up when a field first needs it (Context.user).
        return Context(
            db=self.database,
            settings=self.settings,
            request=request,
            token=bearer_token(request),
            login_limiter=self.login_limiter,
            live=self.live,
        )


def freeze_startup_objects() -> None:
    """Keep what the process built at startup (modules, the schema, the engine: over 150,000 objects) out
    of the garbage collector's full collections. Those objects live as long as the process; frozen, they
    are no longer walked by each full collection, which took about 100 ms, once every few nested-page
    requests. (A larger first generation would save a few more milliseconds a request, but under load
    it let the server's memory creep up.)"""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    """Build the app; it disposes of the engine on shutdown unless the database was passed in."""
    settings = settings or Settings()
    owns_database = database is None
    db = database or Database(settings)
    # Compare mode runs the reference path on an engine of its own (graph/plans/serve.py).
    reference = Database(settings) if settings.read_plans and settings.plan_compare else None

    graphql = InventoryGraphQL(db, settings, reference=reference)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        freeze_startup_objects()
        await graphql.live.start()
        graphql.connections.start()
        # Every process runs one; one of them at a time delivers (graph/webhooks.py), woken by the feed as
        # entries commit rather than waiting for its next poll.
        deliverer = Deliverer(settings, db) if settings.webhooks_deliver else None
        app.state.webhooks = deliverer
        if deliverer is not None:
            graphql.live.on_appended(deliverer.wake)
            deliverer.start()
        yield
        if deliverer is not None:
            await deliverer.stop()
        await graphql.connections.stop()
        await graphql.live.stop()
        if owns_database:
            await db.dispose()
        if reference is not None:
            await reference.dispose()

    cors = Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
        expose_headers=[REQUEST_ID_HEADER],
    )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"], max_body_size=settings.max_body_bytes),
            WebSocketRoute("/graphql", graphql),
            *health.routes(db),
            *([assets_mount()] if settings.graphiql else []),
        ],
        middleware=[
            Middleware(AccessLog),  # outermost: the whole request's time, and the status the client got
            Middleware(RequestIdMiddleware),
            Middleware(BodyReadDeadline, seconds=settings.request_read_timeout_seconds),
            cors,
        ],
        lifespan=lifespan,
    )
    app.state.database = db
    app.state.webhooks = None
    return app
