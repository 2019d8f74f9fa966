"""B8 (`make bench-scale`): one table of 2,000,000 documents read by the source and written by the destination.

Not part of `make bench` (it takes about ten minutes and a few GB of disk). The table is seeded
once into a cached file (`datasets.snapshot_data`), the destination's input once into a cached
JSONL file (`datasets.destination_input`). Each connector runs once as its own process while the
harness follows its progress and, as it passes a quarter, half and all of the records (0.5M,
1M, 2M), notes the elapsed time and
the process's peak resident set so far (`VmHWM` in /proc: per process image, so the harness's own
memory never counts, and read while the process runs, so no launcher is needed):

- source: RECORD lines counted on its stdout;
- destination: its STATE messages, each confirming every record before it is committed
  (the input holds a STATE every 20,480 records carrying the index of the record before it).

Time per 100k records is reported per segment, so linear time shows as a constant, and memory
must stay flat: the peak at 2M over the peak at 0.5M is the figure to watch. The floor's full
read of the same table runs too, for ours ÷ floor.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

from . import contenders as c
from . import datasets
from .measure import ContenderFailed, run_child
from .server import ServerProcess

if TYPE_CHECKING:
    from .scenarios import Bench

N = 2_000_000
START, END = "<!-- scale:start -->", "<!-- scale:end -->"
_KEPT = 20


@dataclass
class Checkpoint:
    records: int
    elapsed_s: float
    peak_rss_mib: float
    rss_mib: float


@dataclass
class ScaleRun:
    """One connector's pass over the table, with its checkpoints."""

    who: str
    side: str
    records: int = 0
    wall_s: float = 0.0
    points: list[Checkpoint] = field(default_factory=list)


