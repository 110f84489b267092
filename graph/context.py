"""The typed per-request context: database, settings, the signed-in user and the request's loaders."""

from dataclasses import dataclass, field
from functools import cached_property

from starlette.requests import Request

from db.config import Settings
from db.engine import Database
from db.models import User
from graph.loaders import Loaders


@dataclass
class Context:
    db: Database
    settings: Settings
    request: Request | None = None
    # The user of the request's bearer token: None when there was no token or it is not (or no longer) valid.
    user: User | None = None
    # The bearer token as sent (for `logout`); kept out of reprs so that it cannot reach a log.
    token: str | None = field(default=None, repr=False)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.db)
