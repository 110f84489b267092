"""Signing in and out, and user management for administrators."""

import logging
from datetime import datetime
from typing import Annotated, Any, Self

import strawberry
from strawberry.types import Info

from db import models
from db import users as users_db
from db.config import Settings
from db.errors import AuthenticationFailed
from db.lengths import MAX_EMAIL_LENGTH, MAX_USERNAME_LENGTH
from graph.auth import Role, client_address, current_user
from graph.context import Context
from graph.errors import UserError, user_errors, with_error_codes
from graph.http import current_request_id
from graph.mutations.base import INPUT, changed, errors_field, optional, result_field, write
from graph.relay import decode_id, id_input
from graph.types.users import User

UNSET: Any = strawberry.UNSET
logger = logging.getLogger("inventory.auth")


def _default(setting: str) -> Any:
    """A setting's default: descriptions state the defaults, which the server's settings may change."""
    return Settings.model_fields[setting].default


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour{'s' if seconds != 3600 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} minute{'s' if seconds != 60 else ''}"
    return f"{seconds} seconds"


USERNAME = (
    f"3 to {MAX_USERNAME_LENGTH} letters, digits, '.', '_' and '-', starting with a letter or digit; stored trimmed "
    "and in lowercase, and unique whatever the case."
)
PASSWORD_RULES = (
    f"{users_db.MIN_PASSWORD_LENGTH} to {users_db.MAX_PASSWORD_LENGTH} characters, any characters (spaces count, "
    "nothing is trimmed); there are no other rules"
)
TOKEN_LIFETIME = _duration(_default("token_ttl_minutes") * 60)
LOCKOUT = (
    f"After {_default('login_failures_before_delay')} failed logins in a row with a wrong password, the user's "
    f"logins are refused for {_duration(_default('login_delay_seconds'))}, even with the right password; each "
    "further wrong password after that doubles the wait, up to "
    f"{_duration(_default('login_max_delay_seconds'))}. Attempts during a wait are refused without counting. "
    "A successful login, or a new password set with `updateUser`, starts the count again. (These are the "
    "defaults; the server's settings may change them.)"
)
EMAIL = f"An email address, up to {MAX_EMAIL_LENGTH} characters; only the user and administrators see it."


@strawberry.input(description="A new user, active from the start.")
class CreateUserInput:
    username: str = strawberry.field(description=USERNAME)
    password: str = strawberry.field(description=f"{PASSWORD_RULES}.")
    role: Role = strawberry.field(description="What the user may do.")  # type: ignore[valid-type]
    email: str | None = optional(EMAIL)


@strawberry.input(
    description="Fields left out keep their value; null clears `email`. A new password, or `isActive: false`, "
    "revokes all the user's tokens."
)
class UpdateUserInput:
    id: strawberry.ID = strawberry.field(description=id_input("the user to change"))
    role: Role | None = changed(  # type: ignore[valid-type]
        "What the user may do; not null. The last active ADMIN keeps the role."
    )
    email: str | None = changed(EMAIL)
    is_active: bool | None = changed(
        "False deactivates the user (as `deactivateUser` does), true lets it sign in again; not null."
    )
    password: str | None = changed(
        f"A new password: {PASSWORD_RULES}. It revokes all the user's tokens and lifts a login delay."
    )


@strawberry.type(description="The result of `login`.")
class LoginPayload:
    token: str | None = optional(
        "The bearer token, shown this once: send it with every request as the header "
        f"`Authorization: Bearer <token>`. It works for {TOKEN_LIFETIME} by default, or until `logout`. Null "
        "when the login was refused."
    )
    expires_at: datetime | None = optional("When the token stops working; null when the login was refused.")
    user: User | None = result_field("The user signed in")
    errors: list[UserError] = errors_field()


@strawberry.type(description="The result of `logout`.")
class LogoutPayload:
    user: User | None = optional("The user whose token was revoked.")
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Always empty: signed in, logging out cannot be refused."
    )


@strawberry.type(description="The result of a mutation of a user.")
class UserPayload:
    user: User | None = result_field("The user as saved")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(user=User.from_model(row))


