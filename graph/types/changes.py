"""The change log's types: a Change (what one mutation did to one object) and the fields it changed. The
fields are presented here for both read paths (`present`): stored by attribute name with row ids, they are
shown by the mutations' input names with global IDs."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from db import models
from graph.auth import is_self_or_admin
from graph.relations import Relation
from graph.relay import Node, id_of, to_global_id
from graph.types.users import User

# Logged attributes that hold another object's row id, and the type it names.
_REFERENCES = {
    "category_id": "Category",
    "parent_id": "Category",
    "supplier_id": "Supplier",
    "product_id": "Product",
}

ACTOR = Relation(lambda loaders: loaders.user_by_id, lambda change, _settings: change.actor_pk)

FIELD_NAME = (
    "The field's name as the mutations' inputs have it (`unitPrice`, `categoryId`, `isActive`); `password` for "
    "a user's password, `lines` for a purchase order's lines (a list of `{productId, quantity, unitCost}`)."
)
FIELD_VALUE = (
    "as JSON: text, numbers and booleans as they are; amounts as decimal text (`\"12.50\"`), times and dates "
    "as ISO 8601 text, enums by name (`\"ORDERED\"`), other objects by global ID; a password only as "
    "`\"[redacted]\"`; a user's email as `\"[hidden]\"` unless you are that user or an ADMIN (the rule of "
    "`User.email`)."
)


def _value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _REFERENCES:
        return to_global_id(_REFERENCES[name], value)
    if isinstance(value, list):
        return [
            {to_camel_case(key): _value(key, item) for key, item in element.items()}
            if isinstance(element, dict)
            else element
            for element in value
        ]
    return value


# What a user's email is shown as to those who may not read it (User.email's rule).
HIDDEN = "[hidden]"
_EMAIL = "email"


def shows_email(viewer: Any, entity_type: str, entity_pk: int) -> bool:
    """Whether `viewer` may read the emails in a change of the `entity_type` object `entity_pk`: in a User's
    changes, as `User.email`, only that user and administrators."""
    return entity_type != "User" or is_self_or_admin(viewer, entity_pk)


def present(fields: list[dict[str, Any]], *, email_shown: bool) -> list[dict[str, Any]]:
    """A change's fields as the API shows them: input names and global IDs, and an email as HIDDEN unless
    `email_shown` (`shows_email`)."""
    return [
        {
            "field": to_camel_case(field["field"]),
            "old": _shown(field["field"], field["old"], email_shown),
            "new": _shown(field["field"], field["new"], email_shown),
        }
        for field in fields
    ]


def _shown(name: str, value: Any, email_shown: bool) -> Any:
    if name == _EMAIL and value is not None and not email_shown:
        return HIDDEN
    return _value(name, value)


@strawberry.type(description="One field a change set: its value before and after.")
class FieldChange:
    field: str = strawberry.field(description=FIELD_NAME)
    old: JSON | None = strawberry.field(
        description=f"The value before; null when there was none (the object was created). The value {FIELD_VALUE}"
    )
    new: JSON | None = strawberry.field(
        description=f"The value after; null when there is none (the object was deleted). The value {FIELD_VALUE}"
    )


@strawberry.type(
    description="What one mutation did to one object: created it (every `old` null), changed it, or deleted it "
    "(every `new` null). The log is append-only. Stock movements are the ledger's (`transactions`), not "
    "changes; receiving a purchase order logs the order's new status."
)
class Change(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this change"))
    operation: str = strawberry.field(
        description="The mutation that made it (`updateProduct`), or the `inventory` command "
        "(`users create`, `users deactivate`, ...)."
    )
    entity_type: str = strawberry.field(description="The type of the object changed (`Product`).")
    entity_id: strawberry.ID = strawberry.field(
        description="The global ID of the object changed; `node(id:)` fetches it, unless it was deleted."
    )
    request_id: str | None = strawberry.field(
        description="The id of the HTTP request that made it (its `X-Request-ID` response header); null for "
        "changes made by `inventory` commands."
    )
    at: datetime = strawberry.field(description="When the change was made.")
    pk: strawberry.Private[int]
    entity_pk: strawberry.Private[int]
    actor_pk: strawberry.Private[int | None]
    stored_fields: strawberry.Private[list[dict[str, Any]]]

    @classmethod
    def from_model(cls, row: models.Change) -> "Change":
        return cls(
            id=strawberry.ID(to_global_id("Change", row.id)),
            pk=row.id,
            entity_pk=row.entity_id,
            actor_pk=row.actor_id,
            operation=row.operation,
            entity_type=row.entity_type,
            entity_id=strawberry.ID(to_global_id(row.entity_type, row.entity_id)),
            stored_fields=row.fields,
            request_id=row.request_id,
            at=row.created_at,
        )

    @strawberry.field(description="The fields it set, each with its value before and after, in a fixed order.")
    async def fields(self, info: Info) -> list[FieldChange]:
        email_shown = shows_email(await info.context.user(), self.entity_type, self.entity_pk)
        return [FieldChange(**field) for field in present(self.stored_fields, email_shown=email_shown)]

    @strawberry.field(
        description="The signed-in user who made it; null for changes made by `inventory` commands."
    )
    def actor(self, info: Info) -> User | None:
        return ACTOR.resolve(self, info)  # type: ignore[no-any-return]

