"""Spawn one command, wait for it, and write its wall time, CPU time and peak RSS to a file.

Why a launcher: Linux counts into a child's `ru_maxrss` the resident size of the process it
was forked from, up to its `exec`. Forked straight from the bench (which holds the server's
modules and the datasets' code, ~90 MiB), every contender would report at least that. This
launcher is started with `python -S` (~8 MiB), so what it reports is the contender's own peak.

Usage: python -S launch.py <result.json> <absolute path of the program> [args...]
stdin, stdout and stderr are inherited.
"""

import json
import os
import sys
import time


def main() -> int:
    result_path, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, dict(os.environ))
    _, status, usage = os.wait4(pid, 0)
    wall_s = time.perf_counter() - started
    with open(result_path, "w") as out:
        json.dump({"wall_s": wall_s, "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss,
                   "exit_code": os.waitstatus_to_exitcode(status)}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
