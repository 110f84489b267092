"""Who is asking and what they may do: the request's bearer token, the roles (VIEWER < CLERK < MANAGER <
ADMIN) and the one mechanism that guards the API: `guard(access)` gives every root field of a type the
permission class its entry in `access` names, and refuses to build a schema with a root field it lacks.

    @guard({"products": Role.VIEWER, "me": ANYONE, "logout": SIGNED_IN, ...})
    @strawberry.type
    class Query: ...

Refusals are GraphQL errors with `extensions.code`: UNAUTHENTICATED when no valid token was sent,
FORBIDDEN when the user's role is too low. Neither carries data. The user behind a token is looked up
only when a check needs it (graph/context.py), so a document refused before execution runs no SQL.
"""

import time
from collections import Counter
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from starlette.requests import HTTPConnection
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from db import models
from db import users as users_db
from db.engine import Database

_ROLE_DESCRIPTIONS = {
    models.Role.VIEWER: "Reads the catalog, suppliers, warehouses, stock, the ledger, purchase orders and the reports.",
    models.Role.CLERK: "What VIEWER may do, and records stock movements: receives, ships, counts, transfers and "
    "takes back stock, and receives goods against purchase orders.",
    models.Role.MANAGER: "What CLERK may do, and manages the catalog (categories, products, supplier terms), "
    "suppliers, warehouses and purchase orders, and imports products and opening stock.",
    models.Role.ADMIN: "What MANAGER may do, and manages users: lists, creates, changes and deactivates them.",
}

Role = strawberry.enum(
    Enum(
        "Role",
        {
            role.name: strawberry.enum_value(role.value, description=_ROLE_DESCRIPTIONS[role])
            for role in models.Role
        },
    ),
    description="What a user may do. Each role may do everything the roles before it may: VIEWER < CLERK < "
    "MANAGER < ADMIN.",
)


class Access(Enum):
    """Who may use a root field besides the roles: anyone, or any signed-in user."""

    ANYONE = "anyone"
    SIGNED_IN = "signed in"


ANYONE = Access.ANYONE
SIGNED_IN = Access.SIGNED_IN
# Who may read the change log (`changes`, and a Change by its ID): it names who changed what.
READS_CHANGES = models.Role.MANAGER


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


async def current_user(info: Info, *, recheck: bool = False) -> models.User:
    """The signed-in user of the request; Unauthenticated if there is none. `recheck`: see Context.user."""
    context = info.context
    user = await context.user(recheck=recheck)
    if user is None:
        raise Unauthenticated(_SIGN_IN if context.token is None else _BAD_TOKEN)
    return user  # type: ignore[no-any-return]


async def acting_user_id(info: Info) -> int:
    """The id to record as the creator (`created_by_id`) or last changer (`updated_by_id`) of what the
    request writes."""
    return (await current_user(info)).id


def _db_role(role: Any) -> models.Role:
    return models.Role(role.value)


class IsAuthenticated(BasePermission):
    """Any signed-in user: an active user with a live token."""

    def __init__(self) -> None:
        self._schema_directive = Authenticated()

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await current_user(info, recheck=True)
        return True


class HasRole(BasePermission):
    """A signed-in user whose role is `role` or a higher one."""

    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, role: Any) -> None:
        self.role = _db_role(role)
        higher = "" if self.role is max(models.Role, key=lambda r: r.rank) else " or a higher one"
        self.message = f"This needs the {self.role} role{higher}."
        self._schema_directive = RequiresRole(role=Role[self.role.name])

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return (await current_user(info, recheck=True)).role.rank >= self.role.rank


def is_self_or_admin(viewer: Any, user_id: int) -> bool:
    """Whether `viewer` (a signed-in user, with `id` and `role`, or None) is the user `user_id` or an
    administrator: who may see a user's email, or fetch a user by its ID."""
    return viewer is not None and (viewer.id == user_id or viewer.role is models.Role.ADMIN)


def may_fetch(viewer: Any, type_name: str, pk: Any) -> bool:
    """Whether `viewer` (as for `is_self_or_admin`) may fetch the object of `type_name` with primary key
    `pk` (a stock level's: a pair) by its ID (`node`, `nodes`, on both read paths): a User only itself, unless
    an administrator (as `users` is theirs alone); a Change only with READS_CHANGES or a higher role (as
    `changes`); a WebhookEndpoint only an administrator (as `webhookEndpoints`); anything else anyone who may
    use `node`."""
    if type_name == "User":
        return is_self_or_admin(viewer, pk)
    if type_name == "Change":
        return viewer is not None and viewer.role.rank >= READS_CHANGES.rank
    if type_name == "WebhookEndpoint":
        return viewer is not None and viewer.role is models.Role.ADMIN
    return True


