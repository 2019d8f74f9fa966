"""Airbyte source for Convex: one consistent snapshot, then one walk of the change log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .source import SourceConvex

__all__ = ["SourceConvex"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so the console script (run.py) can import the CDK its faster way first.
    if name == "SourceConvex":
        from .source import SourceConvex

        return SourceConvex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
