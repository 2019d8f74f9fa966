"""The results as markdown: targets first, then one table per scenario; and where they are written.

Figures are only ever taken from measured `Run`s; a target whose runs were not measured says
so instead of passing. Memory is in MB (10^6 bytes) because the issue states its limit in MB.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable, Sequence

from . import contenders as c
from .scenarios import Run, Sizes, changes_case, snapshot_case, write_case

RESULTS = Path(__file__).resolve().parents[1] / "RESULTS.md"
DOC_PAGES = {
    "source": c.REPO / "source-convex" / "docs" / "convex.md",
    "destination": c.REPO / "destination-convex" / "docs" / "convex.md",
}
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
RSS_LIMIT_MB = 150.0
Log = Callable[[str], None]

NAMES = {
    c.OURS: "ours",
    c.INCUMBENT: "incumbent",
    c.FLOOR: "floor",
}


# -- machine facts ------------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1e6:.0f} GB RAM"
    except OSError:
        pass
    return "RAM unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


def _incumbent_cdk() -> str:
    found = sorted(c.INCUMBENT_VENV.glob("lib/python3.*/site-packages/airbyte_cdk-*.dist-info"))
    return found[0].name.removeprefix("airbyte_cdk-").removesuffix(".dist-info") if found else "?"


@dataclass(frozen=True)
class Machine:
    """Where and when the figures were measured."""

    started: str
    cores: int
    cpu: str
    memory: str
    python: str
    system: str
    load_before: str

    @classmethod
    def now(cls) -> "Machine":
        return cls(
            started=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            cores=os.cpu_count() or 0,
            cpu=_cpu_model(),
            memory=_memory_gb(),
            python=platform.python_version(),
            system=f"{platform.system()} {platform.release()} {platform.machine()}",
            load_before=_load(),
        )


def _load() -> str:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "?"


# -- formatting ------------------------------------------------------------------------------------

def _s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _mb(mib: float) -> str:
    return f"{mib * 1.048576:.0f} MB"


def _x(value: float) -> str:
    return f"×{value:.1f}" if value < 100 else f"×{value:.0f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], right_from: int = 1) -> list[str]:
    align = ["---" if index < right_from else "---:" for index in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _find(runs: Sequence[Run], case: str, contender: str) -> Run | None:
    for run in runs:
        if run.case == case and run.contender == contender:
            return run
    return None


def _attempts_note(runs: Iterable[Run | None]) -> str:
    counts = {run.attempts for run in runs if run}
    if counts == {1} or not counts:
        return ""
    return f"Each contender ran {' or '.join(str(n) for n in sorted(counts))} times here; the fastest run counts. "


def _run_row(label: str, run: Run) -> list[str]:
    return [label, _s(run.wall_s), _rate(run.records_per_s), f"{run.requests:,}", _mb(run.peak_rss_mib),
            _s(run.cpu_s), _s(run.server_cpu_s)]


RUN_HEADER = ["contender", "wall time", "records/s", "requests", "peak RSS", "CPU (contender)", "CPU (server)"]


# -- targets ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    met: bool | None  # None: not measured in this run

    @property
    def side(self) -> str:
        """Which connector's page shows it."""
        return "destination" if self.name.startswith("B3") or "(destination)" in self.name else "source"

    def row(self) -> list[str]:
        verdict = {True: "met", False: "**missed**", None: "not measured"}[self.met]
        return [self.name, self.measured, verdict]


