"""`make bench`: our Convex connectors vs the incumbent vs the floor, side by side, in one run.

    .venv/bin/python integration_tests/bench/run.py [--quick] [--only B1,B2,B3,B4,B5,B6,B7,B9] [--repeat N]
                                                     [--no-incumbent] [--no-write]

Starts the local Convex-compatible server as its own process per scenario, runs every
contender as its own child process against the same data, prints a markdown table and (for a
full run of every scenario) writes it to integration_tests/bench/RESULTS.md and between the
`<!-- bench:start -->` / `<!-- bench:end -->` markers of both connectors' docs pages.
See README.md next to this file, and convex_bench/scenarios.py for what each scenario does.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from convex_bench import contenders as c  # noqa: E402
from convex_bench import datasets, functions_modes, parallel, report, scale, slow_server, startup  # noqa: E402
from convex_bench.measure import ContenderFailed  # noqa: E402
from convex_bench.scenarios import Bench, Sizes  # noqa: E402

ALL = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B9")
#: Run only when asked for by name, and alone (`make bench-scale`): B8, the 2M-document table.
SEPARATE = ("B8",)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for developing the bench (about 2 min)")
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated scenarios (default: all)")
    parser.add_argument("--no-incumbent", action="store_true", help="skip the incumbent source")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per contender, the fastest counts (default: 2 for B1 and B3, 1 for the others)")
    parser.add_argument("--no-write", action="store_true", help="print the table only; write no files")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    only = [name.strip().upper() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(ALL) - set(SEPARATE))
    if unknown:
        print(f"Unknown scenario(s) {unknown}; choose from {', '.join(ALL + SEPARATE)}.", file=sys.stderr)
        return 2
    if set(only) & set(SEPARATE) and len(only) > 1:
        print(f"{', '.join(SEPARATE)} runs alone (make bench-scale).", file=sys.stderr)
        return 2
    sizes = Sizes.quick() if args.quick else Sizes()
    given = sys.argv[1:] if argv is None else argv
    command = "make bench" if not given else "python integration_tests/bench/run.py " + " ".join(given)

    def log(line: str) -> None:
        print(line, flush=True)

    if only == ["B8"]:
        return _scale(args, "make bench-scale" if given == ["--only", "B8"] else command, log)

    started = time.perf_counter()
    machine = report.Machine.now()
    datasets.prune_cache()
    workdir = Path(tempfile.mkdtemp(prefix="convex-bench-"))
    try:
        bench = Bench(sizes, workdir, log, with_incumbent=not args.no_incumbent, repeat=args.repeat)
        source_side = [c.FLOOR, c.OURS] + ([] if args.no_incumbent else [c.INCUMBENT])
        if "B1" in only:
            bench.snapshot("B1", sizes.snapshot, source_side)
        if "B2" in only:
            bench.incremental()
        if "B3" in only:
            for dedup in (False, True):
                bench.destination("B3", sizes.destination, dedup, [c.FLOOR, c.OURS])
        if "B4" in only:
            for n in sizes.growth:
                bench.snapshot("B4", n, [c.FLOOR, c.OURS])
            for n in sizes.growth:
                for dedup in (False, True):
                    bench.destination("B4", n, dedup, [c.FLOOR, c.OURS])
        if "B5" in only:
            functions_modes.run(bench, sizes.functions)
        if "B6" in only:
            slow_server.run(bench, sizes.slow_server, source_side)
        if "B7" in only:
            startup.run(bench, source_side)
        if "B9" in only:
            parallel.run(bench, sizes.parallel)
    except (ContenderFailed, c.SetupError) as err:
        print(f"\nBENCH FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    text = report.render(bench.runs, sizes, command, elapsed, machine, quick=args.quick)
    pages = {page: report.render(bench.runs, sizes, command, elapsed, machine, quick=args.quick, side=side)
             for side, page in report.DOC_PAGES.items()}
    print()
    print(text)
    full = set(only) == set(ALL) and not args.quick and not args.no_incumbent
    if args.no_write:
        pass
    elif full:
        for written in report.write(text, pages):
            print(f"wrote {written.relative_to(c.REPO)}")
    else:
        print("(a partial or quick run: RESULTS.md and the docs pages were left as they are)")
    return 0


def _scale(args: argparse.Namespace, command: str, log: report.Log) -> int:
    """B8 alone: print its table and (unless --no-write or --quick) put it in RESULTS.md and the docs."""
    machine = report.Machine.now()
    workdir = Path(tempfile.mkdtemp(prefix="convex-bench-"))
    n = 200_000 if args.quick else scale.N
    try:
        bench = Bench(Sizes(), workdir, log, with_incumbent=False)
        runs = scale.run(bench, n)
    except (ContenderFailed, c.SetupError) as err:
        print(f"\nBENCH FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    block = scale.section(runs, n, command, machine.started)
    print()
    print(block)
    if args.no_write or args.quick:
        print("(--no-write or --quick: RESULTS.md and the docs pages were left as they are)")
        return 0
    for written in report.write_scale(block):
        print(f"wrote {written.relative_to(c.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
