"""Runs that meet a fault that never stops, started in the background early in the session.

Each run spends about half a minute retrying (the connectors' default backoff: up to six
attempts), nearly all of it asleep; started first and collected last, they cost the suite
almost no wall-clock time. Every job has its own deployment and processes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convex_local import LocalDeployment

from .catalog import configured_catalog, connection_config, discovered_streams
from .dataset import seed_origin
from .faults import faults_fired
from .processes import Run, destination_write, source_read, write_json
from .secrets_guard import GUARD

SOURCE_JOBS = [("list_snapshot", "503"), ("sync", "reset"), ("document_deltas", "reset"), ("json_schemas", "html502"),
               ("list_snapshot", "429"), ("document_deltas", "500"), ("list_snapshot", "slow")]
DESTINATION_JOBS = [("import_airbyte_records", "500"), ("add_primary_key_indexes", "html502"),
                    ("import_airbyte_records", "reset"), ("import_airbyte_records", "429"),
                    ("primary_key_indexes_ready", "503"), ("import_airbyte_records", "slow")]


@dataclass(frozen=True)
class Job:
    side: str  # "source" | "destination"
    route: str
    kind: str

    def __str__(self) -> str:
        return f"{self.side}: persistent {self.kind} on {self.route}"


def destination_input(count: int = 200) -> tuple[dict[str, Any], bytes]:
    """A dedup catalog and `count` records with states between them, as a source would send."""
    catalog = configured_catalog([{"name": "users", "json_schema": {"type": "object"},
                                   "supported_sync_modes": ["full_refresh", "incremental"],
                                   "source_defined_primary_key": [["_id"]], "default_cursor_field": ["_ts"]}])
    lines = []
    for n in range(count):
        lines.append({"type": "RECORD", "record": {"stream": "users", "emitted_at": 1, "data": {
            "_id": f"id{n}", "_ts": n, "name": f"user {n}", "_ab_cdc_deleted_at": None}}})
        if n % 50 == 49:
            lines.append({"type": "STATE", "state": {"type": "STREAM", "stream": {
                "stream_descriptor": {"name": "users"}, "stream_state": {"n": n}}}})
    return catalog, ("\n".join(json.dumps(line) for line in lines) + "\n").encode()


class PersistentFaults:
    """Starts every job at once; `results()` waits for them."""

    def __init__(self, sweep: bool) -> None:
        count = len(SOURCE_JOBS) if sweep else 2
        self.jobs = [Job("source", r, k) for r, k in SOURCE_JOBS[:count]]
        self.jobs += [Job("destination", r, k) for r, k in DESTINATION_JOBS[:count]]
        self._folder = Path(tempfile.mkdtemp(prefix="reliability-persistent-"))
        self._deployments: list[LocalDeployment] = []
        self._pool = ThreadPoolExecutor(max_workers=len(self.jobs))
        self._futures: dict[Job, Future[tuple[Run, int]]] = {}

    def start(self) -> None:
        for job in self.jobs:
            self._futures[job] = self._pool.submit(self._run, job)

    def results(self) -> dict[Job, tuple[Run, int]]:
        return {job: future.result() for job, future in self._futures.items()}

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for dep in self._deployments:
            dep.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _deployment(self, label: str) -> LocalDeployment:
        dep = LocalDeployment().start()
        self._deployments.append(dep)
        GUARD.register(dep.admin_key, f"the admin key of {label}")
        GUARD.register(dep.read_only_key, f"the read-only key of {label}")
        return dep

    def _run(self, job: Job) -> tuple[Run, int]:
        name = f"{job.side}-{job.route}-{job.kind}"
        dep = self._deployment(str(job))
        if job.side == "source":
            dep.settings.snapshot_page_size = 50
            # The changes are read with the data sync API (route "sync"); document_deltas only on older backends.
            dep.settings.data_sync_api = job.route != "document_deltas"
            seed_origin(dep, 5, users=120, posts=60)
            config = connection_config(dep.url, dep.read_only_key, read_timeout_seconds=1.0)
            catalog = write_json(self._folder / f"{name}-catalog.json", configured_catalog(discovered_streams(config)))
            dep.faults.inject(route=job.route, kind=job.kind, rate=1.0, retry_after_s=1.0, slow_s=1.5)
            run = source_read(write_json(self._folder / f"{name}.json", config), catalog, timeout_s=150)
        else:
            catalog_value, data = destination_input()
            dep.faults.inject(route=job.route, kind=job.kind, rate=1.0, retry_after_s=1.0, slow_s=1.5)
            config = write_json(self._folder / f"{name}.json", connection_config(dep.url, dep.admin_key,
                                                                                read_timeout_seconds=1))
            run = destination_write(config, write_json(self._folder / f"{name}-catalog.json", catalog_value), data,
                                    timeout_s=150)
        return run, faults_fired(dep)
