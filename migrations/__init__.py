"""Alembic migrations (async environment)."""