class IsSelfOrAdmin(BasePermission):
    """The user the source object is, or an administrator (for fields of User, which carries `pk`)."""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return is_self_or_admin(await info.context.user(), source.pk)


def refusal(access: models.Role | Access, role: models.Role | None, *, token_sent: bool) -> GraphQLError | None:
    """The error the permission classes below give a user with `role` (None: no valid token) for a field
    needing `access`, or None when they let it through: for the read plans, which decide it per role."""
    if access is ANYONE:
        return None
    if role is None:
        return Unauthenticated(_BAD_TOKEN if token_sent else _SIGN_IN)
    if access is SIGNED_IN or role.rank >= access.rank:  # type: ignore[union-attr]
        return None
    permission = HasRole(access)
    return GraphQLError(permission.message, extensions=dict(permission.error_extensions))


def requires(access: models.Role | Access) -> list[FieldExtension]:
    """The field extensions that let only users with `access` (a role or a higher one, any signed-in user,
    or anyone) use a field."""
    if access is ANYONE:
        return []
    permission = IsAuthenticated() if access is SIGNED_IN else HasRole(access)
    return [PermissionExtension(permissions=[permission])]


T = TypeVar("T")


def access_note(access: models.Role | Access) -> str:
    """The paragraph of a root field's description that says who may use it."""
    if access is ANYONE:
        return "**Access:** anyone, with or without a token."
    if access is SIGNED_IN:
        return "**Access:** any signed-in user (any role)."
    roles = [role.name for role in models.Role if role.rank >= access.rank]  # type: ignore[union-attr]
    listed = roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} or {roles[-1]}"
    return f"**Access:** {listed}{' (any signed-in user)' if len(roles) == len(models.Role) else ''}."


def guard(access: Mapping[str, models.Role | Access]) -> Callable[[T], T]:
    """A decorator for a root type (above `@strawberry.type`): each of its fields gets the permission its
    GraphQL name has in `access`, and a last paragraph in its description that says so (`access_note`).
    A field without an entry, or an entry without a field, is an error when the module loads, so that no
    root field is ever left unguarded by mistake."""

    def decorate(cls: T) -> T:
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        fields = {field.graphql_name or to_camel_case(field.python_name): field for field in definition.fields}
        if unlisted := sorted(fields.keys() - access.keys()):
            raise TypeError(f"{definition.name}: the access table does not say who may use {', '.join(unlisted)}.")
        if unknown := sorted(access.keys() - fields.keys()):
            raise TypeError(f"{definition.name}: the access table names fields it lacks: {', '.join(unknown)}.")
        for name, field in fields.items():
            # Appended, the permission wraps any extension the field has already: it runs first.
            field.extensions.extend(requires(access[name]))
            note = access_note(access[name])
            field.description = f"{field.description}\n\n{note}" if field.description else note
        return cls

    return decorate


def self_or_admin() -> list[FieldExtension]:
    """Null, rather than an error, unless the viewer is the user the field belongs to or an administrator."""
    return [PermissionExtension(permissions=[IsSelfOrAdmin()], use_directives=False, fail_silently=True)]


class LoginLimiter:
    """At most `per_minute` login attempts per client address and clock minute, counted in this process
    (each server process counts its own). Behind a proxy every client has the proxy's address."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._minute = -1
        self._attempts: Counter[str] = Counter()

    def allow(self, client: str) -> bool:
        """Count an attempt from `client`; False when it is over the limit (and so not to be tried)."""
        minute = int(time.monotonic() // 60)
        if minute != self._minute:  # a new minute: the old counts go, so memory holds one minute's clients
            self._minute = minute
            self._attempts.clear()
        self._attempts[client] += 1
        return self._attempts[client] <= self.per_minute


def client_address(request: HTTPConnection | None) -> str:
    """The address the request came from, as the server saw it ("" when unknown)."""
    client = request.client if request is not None else None
    return client.host if client is not None else ""


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
