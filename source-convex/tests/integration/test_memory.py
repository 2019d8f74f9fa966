"""Memory stays flat as tables grow: pages are streamed, never a whole table held."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from convex_local import LocalDeployment
from source_helpers import config_for

pytestmark = pytest.mark.timeout(150)

# Runs the real console entry point and reports the process's peak RSS (KiB) on stderr. VmHWM,
# not getrusage's ru_maxrss: the latter keeps the high-water mark of the forked parent (this
# test process, which holds the server's data) across exec.
PEAK_RSS = """
import sys
from source_convex.run import run
try:
    run()
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write("PEAK_RSS_KIB=%s\\n" % peak)
"""


def _peak_rss_kib(dep: LocalDeployment, tmp_path: Path) -> tuple[int, int]:
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
    peak = int(proc.stderr.rsplit("PEAK_RSS_KIB=", 1)[1].split()[0])
    return records, peak


def _lowest_peak_rss_kib(dep: LocalDeployment, tmp_path: Path) -> tuple[int, int]:
    """The lower peak of two runs: allocator noise on a busy machine only ever adds to a peak
    (single runs of the same read differ by up to ~2 MiB), while holding pages adds every time."""
    (records, first), (again, second) = _peak_rss_kib(dep, tmp_path), _peak_rss_kib(dep, tmp_path)
    assert records == again
    return records, min(first, second)


def test_peak_memory_does_not_grow_with_the_table(convex_server: LocalDeployment, tmp_path: Path) -> None:
    # Both sizes are past the first few pages, where the allocator and the output buffers settle.
    convex_server.generate("big", 12_000, seed=1)
    small_records, small_peak = _lowest_peak_rss_kib(convex_server, tmp_path)
    convex_server.generate("big", 36_000, seed=2)
    large_records, large_peak = _lowest_peak_rss_kib(convex_server, tmp_path)
    assert (small_records, large_records) == (12_000, 48_000)
    # 36,000 more documents are ~15 MB of JSON and 50+ MB as Python objects if held; streamed,
    # the peak moves by little more than allocator noise (up to a few MiB on a busy machine).
    assert large_peak - small_peak < 10 * 1024, (small_peak, large_peak)
