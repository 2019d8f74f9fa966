"""Throughput of a full snapshot read: source-convex (as a subprocess) vs a bare requests loop.

Starts a local Convex-compatible deployment in its own process (so it does not share the
GIL with the reader), fills one table with N realistic documents, then times:
- `bare`: a plain `requests` loop over list_snapshot pages (format=json), counting values;
- `source`: `source-convex read` with a full-refresh catalog, counting RECORD lines on stdout;
- `incumbent` (with --incumbent): the same read with another connector's console script.

Usage: python scripts/bench_read.py [N] [--only bare|source|incumbent] [--incumbent <console script>]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

SERVER = """
import json, sys, time
from convex_local import LocalDeployment
dep = LocalDeployment()
dep.start("127.0.0.1", 0)
dep.generate("bench", int(sys.argv[1]), seed=7)
print(json.dumps({"url": dep.url, "key": dep.admin_key}), flush=True)
sys.stdin.read()
dep.stop()
"""


def bare(url: str, key: str) -> int:
    session = requests.Session()
    session.headers["Authorization"] = f"Convex {key}"
    count, cursor, snapshot = 0, None, None
    while True:
        params = {"table_name": "bench", "format": "json"}
        if cursor:
            params["cursor"] = cursor
        if snapshot:
            params["snapshot"] = str(snapshot)
        page = session.get(f"{url}/api/list_snapshot", params=params, timeout=120).json()
        count += len(page["values"])
        snapshot, cursor = page["snapshot"], page["cursor"]
        if not page["hasMore"]:
            return count


def source(url: str, key: str, exe: Path = Path(sys.executable).with_name("source-convex")) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "config.json")
        config.write_text(json.dumps({"deployment_url": url, "access_key": key}))
        catalog = Path(tmp, "catalog.json")
        catalog.write_text(json.dumps({"streams": [{
            "stream": {"name": "bench", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}))
        proc = subprocess.Popen([str(exe), "read", "--config", str(config), "--catalog", str(catalog)],
                                stdout=subprocess.PIPE)
        count = 0
        for line in proc.stdout:
            if line.startswith((b'{"type":"RECORD"', b'{"type": "RECORD"')):
                count += 1
            elif b"Read finished" in line or b"Sent " in line:
                print("   ", json.loads(line)["log"]["message"])
        proc.wait()
        return count


def _cpu_s(who: int) -> float:
    """CPU seconds used by this process (RUSAGE_SELF) or its finished children (the connector runs)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _startup_cpu_s(exe: Path) -> float:
    """CPU seconds of `<exe> spec`: the import cost every command pays before reading anything."""
    before = _cpu_s(resource.RUSAGE_CHILDREN)
    subprocess.run([str(exe), "spec"], stdout=subprocess.DEVNULL, check=True)
    return _cpu_s(resource.RUSAGE_CHILDREN) - before


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 50_000
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        info = json.loads(server.stdout.readline())
        # A discover runs before any read in practice; it makes the server infer (and cache) the schemas.
        requests.get(f"{info['url']}/api/json_schemas", params={"deltaSchema": "true", "byComponent": "true"},
                     headers={"Authorization": f"Convex {info['key']}"}, timeout=600)
        ours = Path(sys.executable).with_name("source-convex")
        runners = [("bare", bare, None), ("source", source, ours)]
        if "--incumbent" in sys.argv:  # the console script of another install, e.g. airbyte-source-convex 0.4.x
            incumbent = Path(sys.argv[sys.argv.index("--incumbent") + 1])
            runners.append(("incumbent", lambda url, key: source(url, key, incumbent), incumbent))
        for name, fn, exe in runners:
            if only and name != only:
                continue
            who = resource.RUSAGE_SELF if exe is None else resource.RUSAGE_CHILDREN
            startup = _startup_cpu_s(exe) if exe is not None else 0.0
            started = time.perf_counter()
            cpu_before = _cpu_s(who)
            count = fn(info["url"], info["key"])
            elapsed = time.perf_counter() - started
            cpu = _cpu_s(who) - cpu_before - startup
            # CPU seconds of the reader (this process, or the connector subprocess minus its start-up)
            # tell more than wall time on a shared machine; the server's own CPU is not counted.
            print(f"{name:9s} {count} records in {elapsed:.2f} s = {count / elapsed:,.0f} records/s; "
                  f"reading CPU {cpu:.2f} s = {cpu * 1e6 / max(count, 1):.1f} us/record "
                  f"(+{startup:.1f} s start-up)", flush=True)
    finally:
        server.stdin.close()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
