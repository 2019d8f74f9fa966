"""The harness must be able to fail: each check is shown catching what it exists to catch.

A comparison that cannot see a missing document, a secret scan that cannot see a key's tail,
or an oracle that accepts a dropped record would make every green result above meaningless.
"""

from __future__ import annotations

import math
import urllib.parse
from typing import Any, Callable

import pytest

from reliability_harness.compare import compare_append, compare_dedup, expected_document, stored_value
from reliability_harness.records import delivery
from reliability_harness.results import END, START, Results, Row, render_markdown, replace_between_markers
from reliability_harness.secrets_guard import SecretGuard, SecretLeak

ORIGIN = [
    {"_id": "a1", "_creationTime": 1.5, "n": 2**53 + 1, "f": float("nan"), "b": b"\x00\x01",
     "nested": {"x-y": [1, None]}},
    {"_id": "a2", "_creationTime": 2.5, "name": "Zoë", "inf": float("-inf")},
]


def stored(doc: dict[str, Any], b_id: str, **routing: Any) -> dict[str, Any]:
    """B's document for `doc`, as a correct pipeline stores it."""
    base = {"_id": b_id, "_creationTime": 9.0, "source_table": "t", "source_component": "", "source_ts": 1.0,
            "source_deleted": False}
    return {**base, **expected_document(doc), **routing}


def test_stored_value_follows_the_pipeline() -> None:
    assert stored_value(2**53 + 1) == float(2**53 + 1)
    assert stored_value(float("nan")) == "NaN" and stored_value(float("-inf")) == "-Infinity"
    assert stored_value(b"\x00\x01") == "AAE="
    assert expected_document(ORIGIN[0])["source_id"] == "a1"
    assert "source_creationtime" in expected_document(ORIGIN[0])
    assert math.isclose(expected_document(ORIGIN[0])["source_creationtime"], 1.5)


def test_dedup_comparison_passes_an_exact_copy() -> None:
    result = compare_dedup("t", ORIGIN, [stored(ORIGIN[0], "b1"), stored(ORIGIN[1], "b2")])
    assert result.exact and result.delivered == 2, result.summary()


@pytest.mark.parametrize("damage, field", [
    (lambda docs: docs[:1], "missing"),
    (lambda docs: [docs[0], {**docs[1], "name": "Zoe"}], "stale"),
    (lambda docs: [docs[0], {k: v for k, v in docs[1].items() if k != "inf"}], "stale"),
    (lambda docs: [docs[0], {**docs[1], "extra": 1}], "stale"),
    (lambda docs: [{**docs[0], "n": float(2**53) + 2.0}, docs[1]], "stale"),  # a number changed on the way
    (lambda docs: docs + [{**docs[0], "_id": "b3"}], "duplicates"),
    (lambda docs: docs + [{**docs[0], "_id": "b4", "source_id": "gone"}], "ghosts"),
    (lambda docs: [{**docs[0], "source_deleted": True}, docs[1]], "problems"),
    (lambda docs: [{**docs[0], "source_ab_cdc_lsn": 1.0}, docs[1]], "problems"),
])
def test_dedup_comparison_sees_every_kind_of_damage(damage: Callable[[list[Any]], list[Any]], field: str) -> None:
    result = compare_dedup("t", ORIGIN, damage([stored(ORIGIN[0], "b1"), stored(ORIGIN[1], "b2")]))
    assert not result.exact
    value = getattr(result, field)
    assert value if isinstance(value, list) else value > 0, result.summary()


def test_append_comparison_counts_repeats_and_losses() -> None:
    rows = [stored(ORIGIN[0], "b1"), stored(ORIGIN[0], "b2"), stored(ORIGIN[1], "b3", source_ts=2.0),
            stored(ORIGIN[1], "b4", source_ts=3.0)]  # a2 twice, at two revisions: history, not a repeat
    result = compare_append("t", ORIGIN, rows)
    assert result.exact and result.duplicates == 1 and result.delivered == 2, result.summary()
    lost = compare_append("t", ORIGIN, rows[2:])
    assert lost.missing == ["a1"] and not lost.exact


def test_delivery_counts_losses_and_repeats() -> None:
    outcome = delivery(["a", "b", "b", "c"], ["a", "b", "c", "c", "d"])
    assert (outcome.expected, outcome.delivered, outcome.lost, outcome.duplicates) == (4, 3, 1, 2)
    assert delivery(["a"], ["a"]).exact


def test_secret_guard_sees_every_form_of_a_key() -> None:
    guard = SecretGuard()
    key = "prod:happy-animal-123|0123456789abcdef0123456789abcdef"
    guard.register(key, "k")
    for text in (f"x {key} y", "tail 0123456789abcdef0123456789abcdef", urllib.parse.quote(key, safe="")):
        with pytest.raises(SecretLeak):
            guard.check(text, "a text")
    guard.check("prod:happy-animal-123|****", "a masked text")


def test_results_merge_render_and_fill_only_between_markers() -> None:
    results = Results()
    results.add(Row("s", 1, 2, 10, 10, 0, 1))
    results.add(Row("s", 2, 3, 5, 4, 1, 0))
    results.add(Row("t", 1, 0, None, None, None, None))
    (row_s, row_t) = results.rows
    assert (row_s.runs, row_s.faults, row_s.expected, row_s.delivered, row_s.lost, row_s.duplicates) == (3, 5, 15, 14,
                                                                                                         1, 1)
    table = render_markdown(results.rows)
    assert "| t | 1 | 0 | - | - | - | - |" in table
    doc = f"intro\n{START}\nold\n{END}\noutro\n"
    assert replace_between_markers(doc, "NEW\n") == f"intro\n{START}\nNEW\n{END}\noutro\n"
    assert replace_between_markers("no markers here", "NEW") is None
