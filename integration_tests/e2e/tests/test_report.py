"""The demo's printed table."""

from __future__ import annotations

from convex_demo.report import Row, rate, render


def test_columns_line_up_and_a_difference_stands_out() -> None:
    text = render([Row("users", 3000, 0, 3000, 3000, True), Row("waitlist/entries", 48, 15, 500, 501, False)])
    lines = text.splitlines()
    assert lines[0].split() == ["table", "records", "moved", "deletes", "applied", "rows", "in", "A", "rows", "in",
                                "B", "A", "=", "B"]
    assert len({len(line) for line in lines}) == 1  # every line as wide as the header
    assert lines[2].startswith("users ") and lines[2].endswith("equal")
    assert lines[3].endswith("DIFFERENT") and "3,000" in lines[2]


def test_rate() -> None:
    assert rate(10_000, 4.0) == "10,000 records in 4.0 s (2,500 records/s)"
