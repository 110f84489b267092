"""Database layer: models, engine, data access and the inventory rules."""
