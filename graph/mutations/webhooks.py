"""Webhook mutations: register, change and delete the endpoints ledger events are POSTed to.

Each mutation is one write transaction; a refused one rolls back and returns its `errors`. A secret is shown
only in the payload of the mutation that made it.
"""

from typing import Annotated, Any, Self

import strawberry
from strawberry.types import Info

from db import webhooks as webhooks_db
from db.lengths import MAX_WEBHOOK_SECRET_LENGTH, MAX_WEBHOOK_URL_LENGTH
from graph.context import Context
from graph.errors import UserError, with_error_codes
from graph.mutations.base import INPUT, changed, errors_field, optional, result_field, write
from graph.mutations.catalog import DeletePayload, _arguments, _id_argument
from graph.relay import id_input
from graph.types.webhooks import WebhookEndpoint, WebhookEvent

URL = (
    f"An http or https URL, up to {MAX_WEBHOOK_URL_LENGTH:,} characters, trimmed. Its host must resolve only to "
    "public addresses (no loopback, private, link-local, multicast or reserved ones) unless the server allows "
    "private ones; checked again before each delivery."
)
EVENTS = "The events to send it; at least one."
_URL_RULES = (
    "`url` is blank, too long, not http(s), has no host, holds a user name or password, or names a host that "
    "does not resolve or resolves to an address that is not public"
)


def _event_names(arguments: dict[str, Any]) -> dict[str, Any]:
    if arguments.get("events") is not None:
        arguments["events"] = [event.value for event in arguments["events"]]
    return arguments


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description=URL)
    events: list[WebhookEvent] = strawberry.field(description=EVENTS)  # type: ignore[valid-type]
    secret: str | None = optional(
        f"The secret requests are signed with: {webhooks_db.MIN_SECRET_LENGTH} to {MAX_WEBHOOK_SECRET_LENGTH} "
        "characters, taken as given (not trimmed). Left out, a random one is made; either way the payload shows "
        "it this once."
    )
    is_active: bool = optional("False registers it switched off: nothing is delivered until it is enabled.", True)


@strawberry.input(description="Fields left out keep their value.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description=id_input("the webhook endpoint to change"))
    url: str | None = changed(URL)
    events: list[WebhookEvent] | None = changed(EVENTS)  # type: ignore[valid-type]
    is_active: bool | None = changed(
        "False switches it off; true enables it, also after it was disabled for failures: delivery resumes after "
        "the last event delivered, so none is lost. Not null."
    )
    rotate_secret: bool = optional(
        "True replaces the secret with a new random one, shown in the payload this once; the old one signs "
        "nothing more.",
        False,
    )


@strawberry.type(description="The result of a mutation of a webhook endpoint.")
class WebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None = result_field("The endpoint as saved")
    secret: str | None = strawberry.field(
        default=None,
        description="The endpoint's signing secret, when this mutation made it (creating the endpoint, or "
        "`rotateSecret`); null otherwise. It is never shown again: keep it now.",
    )
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, saved: webhooks_db.Saved) -> Self:
        return cls(webhook_endpoint=WebhookEndpoint.from_model(saved.endpoint), secret=saved.secret)


_EndpointId = Annotated[strawberry.ID, strawberry.argument(description=id_input("the webhook endpoint"))]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description=with_error_codes(
            "Register a webhook endpoint. It gets the events of ledger entries made from now on.",
            INVALID=f"{_URL_RULES}; `events` is empty; or `secret` is too short or too long.",
        )
    )
    async def create_webhook_endpoint(
        self, info: Info[Context, None], input: Annotated[CreateWebhookEndpointInput, INPUT]
    ) -> WebhookEndpointPayload:
        allow_private = info.context.settings.webhooks_allow_private
        return await write(
            info,
            WebhookEndpointPayload,
            webhooks_db.create_endpoint,
            lambda: _event_names(_arguments(input)) | {"allow_private": allow_private},
            records_user="created_by_id",
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Change a webhook endpoint's URL, events or status, or rotate its secret.",
            INVALID=f"{_URL_RULES}; `url`, `events` or `isActive` is null; `events` is empty; or `id` is malformed.",
            NOT_FOUND="`id` names no webhook endpoint.",
        )
    )
    async def update_webhook_endpoint(
        self, info: Info[Context, None], input: Annotated[UpdateWebhookEndpointInput, INPUT]
    ) -> WebhookEndpointPayload:
        allow_private = info.context.settings.webhooks_allow_private

        def arguments() -> dict[str, Any]:
            given = _event_names(_arguments(input, "WebhookEndpoint"))
            given["endpoint_id"] = given.pop("webhookendpoint_id")
            return given | {"allow_private": allow_private}

        return await write(
            info, WebhookEndpointPayload, webhooks_db.update_endpoint, arguments, records_user="updated_by_id"
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Delete a webhook endpoint and its delivery log; nothing more is sent to it.",
            INVALID="`id` is malformed.",
            NOT_FOUND="`id` names no webhook endpoint.",
        )
    )
    async def delete_webhook_endpoint(self, info: Info[Context, None], id: _EndpointId) -> DeletePayload:
        def arguments() -> dict[str, Any]:
            return {"endpoint_id": _id_argument(id, "WebhookEndpoint")()["webhookendpoint_id"]}

        return await write(info, DeletePayload, webhooks_db.delete_endpoint, arguments)
