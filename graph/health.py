"""Health checks for orchestrators and load balancers: /health/live (the process answers) and /health/ready
(the database answers, at the newest migration, within a short timeout)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from db import migrate, problems
from db.engine import Database
from db.problems import DatabaseProblem

logger = logging.getLogger("inventory.health")

# Longer than a healthy database takes by far; shorter than the probes of docker and load balancers wait.
READY_TIMEOUT_SECONDS = 2.0


async def live(_request: Request) -> Response:
    """The process is up and serving HTTP; says nothing of the database."""
    return PlainTextResponse("ok")


def ready_endpoint(
    database: Database, timeout: float = READY_TIMEOUT_SECONDS
) -> Callable[[Request], Awaitable[Response]]:
    """/health/ready: 200 when a statement on one of the app's own connections reads the migration head in
    time; else 503 with the reason. A pooled connection the server has closed fails that statement (and is
    replaced), so a database that went away is noticed at the next probe."""

    async def ready(_request: Request) -> Response:
        try:
            async with asyncio.timeout(timeout):
                await migrate.require_head(database.engine)
        except TimeoutError:
            reason = f"the database did not answer within {timeout:g} s"
        except DatabaseProblem as problem:
            reason = str(problem)
        except Exception as error:
            explained = problems.explain(error, database.settings.database_url)
            reason = str(explained) if explained else f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
        else:
            return JSONResponse({"status": "ready"})
        logger.warning("not ready: %s", reason)
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)

    return ready


def routes(database: Database) -> list[Route]:
    """`/health` answers as `/health/live` does (as it always has: `ok`)."""
    return [
        Route("/health", live),
        Route("/health/live", live),
        Route("/health/ready", ready_endpoint(database)),
    ]
