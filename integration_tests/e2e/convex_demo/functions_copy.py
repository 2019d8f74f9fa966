"""The demo's second copy: Convex A' -> query functions -> ingest mutation -> Convex B', no streaming export.

A' is a deployment whose plan has no streaming export (every export route answers
`403 StreamingExportNotEnabled`): the source reads it through paginated query functions deployed
on it (`<table>:list`), the destination writes B' by calling B's ingest mutation
(`ingest:records`, the documented `convex/ingest.ts`). Two syncs: a full one, then an incremental
one after new documents arrived in A' (query functions see new documents, not updates or deletes;
the docs say so). After each, every document of A' must be in B' exactly once, as the ingest
function stores it: `_id` -> `source_id`, `_creationTime` -> `source_creationTime`, values as the
Functions API returns them (`format: "json"`: int64 as base-10 text, bytes as base64, NaN and
infinities as text, every number a float64).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from convex_local.control import ControlClient, decode_value
from convex_local.function_library import stored_name
from convex_local.values import to_clean

from .report import Row, rate, render
from .seed import Scale, seed
from .servers import LocalServer
from .sync import SyncResult, run_sync, write_state

#: The root tables the copy moves (query functions cannot paginate inside a component).
TABLES = ("users", "posts", "orders", "audit_log")


def expected_copy(document: dict[str, Any]) -> dict[str, Any]:
    """B's copy of an A document (without B's own `_id` and `_creationTime`)."""
    # decode_value: what a function's JSON arguments become (every number a float64).
    return {stored_name(key): decode_value(to_clean(value)) for key, value in document.items()}


@dataclass
class Outcome:
    rows: list[Row]
    differences: list[str]

    @property
    def equal(self) -> bool:
        return all(row.equal for row in self.rows)


def compare(a: ControlClient, b: ControlClient, result: SyncResult) -> Outcome:
    rows, notes, b_tables = [], [], set(b.table_names(""))
    for table in TABLES:
        documents_a = a.documents(table)
        copies: dict[Any, dict[str, Any]] = {}
        problems = []
        for copy in (b.documents(table) if table in b_tables else []):
            key = copy.get("source_id")
            if key in copies:
                problems.append(f"{key} is stored twice")
            copies[key] = {k: v for k, v in copy.items() if k not in ("_id", "_creationTime")}
        for document in documents_a:
            copy = copies.pop(document["_id"], None)
            if copy is None:
                problems.append(f"{document['_id']} is missing")
            elif copy != expected_copy(document):
                problems.append(f"{document['_id']} differs")
        problems += [f"{key} is in B' but not in A'" for key in copies]
        rows.append(Row(table, result.records.get((None, table), 0), 0, len(documents_a),
                        len(b.documents(table)) if table in b_tables else 0, not problems))
        notes += [f"  {table}: {problem}" for problem in problems[:5]]
    return Outcome(rows, notes)


def _catalog(catalog: dict[str, Any], sync_id: int) -> dict[str, Any]:
    streams = []
    for stream in catalog["streams"]:
        incremental = "incremental" in stream["supported_sync_modes"]
        streams.append({
            "stream": stream, "sync_mode": "incremental" if incremental else "full_refresh",
            "cursor_field": ["_creationTime"] if incremental else [],
            "destination_sync_mode": "append_dedup" if incremental else "append",
            "primary_key": [["_id"]] if incremental else [], "generation_id": 0, "minimum_generation_id": 0,
            "sync_id": sync_id})
    return {"streams": streams}


def run_functions_copy(work: Path, scale: Scale, deadline: float, say: Callable[[str], None],
                       write_config: Callable[[Path, dict[str, Any]], Path],
                       discover: Callable[[Path, float], dict[str, Any]]) -> tuple[bool, list[SyncResult]]:
    """Both syncs of the Functions API copy; (B' equals A' after both, the sync results)."""
    say("Functions API copy: A' has no streaming export; the source reads query functions, the destination "
        "calls an ingest mutation.")
    with LocalServer("A'", work / "server-a2.log", extra_args=["--seed", "3", "--no-streaming-export"]) as a_info, \
            LocalServer("B'", work / "server-b2.log", extra_args=["--seed", "4"]) as b_info, \
            ControlClient(a_info.url, a_info.admin_key) as a, ControlClient(b_info.url, b_info.admin_key) as b:
        seeded = seed(a, scale, seed=7)
        for table in TABLES:
            a.register_function(kind="paginated_list", path=f"{table}:list", table=table)
        b.register_function(kind="ingest", path="ingest:records")
        say(f"  A': {a_info.url} ({seeded:,} documents; export routes answer 403 StreamingExportNotEnabled)   "
            f"B': {b_info.url}")
        source_config = write_config(work / "functions-source-config.json", {
            "deployment_url": a_info.url, "access_key": a_info.admin_key,
            "query_functions": [{"function": f"{table}:list", "table": table, "page_size": 1000} for table in TABLES]})
        destination_config = write_config(work / "functions-destination-config.json", {
            "deployment_url": b_info.url, "access_key": b_info.admin_key, "mutation": "ingest:records"})
        catalog = discover(source_config, deadline)
        state: Optional[Path] = None
        results, equal = [], True
        for number, title in ((1, "Functions sync 1: every document, A' -> B' (ingest mutation, dedup on _id)"),
                              (2, "Functions sync 2: incremental by _creationTime, after new documents in A'")):
            if number == 2:
                added = sum(len(a.generate(table, n, seed=50 + i)) for i, (table, n) in
                            enumerate((("users", max(scale.users // 20, 1)), ("posts", max(scale.posts // 20, 1)))))
                say(f"Added {added} documents to A'.")
            catalog_path = work / f"functions-catalog-{number}.json"
            catalog_path.write_text(json.dumps(_catalog(catalog, 100 + number)))
            say("")
            say(title)
            result = run_sync(work, f"functions-sync-{number}", source_config, destination_config, catalog_path,
                              state, deadline)
            results.append(result)
            if result.states:
                state = work / f"functions-state-{number}.json"
                write_state(state, result.states)
            outcome = compare(a, b, result)
            say(render(outcome.rows))
            say(f"  {rate(result.total_records, result.seconds)}")
            if outcome.differences:
                say("  Differences:")
                say("\n".join(outcome.differences))
            equal = equal and outcome.equal
        return equal, results
