"""Users and sign-in: accounts and roles, password checks with throttling, and bearer tokens.

Passwords are hashed with argon2id; tokens are random strings of which only the SHA-256 is stored.
Hashing is slow on purpose: it runs in a worker thread, and before a write's first statement where it can,
so that no lock is held while it runs (on SQLite a write transaction locks the database from BEGIN).
"""

import asyncio
import contextlib
import functools
import hashlib
import re
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, bindparam, func, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from db import changes as change_log
from db import live
from db.catalog import KEEP, Keep, _Checks, _given, _guarded
from db.binds import Bind, with_values
from db.catalog_reads import contains_text, search_pattern
from db.config import Settings
from db.direct import CompiledRead, ReadConnection, compile_read
from db.errors import AuthenticationFailed, Duplicate, Invalid, NotFound
from db.lengths import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH, MIN_PASSWORD_LENGTH
from db.models import ApiToken, Role, User
from db.pagination import SortKey
from db.types import utcnow

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
# Tokens we issue are 43 characters; anything much longer is not worth hashing and looking up.
MAX_TOKEN_LENGTH = 256
# A token's last use is written at most this often, so that reads stay reads.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)

USER_SORT = SortKey((User.username, User.id))


@dataclass(frozen=True)
class Security:
    """The cost of password hashes, the login throttle and the lifetime of tokens."""

    hasher: PasswordHasher
    token_ttl: timedelta
    failures_before_delay: int
    delay: timedelta
    max_delay: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> "Security":
        return cls(
            hasher=PasswordHasher(
                time_cost=settings.password_hash_time_cost,
                memory_cost=settings.password_hash_memory_kib,
                parallelism=settings.password_hash_parallelism,
            ),
            token_ttl=timedelta(minutes=settings.token_ttl_minutes),
            failures_before_delay=settings.login_failures_before_delay,
            delay=timedelta(seconds=settings.login_delay_seconds),
            max_delay=timedelta(seconds=settings.login_max_delay_seconds),
        )

    def lockout(self, failures: int) -> timedelta | None:
        """How long logins are refused after `failures` failed ones in a row; None while under the limit."""
        if failures < self.failures_before_delay:
            return None
        doublings = min(failures - self.failures_before_delay, 32)
        return min(self.delay * 2**doublings, self.max_delay)


@dataclass(frozen=True)
class IssuedToken:
    """A new bearer token: the only time the token itself exists outside the client."""

    token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class UserFilter:
    search: str | None = None
    role: Role | None = None
    is_active: bool | None = None


def normalize_username(username: str) -> str:
    return username.strip().lower()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _UserChecks(_Checks):
    def username(self, field: str, value: Any) -> Any:
        cleaned = self.text(field, value, max_length=MAX_USERNAME_LENGTH)
        if not isinstance(cleaned, str):
            return cleaned
        cleaned = cleaned.lower()
        if len(cleaned) <= MAX_USERNAME_LENGTH and not USERNAME_PATTERN.fullmatch(cleaned):
            self.fail(
                field,
                f"`{field}` must be 3 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
            )
        return cleaned

    def password(self, field: str, value: Any) -> Any:
        if value is KEEP:
            return KEEP
        if value is None or len(value) < MIN_PASSWORD_LENGTH:
            self.fail(field, f"`{field}` must be at least {MIN_PASSWORD_LENGTH} characters.")
        elif len(value) > MAX_PASSWORD_LENGTH:
            self.fail(field, f"`{field}` must be at most {MAX_PASSWORD_LENGTH} characters.")
        return value

    def role(self, field: str, value: Any) -> Any:
        if value is KEEP:
            return KEEP
        try:
            return Role(value)
        except ValueError:
            self.fail(field, f"`{field}` must be one of {', '.join(Role)}.")
            return None


def _conflicts(username: str) -> dict[str, Duplicate]:
    return {"uq_users_lower_username": Duplicate(f"The username “{username}” is taken.", field="username")}


async def _hash(security: Security, password: str) -> str:
    return await asyncio.to_thread(security.hasher.hash, password)


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    return hasher.hash(secrets.token_urlsafe(16))


