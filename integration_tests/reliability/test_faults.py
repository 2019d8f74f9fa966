"""Faults: 10% mixed server faults change nothing; persistent faults end cleanly and quickly.

The local deployment injects the faults (500, 503, 429 with Retry-After, an HTML 502 page, a
connection reset with no answer, an answer slower than the read timeout), plus a fixed latency
on every request. For the destination, some faults strike after the import committed, so a
retry repeats work that was already done.

- A source read (a full read, then an incremental one after changes) under faults emits
  exactly the records of the same read without faults.
- A destination write (dedup) under faults leaves exactly the documents of the same write
  without faults; in append mode the rows it repeats are counted.
- A fault that never stops ends the run with one ERROR trace that explains it, no STATE after
  it, a non-zero exit, within a bounded time.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest

from reliability_harness.catalog import configured_catalog, connection_config, discovered_streams
from reliability_harness.dataset import mutate, seed_origin
from reliability_harness.faults import DESTINATION_MIX, faults_fired, inject_mixed
from reliability_harness.messages import Output
from reliability_harness.processes import (
    Run,
    assert_clean_failure,
    assert_success,
    destination_write,
    records_and_states,
    source_read,
    write_json,
)
from reliability_harness.records import delivery, document_identity, record_identity
from reliability_harness.results import Results, Row

FAULT_RATE = 0.10
LATENCY_S = 0.004
#: Each retry of a failed request waits about a second (the connectors' default backoff), so
#: a run that never recovers takes about half a minute to give up; this bounds it.
GIVE_UP_WITHIN_S = 75.0


def _origin(deployments: Callable[..., Any], seed: int) -> Any:
    origin = deployments(f"origin A (fault seed {seed})")
    # Small pages: many requests, so 10% means several faults per run.
    origin.settings.snapshot_page_size = 25
    origin.settings.deltas_page_rows = 16
    seed_origin(origin, seed, users=300, posts=150)
    return origin


def _records(run: Run) -> list[str]:
    return [record_identity(record) for record in run.output.records]


def _states(output: Output) -> list[Any]:
    return [state["stream"] for state in output.states]


@pytest.mark.timeout(600)
def test_source_read_under_mixed_faults_equals_fault_free(budget: Any, deployments: Callable[..., Any],
                                                          tmp_path: Path, results: Results) -> None:
    for seed in range(budget.fault_seeds):
        rng = random.Random(seed)
        origin = _origin(deployments, 300 + seed)
        # A read timeout below the injected slowness: slow answers are given up on and retried.
        config = connection_config(origin.url, origin.read_only_key, read_timeout_seconds=1.0)
        config_path = write_json(tmp_path / f"source-{seed}.json", config)
        catalog = write_json(tmp_path / f"catalog-{seed}.json", configured_catalog(discovered_streams(config)))

        clean_full = source_read(config_path, catalog)
        assert_success(clean_full)
        state = write_json(tmp_path / f"state-{seed}.json",
                           [{"type": "STREAM", "stream": s["stream"]} for s in clean_full.output.states[-2:]])
        origin.settings.latency_s = LATENCY_S
        origin.request_log.clear()
        inject_mixed(origin, rate=FAULT_RATE, seed=seed, retry_after_s=1.0, slow_s=1.5)
        faulty_full = source_read(config_path, catalog)
        fired = faults_fired(origin)
        origin.faults.clear()

        mutate(origin, rng, 80)
        clean_incremental = source_read(config_path, catalog, state)
        assert_success(clean_incremental)
        origin.request_log.clear()
        inject_mixed(origin, rate=FAULT_RATE, seed=seed + 50, retry_after_s=1.0, slow_s=1.5)
        faulty_incremental = source_read(config_path, catalog, state)
        fired += faults_fired(origin)
        origin.faults.clear()

        outcome = delivery(_records(clean_full) + _records(clean_incremental),
                           _records(faulty_full) + _records(faulty_incremental))
        results.add(Row("faults: source read, 10% mixed (full + incremental)", runs=2, faults=fired,
                        expected=outcome.expected, delivered=outcome.delivered, lost=outcome.lost,
                        duplicates=outcome.duplicates))
        assert_success(faulty_full)
        assert_success(faulty_incremental)
        assert outcome.exact, f"seed {seed}, {fired} faults: {outcome.summary()}"
        assert fired >= 2, f"only {fired} faults fired: the scenario did not test much"
        # The same states in the same order, except the change-log positions, which are "now".
        assert [s["stream_descriptor"] for s in _states(faulty_full.output)] == [
            s["stream_descriptor"] for s in _states(clean_full.output)]


def _write_both_ways(mode: str, seed: int, deployments: Callable[..., Any], tmp_path: Path) -> tuple[Any, ...]:
    """The same input written to B1 without faults and to B2 under faults; returns both runs."""
    rng = random.Random(seed)
    origin = _origin(deployments, 400 + seed)
    config = connection_config(origin.url, origin.read_only_key)
    streams = discovered_streams(config)
    catalog = write_json(tmp_path / f"catalog-{mode}-{seed}.json",
                         configured_catalog(streams, destination_sync_mode="append_dedup" if mode == "dedup" else "append"))
    source_config = write_json(tmp_path / f"source-{mode}-{seed}.json", config)
    full = source_read(source_config, catalog)
    assert_success(full)
    state = write_json(tmp_path / f"state-{mode}-{seed}.json",
                       [{"type": "STREAM", "stream": s["stream"]} for s in full.output.states[-2:]])
    mutate(origin, rng, 80)  # updates, replaces and deletes for the second input
    incremental = source_read(source_config, catalog, state)
    assert_success(incremental)
    inputs = [records_and_states(full), records_and_states(incremental)]

    clean_target = deployments(f"target B1 ({mode} seed {seed})")
    faulty_target = deployments(f"target B2 ({mode} seed {seed})")
    faulty_target.settings.latency_s = LATENCY_S
    inject_mixed(faulty_target, rate=FAULT_RATE, seed=seed, mix=DESTINATION_MIX, retry_after_s=1.0, slow_s=1.5)

    def write(target: Any, name: str) -> list[Run]:
        # Small batches: many import requests; a read timeout below the injected slowness.
        config_path = write_json(tmp_path / f"{name}.json", connection_config(
            target.url, target.admin_key, max_batch_size_mib=0.02, max_parallel_requests=2,
            read_timeout_seconds=1))
        return [destination_write(config_path, catalog, data) for data in inputs]

    with ThreadPoolExecutor(max_workers=2) as pool:
        clean_future = pool.submit(write, clean_target, f"clean-{mode}-{seed}")
        faulty_future = pool.submit(write, faulty_target, f"faulty-{mode}-{seed}")
        clean_runs, faulty_runs = clean_future.result(), faulty_future.result()
    return clean_target, faulty_target, clean_runs, faulty_runs, faults_fired(faulty_target)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", ["dedup", "append"])
def test_destination_write_under_mixed_faults(mode: str, budget: Any, deployments: Callable[..., Any], tmp_path: Path,
                                              results: Results) -> None:
    for seed in range(budget.fault_seeds):
        clean_target, faulty_target, clean_runs, faulty_runs, fired = _write_both_ways(mode, seed, deployments,
                                                                                       tmp_path)
        for run in clean_runs + faulty_runs:
            assert_success(run)
        for clean, faulty in zip(clean_runs, faulty_runs):
            # Every state confirmed, in order, as without faults.
            assert _states(faulty.output) == _states(clean.output)
        tables = sorted(set(clean_target.table_names()) | set(faulty_target.table_names()))
        outcome = delivery(
            [document_identity(doc) for table in tables for doc in clean_target.documents(table)],
            [document_identity(doc) for table in tables if table in faulty_target.table_names()
             for doc in faulty_target.documents(table)])
        label = "dedup on _id" if mode == "dedup" else "append"
        results.add(Row(f"faults: destination write, 10% mixed incl. after-commit ({label})", runs=2, faults=fired,
                        expected=outcome.expected, delivered=outcome.delivered, lost=outcome.lost,
                        duplicates=outcome.duplicates))
        assert fired >= 2, f"only {fired} faults fired: the scenario did not test much"
        assert outcome.lost == 0, f"{mode} seed {seed}, {fired} faults: {outcome.summary()}"
        if mode == "dedup":
            assert outcome.exact, f"dedup seed {seed}, {fired} faults: {outcome.summary()}"


# -- persistent faults ----------------------------------------------------------------------

SOURCE_PERSISTENT = [("list_snapshot", "503"), ("document_deltas", "reset"), ("json_schemas", "html502"),
                     ("list_snapshot", "429"), ("document_deltas", "500"), ("list_snapshot", "slow")]
DESTINATION_PERSISTENT = [("import_airbyte_records", "500"), ("add_primary_key_indexes", "html502"),
                          ("import_airbyte_records", "reset"), ("import_airbyte_records", "429"),
                          ("primary_key_indexes_ready", "503"), ("import_airbyte_records", "slow")]


def _persistent_source(route: str, kind: str, deployments: Callable[..., Any], tmp_path: Path) -> tuple[Run, int]:
    origin = deployments(f"origin A (persistent {kind} on {route})")
    origin.settings.snapshot_page_size = 50
    seed_origin(origin, 5, users=120, posts=60)
    config = connection_config(origin.url, origin.read_only_key, read_timeout_seconds=1.0)
    catalog = write_json(tmp_path / f"catalog-{route}-{kind}.json", configured_catalog(discovered_streams(config)))
    origin.faults.inject(route=route, kind=kind, rate=1.0, retry_after_s=1.0, slow_s=1.5)
    run = source_read(write_json(tmp_path / f"source-{route}-{kind}.json", config), catalog, timeout_s=150)
    return run, faults_fired(origin)


def _persistent_destination(route: str, kind: str, deployments: Callable[..., Any],
                            tmp_path: Path) -> tuple[Run, int]:
    origin = deployments(f"origin A (destination persistent {kind} on {route})")
    seed_origin(origin, 6, users=120, posts=60)
    config = connection_config(origin.url, origin.read_only_key)
    catalog = write_json(tmp_path / f"dcatalog-{route}-{kind}.json", configured_catalog(discovered_streams(config)))
    read = source_read(write_json(tmp_path / f"dsource-{route}-{kind}.json", config), catalog)
    assert_success(read)
    target = deployments(f"target B (persistent {kind} on {route})")
    target.faults.inject(route=route, kind=kind, rate=1.0, retry_after_s=1.0, slow_s=1.5)
    destination = write_json(tmp_path / f"dest-{route}-{kind}.json", connection_config(
        target.url, target.admin_key, read_timeout_seconds=1))
    run = destination_write(destination, catalog, records_and_states(read), timeout_s=150)
    return run, faults_fired(target)


@pytest.mark.timeout(400)
def test_persistent_faults_end_in_a_clean_error(budget: Any, deployments: Callable[..., Any], tmp_path: Path,
                                                results: Results) -> None:
    """Every (route, kind) pair at once, each run in its own processes: they wait in parallel."""
    count = len(SOURCE_PERSISTENT) if budget.sweep else 2
    jobs = [("source", route, kind) for route, kind in SOURCE_PERSISTENT[:count]]
    jobs += [("destination", route, kind) for route, kind in DESTINATION_PERSISTENT[:count]]

    def run(job: tuple[str, str, str]) -> tuple[Run, int]:
        side, route, kind = job
        runner = _persistent_source if side == "source" else _persistent_destination
        return runner(route, kind, deployments, tmp_path)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        runs, fired = zip(*pool.map(run, jobs))
    failures = []
    for (side, route, kind), outcome in zip(jobs, runs):
        try:
            error = assert_clean_failure(outcome, within_s=GIVE_UP_WITHIN_S)
            # The explanation names what failed: the route, or a cause users can act on.
            text = (error.get("message") or "") + " " + (error.get("internal_message") or "")
            assert route in text or "Convex" in text, f"{side} {kind} on {route}: {text!r}"
        except AssertionError as err:
            failures.append(f"{side}, persistent {kind} on {route}: {err}")
    results.add(Row("faults: persistent, each kind on one route (clean ERROR, exit 1)", runs=len(jobs),
                    faults=sum(fired), expected=None, delivered=None, lost=None, duplicates=None))
    assert not failures, "\n".join(failures)
