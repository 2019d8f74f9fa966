"""`make bench-parallel`: snapshots of many tables at a page latency, parallel vs one after another.

    .venv/bin/python integration_tests/bench/parallel_snapshots.py [--tables 20] [--docs 10000]
                                                                   [--latency-ms 50] [--parallel 4] [--repeat 1]

Seeds `--tables` tables of `--docs` documents (cached), starts the local server as its own
process with `--latency-ms` added to every request, and reads every table from scratch
(incremental streams, so each run ends with a state per stream) with our source at
`parallel_snapshots` = `--parallel` and = 1, and with the floor: a bare `requests` loop per
table (orjson decoding, no output), once one table after another and once `--parallel`
tables at a time on as many threads. Every run is checked (exit code, record count; for ours,
a finished snapshot state for every stream, all at one timestamp) and the fastest of
`--repeat` counts. Prints one markdown table and the ratios, all measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from convex_bench import contenders as c
from convex_bench import (
    datasets,
    floor,
)
from convex_bench.measure import ChildResult, ContenderFailed, check, run_child
from convex_bench.server import ServerProcess

THIS = Path(__file__).resolve()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=20)
    parser.add_argument("--docs", type=int, default=10_000, help="documents per table")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=50,
        help="added by the server to every request",
    )
    parser.add_argument(
        "--parallel", type=int, default=4, help="parallel_snapshots of the parallel run"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per contender; the fastest counts"
    )
    return parser


def _data(tables: list[str], docs: int, workdir: Path) -> Path:
    def build(tmp: Path) -> None:
        started = time.perf_counter()
        datasets.seed_change_tables(tmp, tables, docs)
        print(
            f"  seeded {len(tables)} x {docs:,} documents in {time.perf_counter() - started:.0f} s (cached)",
            flush=True,
        )

    cached = datasets._cached(f"tables-{len(tables)}x{docs}.sqlite", build)
    copy = workdir / cached.name
    shutil.copyfile(cached, copy)
    return copy


def _check_states(result: ChildResult, tables: list[str], who: str) -> None:
    """Every stream's last state is a finished snapshot, and all of them at one timestamp."""
    blobs = {name: blob for (name, _), blob in result.states.items()}
    unfinished = [
        name for name in tables if name not in blobs or blobs[name]["snapshot_has_more"]
    ]
    if unfinished:
        raise ContenderFailed(f"{who} left unfinished states for {unfinished}")
    positions = {blobs[name]["delta_cursor"] for name in tables}
    if len(positions) != 1:
        raise ContenderFailed(
            f"{who} left states at {len(positions)} different timestamps, not one"
        )


def _measure(
    label: str,
    argv: list[str],
    expected: int,
    repeat: int,
    secret: str,
    tables: list[str] | None = None,
) -> ChildResult:
    best: ChildResult | None = None
    for _ in range(repeat):
        result = run_child(argv)
        check(result, label, expected, secret=secret)
        if tables is not None:
            _check_states(result, tables, label)
        if best is None or result.wall_s < best.wall_s:
            best = result
    assert best is not None
    print(
        f"  {label:28s} {best.wall_s:6.2f} s  {best.records_per_s:8,.0f} rec/s  cpu {best.cpu_s:5.1f} s  "
        f"peak RSS {best.peak_rss_mib * 1.048576:4.0f} MB",
        flush=True,
    )
    return best


def bench(args: argparse.Namespace) -> int:
    tables = datasets.change_tables(args.tables)
    expected = args.tables * args.docs
    workdir = Path(tempfile.mkdtemp(prefix="convex-bench-parallel-"))
    ws = c.Workspace(workdir)
    ours = c.our_source()
    try:
        data = _data(tables, args.docs, workdir)
        with ServerProcess(data) as server:
            server.warm_schemas()
            assert server.endpoint is not None
            endpoint = server.endpoint
            server.set_latency(args.latency_ms / 1000)
            catalog = ws.write(
                "catalog",
                c.configured_catalog(ours.discover(ws.config(endpoint)), tables, True),
            )
            print(
                f"{args.tables} tables of {args.docs:,} documents, {args.latency_ms} ms per request:",
                flush=True,
            )
            rows: dict[str, ChildResult] = {}
            for width in (args.parallel, 1):
                config = ws.config(endpoint, parallel_snapshots=width)
                rows[f"ours, parallel_snapshots={width}"] = _measure(
                    f"ours, parallel_snapshots={width}",
                    ours.read_argv(config, catalog),
                    expected,
                    args.repeat,
                    endpoint.admin_key,
                    tables,
                )
            for width in (args.parallel, 1):
                job = ws.write(
                    "floor",
                    {
                        "deployment_url": endpoint.url,
                        "access_key": endpoint.admin_key,
                        "tables": tables,
                        "format": "export_json",
                        "threads": width,
                    },
                )
                label = f"floor, {width} thread{'s' if width > 1 else ''}"
                rows[label] = _measure(
                    label,
                    [sys.executable, str(THIS), "--floor", str(job)],
                    expected,
                    args.repeat,
                    endpoint.admin_key,
                )
    except ContenderFailed as err:
        print(f"\nBENCH FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _report(rows, args)
    return 0


def _report(rows: dict[str, ChildResult], args: argparse.Namespace) -> None:
    parallel = rows[f"ours, parallel_snapshots={args.parallel}"]
    sequential = rows["ours, parallel_snapshots=1"]
    floor_parallel = rows[f"floor, {args.parallel} threads"]
    print()
    print("| contender | wall time | records/s | CPU | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, row in rows.items():
        print(
            f"| {label} | {row.wall_s:.2f} s | {row.records_per_s:,.0f} | {row.cpu_s:.1f} s | "
            f"{row.peak_rss_mib * 1.048576:.0f} MB |"
        )
    print()
    print(
        f"parallel ÷ sequential speed-up: **×{sequential.wall_s / parallel.wall_s:.2f}**; "
        f"ours parallel ÷ floor at {args.parallel} threads throughput: "
        f"**{floor_parallel.wall_s / parallel.wall_s:.2f}**"
    )


# -- the floor child ----------------------------------------------------------------------------------


def run_floor(job_path: str) -> int:
    """Every table's snapshot with `floor.snapshot`, `threads` tables at a time."""
    job: dict[str, Any] = orjson.loads(Path(job_path).read_bytes())
    jobs = [{**job, "table": table} for table in job["tables"]]
    with ThreadPoolExecutor(max_workers=job["threads"]) as pool:
        done = list(pool.map(floor.snapshot, jobs))
    records, requests_made = sum(d[0] for d in done), sum(d[1] for d in done)
    sys.stdout.write(
        orjson.dumps(
            {"type": "FLOOR", "records": records, "requests": requests_made}
        ).decode()
        + "\n"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["--floor"]:
        return run_floor(given[1])
    return bench(_parser().parse_args(given))


if __name__ == "__main__":
    sys.exit(main())
