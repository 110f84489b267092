"""The typed per-request context: database, settings and the request's loaders."""

from dataclasses import dataclass
from functools import cached_property

from starlette.requests import Request

from db.config import Settings
from db.engine import Database
from graph.loaders import Loaders


@dataclass
class Context:
    db: Database
    settings: Settings
    request: Request | None = None

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.db)
