"""What a Convex value becomes after a round trip: source-convex emits it, Convex import stores it.

Shared by the demo and the reliability suite, which both compare an origin deployment with the
copy a sync made of it: int64 arrives as a JSON integer and is stored as float64 (import keeps
every JSON number as float64), NaN and the infinities travel as their strings, bytes as base64.
"""

from __future__ import annotations

import base64
import math
from typing import Any


def stored_value(value: Any) -> Any:
    """A Convex value (as `LocalDeployment.documents` gives it) as the copy stores it."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list):
        return [stored_value(item) for item in value]
    if isinstance(value, dict):
        return {key: stored_value(item) for key, item in value.items()}
    raise TypeError(f"not a Convex value: {type(value).__name__}")
