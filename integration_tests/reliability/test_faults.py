"""Faults: 10% mixed server faults change nothing; persistent faults end cleanly and quickly.

The local deployment injects the faults (500, 503, 429 with Retry-After, an HTML 502 page, a
connection reset with no answer, an answer slower than the read timeout), plus a fixed latency
on every request. For the destination, some faults strike after the import committed, so a
retry repeats work that was already done.

- A source read (a full read, then an incremental one after changes) under faults emits
  exactly the records of the same read without faults.
- A destination write of those two inputs under faults leaves exactly the documents of the
  same write without faults (dedup); in append mode the rows it repeats are counted.
- A fault that never stops ends the run with one ERROR trace that explains it, no STATE after
  it, a non-zero exit, within a bounded time.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from convex_local import LocalDeployment

from reliability_harness.catalog import configured_catalog, connection_config, discovered_streams
from reliability_harness.dataset import mutate, seed_origin
from reliability_harness.faults import DESTINATION_MIX, faults_fired, inject_mixed
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
from reliability_harness.secrets_guard import GUARD

FAULT_RATE = 0.10
LATENCY_S = 0.004
#: Each retry of a failed request waits about a second or more (the connectors' default
#: backoff), so a run that never recovers takes about half a minute to give up; this bounds it.
GIVE_UP_WITHIN_S = 75.0


@dataclass
class SourceScenario:
    """One origin read four times: full and incremental, each without and with faults."""

    seed: int
    origin: LocalDeployment
    catalogs: dict[str, str]  # destination mode -> configured catalog file
    clean_full: Run
    faulty_full: Run
    clean_incremental: Run
    faulty_incremental: Run
    faults: int


class Scenarios:
    """Source scenarios by seed, made once per module (the destination tests reuse the clean reads)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.deployments: list[LocalDeployment] = []
        self._made: dict[int, SourceScenario] = {}

    def deployment(self, label: str) -> LocalDeployment:
        dep = LocalDeployment().start()
        self.deployments.append(dep)
        GUARD.register(dep.admin_key, f"the admin key of {label}")
        GUARD.register(dep.read_only_key, f"the read-only key of {label}")
        return dep

    def source(self, seed: int) -> SourceScenario:
        if seed not in self._made:
            self._made[seed] = self._make(seed)
        return self._made[seed]

    def _make(self, seed: int) -> SourceScenario:
        rng = random.Random(seed)
        tmp = self.folder
        origin = self.deployment(f"origin A (fault seed {seed})")
        # Small pages: many requests, so 10% means several faults per run.
        origin.settings.snapshot_page_size = 20
        origin.settings.deltas_page_rows = 6
        seed_origin(origin, 300 + seed, users=600, posts=300)
        # A read timeout below the injected slowness: slow answers are given up on and retried.
        config = connection_config(origin.url, origin.read_only_key, read_timeout_seconds=1.0)
        config_path = write_json(tmp / f"source-{seed}.json", config)
        streams = discovered_streams(config)
        catalogs = {mode: write_json(tmp / f"catalog-{mode}-{seed}.json", configured_catalog(
            streams, destination_sync_mode="append_dedup" if mode == "dedup" else "append"))
            for mode in ("dedup", "append")}
        catalog = catalogs["dedup"]

        clean_full = source_read(config_path, catalog)
        assert_success(clean_full)
        state = write_json(tmp / f"state-{seed}.json",
                           [{"type": "STREAM", "stream": s["stream"]} for s in clean_full.output.states[-2:]])
        origin.settings.latency_s = LATENCY_S
        origin.request_log.clear()
        inject_mixed(origin, rate=FAULT_RATE, seed=seed, retry_after_s=1.0, slow_s=1.5)
        faulty_full = source_read(config_path, catalog)
        fired = faults_fired(origin)
        origin.faults.clear()

        mutate(origin, rng, 80)  # inserts, updates, replaces, deletes for the incremental read
        clean_incremental = source_read(config_path, catalog, state)
        assert_success(clean_incremental)
        origin.request_log.clear()
        inject_mixed(origin, rate=FAULT_RATE, seed=seed + 50, retry_after_s=1.0, slow_s=1.5)
        faulty_incremental = source_read(config_path, catalog, state)
        fired += faults_fired(origin)
        origin.faults.clear()
        origin.settings.latency_s = 0.0
        return SourceScenario(seed, origin, catalogs, clean_full, faulty_full, clean_incremental, faulty_incremental,
                              fired)


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenarios]:
    made = Scenarios(tmp_path_factory.mktemp("faults"))
    yield made
    for dep in made.deployments:
        dep.stop()


