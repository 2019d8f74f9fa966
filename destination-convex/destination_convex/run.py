"""Console entry point: `destination-convex spec|check|write ...`."""

from __future__ import annotations

import sys

from .destination import DestinationConvex


def run() -> None:
    DestinationConvex().run(sys.argv[1:])
