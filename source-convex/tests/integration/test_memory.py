"""Memory stays flat as tables grow: pages are streamed, never a whole table held."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from convex_local import LocalDeployment
from source_helpers import config_for

pytestmark = pytest.mark.timeout(150)

#: How much the traced peak may differ between two table sizes: pages vary in size a little
#: (measured: -0.3 to +0.9 MB from 12,000 to 48,000 documents); holding a set of the 36,000
#: more ids adds 3.2 MB.
PER_TABLE_SLACK = 2 * 1024 * 1024

# Runs the real console entry point and reports on stderr the process's peak RSS (KiB) and the
# peak of the memory Python objects held (tracemalloc, bytes). VmHWM, not getrusage's ru_maxrss:
# the latter keeps the high-water mark of the forked parent (this test process, which holds the
# server's data) across exec. The traced peak has no allocator noise, so it can be held to a
# bound that a per-document leak far smaller than the documents (a set of their ids) exceeds.
PEAK_RSS = """
import atexit
import sys
import tracemalloc
from source_convex.run import run


def report() -> None:  # at exit: the console script ends with quick_exit, which runs atexit handlers
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write("PEAK_RSS_KIB=%s\\n" % peak)
    sys.stderr.write("PEAK_TRACED=%d\\n" % tracemalloc.get_traced_memory()[1])


atexit.register(report)
tracemalloc.start()  # after the imports: what the read itself holds
run()
"""


class Peaks(NamedTuple):
    records: int
    rss_kib: int  # the process's peak resident set
    traced_bytes: int  # the peak of what Python objects held (tracemalloc)


def _peaks(dep: LocalDeployment, tmp_path: Path) -> Peaks:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(dep)))
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"streams": [{
        "stream": {"name": "big", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}))
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS, "read", "--config", str(config), "--catalog", str(catalog)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = proc.stdout.count('{"type":"RECORD"')
    rss = int(proc.stderr.rsplit("PEAK_RSS_KIB=", 1)[1].split()[0])
    traced = int(proc.stderr.rsplit("PEAK_TRACED=", 1)[1].split()[0])
    return Peaks(records, rss, traced)


def test_peak_memory_does_not_grow_with_the_table(convex_server: LocalDeployment, tmp_path: Path) -> None:
    # Both sizes are past the first few pages, where the allocator and the output buffers settle.
    convex_server.generate("big", 12_000, seed=1)
    small = _peaks(convex_server, tmp_path)
    convex_server.generate("big", 36_000, seed=2)
    large = _peaks(convex_server, tmp_path)
    assert (small.records, large.records) == (12_000, 48_000)
    # 36,000 more documents are ~15 MB of JSON and 50+ MB as Python objects if held; streamed,
    # the peak moves by little more than allocator noise (single runs of one read differ by up to
    # ~2 MiB on a busy machine).
    assert large.rss_kib - small.rss_kib < 10 * 1024, (small, large)
    # What Python objects hold at the peak does not depend on the table's size: one page at a
    # time. Keeping as little as each document's id adds 3.2 MB here (and only 6 MiB of RSS).
    assert large.traced_bytes - small.traced_bytes < PER_TABLE_SLACK, (small, large)