def _records(run: Run) -> list[str]:
    return [record_identity(record) for record in run.output.records]


def _state_streams(run: Run) -> list[Any]:
    return [state["stream"] for state in run.output.states]


@pytest.mark.timeout(600)
def test_source_read_under_mixed_faults_equals_fault_free(budget: Any, scenarios: Scenarios, results: Results) -> None:
    for seed in range(budget.fault_seeds):
        s = scenarios.source(seed)
        outcome = delivery(_records(s.clean_full) + _records(s.clean_incremental),
                           _records(s.faulty_full) + _records(s.faulty_incremental))
        results.add(Row("faults: source read, 10% mixed (full + incremental)", runs=2, faults=s.faults,
                        expected=outcome.expected, delivered=outcome.delivered, lost=outcome.lost,
                        duplicates=outcome.duplicates))
        assert_success(s.faulty_full)
        assert_success(s.faulty_incremental)
        assert outcome.exact, f"seed {seed}, {s.faults} faults: {outcome.summary()}"
        assert s.faults >= 2, f"only {s.faults} faults fired: the scenario did not test much"
        # Each stream checkpointed as often (positions differ: they are "now"). Across streams the order
        # is the one the pages arrived in: tables are snapshotted in parallel (parallel_snapshots).
        def per_stream(run: Run) -> Counter[str]:
            return Counter(json.dumps(x["stream_descriptor"], sort_keys=True) for x in _state_streams(run))

        assert per_stream(s.faulty_full) == per_stream(s.clean_full)


def _after_states(data: bytes, states: int) -> bytes:
    """The input after its `states`-th STATE line: what Airbyte sends again when it resumes."""
    lines = data.splitlines(keepends=True)
    seen = 0
    for index, line in enumerate(lines):
        if seen == states:
            return b"".join(lines[index:])
        seen += b'"type":"STATE"' in line.replace(b" ", b"")
    return b""


def _write_resuming(config: str, catalog: str, data: bytes, attempts: int = 20) -> Run:
    """One write, resumed like Airbyte does after a transient failure: from the last STATE the
    destination emitted. An append that may have committed stops the sync rather than be sent
    again (the contract's Corrections), so the platform's resume is part of the expected path."""
    states: list[dict[str, Any]] = []
    for _ in range(attempts):
        run = destination_write(config, catalog, data)
        states += run.output.of_type("STATE")
        transient = [e for e in run.output.errors if e.get("failure_type") == "transient_error"]
        if run.exit_code == 0 or run.timed_out or not transient:
            break
        data = _after_states(data, len(run.output.states))
    other = [m for m in run.output.messages if m["type"] != "STATE"]
    return dataclasses.replace(run, output=dataclasses.replace(run.output, messages=other + states))


def _write_everywhere(folder: Path, scenario: SourceScenario, targets: dict[tuple[str, bool], LocalDeployment],
                      inputs: list[bytes]) -> dict[tuple[str, bool], list[Run]]:
    """Every input into every target, one lane per target; each target gets its mode's catalog."""

    def write(key: tuple[str, bool]) -> list[Run]:
        mode, faulty = key
        target = targets[key]
        # Small batches: many import requests; a read timeout below the injected slowness.
        config = write_json(folder / f"dest-{mode}-{faulty}-{scenario.seed}.json", connection_config(
            target.url, target.admin_key, max_batch_size_mib=0.01, max_parallel_requests=2, read_timeout_seconds=1))
        return [_write_resuming(config, scenario.catalogs[mode], data) for data in inputs]

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        return dict(zip(targets, pool.map(write, targets), strict=True))


