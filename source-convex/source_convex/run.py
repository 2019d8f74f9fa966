"""Console entry point `source-convex` (see `entrypoint` for how it differs from the CDK's launch)."""

from __future__ import annotations

import sys

from .entrypoint import launch
from .source import SourceConvex


def run() -> None:
    """Run the connector with the command-line arguments (spec, check, discover, read)."""
    launch(SourceConvex(), sys.argv[1:])
