"""The strawberry Schema: root types, extensions and configuration."""

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types.graphql import OperationType
from strawberry.types import ExecutionContext
from strawberry.schema.config import StrawberryConfig

from db.config import Settings
from db.models import Role
from graph.auth import ANYONE, READS_CHANGES, SIGNED_IN, Access, guard
from graph.errors import ErrorTranslation
from graph.limits import limit_extensions
from graph.mutations.auth import AuthMutations
from graph.mutations.catalog import CatalogMutations
from graph.mutations.imports import ImportMutations
from graph.mutations.purchasing import PurchasingMutations
from graph.mutations.selling import SellingMutations
from graph.mutations.stock import StockMutations
from graph.mutations.warehouses import WarehouseMutations
from graph.mutations.webhooks import WebhookMutations
from graph.queries.auth import AuthQueries
from graph.queries.catalog import CatalogQueries
from graph.queries.changes import ChangeQueries
from graph.queries.purchasing import PurchasingQueries
from graph.queries.selling import SellingQueries
from graph.queries.stock import StockQueries
from graph.queries.webhooks import WebhookQueries
from graph.scalars import SCALARS
from graph.subscriptions import Subscription as LiveSubscription
from graph.types import catalog, selling, stock


VIEWER, CLERK, MANAGER, ADMIN = Role.VIEWER, Role.CLERK, Role.MANAGER, Role.ADMIN

# Who may use each root field: that role or a higher one, any signed-in user, or anyone (graph/auth.py).
# Every root field must be listed; the README's role table says the same in words.
QUERY_ACCESS: dict[str, Role | Access] = {
    "me": ANYONE,
    **dict.fromkeys(
        [
            "node", "nodes",
            "product", "products", "category", "categories", "supplier", "suppliers",
            "warehouse", "warehouses", "transactions", "lowStock", "inventoryValuation", "stockMovements",
            "purchaseOrder", "purchaseOrders",
            "customer", "customers", "salesOrder", "salesOrders", "reservations",
        ],
        VIEWER,
    ),
    "changes": READS_CHANGES,
    **dict.fromkeys(["users", "webhookEndpoints", "webhookDeliveries"], ADMIN),
}

MUTATION_ACCESS: dict[str, Role | Access] = {
    "login": ANYONE,
    "logout": SIGNED_IN,
    # Stock movements. Receiving a purchase order is one too: the clerk in the warehouse books what arrived
    # against the order a manager placed.
    **dict.fromkeys(
        [
            "receiveStock", "shipStock", "adjustStock", "transferStock", "returnStock", "receivePurchaseOrder",
            # Selling at the counter and in the warehouse: drafting and confirming orders, shipping them and
            # holding stock for a cart or a quote. Cancelling and taking returns undo what was promised or sold,
            # and customers are master data: managers.
            "createSalesOrder", "updateSalesOrder", "confirmSalesOrder", "shipSalesOrder",
            "reserveStock", "releaseReservation",
        ],
        CLERK,
    ),
    **dict.fromkeys(
        [
            "createCategory", "updateCategory", "deleteCategory",
            "createSupplier", "updateSupplier", "deleteSupplier",
            "createProduct", "updateProduct", "deleteProduct",
            "setProductSupplier", "removeProductSupplier",
            "createWarehouse", "updateWarehouse", "archiveWarehouse", "deleteWarehouse",
            "createPurchaseOrder", "updatePurchaseOrder", "submitPurchaseOrder", "cancelPurchaseOrder",
            "draftPurchaseOrdersFromLowStock",
            "importProducts", "importStock",
            "createCustomer", "updateCustomer", "deleteCustomer", "cancelSalesOrder", "returnSalesOrderLine",
        ],
        MANAGER,
    ),
    **dict.fromkeys(
        [
            "createUser", "updateUser", "deactivateUser",
            "createWebhookEndpoint", "updateWebhookEndpoint", "deleteWebhookEndpoint",
        ],
        ADMIN,
    ),
}


# Subscriptions read what the ledger queries read.
SUBSCRIPTION_ACCESS: dict[str, Role | Access] = dict.fromkeys(
    ["transactionAdded", "stockChanged", "lowStockReached"], VIEWER
)


_TOKEN = (
    "Every field names who may use it (**Access**). Send the token `login` gives as the header "
    "`Authorization: Bearer <token>`; without a valid one, a field that needs it fails with the error code "
    "(`extensions.code`) UNAUTHENTICATED, and with too low a role, FORBIDDEN."
)


@guard(QUERY_ACCESS)
@strawberry.type(
    description=f"What can be read. {_TOKEN} A field refused for its arguments fails with BAD_USER_INPUT (an "
    "argument breaks a rule) or NOT_FOUND (an ID of another type)."
)
class Query(
    CatalogQueries, StockQueries, PurchasingQueries, SellingQueries, AuthQueries, ChangeQueries, WebhookQueries
):
    pass


@guard(MUTATION_ACCESS)
@strawberry.type(
    description="What can be changed. Each mutation is one transaction: when it is refused, its payload's "
    f"`errors` say why and nothing changed (a failed `login` is counted, though). {_TOKEN}"
)
class Mutation(
    CatalogMutations,
    StockMutations,
    PurchasingMutations,
    SellingMutations,
    WarehouseMutations,
    ImportMutations,
    AuthMutations,
    WebhookMutations,
):
    pass


@guard(SUBSCRIPTION_ACCESS)
@strawberry.type(description=LiveSubscription.__strawberry_definition__.description)  # type: ignore[attr-defined]
class Subscription(LiveSubscription):
    pass


class InventorySchema(strawberry.Schema):
    async def stream(self, query: str | None, *args: Any, **kwargs: Any) -> Any:
        """Over a WebSocket (a context with connection_init's payload), subscriptions only: queries and
        mutations go over HTTP, where their limits, logs and read plans are."""
        context = kwargs.get("context_value", args[1] if len(args) > 1 else None)
        if kwargs.get("allowed_operation_types") is None and getattr(context, "connection_params", None) is not None:
            kwargs["allowed_operation_types"] = (OperationType.SUBSCRIPTION,)
        return await super().stream(query, *args, **kwargs)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in ErrorTranslation, which knows expected errors from unexpected ones."""


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema; with `settings`, it enforces their abuse limits (graph/limits.py)."""
    built = InventorySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            catalog.ProductSupplier, stock.Warehouse, stock.InventoryTransaction, stock.PurchaseOrder,
            selling.Customer, selling.SalesOrder, selling.SalesOrderLine, selling.Reservation,
        ],
        extensions=[ErrorTranslation, *(limit_extensions(settings) if settings else [])],
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS),
    )
    return built


schema = build_schema()
