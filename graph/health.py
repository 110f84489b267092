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
    time; else 503 with the kind of problem. A pooled connection the server has closed fails that statement
    (and is replaced), so a database that went away is noticed at the next probe.

    The probe answers anyone, so its body names only the kind of problem; the log has the cause and the fix
    (hosts, roles and database names are for the operator, not for whoever can reach the port)."""

    async def ready(_request: Request) -> Response:
        try:
            async with asyncio.timeout(timeout):
                await migrate.require_head(database.engine)
        except TimeoutError:
            kind, reason = "database timeout", f"the database did not answer within {timeout:g} s"
        except DatabaseProblem as problem:
            kind, reason = "database not migrated", str(problem)
        except Exception as error:
            explained = problems.explain(error, database.settings.database_url)
            first_line = (str(error).splitlines() or [""])[0]
            reason = str(explained) if explained else f"{type(error).__name__}: {first_line}"
            kind = "database unreachable"
        else:
            return JSONResponse({"status": "ready"})
        logger.warning("not ready: %s", reason)
        return JSONResponse({"status": "unavailable", "reason": kind}, status_code=503)

    return ready


def routes(database: Database) -> list[Route]:
    """`/health` answers as `/health/live` does (as it always has: `ok`)."""
    return [
        Route("/health", live),
        Route("/health/live", live),
        Route("/health/ready", ready_endpoint(database)),
    ]
