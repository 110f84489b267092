"""The typed per-request context: database, settings, the signed-in user and the request's loaders."""

import asyncio
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from starlette.requests import Request

from db.config import Settings
from db.engine import Database
from db.models import User
from graph.access import note_user
from graph.auth import LoginLimiter, token_user
from graph.loaders import Loaders


@dataclass
class Context:
    db: Database
    settings: Settings
    request: Request | None = None
    # The bearer token as sent (for `logout`); kept out of reprs so that it cannot reach a log.
    token: str | None = field(default=None, repr=False)
    _user: User | None = field(default=None, init=False, repr=False)
    _user_known: bool = field(default=False, init=False, repr=False)
    _user_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    # Set by a mutation that may have revoked tokens or changed a role (the caller's among them).
    _user_stale: bool = field(default=False, init=False, repr=False)
    # Per-client login attempts, shared by the requests of one process (graph/app.py).
    login_limiter: LoginLimiter | None = field(default=None, repr=False)
    # The process's live feed, for subscriptions (graph/live.py); None where none runs.
    live: Any = field(default=None, repr=False)
    # A WebSocket connection's connection_init payload (strawberry sets it); None over HTTP.
    connection_params: dict[str, Any] | None = field(default=None, repr=False)

    async def user(self, *, recheck: bool = False) -> User | None:
        """The user of the request's bearer token: None when there was no token or it is not (or no longer)
        valid. Looked up on first use, once per request: a request refused before execution, or whose fields
        need no user (`login`, `__typename`), costs no SQL for it. With `recheck` (a root field's access
        check), looked up again if a mutation of the document may have revoked the token or changed the role
        since: mutations run one after another, so a later field sees what an earlier one did."""
        if self.token is None:
            return None
        # Sibling fields resolve concurrently: the first one looks the token up, the others wait for it.
        async with self._user_lock:
            if not self._user_known or (recheck and self._user_stale):
                self._user = await token_user(self.db, self.token)
                self._user_known = True
                self._user_stale = False
                note_user(None if self._user is None else self._user.id)
        return self._user

    def users_changed(self) -> None:
        """A mutation revoked tokens or changed a user: the next root field's access check looks the token up
        again (the mutation's own payload still sees the user it was run by)."""
        self._user_stale = True

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.db)

    def fresh_loaders(self) -> None:
        """Forget the loaders' cache: a WebSocket connection's context lives for hours, and each event it
        sends must read its nested fields as they are now."""
        self.__dict__.pop("loaders", None)

    def sign_in_with(self, token: str | None) -> None:
        """Use `token` (a WebSocket connection's, from connection_init) from now on."""
        self.token = token
        self._user, self._user_known = None, False