def _db_role(role: Any) -> Any:
    return role if role is UNSET or role is None else models.Role(role.value)


@strawberry.type
class AuthMutations:
    @strawberry.mutation(
        description=with_error_codes(
            "Exchange a username and password for a bearer token. Send the token as the header "
            f"`Authorization: Bearer <token>`; it works for {TOKEN_LIFETIME} by default, or until `logout`.\n\n"
            f"Passwords are {PASSWORD_RULES}. Any failure gets the same error. {LOCKOUT}\n\n"
            "Use variables for the password (`login(username: $username, password: $password)`) rather than "
            "writing it into the document.",
            INVALID_CREDENTIALS="the username is unknown, the password is wrong, the user is deactivated, or its "
            "logins are delayed after failed ones.",
        )
    )
    async def login(
        self,
        info: Info[Context, None],
        username: Annotated[str, strawberry.argument(description="The username, whatever the case.")],
        password: Annotated[str, strawberry.argument(description="The user's password, exactly as set.")],
    ) -> LoginPayload:
        context = info.context
        security = users_db.Security.from_settings(context.settings)
        failure: AuthenticationFailed | None = None
        client = client_address(context.request)
        if context.login_limiter is not None and not context.login_limiter.allow(client):
            # Refused before any password is checked: each check costs a large share of a CPU and of memory.
            limit = context.login_limiter.per_minute
            failure = AuthenticationFailed(f"more than {limit} logins a minute from {client}")
        else:
            async with context.db.write_session() as session, session.begin():
                try:
                    user = await users_db.authenticate(
                        session, security=security, username=username, password=password
                    )
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

    @strawberry.mutation(
        description="Revoke the bearer token this request was sent with; the user's other tokens keep working."
    )
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        user = await current_user(info)
        async with info.context.db.write_session() as session, session.begin():
            await users_db.revoke_token(session, token=info.context.token or "")
        info.context.users_changed()
        return LogoutPayload(user=User.from_model(user))

    @strawberry.mutation(
        description=with_error_codes(
            f"Add a user. Usernames are {USERNAME[0].lower()}{USERNAME[1:-1]}. Passwords are {PASSWORD_RULES}.",
            INVALID=f"`username` breaks its rule, `password` is under {users_db.MIN_PASSWORD_LENGTH} or over "
            f"{users_db.MAX_PASSWORD_LENGTH} characters, or `email` is not an email address or over {MAX_EMAIL_LENGTH} "
            "characters.",
            DUPLICATE="another user has the username, whatever the case.",
        )
    )
    async def create_user(
        self, info: Info[Context, None], input: Annotated[CreateUserInput, INPUT]
    ) -> UserPayload:
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

    @strawberry.mutation(
        description=with_error_codes(
            "Change a user's role, email, password or status.",
            INVALID=f"`password` is null, under {users_db.MIN_PASSWORD_LENGTH} or over "
            f"{users_db.MAX_PASSWORD_LENGTH} characters; `email` is not an email address or over {MAX_EMAIL_LENGTH} "
            "characters; `role` or `isActive` is null; the change would leave no active ADMIN; or `id` is malformed.",
            NOT_FOUND="`id` names no user.",
        )
    )
    async def update_user(
        self, info: Info[Context, None], input: Annotated[UpdateUserInput, INPUT]
    ) -> UserPayload:
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

        payload = await write(info, UserPayload, users_db.update_user, arguments)
        info.context.users_changed()  # a role, a deactivation or a new password: perhaps the caller's own
        return payload

    @strawberry.mutation(
        description=with_error_codes(
            "Stop a user from signing in and revoke all its tokens; its history keeps naming it.",
            INVALID="the user is the last active ADMIN, or `id` is malformed.",
            NOT_FOUND="`id` names no user.",
        )
    )
    async def deactivate_user(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=id_input("the user"))],
    ) -> UserPayload:
        payload = await write(
            info, UserPayload, users_db.deactivate_user, lambda: {"user_id": decode_id(id, "User", "id")}
        )
        info.context.users_changed()
        return payload
