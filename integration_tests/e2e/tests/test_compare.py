"""The demo's A-versus-B comparison: it must pass a faithful copy and catch every kind of loss.

The "faithful copy" is made by the local server's real import route from a record shaped exactly
as source-convex emits it, so the comparison's model of naming and number conversion is checked
against the server's own implementation, not against itself.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
import requests
from convex_local import LocalDeployment

from convex_demo.compare import compare_table, emitted_value, expected_document

ORIGINAL = {
    "_id": "k57a0000000000000000000000000001",
    "_creationTime": 1795000000000.5,
    "name": "Zoë",
    "count": 2**62,
    "ratio": float("nan"),
    "peak": float("-inf"),
    "raw": b"\x00\xff",
    "deletedAt": None,
    "source_ts": "a field that takes the name the routing field would get",
    "nested": {"Floor No.": [1, {"unit-name": True}], "ok": -0.5},
}


def emitted_record(document: dict[str, Any], table: str, component: str, ts: int) -> dict[str, Any]:
    """A snapshot record's data as source-convex emits it (routing first, CDC fields last)."""
    data: dict[str, Any] = {"_component": component, "_table": table, "_ts": ts}
    data.update(emitted_value(document))
    data.update({"_ab_cdc_lsn": ts, "_ab_cdc_updated_at": "2026-11-21T00:00:00.000000000Z", "_deleted": False,
                 "_ab_cdc_deleted_at": None})
    return data


def imported_copy(server: LocalDeployment, document: dict[str, Any], table: str = "t", component: str = "") -> dict:
    """What Convex import stores for that record, in the table the destination names after the stream."""
    ts = int(document["_creationTime"] * 1e6) + 5
    stored_as = f"{component}_{table}" if component else table
    body = {"tables": {stored_as: {"primaryKey": None, "jsonSchema": {}}},
            "messages": [{"tableName": stored_as, "data": emitted_record(document, table, component, ts)}]}
    response = requests.post(f"{server.url}/api/streaming_import/import_airbyte_records", json=body, timeout=10,
                             headers={"Authorization": f"Convex {server.admin_key}"})
    assert response.status_code == 200, response.text
    (stored,) = server.documents(stored_as)
    server.clear_table(stored_as)
    return stored


def test_values_travel_as_the_source_emits_them() -> None:
    assert emitted_value({"a": [1, 2.5, b"\x01", float("inf"), True, None]}) == {
        "a": [1.0, 2.5, base64.b64encode(b"\x01").decode(), "Infinity", True, None]
    }
    assert expected_document({"_id": "x", "Floor No.": 1, "_n": 2}) == {"source_id": "x", "Floor No.": 1.0, "source_n": 2.0}


def test_a_faithful_copy_is_equal(convex_server: LocalDeployment) -> None:
    stored = imported_copy(convex_server, ORIGINAL)
    assert "source_source_ts" in stored  # the collision rule really applied to the routing field
    outcome = compare_table([ORIGINAL], [stored], "t", "")
    assert outcome.equal, outcome.examples
    assert (outcome.rows_a, outcome.rows_b) == (1, 1)


def test_a_component_copy_is_equal(convex_server: LocalDeployment) -> None:
    stored = imported_copy(convex_server, ORIGINAL, table="entries", component="waitlist")
    assert compare_table([ORIGINAL], [stored], "entries", "waitlist").equal


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda b: b.pop("deletedAt"), ".deletedAt missing"),
        (lambda b: b["nested"].update(ok=0.5), ".nested.ok is 0.5"),
        (lambda b: b.update(extra=1.0), ".extra unexpected"),
        (lambda b: b.update(count=4611686018427387904), ".count is 4611686018427387904"),  # int, not float64
        (lambda b: b.update(source_ab_cdc_lsn=1.0), "CDC fields were stored"),
        (lambda b: b.update(source_table="other"), "routing fields say table 'other'"),
        (lambda b: b.update(source_deleted=True), "deleted True"),
    ],
)
def test_every_kind_of_damage_is_a_difference(convex_server: LocalDeployment, damage: Any, expected: str) -> None:
    stored = imported_copy(convex_server, ORIGINAL)
    damage(stored)
    outcome = compare_table([ORIGINAL], [stored], "t", "")
    assert not outcome.equal
    assert expected in outcome.examples[0], outcome.examples


def test_missing_extra_and_duplicated_documents_are_differences(convex_server: LocalDeployment) -> None:
    stored = imported_copy(convex_server, ORIGINAL)
    other = copy.deepcopy(ORIGINAL) | {"_id": "k57a0000000000000000000000000002"}
    assert compare_table([ORIGINAL, other], [stored], "t", "").examples == [f"{other['_id']} is missing"]
    stray = copy.deepcopy(stored) | {"source_id": "k57a0000000000000000000000000003"}
    outcome = compare_table([ORIGINAL], [stored, stray], "t", "")
    assert outcome.differences == 1 and "is in B but not in A" in outcome.examples[0]
    outcome = compare_table([ORIGINAL], [stored, copy.deepcopy(stored)], "t", "")
    assert "stored more than once" in outcome.examples[0]


def test_an_empty_table_equals_an_empty_table() -> None:
    assert compare_table([], [], "audit_log", "").equal
