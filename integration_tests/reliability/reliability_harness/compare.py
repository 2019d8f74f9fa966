"""Does deployment B hold what the origin A holds? Counted per document: lost, duplicated, extra.

A document of A travels as a RECORD (int64 as a JSON integer, bytes as base64 text, NaN and
the infinities as "NaN" / "Infinity" / "-Infinity") and Convex import stores it with every
number as a float64 and every name that is not an identifier renamed (`_id` -> `source_id`,
`_creationTime` -> `source_creationtime`, "e-mail" -> `source_e_mail`, nested ones too). The
expected stored form is computed from A's own values with that rule; B's document must equal
it field for field, after setting aside B's own `_id` / `_creationTime` and the routing fields
the source adds (`_table`, `_component`, `_ts`, `_deleted`, stored as `source_*`), which are
checked for what they must say. CDC fields (`_ab_cdc_*`) must not be stored at all.

- dedup mode: one B document per A document, by `source_id`; a second one is a duplicate, one
  whose content differs is stale (lost: the latest version never arrived), one whose id A does
  not have is a ghost (a delete that did not happen, or a delete stored as a document).
- append mode: B keeps every revision it was sent; each A document must be among them (else
  lost), and rows that repeat the same revision (`source_id`, `source_ts`) are duplicates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from convex_local.round_trip import stored_value
from convex_shared.naming import map_document

B_OWN = ("_id", "_creationTime")
ROUTING = ("source_table", "source_component", "source_ts", "source_deleted")
#: Example ids kept per kind of difference (the counts are always exact).
EXAMPLES = 5


def expected_document(origin: dict[str, Any]) -> dict[str, Any]:
    """The fields B must hold for A's document `origin` (routing fields aside)."""
    return map_document(stored_value(origin))


def own_fields(stored: dict[str, Any]) -> dict[str, Any]:
    """B's document without B's own system fields and the routing fields."""
    return {key: value for key, value in stored.items() if key not in B_OWN and key not in ROUTING}


def differences(expected: Any, actual: Any, path: str = "", limit: int = 5) -> list[str]:
    """Where two stored values differ, as `path: expected != actual` lines (at most `limit`)."""
    out: list[str] = []
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            if len(out) >= limit:
                break
            if key not in actual:
                out.append(f"{path}/{key}: missing in B")
            elif key not in expected:
                out.append(f"{path}/{key}: unexpected in B ({actual[key]!r:.60})")
            else:
                out += differences(expected[key], actual[key], f"{path}/{key}", limit - len(out))
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            if len(out) >= limit:
                break
            out += differences(a, b, f"{path}[{i}]", limit - len(out))
        return out
    if expected != actual or type(expected) is not type(actual):
        return [f"{path or '/'}: {expected!r:.60} != {actual!r:.60}"]
    return []


@dataclass
class TableComparison:
    """What B holds of one table of A."""

    table: str
    mode: str
    expected: int = 0
    delivered: int = 0
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    ghosts: list[str] = field(default_factory=list)
    duplicates: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)  # routing or CDC fields that are wrong
    diffs: list[str] = field(default_factory=list)  # field differences of the first stale documents

    @property
    def lost(self) -> int:
        return len(self.missing) + len(self.stale)

    @property
    def exact(self) -> bool:
        """B holds exactly A (dedup) / every document of A (append), with nothing wrong."""
        clean = not self.lost and not self.problems
        return clean and (self.mode == "append" or (not self.ghosts and not self.duplicates))

    def summary(self) -> str:
        return (f"{self.table} ({self.mode}): expected {self.expected}, delivered {self.delivered}, "
                f"missing {len(self.missing)} {self.missing[:EXAMPLES]}, stale {len(self.stale)} "
                f"{self.stale[:EXAMPLES]}, ghosts {len(self.ghosts)} {self.ghosts[:EXAMPLES]}, duplicates "
                f"{self.duplicates}, rows {self.rows}, problems {self.problems[:EXAMPLES]}, "
                f"diffs {self.diffs[:EXAMPLES]}")


