"""B7: start-up — what `spec`, `check` and a tiny `read` / `write` cost before any real work.

A short sync is mostly start-up: the interpreter, the imports (the Airbyte CDK alone was about
a second) and the first request. Each command runs as its own process (wall time from spawn to
exit, like every other scenario) several times, the fastest counting; the import time is the
interpreter's own account (`PYTHONPROFILEIMPORTTIME`, the sum of the top-level imports) of one
extra run. Contenders: our source and destination, the incumbent source, and a bare `python -c
pass` as the floor (what no Python connector can go below).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import contenders as c
from . import datasets
from .server import ServerProcess

if TYPE_CHECKING:
    from .scenarios import Bench, Run

#: Documents read (source) and records written (destination) by the tiny syncs.
TINY = 100
COMMANDS = ("spec", "check", "read")
INTERPRETER = "python -c pass"
_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$")


def case_name(side: str, command: str) -> str:
    return f"start-up {side} {command}"


def import_seconds(argv: list[str], stdin: Path | None = None) -> float:
    """Seconds the interpreter reports for the top-level imports of one run of `argv`."""
    with open(stdin, "rb") if stdin is not None else open(os.devnull, "rb") as handle:
        done = subprocess.run(argv, check=False, capture_output=True, stdin=handle,
                              env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    total_us = 0
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        found = _IMPORT_LINE.match(line)
        if found:  # only lines without indentation: nested imports are inside their parent's figure
            total_us += int(found.group(1))
    return total_us / 1e6


def run(bench: Bench, contenders: list[str]) -> None:
    from .scenarios import _remove_data, fresh_destination

    bench.log(f"B7: start-up of spec, check and a {TINY}-document read / write")
    imports: dict[tuple[str, str], float] = {}
    floor_argv = [sys.executable, "-c", "pass"]
    _measure(bench, None, None, INTERPRETER, c.FLOOR, floor_argv, None)
    imports[(c.FLOOR, INTERPRETER)] = import_seconds(floor_argv)
    data = bench.workdir / "startup.sqlite"
    datasets.tiny_table(data, TINY)
    try:
        with ServerProcess(data) as server:
            server.warm_schemas()
            assert server.endpoint is not None
            config = bench.ws.config(server.endpoint)
            for who in [w for w in contenders if w != c.FLOOR]:
                source = bench.source(who)
                catalog = bench.ws.write(f"catalog-b7-{who}", c.configured_catalog(
                    source.discover(config), [datasets.SNAPSHOT_TABLE], incremental=False))
                for command in COMMANDS:
                    argv = ([str(source.script), command] if command == "spec"
                            else [str(source.script), command, "--config", str(config)] if command == "check"
                            else source.read_argv(config, catalog))
                    expected = TINY if command == "read" else None
                    _measure(bench, server, "source", command, who, argv, expected)
                    imports[(who, case_name("source", command))] = import_seconds(argv)
        records = datasets.destination_input(TINY)
        script = str(c.BIN / "destination-convex")
        for command in ("spec", "check", "write"):
            with fresh_destination(bench, bench.workdir / "startup-dest.sqlite") as (server, config, catalog):
                argv = ([script, "spec"] if command == "spec"
                        else [script, "check", "--config", str(config)] if command == "check"
                        else c.our_destination_argv(config, catalog))
                stdin = records if command == "write" else None
                _measure(bench, server, "destination", command, c.OURS, argv, None, stdin)
                imports[(c.OURS, case_name("destination", command))] = import_seconds(argv, stdin)
    finally:
        _remove_data(data)
    for run_ in bench.runs:
        if run_.scenario == "B7":
            run_.import_s = imports.get((run_.contender, run_.case), run_.import_s)


def _measure(bench: Bench, server: ServerProcess | None, side: str | None, command: str, who: str,
             argv: list[str], expected: int | None, stdin: Path | None = None) -> None:
    from .measure import check, run_child
    from .scenarios import Run

    case = case_name(side, command) if side else command

    def once() -> Run:
        result = run_child(argv, stdin=stdin)
        check(result, f"{who} (B7, {case})", expected,
              secret=server.endpoint.admin_key if server and server.endpoint else "")
        if command == "check" and not any('"SUCCEEDED"' in line for line in result.tail):
            from .measure import ContenderFailed

            raise ContenderFailed(f"{who} (B7, {case}) did not report a SUCCEEDED connection status")
        return Run("B7", case, who, result.wall_s, result.records, 0, result.peak_rss_mib, result.cpu_s)

    bench._best(once)


def section(runs: Sequence[Run]) -> list[str]:
    """The B7 table (both connectors' rows)."""
    from .report import NAMES, _find, _mb, _s, _table
    from .scenarios import DEFAULT_REPEAT

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.0f} ms"

    floor = _find(runs, INTERPRETER, c.FLOOR)
    rows, notes = [], []
    if floor:
        rows.append(["interpreter", "`python -c pass`", NAMES[c.FLOOR], ms(floor.wall_s), ms(floor.import_s),
                     _s(floor.cpu_s), _mb(floor.peak_rss_mib), "×1.0"])
    for side, commands in (("source", COMMANDS), ("destination", ("spec", "check", "write"))):
        for command in commands:
            case = case_name(side, command)
            for who in (c.OURS, c.INCUMBENT):
                run = _find(runs, case, who)
                if run:
                    rows.append([side, command, NAMES[who], ms(run.wall_s), ms(run.import_s), _s(run.cpu_s),
                                 _mb(run.peak_rss_mib), f"×{run.wall_s / floor.wall_s:.0f}" if floor else "—"])
            ours, incumbent = _find(runs, case, c.OURS), _find(runs, case, c.INCUMBENT)
            if ours and incumbent:
                notes.append(f"source {command}: ours takes {ours.wall_s / incumbent.wall_s:.2f} of the incumbent's time")
    if not rows:
        return []
    lines = ["### B7 — start-up: spec, check and a tiny read / write", "",
             (f"Each command as its own process, fastest of {DEFAULT_REPEAT['B7']} runs (wall time from spawn to exit); the read "
             f"and write move {TINY} documents. **Imports** is the interpreter's own account of one more run "
             "(`PYTHONPROFILEIMPORTTIME`, top-level imports summed). The last column is the wall time over the "
             "bare interpreter's."), ""]
    lines += _table(["connector", "command", "contender", "wall time", "imports", "CPU", "peak RSS",
                     "÷ interpreter"], rows, right_from=3)
    return lines + ["", ("; ".join(notes) + ".") if notes else "", ""]