async def _verify(security: Security, password_hash: str | None, password: str) -> bool:
    """Check a password against a hash; with no hash, do the same work against a hash of nothing known."""
    hasher = security.hasher
    if password_hash is None:
        password_hash = await asyncio.to_thread(
            _dummy_hash, hasher.time_cost, hasher.memory_cost, hasher.parallelism
        )
    try:
        return await asyncio.to_thread(hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- accounts -----------------------------------------------------------------------------------


async def get_user(session: AsyncSession, *, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("There is no user with this ID.", field="id")
    return user


async def user_by_username(session: AsyncSession, *, username: str) -> User | None:
    """The user with this username, whatever its case."""
    return await session.scalar(select(User).where(func.lower(User.username) == normalize_username(username)))


async def users_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, User]:
    rows = await session.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user for user in rows}


async def list_users(session: AsyncSession) -> list[User]:
    """Every user, by username."""
    return list(await session.scalars(select(User).order_by(*USER_SORT.order_by())))


async def has_users(session: AsyncSession) -> bool:
    return (await session.scalar(select(User.id).limit(1))) is not None


def user_conditions(spec: UserFilter, bind: Bind | None = None, user: Any = User) -> list[ColumnElement[bool]]:
    """(`user`: the entity, as in db/catalog_reads.py.)"""
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.search:
        pattern = search_pattern(bind, lambda s: s.search)
        conditions.append(or_(contains_text(user.username, pattern), contains_text(user.email, pattern)))
    if spec.role is not None:
        conditions.append(user.role == bind("role", lambda s: s.role))
    if spec.is_active is not None:
        conditions.append(user.is_active.is_(spec.is_active))  # a boolean: part of the statement's shape
    return conditions


async def create_user(
    session: AsyncSession,
    *,
    security: Security,
    username: str,
    password: str,
    role: Role | str = Role.VIEWER,
    email: str | None = None,
) -> User:
    """Add an active user; the username is stored lowercase and is unique whatever the case."""
    check = _UserChecks()
    fields = {
        "username": check.username("username", username),
        "password": check.password("password", password),
        "role": check.role("role", role),
        "email": check.email("email", email),
    }
    check.done()
    password_hash = await _hash(security, fields.pop("password"))
    if await user_by_username(session, username=fields["username"]) is not None:
        raise Duplicate(f"The username “{fields['username']}” is taken.", field="username")
    user = User(**fields, password_hash=password_hash, is_active=True, failed_login_count=0)
    async with _guarded(session, _conflicts(fields["username"])):
        session.add(user)
    await change_log.created(session, user)
    return user


async def update_user(
    session: AsyncSession,
    *,
    security: Security,
    user_id: int,
    role: Role | str | Keep = KEEP,
    email: str | None | Keep = KEEP,
    is_active: bool | Keep = KEEP,
    password: str | Keep = KEEP,
) -> User:
    """Change the given fields of a user. A new password, or deactivation, revokes all the user's tokens;
    a new password also lifts a login delay. The last active administrator stays one."""
    check = _UserChecks()
    changes = _given(
        {
            "role": check.role("role", role),
            "email": check.email("email", email),
            "is_active": is_active if is_active is KEEP else check.flag("isActive", is_active),
            "password": check.password("password", password),
        }
    )
    check.done()
    new_password = changes.pop("password", None)
    password_hash = None if new_password is None else await _hash(security, new_password)
    user = await get_user(session, user_id=user_id)
    before = change_log.snapshot(user)
    if changes.get("role", Role.ADMIN) is not Role.ADMIN or changes.get("is_active") is False:
        await _check_not_last_admin(session, user, field="role" if "role" in changes else "isActive")
    for name, value in changes.items():
        setattr(user, name, value)
    if password_hash is not None:
        user.password_hash = password_hash
        user.failed_login_count = 0
        user.locked_until = None
    if new_password is not None or changes.get("is_active") is False:
        await session.flush()
        await revoke_all_tokens(session, user_id=user.id)
    await change_log.record(session, user, before, change_log.snapshot(user))
    await live.announce_user(session, user_id=user.id)  # its open subscriptions are checked again
    return user


async def deactivate_user(session: AsyncSession, *, user_id: int) -> User:
    """Stop a user from signing in and revoke all its tokens; its history keeps naming it."""
    user = await get_user(session, user_id=user_id)
    await _check_not_last_admin(session, user, field="id")
    before = change_log.snapshot(user)
    user.is_active = False
    await session.flush()
    await revoke_all_tokens(session, user_id=user.id)
    await change_log.record(session, user, before, change_log.snapshot(user))
    return user