def _check_routing(stored: dict[str, Any], table: str, problems: list[str], *, may_be_deleted: bool) -> None:
    sid = stored.get("source_id")
    if stored.get("source_table") != table:
        problems.append(f"{sid}: source_table is {stored.get('source_table')!r}, not {table!r}")
    if stored.get("source_component", "") != "":
        problems.append(f"{sid}: source_component is {stored.get('source_component')!r}")
    if not isinstance(stored.get("source_ts"), float):
        problems.append(f"{sid}: source_ts is {stored.get('source_ts')!r}")
    if stored.get("source_deleted") is not False and not may_be_deleted:
        problems.append(f"{sid}: source_deleted is {stored.get('source_deleted')!r}")
    cdc = [key for key in stored if key.startswith("source_ab_cdc") or key.startswith("_ab_cdc")]
    if cdc:
        problems.append(f"{sid}: CDC fields stored: {cdc}")


def compare_dedup(table: str, origin: Iterable[dict[str, Any]], target: Iterable[dict[str, Any]]) -> TableComparison:
    """B deduplicated on `source_id` must be A, exactly."""
    result = TableComparison(table, "dedup")
    by_id: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for stored in target:
        result.rows += 1
        by_id[stored.get("source_id")].append(stored)
    origin_ids = set()
    for document in origin:
        result.expected += 1
        doc_id = document["_id"]
        origin_ids.add(doc_id)
        found = by_id.get(doc_id)
        if not found:
            result.missing.append(doc_id)
            continue
        result.duplicates += len(found) - 1
        _check_routing(found[0], table, result.problems, may_be_deleted=False)
        wanted = expected_document(document)
        wrong = [stored for stored in found if own_fields(stored) != wanted]
        if wrong:
            result.stale.append(doc_id)
            if len(result.diffs) < EXAMPLES:
                result.diffs.append(f"{doc_id}: " + "; ".join(differences(wanted, own_fields(wrong[0]))))
        else:
            result.delivered += 1
    for doc_id, stored in by_id.items():
        if doc_id not in origin_ids:
            result.ghosts.append(str(doc_id))
            result.duplicates += len(stored) - 1
    return result


def compare_append(table: str, origin: Iterable[dict[str, Any]], target: Iterable[dict[str, Any]]) -> TableComparison:
    """Every document of A must be among B's rows; repeated revisions are counted."""
    result = TableComparison(table, "append")
    revisions: Counter[tuple[Any, Any, Any]] = Counter()
    by_id: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for stored in target:
        result.rows += 1
        revisions[(stored.get("source_id"), stored.get("source_ts"), stored.get("source_deleted"))] += 1
        by_id[stored.get("source_id")].append(stored)
        _check_routing(stored, table, result.problems, may_be_deleted=True)
    result.duplicates = sum(count - 1 for count in revisions.values())
    for document in origin:
        result.expected += 1
        doc_id = document["_id"]
        rows = [row for row in by_id.get(doc_id, []) if row.get("source_deleted") is False]
        if not rows:
            result.missing.append(doc_id)
        elif not any(own_fields(row) == expected_document(document) for row in rows):
            result.stale.append(doc_id)
            if len(result.diffs) < EXAMPLES:
                latest = max(rows, key=lambda row: row.get("source_ts") or 0)
                result.diffs.append(f"{doc_id}: " + "; ".join(differences(expected_document(document),
                                                                          own_fields(latest))))
        else:
            result.delivered += 1
    return result


def compare_tables(origin_dep: Any, target_dep: Any, tables: Iterable[str], mode: str) -> list[TableComparison]:
    """Compare each table of the origin deployment with the same-named table of the target."""
    compare = compare_dedup if mode == "dedup" else compare_append
    present = set(target_dep.table_names())
    return [
        compare(table, origin_dep.documents(table), target_dep.documents(table) if table in present else [])
        for table in tables
    ]
