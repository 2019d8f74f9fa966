"""B6: a full snapshot from a server that, not the connector, is the slow side.

The local server answers a 1024-document page in a few milliseconds, which flatters a
client that reads one page at a time. A real deployment takes tens to hundreds of
milliseconds per page (network, storage), and another Convex-compatible server may render
each page at a very different cost. B6 reads the same table of `n` documents (floor, ours,
the incumbent) with the server
- as it is (the reference),
- adding 20 ms and 100 ms to every page (`page_delay_s`: list_snapshot, document_deltas, data sync),
- rendering every document value by value instead of joining stored text (`page_render="generic"`),
and reports ours ÷ floor and ours ÷ incumbent for each: a client that overlaps its own work
with the server's stays near the floor however slow the server is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import contenders as c

if TYPE_CHECKING:
    from .scenarios import Bench, Run

#: (label, server settings) of each B6 case, in report order.
CASES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("as served", {}),
    ("20 ms per page", {"page_delay_s": 0.020}),
    ("100 ms per page", {"page_delay_s": 0.100}),
    ("generic render", {"page_render": "generic"}),
)


def case_name(n: int, label: str) -> str:
    return f"slow server {n // 1000}k, {label}"


def run(bench: Bench, n: int, contenders: list[str]) -> None:
    for label, settings in CASES:
        # Every case sets every knob, so a case never inherits the previous one's.
        full = {"page_delay_s": 0.0, "page_render": "stored", **settings}
        bench.snapshot("B6", n, contenders, case=case_name(n, label), server_settings=full)


def section(runs: Sequence[Run], n: int) -> list[str]:
    """The B6 table for the report (source side)."""
    from .report import NAMES, RUN_HEADER, _find, _run_row, _table, ratio_notes

    rows, notes = [], []
    for label, _ in CASES:
        case = case_name(n, label)
        found = {who: _find(runs, case, who) for who in (c.OURS, c.INCUMBENT, c.FLOOR)}
        for who, run in found.items():
            if run:
                rows.append([label] + _run_row(NAMES[who], run))
        parts = ratio_notes(found[c.OURS], found[c.INCUMBENT], found[c.FLOOR])
        if parts:
            notes.append(f"{label}: " + ", ".join(parts))
    if not rows:
        return []
    lines = [f"### B6 — a {n:,}-document snapshot when the server is the slow side", "",
             ("The same table read in full with the server as it is, adding 20 ms or 100 ms to every page "
             "(`--page-delay-s`: a remote deployment's storage and network), or rendering every document value by "
             "value instead of joining stored text (`--page-render generic`: a server that builds pages from "
             "objects)."), ""]
    lines += _table(["server"] + RUN_HEADER, rows, right_from=2)
    return lines + ["", ("; ".join(notes) + ".") if notes else "", ""]
