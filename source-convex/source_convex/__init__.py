"""Airbyte source for Convex."""
