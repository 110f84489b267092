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
    "`\"[redacted]\"`."
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


def present(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A change's fields as the API shows them: input names and global IDs."""
    return [
        {
            "field": to_camel_case(field["field"]),
            "old": _value(field["field"], field["old"]),
            "new": _value(field["field"], field["new"]),
        }
        for field in fields
    ]


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
    actor_pk: strawberry.Private[int | None]
    stored_fields: strawberry.Private[list[dict[str, Any]]]

    @classmethod
    def from_model(cls, row: models.Change) -> "Change":
        return cls(
            id=strawberry.ID(to_global_id("Change", row.id)),
            pk=row.id,
            actor_pk=row.actor_id,
            operation=row.operation,
            entity_type=row.entity_type,
            entity_id=strawberry.ID(to_global_id(row.entity_type, row.entity_id)),
            stored_fields=row.fields,
            request_id=row.request_id,
            at=row.created_at,
        )

    @strawberry.field(description="The fields it set, each with its value before and after, in a fixed order.")
    def fields(self) -> list[FieldChange]:
        return [FieldChange(**field) for field in present(self.stored_fields)]

    @strawberry.field(
        description="The signed-in user who made it; null for changes made by `inventory` commands."
    )
    def actor(self, info: Info) -> User | None:
        return ACTOR.resolve(self, info)  # type: ignore[no-any-return]

