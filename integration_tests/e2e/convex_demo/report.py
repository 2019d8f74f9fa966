"""The demo's printed tables: one row per table, aligned columns, plain text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Row:
    """One table after one sync."""

    table: str  # as users know it: `users`, `waitlist/entries`
    records: int  # records the source emitted for it in this sync
    deletes: int  # of which deletions (applied by the destination's dedup)
    rows_a: int
    rows_b: int
    equal: bool


HEADERS = ("table", "records moved", "deletes applied", "rows in A", "rows in B", "A = B")


def render(rows: Sequence[Row]) -> str:
    """A text table with a header rule; numbers right-aligned."""
    cells = [HEADERS] + [
        (row.table, f"{row.records:,}", f"{row.deletes:,}", f"{row.rows_a:,}", f"{row.rows_b:,}",
         "equal" if row.equal else "DIFFERENT")
        for row in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(HEADERS))]

    def line(values: Sequence[str]) -> str:
        first = values[0].ljust(widths[0])
        rest = [value.rjust(width) for value, width in zip(values[1:], widths[1:])]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(values) for values in cells[1:])])


def rate(records: int, seconds: float) -> str:
    """`12,345 records in 3.2 s (3,858 records/s)`."""
    return f"{records:,} records in {seconds:.1f} s ({records / max(seconds, 1e-9):,.0f} records/s)"
