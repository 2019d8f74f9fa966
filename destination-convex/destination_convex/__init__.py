"""Airbyte destination for Convex: imports any Airbyte stream into Convex tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .destination import DestinationConvex

__all__ = ["DestinationConvex"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so the console script (run.py) can import the CDK its faster way first.
    if name == "DestinationConvex":
        from .destination import DestinationConvex

        return DestinationConvex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
