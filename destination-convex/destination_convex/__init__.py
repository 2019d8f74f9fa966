"""Airbyte destination for Convex: imports any Airbyte stream into Convex tables."""

from .destination import DestinationConvex

__all__ = ["DestinationConvex"]
