"""Who is asking and what they may do: the request's bearer token, the roles (VIEWER < CLERK < MANAGER <
ADMIN) and the permission classes that every protected field uses, through `requires(...)`.

    @strawberry.field(extensions=requires(Role.VIEWER))
    @strawberry.mutation(extensions=requires(Role.CLERK))

Refusals are GraphQL errors with `extensions.code`: UNAUTHENTICATED when no valid token was sent,
FORBIDDEN when the user's role is too low. Neither carries data.
"""

from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.requests import HTTPConnection
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info

from db import models
from db import users as users_db
from db.engine import Database

Role = strawberry.enum(
    Enum("Role", {role.name: role.value for role in models.Role}),
    description="What a user may do. VIEWER reads everything; CLERK also records stock movements; MANAGER also "
    "manages the catalog, suppliers, warehouses and purchase orders; ADMIN also manages users.",
)


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION], description="Only users with this role or a higher one may use the field."
)
class RequiresRole:
    role: Role  # type: ignore[valid-type]


@strawberry.schema_directive(locations=[Location.FIELD_DEFINITION], description="Only signed-in users may use the field.")
class Authenticated:
    pass


_SIGN_IN = "Authentication required: log in and send the token as `Authorization: Bearer <token>`."
_BAD_TOKEN = "The access token is invalid, expired or revoked: log in again."


class Unauthenticated(GraphQLError):
    def __init__(self, message: str = _SIGN_IN) -> None:
        super().__init__(message, extensions={"code": "UNAUTHENTICATED"})


def current_user(info: Info) -> models.User:
    """The signed-in user of the request; Unauthenticated if there is none."""
    context = info.context
    if context.user is None:
        raise Unauthenticated(_SIGN_IN if context.token is None else _BAD_TOKEN)
    return context.user  # type: ignore[no-any-return]


def acting_user_id(info: Info) -> int:
    """The id to record as `created_by_id` of what the request writes."""
    return current_user(info).id


def _db_role(role: Any) -> models.Role:
    return models.Role(role.value)


class IsAuthenticated(BasePermission):
    """Any signed-in user: an active user with a live token."""

    def __init__(self) -> None:
        self._schema_directive = Authenticated()

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        current_user(info)
        return True


class HasRole(BasePermission):
    """A signed-in user whose role is `role` or a higher one."""

    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, role: Any) -> None:
        self.role = _db_role(role)
        higher = "" if self.role is max(models.Role, key=lambda r: r.rank) else " or a higher one"
        self.message = f"This needs the {self.role} role{higher}."
        self._schema_directive = RequiresRole(role=Role[self.role.name])

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return current_user(info).role.rank >= self.role.rank


class IsSelfOrAdmin(BasePermission):
    """The user the source object is, or an administrator (for fields of User, which carries `pk`)."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        user = info.context.user
        return user is not None and (user.id == source.pk or user.role is models.Role.ADMIN)


def requires(role: Any = None) -> list[FieldExtension]:
    """The field extensions that let only users with `role` or a higher one (any signed-in user when
    None) use a field; for `extensions=` of strawberry.field and strawberry.mutation."""
    permission = IsAuthenticated() if role is None else HasRole(role)
    return [PermissionExtension(permissions=[permission])]


def self_or_admin() -> list[FieldExtension]:
    """Null, rather than an error, unless the viewer is the user the field belongs to or an administrator."""
    return [PermissionExtension(permissions=[IsSelfOrAdmin()], use_directives=False, fail_silently=True)]


def bearer_token(request: HTTPConnection) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None without one."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


async def token_user(database: Database, token: str) -> models.User | None:
    """The active user a live token belongs to (one statement; two when the token's last use is recorded)."""
    async with database.read_session() as session, session.begin():
        return await users_db.user_for_token(session, token=token)
