"""B9: parallel snapshots, many tables at a page latency: `parallel_snapshots` = N vs 1 vs the floor.

Seeds `tables` tables of `docs` documents (cached), starts the server with `latency_ms` added to
every request, and reads every table from scratch (incremental streams, so each run ends with a
state per stream) with our source at `parallel_snapshots` = N and = 1, and with the floor: a bare
`requests` loop per table (`floor.py snapshots`), N tables at a time on as many threads and one
after another. Every run of ours is also checked for a finished snapshot state per stream, all at
one timestamp (what parallel snapshots promise besides the records). The speed-up, N ÷ 1, is the
issue's figure; ours ÷ the floor at N threads says how much of what the wire allows it reaches.

`make bench` runs it as B9; `make bench-parallel` (`parallel_snapshots.py`) runs it alone, with
other sizes and latencies on its command line.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import contenders as c
from . import datasets
from .measure import ChildResult, ContenderFailed
from .server import ServerProcess

if TYPE_CHECKING:
    from .scenarios import Bench, Run

SCENARIO = "B9"
#: What the issue asks of N = 4 at 50 ms: at least this many times the speed of one table at a time.
TARGET_SPEED_UP = 3.0


@dataclass(frozen=True)
class Shape:
    """The tables, their size, the latency and N of one B9 run."""

    tables: int = 20
    docs: int = 10_000
    latency_ms: int = 50
    width: int = 4

    @property
    def case(self) -> str:
        return f"{self.tables} tables x {self.docs // 1000}k, {self.latency_ms} ms"


def contender(who: str, width: int) -> str:
    """The contender label of ours or the floor at `width` tables at once."""
    if who == c.OURS:
        return f"ours, parallel_snapshots={width}"
    return f"floor, {width} thread{'s' if width > 1 else ''}"


def run(bench: Bench, shape: Shape) -> None:
    """Measure the four contenders of `shape` (ours and the floor at N and at 1) into `bench.runs`."""
    tables = datasets.change_tables(shape.tables)
    expected = shape.tables * shape.docs
    bench.log(f"{SCENARIO}: snapshots of {shape.tables} tables of {shape.docs:,} documents, "
              f"{shape.latency_ms} ms per request")
    data = _data(bench, tables, shape.docs)
    try:
        _measure(bench, shape, data, tables, expected)
    finally:
        from .scenarios import _remove_data

        _remove_data(data)


def _measure(bench: Bench, shape: Shape, data: Path, tables: list[str], expected: int) -> None:
    with ServerProcess(data) as server:
        server.warm_schemas()
        server.set_latency(shape.latency_ms / 1000)
        assert server.endpoint is not None
        endpoint = server.endpoint
        ours = bench.source(c.OURS)
        catalog = bench.ws.write("catalog-parallel", c.configured_catalog(
            ours.discover(bench.ws.config(endpoint)), tables, True))
        for width in (shape.width, 1):
            argv = ours.read_argv(bench.ws.config(endpoint, parallel_snapshots=width), catalog)
            who = contender(c.OURS, width)

            def ours_once(argv: list[str] = argv, who: str = who) -> Run:
                measured, result = bench._once(server, SCENARIO, shape.case, who, argv, expected)
                _check_states(result, tables, who)
                return measured

            bench._best(ours_once)
        for width in (shape.width, 1):
            job = bench.ws.write("floor-parallel", {
                "deployment_url": endpoint.url, "access_key": endpoint.admin_key, "tables": tables,
                "format": "export_json", "threads": width})
            argv = c.floor_argv("snapshots", job)
            who = contender(c.FLOOR, width)
            bench._best(lambda argv=argv, who=who: bench._read_once(server, SCENARIO, shape.case, who, argv,
                                                                     expected))


def _data(bench: Bench, tables: list[str], docs: int) -> Path:
    """A fresh copy of the cached data file holding `tables` of `docs` documents each."""

    def build(tmp: Path) -> None:
        datasets.seed_change_tables(tmp, tables, docs)
        bench.log(f"  seeded {len(tables)} x {docs:,} documents (cached for later runs)")

    cached = datasets._cached(f"tables-{len(tables)}x{docs}.sqlite", build)
    copy = bench.workdir / cached.name
    shutil.copyfile(cached, copy)
    return copy


def _check_states(result: ChildResult, tables: list[str], who: str) -> None:
    """Every stream's last state is a finished snapshot, and all of them at one timestamp."""
    blobs = {name: blob for (name, _), blob in result.states.items()}
    unfinished = [name for name in tables if name not in blobs or blobs[name].get("snapshot_has_more")]
    if unfinished:
        raise ContenderFailed(f"{who} left unfinished states for {unfinished}")
    positions = {blobs[name].get("delta_cursor") for name in tables}
    if len(positions) != 1:
        raise ContenderFailed(f"{who} left states at {len(positions)} different timestamps, not one")


def speed_up(runs: Sequence[Run], shape: Shape) -> tuple[float, float] | None:
    """(ours at N ÷ ours at 1, ours at N ÷ the floor at N) in throughput, or None if not measured."""
    from .report import _find

    found = {who: _find(runs, shape.case, who) for who in (
        contender(c.OURS, shape.width), contender(c.OURS, 1), contender(c.FLOOR, shape.width))}
    parallel, sequential, floor = found.values()
    if not (parallel and sequential and floor):
        return None
    return sequential.wall_s / parallel.wall_s, floor.wall_s / parallel.wall_s


def section(runs: Sequence[Run], shape: Shape) -> list[str]:
    """The B9 table for the report (source side)."""
    from .report import _find, _run_row, _table

    rows = []
    for who in (c.OURS, c.FLOOR):
        for width in (shape.width, 1):
            measured = _find(runs, shape.case, contender(who, width))
            if measured:
                row = _run_row(contender(who, width), measured)
                row[1] = f"{measured.wall_s:.2f} s"  # the ratios are of these: two decimals
                rows.append(row)
    if not rows:
        return []
    lines = [(f"### B9 — parallel snapshots: {shape.tables} tables of {shape.docs:,} documents at "
             f"{shape.latency_ms} ms per request"), "",
             (f"Every table read from scratch by ours with `parallel_snapshots` = {shape.width} and = 1, and by the "
              f"floor {shape.width} tables at a time and one after another; ours is also checked for a finished "
              "state per stream, all at one timestamp."), ""]
    lines += _table(["contender", "wall time", "records/s", "requests", "peak RSS", "CPU (contender)",
                     "CPU (server)"], rows)
    ratios = speed_up(runs, shape)
    note = ""
    if ratios:
        note = (f"parallel ÷ one table at a time: **×{ratios[0]:.2f}**; ours at {shape.width} ÷ the floor at "
                f"{shape.width} threads throughput: **{ratios[1]:.2f}**.")
    return lines + ["", note, ""]