def _memory(pid: int) -> tuple[float, float]:
    """(peak, current) resident set of `pid` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024.0
    return fields.get("VmHWM", 0.0), fields.get("VmRSS", 0.0)


class _Follower:
    """Notes a checkpoint each time the progress count passes the next of `CHECKPOINTS`."""

    def __init__(self, run: ScaleRun, pid: int, started: float, checkpoints: Sequence[int]) -> None:
        self._run, self._pid, self._started = run, pid, started
        self._todo = list(checkpoints)

    def progress(self, count: int) -> None:
        while self._todo and count >= self._todo[0]:
            self._todo.pop(0)
            peak, now = _memory(self._pid)
            self._run.points.append(Checkpoint(count, time.perf_counter() - self._started, peak, now))


def _follow(argv: list[str], run: ScaleRun, progress_of: Callable[[bytes, int], int],
            stdin: Path | None, checkpoints: Sequence[int]) -> list[str]:
    """Run `argv`, feeding `stdin`; returns the kept non-record lines. Raises on a non-zero exit."""
    tail: list[str] = []
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, bufsize=1 << 20)
    feeder = None
    if stdin is not None:
        feeder = threading.Thread(target=_feed, args=(stdin, proc.stdin), daemon=True)
        feeder.start()
    follower = _Follower(run, proc.pid, started, checkpoints)
    count = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        count = progress_of(line, count)
        follower.progress(count)
        if not line.startswith(b'{"type":"RECORD"'):
            tail = (tail + [line[:2000].decode("utf-8", "replace").rstrip()])[-_KEPT:]
    code = proc.wait()
    run.wall_s = time.perf_counter() - started
    run.records = count
    if feeder is not None:
        feeder.join()
    if code != 0:
        details = "\n    ".join(tail[-10:])
        raise ContenderFailed(f"{run.who} ({run.side}, B8) exited with code {code}. Last lines:\n    {details}")
    return tail


def _feed(path: Path, pipe: IO[bytes] | None) -> None:
    assert pipe is not None
    try:
        with open(path, "rb") as source:
            while chunk := source.read(1 << 20):
                pipe.write(chunk)
    except BrokenPipeError:
        pass  # the destination stopped early: its exit code says why
    finally:
        try:
            pipe.close()
        except BrokenPipeError:
            pass


def _records(line: bytes, count: int) -> int:
    return count + 1 if line.startswith(b'{"type":"RECORD"') else count


def _committed(line: bytes, count: int) -> int:
    """Records confirmed by a destination STATE (`seq`: the index of the last record before it)."""
    if not line.startswith(b'{"type":"STATE"'):
        return count
    blob = orjson.loads(line)["state"]["stream"]["stream_state"]
    return max(count, int(blob["seq"]) + 1)


def run(bench: Bench, n: int = N) -> list[ScaleRun]:
    from .scenarios import _remove_data, fresh_destination

    checkpoints = [n // 4, n // 2, n]  # 0.5M, 1M, 2M
    bench.log(f"B8: scale, one table of {n:,} documents (read by the source, written by the destination)")
    runs: list[ScaleRun] = []
    data = datasets.snapshot_data(n, bench.workdir, bench.log)
    try:
        with ServerProcess(data) as server:
            server.warm_schemas()
            assert server.endpoint is not None
            job = bench.ws.write("floor-scale", {
                "deployment_url": server.endpoint.url, "access_key": server.endpoint.admin_key,
                "table": datasets.SNAPSHOT_TABLE, "format": "export_json"})
            floor = run_child(c.floor_argv("snapshot", job))
            if floor.exit_code != 0 or floor.records != n:
                raise ContenderFailed(f"the floor read {floor.records} of {n} documents (exit code {floor.exit_code})")
            runs.append(ScaleRun(c.FLOOR, "source", floor.records, floor.wall_s))
            bench.log(f"  floor read {n:,} documents in {floor.wall_s:.1f} s")
            config = bench.ws.config(server.endpoint)
            source = bench.source(c.OURS)
            catalog = bench.ws.write("catalog-scale", c.configured_catalog(
                source.discover(config), [datasets.SNAPSHOT_TABLE], incremental=False))
            read = ScaleRun(c.OURS, "source")
            _follow(source.read_argv(config, catalog), read, _records, None, checkpoints)
            if read.records != n:
                raise ContenderFailed(f"our source emitted {read.records} records, expected {n}")
            runs.append(read)
            bench.log(f"  source read {n:,} documents in {read.wall_s:.1f} s")
    finally:
        _remove_data(data)
    records = datasets.destination_input(n)
    with fresh_destination(bench, bench.workdir / "scale-dest.sqlite") as (server, config, catalog):
        write = ScaleRun(c.OURS, "destination")
        _follow(c.our_destination_argv(config, catalog), write, _committed, records, checkpoints)
        stored = sum(int(entry["params"].get("messages") or 0)
                     for entry in server.ctl.request_log("import_airbyte_records") if entry["status"] == 200)
        if stored != n or write.records != n:
            raise ContenderFailed(f"the server accepted {stored} records and the destination confirmed "
                                  f"{write.records}, expected {n}")
        runs.append(write)
        bench.log(f"  destination wrote {n:,} records in {write.wall_s:.1f} s")
    return runs


def section(runs: Sequence[ScaleRun], n: int, command: str, measured_at: str) -> str:
    """The B8 block for RESULTS.md and the docs pages."""
    from .report import _mb

    lines = [f"### B8 — scale: one table of {n:,} documents", "",
             (f"Measured {measured_at} with `{command}`. Each connector ran once as its own process; at each "
             "checkpoint the harness noted the elapsed time and the process's peak resident set so far "
             "(source: RECORD lines on its stdout; destination: records confirmed by its STATE messages). "
             "**Per 100k** is the time of that segment divided by its records."), "",
             "| connector | records | elapsed | per 100k (segment) | peak RSS so far | RSS now |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    notes = []
    floor = next((run for run in runs if run.who == c.FLOOR), None)
    for run in runs:
        if run.who == c.FLOOR:
            continue
        previous = Checkpoint(0, 0.0, 0.0, 0.0)
        for point in run.points:
            per = (point.elapsed_s - previous.elapsed_s) / ((point.records - previous.records) / 100_000)
            lines.append(f"| {run.side} | {point.records:,} | {point.elapsed_s:.1f} s | {per:.2f} s | "
                         f"{_mb(point.peak_rss_mib)} | {_mb(point.rss_mib)} |")
            previous = point
        if len(run.points) >= 2:
            first, last = run.points[0], run.points[-1]
            first_per = first.elapsed_s / (first.records / 100_000)
            last_per = (last.elapsed_s - run.points[-2].elapsed_s) / ((last.records - run.points[-2].records) / 100_000)
            notes.append(f"{run.side}: the last segment took {last_per / first_per:.2f}× the first's time per 100k "
                         f"records; peak RSS at {last.records / 1e6:.1f}M is {last.peak_rss_mib / first.peak_rss_mib:.2f}× "
                         f"the peak at {first.records / 1e6:.1f}M ({_mb(first.peak_rss_mib)} → {_mb(last.peak_rss_mib)}); "
                         f"{run.wall_s:.0f} s in all")
        if run.side == "source" and floor is not None and run.wall_s > 0:
            notes.append(f"the floor read the same table in {floor.wall_s:.0f} s: ours ÷ floor throughput "
                         f"**{floor.wall_s / run.wall_s:.2f}**")
    return "\n".join(lines + ["", "; ".join(notes) + ".", ""])


def replace_block(page: str, block: str) -> str | None:
    """`page` with the text between the scale markers replaced by `block`; None without markers."""
    start, end = page.find(START), page.find(END)
    if start < 0 or end < start:
        return None
    return page[: start + len(START)] + "\n" + block.rstrip() + "\n" + page[end:]
