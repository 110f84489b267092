"""Read plans: a query document compiled once, per operation and role, into SQL built with SQLAlchemy Core
and a writer that turns the rows into the response (see graph/plans/serve.py for the request path)."""
