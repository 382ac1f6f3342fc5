"""Entities and value objects."""
