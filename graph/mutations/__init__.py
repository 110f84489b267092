"""Mutations, one module per domain: validate input, call db/, map domain errors to payloads."""
