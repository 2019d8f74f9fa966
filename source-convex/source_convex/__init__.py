"""Airbyte source for Convex: one consistent snapshot, then one walk of the change log."""

from .source import SourceConvex

__all__ = ["SourceConvex"]
