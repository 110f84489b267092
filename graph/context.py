"""The typed per-request context: database, settings, the signed-in user and the request's loaders."""

import asyncio
from dataclasses import dataclass, field
from functools import cached_property

from starlette.requests import Request

from db.config import Settings
from db.engine import Database
from db.models import User
from graph.auth import token_user
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

    async def user(self) -> User | None:
        """The user of the request's bearer token: None when there was no token or it is not (or no longer)
        valid. Looked up on first use, once per request: a request refused before execution, or whose fields
        need no user (`login`, `__typename`), costs no SQL for it."""
        if self.token is None:
            return None
        # Sibling fields resolve concurrently: the first one looks the token up, the others wait for it.
        async with self._user_lock:
            if not self._user_known:
                self._user = await token_user(self.db, self.token)
                self._user_known = True
        return self._user

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.db)
