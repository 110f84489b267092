"""The webhook root fields, for administrators: the endpoints and each one's delivery log."""

from typing import Annotated

import strawberry
from strawberry.types import Info

from db import webhooks as webhooks_db
from db.models import WebhookDelivery as DeliveryModel
from db.models import WebhookEndpoint as EndpointModel
from graph.context import Context
from graph.relay import After, Before, Connection, First, Last, decode_id, id_input, window
from graph.roots import connection_of
from graph.types.webhooks import WebhookDelivery, WebhookEndpoint


def delivery_filter(endpoint_id: str) -> webhooks_db.DeliveryFilter:
    return webhooks_db.DeliveryFilter(decode_id(endpoint_id, "WebhookEndpoint", "endpointId"))


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="The webhook endpoints, oldest first.")
    async def webhook_endpoints(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[WebhookEndpoint]:
        page_window = window(info.context.settings, first, after, last, before)
        return await connection_of(
            info, EndpointModel, [], webhooks_db.ENDPOINT_SORT, page_window, WebhookEndpoint.from_model
        )

    @strawberry.field(
        description="A webhook endpoint's delivery log, newest first: every attempt, failed ones with their "
        "status or error and when the event is tried again. Empty for an ID that names no endpoint."
    )
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        endpoint_id: Annotated[strawberry.ID, strawberry.argument(description=id_input("the webhook endpoint"))],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[WebhookDelivery]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = webhooks_db.delivery_conditions(delivery_filter(endpoint_id))
        return await connection_of(
            info, DeliveryModel, conditions, webhooks_db.DELIVERY_SORT, page_window, WebhookDelivery.from_model
        )
