"""Is table T of deployment B exactly what the pipeline owes us for table T of deployment A?

For every document of A, B must hold exactly one document whose `source_id` is A's `_id`, and
nothing else. Its fields must be A's fields as they travel through Airbyte and Convex import:

- values as the source emits them: int64 -> a number, bytes -> base64 text, NaN / infinities ->
  "NaN" / "Infinity" / "-Infinity", everything else as is;
- then as Convex import stores them: every number a float64, and every field name Convex does not
  keep (one starting with `_` or `$`, or not non-control ASCII) renamed by the import naming rule
  (`_id` -> `source_id`, `_creationTime` -> `source_creationtime`, `Straße` -> `source_strasse`),
  nested ones too; "Reading Time (min)" is a valid field name and is stored as it is.

The source also adds routing fields to every record (`_table`, `_component`, `_ts`, `_deleted`;
stored as `source_table` ...). They are checked against what they must say (this table, this
component, not deleted, a timestamp no older than the document) and then set aside; the CDC
fields (`_ab_cdc_*`) must not be stored at all. B's own `_id` and `_creationTime` are B's.
Nothing else is ignored: a missing, extra, duplicated or different document or field is a
difference, reported with the document id and field path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from convex_local.round_trip import stored_value
from convex_shared.naming import map_document, map_keys

ROUTING_FIELDS = ("_component", "_table", "_ts", "_deleted")
#: How many differences a table report keeps (the count is always exact).
MAX_EXAMPLES = 5


emitted_value = stored_value  # the demo reads better as "the value the source emitted"


def stored_names(document_keys: Iterable[str]) -> dict[str, str]:
    """The name import stores each routing field under, next to this document's own keys."""
    keys = [*ROUTING_FIELDS[:3], *document_keys, ROUTING_FIELDS[3]]
    return {key: name for key, name in zip(keys, map_keys(keys)) if key in ROUTING_FIELDS}


def expected_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """B's copy of an A document, without B's own `_id` / `_creationTime` and the routing fields."""
    return map_document({key: emitted_value(value) for key, value in document.items()})


@dataclass
class TableComparison:
    """The outcome for one table."""

    rows_a: int
    rows_b: int
    differences: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.differences == 0

    def differ(self, what: str) -> None:
        self.differences += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(what)


def _first_difference(expected: Any, actual: Any, path: str) -> str | None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected.keys() | actual.keys():
            if key not in actual:
                return f"{path}.{key} missing"
            if key not in expected:
                return f"{path}.{key} unexpected"
            found = _first_difference(expected[key], actual[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path} has {len(actual)} items, expected {len(expected)}"
        for index, (want, got) in enumerate(zip(expected, actual)):
            found = _first_difference(want, got, f"{path}[{index}]")
            if found:
                return found
        return None
    if type(expected) is not type(actual) or expected != actual:
        return f"{path} is {actual!r}, expected {expected!r}"
    return None


def compare_table(
    documents_a: list[dict[str, Any]],
    documents_b: list[dict[str, Any]],
    table: str,
    component: str,
) -> TableComparison:
    """Compare one table of A with its copy in B (see the module docstring)."""
    result = TableComparison(rows_a=len(documents_a), rows_b=len(documents_b))
    by_source_id: dict[Any, dict[str, Any]] = {}
    for doc in documents_b:
        source_id = doc.get("source_id")
        if source_id in by_source_id:
            result.differ(f"source_id {source_id!r} is stored more than once")
        by_source_id[source_id] = doc
    for doc in documents_a:
        copy = by_source_id.pop(doc["_id"], None)
        if copy is None:
            result.differ(f"{doc['_id']} is missing")
            continue
        problem = _check_copy(doc, dict(copy), table, component)
        if problem:
            result.differ(f"{doc['_id']}: {problem}")
    for source_id in by_source_id:
        result.differ(f"{source_id!r} is in B but not in A (a delete not applied, or a stray row)")
    return result


def _check_copy(original: dict[str, Any], copy: dict[str, Any], table: str, component: str) -> str | None:
    copy.pop("_id", None)
    copy.pop("_creationTime", None)
    cdc = sorted(key for key in copy if key.startswith("source_ab_cdc"))
    if cdc:
        return f"CDC fields were stored: {cdc}"
    names = stored_names(original)
    routing = {key: copy.pop(name, None) for key, name in names.items()}
    if routing["_table"] != table or routing["_component"] != component or routing["_deleted"] is not False:
        return (f"routing fields say table {routing['_table']!r}, component {routing['_component']!r}, "
                f"deleted {routing['_deleted']!r}")
    ts = routing["_ts"]
    if not isinstance(ts, float) or ts < original["_creationTime"] * 1e6 - 1e6:
        return f"_ts {ts!r} is not a timestamp at or after the document's creation"
    return _first_difference(expected_document(original), copy, "")
