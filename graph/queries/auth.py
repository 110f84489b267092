"""Root query fields about users: the signed-in user, and the user list for administrators."""

import strawberry
from strawberry.types import Info

from db import models
from db import users as users_db
from graph.auth import Role
from graph.context import Context
from graph.relay import Connection, window
from graph.roots import connection_of
from graph.types.users import User


@strawberry.input
class UserFilter:
    search: str | None = strawberry.field(default=None, description="Part of the username or email, any case.")
    role: Role | None = None  # type: ignore[valid-type]
    is_active: bool | None = None

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
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: UserFilter | None = None,
    ) -> Connection[User]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = users_db.user_conditions((filter or UserFilter()).spec())
        return await connection_of(
            info, models.User, conditions, users_db.USER_SORT, page_window, User.from_model
        )