def targets(runs: Sequence[Run], sizes: Sizes) -> list[Target]:
    out: list[Target] = []
    b1 = snapshot_case(sizes.snapshot)
    ours, incumbent, floor = (_find(runs, b1, who) for who in (c.OURS, c.INCUMBENT, c.FLOOR))
    if ours and incumbent:
        ratio = ours.records_per_s / incumbent.records_per_s
        out.append(Target("B1 snapshot throughput ≥ 3× the incumbent's",
                          f"{_x(ratio)} ({_rate(ours.records_per_s)} vs {_rate(incumbent.records_per_s)} records/s)",
                          ratio >= 3))
    else:
        out.append(Target("B1 snapshot throughput ≥ 3× the incumbent's", "—", None))
    if ours and floor:
        ratio = ours.records_per_s / floor.records_per_s
        out.append(Target("B1 snapshot throughput ≥ ½ the floor's",
                          f"{ratio:.2f} of the floor ({_rate(floor.records_per_s)} records/s)", ratio >= 0.5))
    else:
        out.append(Target("B1 snapshot throughput ≥ ½ the floor's", "—", None))

    slow = max(sizes.latencies_ms)
    fast_case, slow_case = changes_case(sizes.changes, min(sizes.latencies_ms)), changes_case(sizes.changes, slow)
    ours, incumbent = _find(runs, fast_case, c.OURS), _find(runs, fast_case, c.INCUMBENT)
    name = f"B2 {sizes.change_tables}-table incremental sync: ≥ 10× fewer requests than the incumbent"
    if ours and incumbent:
        ratio = incumbent.requests / max(ours.requests, 1)
        out.append(Target(name, f"{_x(ratio)} ({ours.requests:,} vs {incumbent.requests:,})", ratio >= 10))
    else:
        out.append(Target(name, "—", None))
    ours, incumbent = _find(runs, slow_case, c.OURS), _find(runs, slow_case, c.INCUMBENT)
    name = f"B2 at {slow} ms latency: ≥ 5× faster than the incumbent"
    if ours and incumbent:
        ratio = incumbent.wall_s / ours.wall_s
        out.append(Target(name, f"{_x(ratio)} ({_s(ours.wall_s)} vs {_s(incumbent.wall_s)})", ratio >= 5))
    else:
        out.append(Target(name, "—", None))

    for dedup in (False, True):
        case = write_case(sizes.destination, dedup)
        ours, floor = _find(runs, case, c.OURS), _find(runs, case, c.FLOOR)
        name = f"B3 destination throughput ({'dedup' if dedup else 'append'}) ≥ ½ the floor's"
        if ours and floor:
            ratio = ours.records_per_s / floor.records_per_s
            out.append(Target(name, f"{ratio:.2f} of the floor ({_rate(ours.records_per_s)} vs "
                                    f"{_rate(floor.records_per_s)} records/s)", ratio >= 0.5))
        else:
            out.append(Target(name, "—", None))

    from .parallel import TARGET_SPEED_UP, speed_up

    shape = sizes.parallel
    name = (f"B9 parallel snapshots ({shape.tables} tables × {shape.docs:,} at {shape.latency_ms} ms): "
            f"`parallel_snapshots` = {shape.width} ≥ {TARGET_SPEED_UP:.0f}× one table at a time")
    ratios = speed_up(runs, shape)
    if ratios:
        out.append(Target(name, f"×{ratios[0]:.2f} ({ratios[1]:.2f} of the floor at {shape.width} threads)",
                          ratios[0] >= TARGET_SPEED_UP))
    else:
        out.append(Target(name, "—", None))

    largest = max(sizes.growth)
    for side, cases in (("source", [snapshot_case(largest)]),
                        ("destination", [write_case(largest, False), write_case(largest, True)])):
        found = [run for run in (_find(runs, case, c.OURS) for case in cases) if run]
        name = f"Peak RSS < {RSS_LIMIT_MB:.0f} MB at {largest // 1000}k records ({side})"
        if found:
            peak = max(run.peak_rss_mib for run in found)
            out.append(Target(name, _mb(peak), peak * 1.048576 < RSS_LIMIT_MB))
        else:
            out.append(Target(name, "—", None))
    return out


# -- sections ----------------------------------------------------------------------------------------

