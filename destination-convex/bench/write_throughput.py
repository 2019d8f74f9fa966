"""Write throughput and peak memory of destination-convex against a local server process.

    python destination-convex/bench/write_throughput.py --records 200000 --mode append_dedup

Generates N records (one STATE every 5,000), then:
1. the floor: the same records cut into the same bodies (4 MiB of JSON) and POSTed one after
   another straight to `import_airbyte_records` with one keep-alive session;
2. the connector: `destination-convex write` as a subprocess fed the same input, timed from
   start to exit (so its ~1.5 s of start-up counts), with its peak RSS (VmHWM, polled; Linux
   only) and the CPU seconds it used (to tell its own cost from the server's on a busy machine).
Each run gets a fresh server process, so neither pays for the other's data.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import requests

SCHEMA = {"type": "object", "properties": {"_id": {"type": "string"}, "name": {"type": "string"}}}


def generate(path: Path, records: int) -> None:
    with path.open("wb") as out:
        for i in range(records):
            data = {"_id": f"id{i:08d}", "name": f"user {i}", "age": i % 90, "email": f"u{i}@example.com",
                    "tags": ["a", "b"], "nested": {"x": i, "y": "zz" * 10}}
            out.write(orjson.dumps({"type": "RECORD", "record": {"stream": "users", "data": data,
                                                                  "emitted_at": 1700000000000}}) + b"\n")
            if i % 5000 == 4999:
                out.write(orjson.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
                    "stream_descriptor": {"name": "users"}, "stream_state": {"cursor": i}}}}) + b"\n")


class Server:
    def __enter__(self) -> "Server":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "convex_local", "serve", "--port", "0", "--data", ":memory:", "--log-level", "WARNING"],
            stdout=subprocess.PIPE, text=True,
        )
        info = json.loads(self.process.stdout.readline())  # type: ignore[union-attr]
        self.url, self.key = info["url"], info["admin_key"]
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)


def floor(path: Path, mode: str, batch_bytes: int) -> float:
    primary_key = [["source_id"]] if mode == "append_dedup" else None
    head = b'{"tables":' + orjson.dumps({"users": {"primaryKey": primary_key, "jsonSchema": SCHEMA}}) + b',"messages":['
    bodies, current, size, count = [], [], len(head), 0
    for line in path.open("rb"):
        message = orjson.loads(line)
        if message["type"] != "RECORD":
            continue
        item = orjson.dumps({"tableName": "users", "data": message["record"]["data"]})
        if current and size + len(item) + 3 > batch_bytes:
            bodies.append(head + b",".join(current) + b"]}")
            current, size = [], len(head)
        current.append(item)
        size += len(item) + 1
        count += 1
    bodies.append(head + b",".join(current) + b"]}")
    with Server() as server:
        session = requests.Session()
        session.headers.update({"Authorization": f"Convex {server.key}", "Content-Type": "application/json"})
        base = f"{server.url}/api/streaming_import"
        if primary_key:
            session.put(f"{base}/add_primary_key_indexes", data=orjson.dumps({"indexes": {"users": primary_key}})).raise_for_status()
        started = time.perf_counter()
        for body in bodies:
            session.post(f"{base}/import_airbyte_records", data=body).raise_for_status()
        elapsed = time.perf_counter() - started
    return count / elapsed


def connector(path: Path, mode: str, records: int, workdir: Path) -> tuple[float, float, float]:
    with Server() as server:
        config = workdir / "config.json"
        catalog = workdir / "catalog.json"
        # Unpaced, like the floor (the default write rate leaves room for an app: 2 MiB/s).
        config.write_text(json.dumps({"deployment_url": server.url, "access_key": server.key,
                                      "max_write_rate_mib_per_second": 0}))
        catalog.write_text(json.dumps({"streams": [{
            "stream": {"name": "users", "json_schema": SCHEMA, "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental", "destination_sync_mode": mode, "primary_key": [["_id"]]}]}))
        script = Path(sys.executable).parent / "destination-convex"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        with path.open("rb") as stdin, (workdir / "out.txt").open("wb") as out:
            process = subprocess.Popen([str(script), "write", "--config", str(config), "--catalog", str(catalog)],
                                       stdin=stdin, stdout=out, stderr=subprocess.STDOUT)
            peak_kib = 0
            while process.poll() is None:
                peak_kib = max(peak_kib, high_water_kib(process.pid))
                time.sleep(0.05)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the server is not reaped yet: only the connector
        if process.returncode != 0:
            sys.exit((workdir / "out.txt").read_text()[-3000:])
    cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return records / elapsed, peak_kib / 1024, cpu_s


def high_water_kib(pid: int) -> int:
    """The process's peak RSS so far (VmHWM). Not ru_maxrss: a child forked from this big
    benchmark process would report the parent's size from before its exec."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--mode", choices=["append", "append_dedup", "overwrite"], default="append")
    parser.add_argument("--batch-mib", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / "input.jsonl"
        generate(path, args.records)
        floor_rate = floor(path, args.mode, int(args.batch_mib * 1024 * 1024))
        rate, peak, cpu_s = connector(path, args.mode, args.records, workdir)
    print(json.dumps({"mode": args.mode, "records": args.records, "floor_records_per_s": round(floor_rate),
                      "connector_records_per_s": round(rate), "ratio": round(rate / floor_rate, 2),
                      "connector_peak_rss_mib": round(peak), "connector_cpu_s": round(cpu_s, 2)}))


if __name__ == "__main__":
    main()
