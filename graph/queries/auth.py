"""Root query fields about users: the signed-in user, and the user list for administrators."""

from typing import Annotated

import strawberry
from strawberry.types import Info

from db import models
from db import users as users_db
from graph.auth import Role
from graph.context import Context
from graph.relay import After, Before, Connection, First, Last, window
from graph.roots import connection_of
from graph.types.users import User


@strawberry.input(description="Narrows the list of users; every condition given must hold.")
class UserFilter:
    search: str | None = strawberry.field(default=None, description="Part of the username or email, any case.")
    role: Role | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only users with exactly this role."
    )
    is_active: bool | None = strawberry.field(
        default=None, description="Only active users (true) or only deactivated ones (false); both when not given."
    )

    def spec(self) -> users_db.UserFilter:
        return users_db.UserFilter(
            search=self.search or None,
            role=None if self.role is None else models.Role(self.role.value),
            is_active=self.is_active,
        )


@strawberry.type
class AuthQueries:
    @strawberry.field(description="The signed-in user; null without a valid bearer token.")
    async def me(self, info: Info[Context, None]) -> User | None:
        user = await info.context.user()
        return None if user is None else User.from_model(user)

    @strawberry.field(description="Users by username, a page at a time.")
    async def users(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[UserFilter | None, strawberry.argument(description="Narrows the users.")] = None,
    ) -> Connection[User]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = users_db.user_conditions((filter or UserFilter()).spec())
        return await connection_of(
            info, models.User, conditions, users_db.USER_SORT, page_window, User.from_model
        )
