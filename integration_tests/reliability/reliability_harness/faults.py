"""Mixed fault plans for the local deployment, and counting what was injected.

"10% mixed faults" means each request fails with probability 0.10, spread evenly over the
kinds: 500, 503, 429 with Retry-After, an HTML 502 from a proxy, a connection reset with no
answer, and a slow answer (slower than the connector's read timeout, so it is retried). For
import routes a share of the faults strike AFTER the request ran and committed (`when="after"`),
the ambiguous case in which only an idempotent (dedup) retry is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

KINDS = ("500", "503", "429", "html502", "reset", "slow")


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    when: str = "before"


SOURCE_MIX = tuple(FaultSpec(kind) for kind in KINDS)
DESTINATION_MIX = SOURCE_MIX + (FaultSpec("500", "after"), FaultSpec("reset", "after"))


def per_rule_rate(total: float, rules: int) -> float:
    """The rate of each of `rules` independent rules so that any one fires with `total`."""
    return 1.0 - (1.0 - total) ** (1.0 / rules)


def inject_mixed(dep: Any, *, rate: float, seed: int, mix: Sequence[FaultSpec] = SOURCE_MIX,
                 route: str = "*", slow_s: float = 1.5, retry_after_s: float = 1.0) -> None:
    """Faults on `route` with probability `rate` per request, spread over `mix`."""
    each = per_rule_rate(rate, len(mix))
    for i, spec in enumerate(mix):
        dep.faults.inject(route=route, kind=spec.kind, rate=each, seed=seed * 101 + i,
                          retry_after_s=retry_after_s, slow_s=slow_s, when=spec.when)


def faults_fired(dep: Any) -> int:
    """Requests the deployment answered with an injected fault (slow ones included)."""
    return sum(1 for entry in dep.request_log if getattr(entry, "fault", None))
