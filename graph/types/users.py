"""The User type (never its password hash nor its tokens) and the loader that fetches users by id."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from db import models
from db import users as users_db
from db.engine import Database
from graph.auth import Role, self_or_admin
from graph.relay import Node, id_of, to_global_id


@strawberry.type(description="Someone who signs in to the API.")
class User(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this user"))
    username: str = strawberry.field(
        description="Unique, lowercase: 3 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit."
    )
    email: str | None = strawberry.field(
        description="Shown to the user and to administrators; null for anyone else.", extensions=self_or_admin()
    )
    role: Role = strawberry.field(description="What the user may do.")  # type: ignore[valid-type]
    is_active: bool = strawberry.field(
        description="False once deactivated: the user cannot sign in, and its tokens were revoked."
    )
    created_at: datetime = strawberry.field(description="When the user was added.")
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.User) -> "User":
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            pk=row.id,
            username=row.username,
            email=row.email,
            role=Role[row.role.name],
            is_active=row.is_active,
            created_at=row.created_at,
        )


class UserByIdLoader(DataLoader[int, User | None]):
    """Users by primary key, one statement per batch in a session of its own."""

    def __init__(self, db: Database) -> None:
        self.db = db
        super().__init__(load_fn=self._load)

    async def _load(self, keys: Sequence[int]) -> list[User | None]:
        async with self.db.read_session() as session:
            return await self.fetch_batch(session, keys)

    async def fetch_batch(self, session: Any, keys: Sequence[int]) -> list[User | None]:
        rows = await users_db.users_by_ids(session, keys)
        return [User.from_model(rows[k]) if k in rows else None for k in keys]