def _b1(runs: Sequence[Run], sizes: Sizes) -> list[str]:
    case = snapshot_case(sizes.snapshot)
    found = {who: _find(runs, case, who) for who in (c.OURS, c.INCUMBENT, c.FLOOR)}
    if not any(found.values()):
        return []
    lines = [f"### B1 — full snapshot of one table of {sizes.snapshot:,} documents", ""]
    rows = [_run_row(NAMES[who], run) for who, run in found.items() if run]
    lines += _table(RUN_HEADER, rows)
    notes = ratio_notes(found[c.OURS], found[c.INCUMBENT], found[c.FLOOR])
    return lines + ["", _attempts_note(found.values()) + ("; ".join(notes) + "." if notes else ""), ""]


def ratio_notes(ours: Run | None, incumbent: Run | None, floor: Run | None) -> list[str]:
    """Ours ÷ the incumbent and ours ÷ the floor (throughput), for the runs that were measured."""
    notes = []
    if ours and incumbent:
        notes.append(f"ours ÷ incumbent throughput: **{_x(ours.records_per_s / incumbent.records_per_s)}**")
    if ours and floor:
        notes.append(f"ours ÷ floor throughput: **{ours.records_per_s / floor.records_per_s:.2f}**")
    return notes


def _b2(runs: Sequence[Run], sizes: Sizes) -> list[str]:
    rows = []
    notes = []
    for latency in sizes.latencies_ms:
        case = changes_case(sizes.changes, latency)
        found = {who: _find(runs, case, who) for who in (c.OURS, c.INCUMBENT, c.FLOOR)}
        for who, run in found.items():
            if run:
                rows.append([f"{latency} ms"] + _run_row(NAMES[who], run))
        ours, incumbent = found[c.OURS], found[c.INCUMBENT]
        if ours and incumbent:
            notes.append(f"at {latency} ms: ours sends {_x(incumbent.requests / max(ours.requests, 1))} fewer "
                         f"requests and is {_x(incumbent.wall_s / ours.wall_s)} faster than the incumbent")
    if not rows:
        return []
    lines = [f"### B2 — incremental sync of {sizes.change_tables} tables after {sizes.changes:,} changes", "",
             f"{sizes.change_tables} tables of {sizes.change_table_docs:,} documents, synced once by each source; "
             f"then {sizes.changes:,} single-document transactions spread at random over the tables (50% updates, "
             "30% inserts, 20% deletes); then the measured incremental sync of all tables from each source's own "
             "saved state, with the server adding the given latency to every request.", ""]
    lines += _table(["latency"] + RUN_HEADER, rows, right_from=2)
    return lines + ["", ("; ".join(notes) + ".") if notes else "", ""]


def _b3(runs: Sequence[Run], sizes: Sizes) -> list[str]:
    rows, notes, seen = [], [], []
    for dedup in (False, True):
        case = write_case(sizes.destination, dedup)
        ours, floor = _find(runs, case, c.OURS), _find(runs, case, c.FLOOR)
        seen += [ours, floor]
        for who, run in ((c.OURS, ours), (c.FLOOR, floor)):
            if run:
                rows.append([case.split(", ")[1]] + _run_row(NAMES[who], run) + [f"{run.bytes_in / 1e6:.0f} MB"])
        if ours and floor:
            notes.append(f"{case.split(', ')[1]}: ours ÷ floor throughput **{ours.records_per_s / floor.records_per_s:.2f}**")
    if not rows:
        return []
    lines = [f"### B3 — destination writes of {sizes.destination:,} records", "",
             "No incumbent: there is no Convex destination on PyPI to install, so this compares ours with the "
             "floor only. Input: RECORD messages of the same generated documents on stdin, with a STATE every "
             "20,480 records. The floor posts the same request bodies (same `tables` entry, same messages, the "
             "same 4 MiB batch limit) one after another; ours also sends one stream's batches one after another "
             "(parallel requests only ever span different tables), so both use the same parallelism.", ""]
    lines += _table(["mode"] + RUN_HEADER + ["request bytes"], rows, right_from=2)
    return lines + ["", _attempts_note(seen) + (("; ".join(notes) + ".") if notes else ""), ""]


