"""Crashes: SIGKILL the source or the destination at random points, resume, lose nothing.

Each seed syncs a connection Convex A -> source -> destination -> Convex B several times: an
initial sync, then incremental syncs after the origin changed (inserts, updates, replaces,
deletes; some made between crashed attempts, while a sync is half done). Every sync is first
attempted with crashes at random lines of its output, of either process, then run to
completion; each attempt resumes from the states the destination confirmed (see pipeline).
After the last sync, B must equal A: in dedup mode exactly (nothing lost, no duplicate, no
ghost: a document A deleted must not be in B); in append mode every document of A must be in
B, and the records delivered more than once are counted.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from reliability_harness.catalog import configured_catalog, connection_config, discovered_streams
from reliability_harness.compare import TableComparison, compare_tables
from reliability_harness.dataset import TABLES, mutate, seed_origin
from reliability_harness.pipeline import Pipeline
from reliability_harness.results import Results, Row

#: Small pages and change-log reads so a thousand documents make many pages, checkpoints and
#: kill points without a big dataset.
SNAPSHOT_PAGE = 40
DELTA_ROWS = 24


@dataclass
class Case:
    seed: int
    mode: str  # "dedup" | "append"
    origin: Any
    target: Any
    workdir: Path


@dataclass
class Outcome:
    case: Case
    kills: int
    attempts: int
    comparisons: list[TableComparison]


def _destination_config(dep: Any) -> dict[str, Any]:
    # Small batches and two lanes: many import requests in flight, so kills land inside them.
    return connection_config(dep.url, dep.admin_key, max_batch_size_mib=0.05, flush_interval_seconds=1,
                             max_parallel_requests=2)


def crash_sync(case: Case, rounds: int, kills_per_round: int) -> Outcome:
    """All syncs of one seed; returns how B compares with A at the end."""
    rng = random.Random(case.seed)
    origin = case.origin
    origin.settings.snapshot_page_size = SNAPSHOT_PAGE
    origin.settings.deltas_page_rows = DELTA_ROWS
    seed_origin(origin, case.seed, users=rng.randint(400, 700), posts=rng.randint(150, 350))
    source_config = connection_config(origin.url, origin.read_only_key)
    catalog = configured_catalog(discovered_streams(source_config),
                                 destination_sync_mode="append_dedup" if case.mode == "dedup" else "append")
    pipeline = Pipeline(case.workdir, source_config, _destination_config(case.target), catalog)
    for round_number in range(rounds):
        if round_number:
            mutate(origin, rng, rng.randint(40, 120))
        # Kill points are drawn over the lines such a sync emits (records + states).
        hint = sum(len(origin.documents(t)) for t in TABLES) + 20 if round_number == 0 else 150
        pipeline.sync(rng, kills=kills_per_round, line_hint=hint,
                      between=lambda: mutate(origin, rng, rng.randint(0, 30)))
    return Outcome(case, pipeline.kills, len(pipeline.attempts),
                   compare_tables(origin, case.target, TABLES, case.mode))


def run_cases(cases: list[Case], budget: Any, results: Results) -> None:
    with ThreadPoolExecutor(max_workers=budget.parallel) as pool:
        outcomes = list(pool.map(lambda case: crash_sync(case, budget.crash_rounds, budget.crash_kills_per_round),
                                 cases))
    failures = []
    for outcome in outcomes:
        mode = outcome.case.mode
        comparisons = outcome.comparisons
        results.add(Row(
            f"crash: SIGKILL source/destination, resume ({'dedup on _id' if mode == 'dedup' else 'append'})",
            runs=1, faults=outcome.kills, expected=sum(c.expected for c in comparisons),
            delivered=sum(c.delivered for c in comparisons), lost=sum(c.lost for c in comparisons),
            duplicates=sum(c.duplicates for c in comparisons)))
        for comparison in comparisons:
            if not comparison.exact:
                failures.append(f"seed {outcome.case.seed}, {outcome.kills} kills in {outcome.attempts} attempts: "
                                f"{comparison.summary()}")
    assert not failures, "B is not A after crashes and resumes:\n" + "\n".join(failures)


@pytest.mark.timeout(1200)
def test_crashes(budget: Any, deployments: Callable[..., Any], tmp_path: Path, results: Results) -> None:
    """Dedup seeds must end with B == A; append seeds with every document of A in B."""
    seeds = [(1000 + n, "dedup") for n in range(budget.crash_seeds_dedup)]
    seeds += [(2000 + n, "append") for n in range(budget.crash_seeds_append)]
    cases = [Case(seed, mode, deployments(f"origin A (seed {seed})"), deployments(f"target B (seed {seed})"),
                  tmp_path / f"seed-{seed}") for seed, mode in seeds]
    run_cases(cases, budget, results)
