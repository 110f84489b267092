"""Settings read once from `INVENTORY_*` environment variables and passed where needed."""

from functools import cached_property
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./inventory.db"
    # PostgreSQL connection pool (ignored for SQLite). Connections beyond the pool are closed when given
    # back while the pool is full: under steady load that is a new connection (a server process) per
    # request or so, so by default there are none, and a request waits for one of the pool's instead.
    pool_size: int = 20
    pool_max_overflow: int = 0
    pool_timeout: float = 30.0
    # SQLite: how long a writer waits for the write lock before giving up.
    sqlite_busy_timeout_ms: int = 15_000
    echo_sql: bool = False

    # Reads are served by plans compiled once per document (graph/plans); off, by the reference path alone.
    read_plans: bool = True
    # Every planned read also runs on the reference path; a difference is logged as an error (for tests).
    plan_compare: bool = False

    max_page_size: int = 100
    default_page_size: int = 20
    graphiql: bool = True
    introspection: bool = True

    # Abuse limits (graph/limits.py): a request that breaks one is refused before any SQL runs.
    max_query_depth: int = 15
    max_aliases: int = 30
    max_fields: int = 500
    max_tokens: int = 2_000
    max_document_chars: int = 20_000
    max_query_cost: int = 100_000
    # The length a list field without page arguments is assumed to have when estimating cost.
    cost_list_size: int = 10
    max_body_bytes: int = 262_144
    # A request whose body has not fully arrived this long after its headers gets 408 (slow clients).
    request_read_timeout_seconds: float = 30.0

    # Subscriptions (graph/live.py): on SQLite, how often each process looks for ledger entries other
    # processes wrote; everywhere, how often open WebSocket connections check their token again (expiry;
    # revocation and user changes are heard of at once).
    live_poll_seconds: float = Field(default=0.5, gt=0)
    live_recheck_seconds: float = Field(default=30.0, gt=0)

    # Origins whose pages may call the API (comma-separated in the environment); none by default.
    cors_origins: Annotated[list[str], NoDecode] = []

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    # An idempotency key counts as absent this long after the request that first sent it; expired keys are
    # deleted as new ones are claimed (db/idempotency.py).
    idempotency_key_ttl_hours: int = Field(default=24, gt=0)

    # Bearer tokens issued by `login` stop working this long after they were issued.
    token_ttl_minutes: int = 720
    # After this many failed logins in a row a user's logins are refused for login_delay_seconds,
    # doubling with each further failure up to login_max_delay_seconds.
    login_failures_before_delay: int = 5
    login_delay_seconds: int = 30
    login_max_delay_seconds: int = 900
    # Login attempts allowed per client address and minute, counted by each server process on its own;
    # further ones are refused, with the same error as a wrong password, before any password is checked.
    login_rate_per_minute: int = Field(default=20, ge=1)
    # argon2id cost of new password hashes (argon2-cffi's defaults, RFC 9106's low-memory profile).
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536
    password_hash_parallelism: int = 4

    # Webhooks (graph/webhooks.py). Endpoints on loopback, private, link-local and other non-public addresses
    # are refused unless this is on (tests and closed networks).
    webhooks_allow_private: bool = False
    # Whether this process runs a deliverer; of all the processes that do, one at a time delivers.
    webhooks_deliver: bool = True
    # After this many failed attempts in a row an endpoint is disabled until an administrator enables it.
    webhook_max_failures: int = Field(default=10, ge=1)
    # How long one delivery may take, connecting included, before it counts as failed.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # How often the deliverer looks for new ledger entries when nothing woke it.
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    # The wait before retrying a failed delivery: base * 2^(failures - 1), at most max, less up to half at random.
    webhook_backoff_base_seconds: float = Field(default=10.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    # Endpoints delivered to at once, so one slow receiver does not hold up the others.
    webhook_concurrency: int = Field(default=8, ge=1)

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