def _b4(runs: Sequence[Run], sizes: Sizes, side: str | None = None) -> list[str]:
    rows = []
    kinds: list[tuple[str, Callable[[int], str]]] = []
    if side in (None, "source"):
        kinds.append(("snapshot (source)", snapshot_case))
    if side in (None, "destination"):
        kinds += [("write, append", lambda n: write_case(n, False)), ("write, dedup", lambda n: write_case(n, True))]
    summary = []
    for label, case_of in kinds:
        measured = [(n, run) for n in sizes.growth if (run := _find(runs, case_of(n), c.OURS))]
        for n, ours in measured:
            floor = _find(runs, case_of(n), c.FLOOR)
            rows.append([label, f"{n:,}", _s(ours.wall_s), f"{ours.wall_s / (n / 100_000):.1f} s",
                         _rate(ours.records_per_s), _mb(ours.peak_rss_mib),
                         _s(floor.wall_s) if floor else "—", _rate(floor.records_per_s) if floor else "—",
                         _mb(floor.peak_rss_mib) if floor else "—"])
        if len(measured) >= 2:
            (n0, first), (n1, last) = measured[0], measured[-1]
            marginal = (last.wall_s - first.wall_s) / ((n1 - n0) / 100_000)
            summary.append(f"{label}: {n1 // n0}× the records took {last.wall_s / first.wall_s:.1f}× the time "
                           f"({marginal:.1f} s per extra 100k records), peak RSS {_mb(first.peak_rss_mib)} → "
                           f"{_mb(last.peak_rss_mib)}")
    if len({row[1] for row in rows}) < 2:
        return []  # growth needs at least two sizes
    lines = ["### B4 — growth: B1 and B3 at " + ", ".join(f"{n // 1000}k" for n in sizes.growth) + " records", "",
             "Time should grow linearly (constant time per 100k records) and memory stay flat.", ""]
    lines += _table(["scenario", "records", "ours: wall", "ours: per 100k", "ours: records/s", "ours: peak RSS",
                     "floor: wall", "floor: records/s", "floor: peak RSS"], rows, right_from=1)
    return lines + ["", "Ours: " + "; ".join(summary) + ".", ""]


def _method(machine: Machine, command: str, elapsed_s: float) -> list[str]:
    return [
        f"Measured {machine.started} with `{command}` (the whole run took {elapsed_s / 60:.1f} min) on "
        f"{machine.cores} cores ({machine.cpu}), {machine.memory}, {machine.system}, Python {machine.python}; "
        f"load average (1/5/15 min) {machine.load_before} before the run and {_load()} after it (the machine "
        "was shared: other load slows every contender, the slowest most). "
        f"Ours: source-convex {_version('airbyte-source-convex')} and destination-convex {_version('airbyte-destination-convex')} "
        f"on airbyte-cdk {_version('airbyte-cdk')}. Incumbent: {c.INCUMBENT_PACKAGE} {c.INCUMBENT_VERSION} from "
        f"PyPI on airbyte-cdk {_incumbent_cdk()}, in its own virtualenv.",
        "",
        "Every contender runs as its own process against the same local Convex-compatible server (its own "
        "process, SQLite file) and the same data. **Wall time** runs from process start to exit (interpreter and "
        "imports included); **records/s** = records ÷ wall time; **requests** come from the server's request log; "
        "**peak RSS** is the contender process's `ru_maxrss`; the CPU columns are user + system seconds of the "
        "contender and of the server during the run (CPU time is what other load on the machine distorts least). "
        "Every run is checked: exit code 0 and exactly the expected records read, or accepted by the server. "
        "The **floor** is a bare `requests` loop (one session, orjson decoding, no output): for the source it "
        "pages `list_snapshot` / `document_deltas` in the format our source asks for (`export_json`); for the "
        "destination it posts the same request bodies ours sends. It shows what the server and the wire allow.",
        "",
    ]


