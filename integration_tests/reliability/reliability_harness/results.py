"""The reliability table: one row per scenario, summed over its runs.

Tests add rows as they finish; the conftest prints the table at the end of the session and,
in sweep mode, writes it to `RESULTS.md` next to this suite and between the
`<!-- reliability:start -->` / `<!-- reliability:end -->` markers of the connectors' docs.
"""

from __future__ import annotations

import platform
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Optional

SUITE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = SUITE_DIR.parent.parent
DOCS = (REPO_ROOT / "source-convex" / "docs" / "convex.md", REPO_ROOT / "destination-convex" / "docs" / "convex.md")
START, END = "<!-- reliability:start -->", "<!-- reliability:end -->"
COLUMNS = ("scenario", "runs", "faults injected", "records expected", "delivered", "lost", "duplicates")


@dataclass
class Row:
    """One scenario; record columns are None where a scenario moves no records (shown as "-")."""

    scenario: str
    runs: int
    faults: int
    expected: Optional[int]
    delivered: Optional[int]
    lost: Optional[int]
    duplicates: Optional[int]

    def cells(self) -> tuple[str, ...]:
        return (self.scenario, str(self.runs), str(self.faults), *(
            "-" if value is None else str(value) for value in (self.expected, self.delivered, self.lost,
                                                                self.duplicates)))


def _plus(a: Optional[int], b: Optional[int]) -> Optional[int]:
    return None if a is None and b is None else (a or 0) + (b or 0)


class Results:
    """Rows collected during the session, merged by scenario (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, Row] = {}

    def add(self, row: Row) -> None:
        with self._lock:
            current = self._rows.get(row.scenario)
            if current is None:
                self._rows[row.scenario] = row
                return
            current.runs += row.runs
            current.faults += row.faults
            current.expected = _plus(current.expected, row.expected)
            current.delivered = _plus(current.delivered, row.delivered)
            current.lost = _plus(current.lost, row.lost)
            current.duplicates = _plus(current.duplicates, row.duplicates)

    @property
    def rows(self) -> list[Row]:
        with self._lock:
            return list(self._rows.values())


def render_text(rows: Iterable[Row]) -> str:
    """A fixed-width table for the terminal."""
    table = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = []
    for n, line in enumerate(table):
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(line, widths, strict=True))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows: Iterable[Row]) -> str:
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]
    out += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(out)


def section(rows: list[Row], mode: str, duration_s: float, secret_scans: int, failed: list[str]) -> str:
    """The markdown block that goes into RESULTS.md and between the docs markers."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    block = (
        f"Measured by `make reliability` ({mode}: {duration_s:.0f} s, {platform.python_implementation()} "
        f"{platform.python_version()}, {when}). Each scenario checks its runs end to end: the Convex tables (or the "
        "records read) are compared with the origin, or with the same run without faults, document by document. "
        "*lost* must be 0. *duplicates* counts records delivered more than once: 0 in dedup mode; in append mode "
        "a crash or an ambiguous retry replays records, which append keeps. Bad-input rows count fuzzed cases "
        "(each handled exactly or ended in a clean error). The access keys were absent from all "
        f"{secret_scans} stdout/stderr/log texts scanned.\n\n{render_markdown(rows)}\n"
    )
    if failed:
        block += "\n**Failing tests in this run:**\n\n" + "".join(f"- `{nodeid}`\n" for nodeid in failed)
    return block


def replace_between_markers(text: str, block: str) -> str | None:
    """`text` with the part between the markers replaced by `block`; None if the markers are absent."""
    start = text.find(START)
    end = text.find(END, start + len(START)) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    return text[: start + len(START)] + "\n" + block + text[end:]


def write_results(block: str, *, docs: bool) -> list[Path]:
    """Write RESULTS.md and, when `docs`, fill the docs markers; returns the files written."""
    written = []
    results = SUITE_DIR / "RESULTS.md"
    results.write_text("# Reliability results\n\n" + block)
    written.append(results)
    for doc in DOCS if docs else ():
        if not doc.exists():
            continue
        updated = replace_between_markers(doc.read_text(), block)
        if updated is not None:
            doc.write_text(updated)
            written.append(doc)
    return written
