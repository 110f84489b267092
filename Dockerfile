FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Unless a database URL is given (docker-compose.yml gives PostgreSQL's), SQLite in the /data volume.
ENV INVENTORY_DATABASE_URL=sqlite+aiosqlite:////data/inventory.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY db ./db
COPY graph ./graph
COPY migrations ./migrations
RUN pip install . \
    && useradd --system --create-home --uid 10001 inventory \
    && mkdir /data && chown inventory /data

USER inventory
VOLUME ["/data"]
EXPOSE 8000
# `serve` applies pending migrations before it starts listening.
CMD ["inventory", "serve", "--host", "0.0.0.0", "--port", "8000"]