async def activate_user(session: AsyncSession, *, user_id: int) -> User:
    """Let a deactivated user sign in again with its password; the tokens it had stay revoked."""
    user = await get_user(session, user_id=user_id)
    before = change_log.snapshot(user)
    user.is_active = True
    await session.flush()
    await change_log.record(session, user, before, change_log.snapshot(user))
    return user


async def unlock_user(session: AsyncSession, *, user_id: int) -> User:
    """Forget a user's failed logins in a row, lifting the login delay they put on it."""
    user = await get_user(session, user_id=user_id)
    user.failed_login_count = 0
    user.locked_until = None
    await session.flush()
    return user


async def _check_not_last_admin(session: AsyncSession, user: User, *, field: str) -> None:
    if user.role is not Role.ADMIN or not user.is_active:
        return
    # Lock every active administrator in one order, so two concurrent demotions cannot both pass.
    admins = await session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.is_active).order_by(User.id).with_for_update()
    )
    if not any(admin_id != user.id for admin_id in admins):
        raise Invalid("The last active administrator cannot be demoted or deactivated.", field=field)


# --- signing in ---------------------------------------------------------------------------------


async def authenticate(session: AsyncSession, *, security: Security, username: str, password: str) -> User:
    """The active user with these credentials, or AuthenticationFailed, whatever was wrong.

    Failures are counted on the user's row (so every API process sees them): past the limit, logins are
    refused for a delay that doubles with each further failure, even with the right password. Unknown
    users and delayed logins cost one password check too, so timing tells nothing. The caller must commit
    even when this raises, or the failure is not counted.
    """
    now = utcnow()
    name = normalize_username(username)
    user = await user_by_username(session, username=name) if 0 < len(name) <= 64 else None
    too_long = len(password) > MAX_PASSWORD_LENGTH
    if user is None or too_long or (user.locked_until is not None and user.locked_until > now):
        await _verify(security, None, password[:MAX_PASSWORD_LENGTH])
        if user is None:
            raise AuthenticationFailed("no such user")
        if too_long:
            raise AuthenticationFailed("password longer than any allowed")
        raise AuthenticationFailed(f"locked until {user.locked_until:%Y-%m-%d %H:%M:%S} UTC after failed logins")
    if not await _verify(security, user.password_hash, password):
        failures, delay = await _record_failure(session, security, user, now)
        locked = "" if delay is None else f"; logins refused for {delay.total_seconds():.0f} s"
        raise AuthenticationFailed(f"wrong password ({failures} failed in a row{locked})")
    if not user.is_active:
        raise AuthenticationFailed("user deactivated")
    if user.failed_login_count or user.locked_until is not None:
        user.failed_login_count = 0
        user.locked_until = None
    if security.hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await _hash(security, password)
    await session.flush()
    return user


async def _record_failure(
    session: AsyncSession, security: Security, user: User, now: datetime
) -> tuple[int, timedelta | None]:
    """Count a failed login; the failures in a row, and the login delay they now put on the user, if any."""
    # One atomic increment: concurrent failures are all counted.
    failures = await session.scalar(
        update(User)
        .where(User.id == user.id)
        .values(failed_login_count=User.failed_login_count + 1, last_failed_login_at=now)
        .returning(User.failed_login_count)
    )
    delay = security.lockout(failures or 0)
    if delay is not None:
        await session.execute(update(User).where(User.id == user.id).values(locked_until=now + delay))
    return failures or 0, delay


