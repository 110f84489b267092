"""Settings read once from `INVENTORY_*` environment variables and passed where needed."""

from functools import cached_property

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./inventory.db"
    # PostgreSQL connection pool (ignored for SQLite).
    pool_size: int = 10
    pool_max_overflow: int = 10
    pool_timeout: float = 30.0
    # SQLite: how long a writer waits for the write lock before giving up.
    sqlite_busy_timeout_ms: int = 15_000
    echo_sql: bool = False

    max_page_size: int = 100
    default_page_size: int = 20
    graphiql: bool = True

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
