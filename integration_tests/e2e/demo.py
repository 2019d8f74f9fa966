"""`make demo`: Convex A -> source-convex -> destination-convex -> Convex B, then an incremental sync.

1. Starts two local Convex-compatible deployments, A and B, as their own processes.
2. Seeds A with several tables of realistic documents, one table inside the component `waitlist`.
3. Discovers A and runs a first sync: `source-convex read` (with A's read-only key) piped into
   `destination-convex write` (dedup on `_id`) into B, as Airbyte would, and keeps the state the
   destination committed.
4. Inserts, updates and deletes documents in A, then runs an incremental sync from that state.
5. Copies again without streaming export (Convex's Functions API, every plan): A' answers
   `StreamingExportNotEnabled`, the source reads its paginated query functions, the destination calls
   B's ingest mutation; a full sync, then an incremental one after new documents (convex_demo.functions_copy).
After each sync it prints one row per table (records moved, deletes applied, rows in A and in B,
whether B equals A: see convex_demo.compare for exactly what "equal" means), then the overall
records/s. Exit status: 0 when both copies equal their origin after their syncs, 1 when any table differs, 2 when a
step fails. The servers it started are stopped on every exit path; logs are kept under
.work/demo/ when something went wrong.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NoReturn, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from convex_demo.compare import compare_table  # noqa: E402
from convex_demo.functions_copy import run_functions_copy  # noqa: E402
from convex_demo.report import Row, rate, render  # noqa: E402
from convex_demo.seed import TABLES, Scale, mutate, seed  # noqa: E402
from convex_demo.servers import LocalServer, ServerError, ServerInfo  # noqa: E402
from convex_demo.sync import SOURCE, SyncError, SyncResult, run_sync, write_state  # noqa: E402
from convex_local.control import ControlClient  # noqa: E402
from destination_convex.tables import table_name  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
WORK = REPO_ROOT / ".work" / "demo"


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which."""


