"""GraphQL layer: schema, types, loaders, mutations and the ASGI application."""
