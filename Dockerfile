# Debian 13 (trixie): its postgresql-client (17) dumps the PostgreSQL 16 of docker-compose.yml; bookworm's 15 would
# refuse a newer server.
FROM python:3.12-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Unless a database URL is given (docker-compose.yml gives PostgreSQL's), SQLite in the /data volume.
ENV INVENTORY_DATABASE_URL=sqlite+aiosqlite:////data/inventory.db

# pg_dump, pg_restore and psql (all three in postgresql-client) for `inventory db backup` and `restore` on
# PostgreSQL.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The locked versions, checked against their hashes, in a layer of their own (rebuilt only when the
# lock changes). It is the whole lock, test and bench tools included (pytest, hypothesis, httpx,
# pyinstrument: about 13 MB): a runtime-only lock would be a second file to regenerate and keep at
# the same versions as this one, which CI tests. Playwright, 165 MB with its Node.js driver, is taken out
# again in the same layer: only tests/browser uses it, and the tests are not in the image.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock && pip uninstall --yes playwright
COPY pyproject.toml README.md ./
COPY db ./db
COPY graph ./graph
COPY migrations ./migrations
# The project alone: its dependencies are all installed above, so nothing is resolved again.
RUN pip install --no-deps . \
    && useradd --system --create-home --uid 10001 inventory \
    && mkdir /data /backups && chown inventory /data /backups

USER inventory
VOLUME ["/data", "/backups"]
EXPOSE 8000
# `serve` applies pending migrations before it starts listening.
CMD ["inventory", "serve", "--host", "0.0.0.0", "--port", "8000"]