def _terminate(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds through every `finally`, so the servers are stopped


def say(text: str = "") -> None:
    print(text, flush=True)


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


def discover(config: Path, deadline: float) -> dict[str, Any]:
    try:
        result = subprocess.run([str(SOURCE), "discover", "--config", str(config)], capture_output=True, text=True,
                                timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        raise DemoError("discover did not finish before the demo's deadline") from None
    catalogs, errors = [], []
    for line in result.stdout.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("type") == "CATALOG":
            catalogs.append(message["catalog"])
        elif message.get("type") == "TRACE" and message["trace"].get("type") == "ERROR":
            errors.append(message["trace"]["error"]["message"])
    if result.returncode != 0 or len(catalogs) != 1:
        raise DemoError(f"source-convex discover failed (exit {result.returncode}): {' | '.join(errors) or 'no catalog'}")
    return catalogs[0]


def configured_catalog(catalog: dict[str, Any], sync_id: int) -> dict[str, Any]:
    """Every stream incremental (snapshot, then the change log), deduplicated on `_id` in B."""
    return {"streams": [
        {"stream": stream, "sync_mode": "incremental", "cursor_field": ["_ts"], "destination_sync_mode": "append_dedup",
         "primary_key": [["_id"]], "generation_id": 0, "minimum_generation_id": 0, "sync_id": sync_id}
        for stream in catalog["streams"]
    ]}


def label(component: str, table: str) -> str:
    return f"{component}/{table}" if component else table


def compare(a: ControlClient, b: ControlClient, result: SyncResult) -> tuple[list[Row], list[str]]:
    """One report row per table, and the differences found (a few examples per table)."""
    rows, notes, b_tables = [], [], set(b.table_names(""))
    for component, table in TABLES:
        stored_as = table_name(component or None, table)
        documents_b = b.documents(stored_as) if stored_as in b_tables else []
        outcome = compare_table(a.documents(table, component), documents_b, table, component)
        key = (component or None, table)
        rows.append(Row(label(component, table), result.records.get(key, 0), result.deletes.get(key, 0),
                        outcome.rows_a, outcome.rows_b, outcome.equal))
        notes += [f"  {label(component, table)}: {example}" for example in outcome.examples]
        if outcome.differences > len(outcome.examples):
            notes.append(f"  {label(component, table)}: ... and {outcome.differences - len(outcome.examples)} more")
    return rows, notes


def run(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    syncs: list[SyncResult] = []
    all_equal = True
    with ExitStack() as stack:
        say("Starting two local Convex deployments (A and B) ...")
        server_a: ServerInfo = stack.enter_context(LocalServer("A", WORK / "server-a.log", extra_args=["--seed", "1"]))
        server_b: ServerInfo = stack.enter_context(LocalServer("B", WORK / "server-b.log", extra_args=["--seed", "2"]))
        control_a = stack.enter_context(ControlClient(server_a.url, server_a.admin_key))
        control_b = stack.enter_context(ControlClient(server_b.url, server_b.admin_key))
        say(f"  A: {server_a.url}   B: {server_b.url}")

        started = time.monotonic()
        seeded = seed(control_a, Scale.of(args.scale))
        say(f"Seeded A with {seeded:,} documents in {len(TABLES)} tables (waitlist/entries lives in the component "
            f"`waitlist`; audit_log is empty) in {time.monotonic() - started:.1f} s.")

        # The source needs only deployment:data:view: it reads A with A's read-only key.
        source_config = write_config(WORK / "source-config.json", {
            "deployment_url": server_a.url, "access_key": server_a.read_only_key, "include_components": True})
        destination_config = write_config(WORK / "destination-config.json", {
            "deployment_url": server_b.url, "access_key": server_b.admin_key})
        catalog = discover(source_config, deadline)
        say(f"Discovered {len(catalog['streams'])} streams: "
            + ", ".join(label(s.get("namespace") or "", s["name"]) for s in catalog["streams"]) + ".")

        state: Optional[Path] = None
        steps = (("Sync 1: snapshot of every table, A -> B (dedup on _id)", None),
                 ("Sync 2: incremental, from the state the destination committed", "mutate"))
        for number, (title, before) in enumerate(steps, start=1):
            if before == "mutate":
                done = mutate(control_a)
                say(f"Changed A: {sum(done.inserted.values())} inserts, {sum(done.updated.values())} updates, "
                    f"{sum(done.deleted.values())} deletes.")
            catalog_path = WORK / f"catalog-{number}.json"
            catalog_path.write_text(json.dumps(configured_catalog(catalog, number)))
            say()
            say(title)
            result = run_sync(WORK, f"sync-{number}", source_config, destination_config, catalog_path, state, deadline)
            syncs.append(result)
            if len(result.states) != len(catalog["streams"]):
                raise DemoError(f"sync {number}: the destination committed states for {len(result.states)} of "
                                f"{len(catalog['streams'])} streams")
            state = WORK / f"state-{number}.json"
            write_state(state, result.states)
            rows, differences = compare(control_a, control_b, result)
            say(render(rows))
            say(f"  {rate(result.total_records, result.seconds)}")
            if differences:
                say("  Differences (B's copy of A's document; field paths as B stores them):")
                say("\n".join(differences))
            all_equal = all_equal and all(row.equal for row in rows)

        say()
        functions_equal, functions_syncs = run_functions_copy(WORK, Scale.of(args.scale * 0.5), deadline, say,
                                                              write_config, discover)
        all_equal = all_equal and functions_equal

    total = sum(result.total_records for result in syncs)
    say()
    say(f"Overall: {rate(total, sum(result.seconds for result in syncs))} (both streaming syncs, connector start-up "
        "included).")
    functions_total = sum(result.total_records for result in functions_syncs)
    say(f"Functions API copy: {rate(functions_total, sum(result.seconds for result in functions_syncs))} (both syncs).")
    if not all_equal:
        say(f"A COPY DIFFERS FROM ITS ORIGIN (see the differences above; logs in {WORK.relative_to(REPO_ROOT)}/).")
        return 1
    say("B equals A after both syncs, and B' equals A' after both Functions API syncs, after the documented "
        "mapping: int64 -> float64, bytes -> base64 text, NaN/Infinity -> strings, _id -> source_id and other "
        "names by Convex's import naming rule.")
    return 0


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=1.0, help="table size factor (1.0: about 10,000 documents)")
    parser.add_argument("--timeout", type=float, default=180.0, help="give up after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep .work/demo/ (logs, catalogs, states) on success")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    code = 2
    try:
        code = run(args)
    except (DemoError, SyncError, ServerError) as err:
        say(f"\nDemo failed: {err}")
        say(f"Logs: {WORK.relative_to(REPO_ROOT)}/")
    except (KeyboardInterrupt, SystemExit) as stop:
        say("\nInterrupted: the servers and connectors the demo started are stopped.")
        code = stop.code if isinstance(stop, SystemExit) and isinstance(stop.code, int) else 130
    finally:
        for config in WORK.glob("*config.json"):
            config.unlink()  # keys of servers that no longer run, but keys all the same
        if code == 0 and not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
