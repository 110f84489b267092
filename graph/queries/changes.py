"""The change log's root field, for managers and administrators."""

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from db import changes as changes_db
from db.errors import Invalid
from db.models import Change as ChangeModel
from db.stock_reads import check_period
from graph.context import Context
from graph.relay import After, Before, Connection, First, Last, decode_optional_id, from_global_id, id_input, window
from graph.roots import connection_of
from graph.types.changes import Change


@strawberry.input(description="Narrows the change log; every condition given must hold.")
class ChangeFilter:
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="The global ID of any object: only its changes (deleted objects' too)."
    )
    actor_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a user')} Only the changes it made."
    )
    created_from: datetime | None = strawberry.field(
        default=None, name="from", description="Changes made at or after this time, with a UTC offset."
    )
    created_to: datetime | None = strawberry.field(
        default=None, name="to", description="Changes made before this time, with a UTC offset; not before `from`."
    )

    def spec(self) -> changes_db.ChangeFilter:
        check_period(self.created_from, self.created_to, start_field="filter.from", end_field="filter.to")
        entity_type = entity_id = None
        if self.entity_id is not None:
            try:
                entity_type, entity_id = from_global_id(self.entity_id)
            except ValueError:
                raise Invalid("`filter.entityId` is not a valid ID.", field="filter.entityId") from None
        return changes_db.ChangeFilter(
            entity_type=entity_type,
            entity_id=entity_id,
            actor_id=decode_optional_id(self.actor_id, "User", "filter.actorId"),
            created_from=self.created_from,
            created_to=self.created_to,
        )


@strawberry.type
class ChangeQueries:
    @strawberry.field(
        description="The change log, newest first: what each mutation created, changed or deleted in the catalog, "
        "warehouses, purchase orders and users, by whom and when. Stock movements are in `transactions`."
    )
    async def changes(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[ChangeFilter | None, strawberry.argument(description="Narrows the changes.")] = None,
    ) -> Connection[Change]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = changes_db.change_conditions((filter or ChangeFilter()).spec())
        return await connection_of(
            info, ChangeModel, conditions, changes_db.CHANGE_SORT, page_window, Change.from_model
        )