async def issue_token(session: AsyncSession, *, user_id: int, ttl: timedelta) -> IssuedToken:
    """A new bearer token for a user, valid for `ttl`."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(user_id=user_id, token_hash=token_digest(token), created_at=now, expires_at=now + ttl)
    session.add(row)
    await session.flush()
    return IssuedToken(token=token, expires_at=row.expires_at)


async def user_for_token(session: AsyncSession, *, token: str) -> User | None:
    """The active user a token belongs to, if the token is neither expired nor revoked.

    Records the token's use when the last one recorded is over a minute old.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = utcnow()
    row = (
        await session.execute(
            select(User, ApiToken.id, ApiToken.last_used_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(
                ApiToken.token_hash == token_digest(token),
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
                User.is_active,
            )
        )
    ).first()
    if row is None:
        return None
    user, token_id, last_used_at = row
    if last_used_at is None or last_used_at <= now - TOKEN_TOUCH_INTERVAL:
        await _touch(session, token_id, now)
    return user


@dataclass(frozen=True)
class SignedIn:
    """The user behind a bearer token, as a read needs it: who it is and what it may see."""

    id: int
    username: str
    email: str | None
    role: Role
    is_active: bool
    created_at: datetime


_SIGNED_IN_COLUMNS = (User.id, User.username, User.email, User.role, User.is_active, User.created_at)
_NOW = bindparam("now", type_=ApiToken.expires_at.type)
_STALE_BEFORE = bindparam("stale_before", type_=ApiToken.expires_at.type)


def _token_is_stale() -> ColumnElement[bool]:
    return or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= _STALE_BEFORE)


@functools.cache
def _token_reads(dialect: Dialect) -> tuple[CompiledRead, CompiledRead | None]:
    """The token look-up of `signed_in` for `dialect`; on SQLite also the separate record of its use.

    On PostgreSQL the look-up records the use itself, in a data-modifying CTE: one statement either way.
    """
    found = (
        select(*_SIGNED_IN_COLUMNS, ApiToken.id.label("token_id"), _token_is_stale().label("stale"))
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == bindparam("token_hash", type_=ApiToken.token_hash.type),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > _NOW,
            User.is_active,
        )
    )
    if dialect.name != "postgresql":
        touch = (
            update(ApiToken)
            .where(ApiToken.id == bindparam("token_id", type_=ApiToken.id.type), _token_is_stale())
            .values(last_used_at=_NOW)
        )
        return compile_read(found, dialect), compile_read(touch, dialect)
    cte = found.cte("found")
    touched = (
        update(ApiToken)
        .where(ApiToken.id == cte.c.token_id, _token_is_stale())
        .values(last_used_at=_NOW)
        .returning(ApiToken.id)
        .cte("touched")
    )
    statement = select(*(cte.c[column.key] for column in _SIGNED_IN_COLUMNS), cte.c.token_id, cte.c.stale)
    return compile_read(statement.add_cte(touched), dialect), None


async def signed_in(connection: ReadConnection, dialect: Dialect, *, token: str) -> SignedIn | None:
    """`user_for_token` for reads on a driver connection (db/direct.py): the same checks, in one statement
    on PostgreSQL (on SQLite a second one records the token's use, at most once a minute)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    look_up, touch = _token_reads(dialect)
    now = utcnow()
    values = {"token_hash": token_digest(token), "now": now, "stale_before": now - TOKEN_TOUCH_INTERVAL}
    raw = await connection.fetch_row(look_up, values)
    if raw is None:
        return None
    *user, token_id, stale = look_up.row(raw)
    if touch is not None and stale:
        # The last use is a hint, not a record: a read must not fail because it could not be written.
        with contextlib.suppress(sqlite3.OperationalError):
            await connection.execute(touch, {**values, "token_id": token_id})
    return SignedIn(*user)


async def _touch(session: AsyncSession, token_id: int, now: datetime) -> None:
    # The last use is a hint, not a record: a request must not fail because it could not be written.
    # (On SQLite a read transaction cannot take the write lock while another writer holds it.)
    try:
        async with session.begin_nested():
            await session.execute(
                update(ApiToken)
                .where(
                    ApiToken.id == token_id,
                    or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_TOUCH_INTERVAL),
                )
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
    except OperationalError:
        pass


async def revoke_token(session: AsyncSession, *, token: str) -> bool:
    """Revoke one token; False if it was unknown or revoked already."""
    user_id = await session.scalar(
        update(ApiToken)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(ApiToken.user_id)
        .execution_options(synchronize_session=False)
    )
    if user_id is None:
        return False
    await live.announce_user(session, user_id=user_id)  # subscriptions on this token end
    return True


async def revoke_all_tokens(session: AsyncSession, *, user_id: int) -> int:
    """Revoke every live token of a user; how many there were."""
    now = utcnow()
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    await live.announce_user(session, user_id=user_id)  # subscriptions on these tokens end
    return result.rowcount  # type: ignore[attr-defined,no-any-return]