def render(runs: Sequence[Run], sizes: Sizes, command: str, elapsed_s: float, machine: Machine,
           quick: bool, side: str | None = None) -> str:
    """The whole report (`side` None), or the part one connector's docs page shows."""
    lines = [] if side else ["## Benchmarks: ours vs the incumbent vs the floor", ""]
    if quick:
        lines += ["**Quick mode: small sizes for developing the bench; these figures are not the benchmark.**", ""]
    lines += _method(machine, command, elapsed_s)
    if side:
        lines += ["Full results, including the other connector's: `integration_tests/bench/RESULTS.md`.", ""]
    lines += ["### Targets", ""]
    chosen = [t for t in targets(runs, sizes) if side is None or t.side == side]
    lines += _table(["target", "measured", "verdict"], (t.row() for t in chosen), right_from=9)
    lines.append("")
    sections: list[Callable[[Sequence[Run], Sizes], list[str]]] = []
    if side in (None, "source"):
        sections += [_b1, _b2]
    if side in (None, "destination"):
        sections.append(_b3)
    for section in sections:
        lines += section(runs, sizes)
    lines += _b4(runs, sizes, side)
    from .functions_modes import section as b5  # the Functions API modes (both connectors)

    lines += b5(runs, sizes.functions)
    if side in (None, "source"):
        from .parallel import section as b9
        from .slow_server import section as b6

        lines += b6(runs, sizes.slow_server)
        lines += b9(runs, sizes.parallel)
    from .startup import section as b7

    lines += b7(runs)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


# -- writing -------------------------------------------------------------------------------------------

def replace_between_markers(page: str, block: str) -> str | None:
    """`page` with the text between the bench markers replaced by `block`; None without markers."""
    start, end = page.find(START), page.find(END)
    if start < 0 or end < start:
        return None
    return page[: start + len(START)] + "\n" + block.rstrip() + "\n" + page[end:]


def _scale_block(text: str) -> str:
    """The B8 block (markers included) of a RESULTS.md text, or ''."""
    from .scale import END as SCALE_END, START as SCALE_START

    start, end = text.find(SCALE_START), text.find(SCALE_END)
    return text[start:end + len(SCALE_END)] if 0 <= start < end else ""


def write(full: str, pages: dict[Path, str]) -> list[Path]:
    """RESULTS.md, and the marked block of each docs page (`pages`: page -> its block) that has markers.
    The B8 block of RESULTS.md (written by `make bench-scale`) is kept."""
    kept = _scale_block(RESULTS.read_text()) if RESULTS.exists() else ""
    RESULTS.write_text("# Benchmark results\n\nWritten by `make bench` (integration_tests/bench/run.py); do not "
                       "edit by hand.\n\n" + full + (f"\n{kept}\n" if kept else ""))
    written = [RESULTS]
    for page, block in pages.items():
        if not page.exists():
            continue
        replaced = replace_between_markers(page.read_text(), block)
        if replaced is not None:
            page.write_text(replaced)
            written.append(page)
    return written


def write_scale(block: str) -> list[Path]:
    """The B8 block into RESULTS.md (appended the first time) and into each docs page with scale markers."""
    from .scale import END as SCALE_END, START as SCALE_START, replace_block

    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    replaced = replace_block(text, block)
    RESULTS.write_text(replaced if replaced is not None
                       else text.rstrip() + f"\n\n{SCALE_START}\n{block.rstrip()}\n{SCALE_END}\n")
    written = [RESULTS]
    for page in DOC_PAGES.values():
        if page.exists() and (replaced := replace_block(page.read_text(), block)) is not None:
            page.write_text(replaced)
            written.append(page)
    return written
