"""Airbyte destination for Convex."""
