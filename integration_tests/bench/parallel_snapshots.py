"""`make bench-parallel`: bench B9 alone, parallel snapshots of many tables at a page latency.

    .venv/bin/python integration_tests/bench/parallel_snapshots.py [--tables 20] [--docs 10000]
                                                                   [--latency-ms 50] [--parallel 4] [--repeat 1]

Ours at `parallel_snapshots` = `--parallel` and = 1, and the floor at as many threads and at one,
every run checked (see `convex_bench/parallel.py`); the fastest of `--repeat` runs counts. Prints
the B9 table and its ratios, all measured in the same run. `make bench` runs B9 at the defaults.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from convex_bench import contenders as c
from convex_bench import parallel
from convex_bench.measure import ContenderFailed
from convex_bench.scenarios import Bench, Sizes


def _parser() -> argparse.ArgumentParser:
    default = parallel.Shape()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=default.tables)
    parser.add_argument("--docs", type=int, default=default.docs, help="documents per table")
    parser.add_argument("--latency-ms", type=int, default=default.latency_ms, help="added by the server to every request")
    parser.add_argument("--parallel", type=int, default=default.width, help="parallel_snapshots of the parallel run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; the fastest counts")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    shape = parallel.Shape(args.tables, args.docs, args.latency_ms, args.parallel)
    workdir = Path(tempfile.mkdtemp(prefix="convex-bench-parallel-"))
    try:
        bench = Bench(Sizes(), workdir, lambda line: print(line, flush=True), with_incumbent=False,
                      repeat=args.repeat)
        parallel.run(bench, shape)
    except (ContenderFailed, c.SetupError) as err:
        print(f"\nBENCH FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print("\n".join(parallel.section(bench.runs, shape)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