@pytest.mark.timeout(600)
def test_destination_write_under_mixed_faults_equals_fault_free(budget: Any, scenarios: Scenarios,
                                                                results: Results) -> None:
    """Both inputs into four targets at once: dedup and append, each without and with faults."""
    failures = []
    for seed in range(budget.fault_seeds):
        s = scenarios.source(seed)
        inputs = [records_and_states(s.clean_full), records_and_states(s.clean_incremental)]
        targets = {}
        for mode in ("dedup", "append"):
            for faulty in (False, True):
                target = scenarios.deployment(f"target B ({mode}, {'faults' if faulty else 'clean'}, seed {seed})")
                if faulty:
                    target.settings.latency_s = LATENCY_S
                    inject_mixed(target, rate=FAULT_RATE, seed=seed + (7 if mode == "append" else 0),
                                 mix=DESTINATION_MIX, retry_after_s=1.0, slow_s=1.5)
                targets[(mode, faulty)] = target

        runs = _write_everywhere(scenarios.folder, s, targets, inputs)
        for mode in ("dedup", "append"):
            clean_runs, faulty_runs = runs[(mode, False)], runs[(mode, True)]
            clean, faulty = targets[(mode, False)], targets[(mode, True)]
            fired = faults_fired(faulty)
            tables = sorted(clean.table_names())
            outcome = delivery([document_identity(doc) for table in tables for doc in clean.documents(table)],
                               [document_identity(doc) for table in faulty.table_names()
                                for doc in faulty.documents(table)])
            label = "dedup on _id" if mode == "dedup" else "append"
            results.add(Row(f"faults: destination write, 10% mixed incl. after-commit ({label})", runs=2,
                            faults=fired, expected=outcome.expected, delivered=outcome.delivered, lost=outcome.lost,
                            duplicates=outcome.duplicates))
            try:
                for run in clean_runs + faulty_runs:
                    assert_success(run)
                for clean_run, faulty_run in zip(clean_runs, faulty_runs, strict=True):
                    assert _state_streams(faulty_run) == _state_streams(clean_run), "states differ"
                assert fired >= 1, "no fault fired: the scenario tested nothing"
                assert outcome.lost == 0, f"{fired} faults: {outcome.summary()}"
                if mode == "dedup":
                    assert outcome.exact, f"{fired} faults: {outcome.summary()}"
            except AssertionError as err:
                failures.append(f"{mode}, seed {seed}: {err}")
    assert not failures, "\n".join(failures)


# -- persistent faults ----------------------------------------------------------------------
# The runs themselves start in the background at the beginning of the session (see
# persistent.py and conftest.py): each waits out about half a minute of retries, mostly asleep.


@pytest.mark.timeout(400)
def test_persistent_faults_end_in_a_clean_error(persistent_faults: Any, results: Results) -> None:
    outcomes = persistent_faults.results()
    failures = []
    for job, (outcome, _) in outcomes.items():
        try:
            error = assert_clean_failure(outcome, within_s=GIVE_UP_WITHIN_S)
            # The explanation names what failed: the route Convex was asked, or its cause.
            text = (error.get("message") or "") + " " + (error.get("internal_message") or "")
            assert job.route in text or "Convex" in text, f"{job}: {text!r}"
            if job.side == "destination":
                assert not outcome.output.states, f"{job}: a STATE although nothing could be stored"
        except AssertionError as err:
            failures.append(f"{job.side}, persistent {job.kind} on {job.route}: {err}")
    results.add(Row("faults: persistent, one kind on one route per run (clean ERROR, exit != 0)",
                    runs=len(outcomes), faults=sum(fired for _, fired in outcomes.values()), expected=None,
                    delivered=None, lost=None, duplicates=None))
    assert not failures, "\n".join(failures)
