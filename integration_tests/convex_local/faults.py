"""Deterministic fault injection per route: errors, an HTML proxy page, a bare 408, resets, slowness."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = ("500", "503", "429", "408", "html502", "html504", "reset", "slow")
PHASES = ("before", "partial", "after")


@dataclass
class FaultRule:
    route: str  # a route's last path segment, or "*"
    kind: str
    rate: float
    count: int | None
    seed: int
    retry_after_s: float
    slow_s: float
    # "before": instead of running the request; "partial": an import request stops right after its first
    # transaction committed (the rest is discarded); "after": it ran (and committed), then the fault.
    when: str
    fired: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}, got {self.kind!r}")
        if self.when not in PHASES:
            raise ValueError(f"fault phase must be one of {PHASES}, got {self.when!r}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("fault rate must be within [0, 1]")
        self.rng = random.Random(self.seed)

    def matches(self, route_name: str) -> bool:
        return self.route in ("*", route_name)


class Faults:
    """Rules checked in the order they were added; the first that fires wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def inject(
        self,
        route: str = "*",
        kind: str = "500",
        rate: float = 1.0,
        count: int | None = None,
        seed: int = 0,
        retry_after_s: float = 1.0,
        slow_s: float = 2.0,
        when: str = "before",
    ) -> FaultRule:
        rule = FaultRule(route.strip("/").rsplit("/", 1)[-1] or "*", kind, rate, count, seed, retry_after_s, slow_s, when)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, route_name: str, when: str) -> FaultRule | None:
        """The fault to apply to this request in this phase, if any (draws one number per rule)."""
        with self._lock:
            for rule in self._rules:
                if rule.when != when or not rule.matches(route_name):
                    continue
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.rng.random() < rule.rate:
                    rule.fired += 1
                    return rule
        return None
