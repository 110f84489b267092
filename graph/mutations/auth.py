"""Signing in and out, and user management for administrators."""

import logging
from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry.types import Info

from db import models
from db import users as users_db
from db.errors import AuthenticationFailed
from graph.auth import Role, current_user
from graph.context import Context
from graph.errors import UserError, user_errors
from graph.http import current_request_id
from graph.mutations.base import write
from graph.relay import decode_id
from graph.types.users import User

UNSET: Any = strawberry.UNSET
logger = logging.getLogger("inventory.auth")


@strawberry.input
class CreateUserInput:
    username: str = strawberry.field(description="Stored lowercase; unique whatever the case.")
    password: str = strawberry.field(description=f"At least {users_db.MIN_PASSWORD_LENGTH} characters.")
    role: Role  # type: ignore[valid-type]
    email: str | None = None


@strawberry.input(
    description="Fields left out keep their value; null clears `email`. A new password, or `isActive: false`, "
    "revokes all the user's tokens."
)
class UpdateUserInput:
    id: strawberry.ID
    role: Role | None = UNSET  # type: ignore[valid-type]
    email: str | None = UNSET
    is_active: bool | None = UNSET
    password: str | None = UNSET


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(
        default=None, description="Send it with every request as the header `Authorization: Bearer <token>`."
    )
    expires_at: datetime | None = strawberry.field(default=None, description="When the token stops working.")
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutPayload:
    user: User | None = strawberry.field(default=None, description="The user whose token was revoked.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UserPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(user=User.from_model(row))


def _db_role(role: Any) -> Any:
    return role if role is UNSET or role is None else models.Role(role.value)


@strawberry.type
class AuthMutations:
    @strawberry.mutation(
        description="Exchange a username and password for a bearer token. Any failure gets the same error; "
        "repeated failures make a user's logins wait."
    )
    async def login(self, info: Info[Context, None], username: str, password: str) -> LoginPayload:
        security = users_db.Security.from_settings(info.context.settings)
        failure: AuthenticationFailed | None = None
        async with info.context.db.write_session() as session, session.begin():
            try:
                user = await users_db.authenticate(session, security=security, username=username, password=password)
                issued = await users_db.issue_token(session, user_id=user.id, ttl=security.token_ttl)
            except AuthenticationFailed as error:
                # Caught inside the transaction, so that it commits the failure count.
                failure = error
        if failure is not None:
            # The username as sent (repr: one line whatever it holds, cut short), never the password.
            shown = username if len(username) <= 64 else username[:64] + "..."
            logger.warning("login refused for %r: %s (request %s)", shown, failure.reason, current_request_id())
            return LoginPayload(errors=user_errors(failure))
        return LoginPayload(token=issued.token, expires_at=issued.expires_at, user=User.from_model(user))

    @strawberry.mutation(description="Revoke the bearer token this request was sent with.")
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        user = await current_user(info)
        async with info.context.db.write_session() as session, session.begin():
            await users_db.revoke_token(session, token=info.context.token or "")
        return LogoutPayload(user=User.from_model(user))

    @strawberry.mutation(description="Add a user.")
    async def create_user(self, info: Info[Context, None], input: CreateUserInput) -> UserPayload:
        security = users_db.Security.from_settings(info.context.settings)
        return await write(
            info,
            UserPayload,
            users_db.create_user,
            lambda: {
                "security": security,
                "username": input.username,
                "password": input.password,
                "role": _db_role(input.role),
                "email": input.email,
            },
        )

    @strawberry.mutation(description="Change a user's role, email, password or status.")
    async def update_user(self, info: Info[Context, None], input: UpdateUserInput) -> UserPayload:
        security = users_db.Security.from_settings(info.context.settings)

        def arguments() -> dict[str, Any]:
            given = {
                "role": _db_role(input.role),
                "email": input.email,
                "is_active": input.is_active,
                "password": input.password,
            }
            return {
                "security": security,
                "user_id": decode_id(input.id, "User", "id"),
                **{name: value for name, value in given.items() if value is not UNSET},
            }

        return await write(info, UserPayload, users_db.update_user, arguments)

    @strawberry.mutation(description="Stop a user from signing in and revoke all its tokens.")
    async def deactivate_user(self, info: Info[Context, None], id: strawberry.ID) -> UserPayload:
        return await write(
            info, UserPayload, users_db.deactivate_user, lambda: {"user_id": decode_id(id, "User", "id")}
        )
