"""Two measurements against the local server's model of the real backend (issue: fidelity).

    python destination-convex/bench/fidelity.py duplicates --records 40000
    python destination-convex/bench/fidelity.py write-rate --records 60000 --rate 2

`duplicates`: an append of small records while the server fails the first request that needs a
second Convex transaction with a 503 after committing the first (as an OCC conflict does);
prints rows sent, rows stored and rows stored twice.

`write-rate`: a bulk append while an "app" performs one small mutation every 100 ms; prints the
write rate the destination achieved in Convex's accounting (the server's write-throughput
meter), the busiest one-second window, and how many app mutations failed with TooManyWrites
(the deployment's limit is 4 MiB/s). `--rate` is passed as max_write_rate_mib_per_second
(omit it to use the connector's default).

Both run `destination-convex write` as a subprocess on whatever code is importable, so the same
command measures an older checkout (PYTHONPATH=<old>/destination-convex:<old>/shared).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from convex_local import LocalDeployment
from convex_local.control import AppWriter

DESTINATION = Path(sys.executable).parent / "destination-convex"
MIB = 1024 * 1024


def _input(records: int, pad: int) -> bytes:
    lines = [orjson.dumps({"type": "RECORD", "record": {"stream": "events", "emitted_at": 1700000000000,
                                                        "data": {"_id": f"e{i}", "n": i, "pad": "x" * pad}}})
             for i in range(records)]
    lines.append(orjson.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "events"}, "stream_state": {"cursor": records}}}}))
    return b"\n".join(lines) + b"\n"


def _write(dep: LocalDeployment, records: int, pad: int, config: dict[str, Any]) -> tuple[int, float, str]:
    stream = {"name": "events", "json_schema": {"type": "object", "properties": {"_id": {"type": "string"}}},
              "supported_sync_modes": ["full_refresh", "incremental"]}
    catalog = {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}
    with tempfile.TemporaryDirectory() as work:
        config_path, catalog_path = Path(work, "config.json"), Path(work, "catalog.json")
        config_path.write_text(json.dumps({"deployment_url": dep.url, "access_key": dep.admin_key, **config}))
        catalog_path.write_text(json.dumps(catalog))
        started = time.monotonic()
        result = subprocess.run([str(DESTINATION), "write", "--config", str(config_path), "--catalog",
                                 str(catalog_path)], input=_input(records, pad), capture_output=True, timeout=900)
        errors = [json.loads(line)["trace"]["error"]["message"] for line in result.stdout.decode().splitlines()
                  if '"ERROR"' in line and line.startswith("{")]
        return result.returncode, time.monotonic() - started, " | ".join(errors)[:300]


def duplicates(args: argparse.Namespace) -> None:
    with LocalDeployment() as dep:
        dep.start()
        dep.faults.inject(route="import_airbyte_records", kind="503", when="partial", count=1)
        code, seconds, errors = _write(dep, args.records, 40, {})
        stored = [d["source_id"] for d in dep.documents("events")]
        sizes = [entry.params["messages"] for entry in dep.request_log.entries("import_airbyte_records")]
        print(f"exit {code} in {seconds:.1f} s; {len(sizes)} requests of at most {max(sizes)} messages; "
              f"rows sent {args.records}, stored {len(stored)}, stored twice {len(stored) - len(set(stored))}"
              + (f"; error: {errors}" if errors else ""))


def write_rate(args: argparse.Namespace) -> None:
    config = {} if args.rate is None else {"max_write_rate_mib_per_second": args.rate}
    with LocalDeployment() as dep:
        dep.start()
        with AppWriter(dep.url, dep.admin_key) as app:
            code, seconds, errors = _write(dep, args.records, args.pad, config)
        history = [(t, n) for t, n in dep.db.write_meter.history]
        imported = sum(n for _, n in history)
        span = history[-1][0] - history[0][0] if len(history) > 1 else seconds
        print(f"exit {code}; setting {args.rate if args.rate is not None else 'default'} MiB/s; "
              f"{imported / MIB:.1f} MiB written (Convex accounting) in {span:.1f} s = {imported / span / MIB:.2f} MiB/s; "
              f"busiest 1 s window {dep.db.write_meter.busiest_window_bytes() / MIB:.2f} MiB (limit 4 MiB); "
              f"app mutations failed {app.failed} of {app.tried}" + (f"; error: {errors}" if errors else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    dup = sub.add_parser("duplicates")
    dup.add_argument("--records", type=int, default=40_000)
    rate = sub.add_parser("write-rate")
    rate.add_argument("--records", type=int, default=60_000)
    rate.add_argument("--pad", type=int, default=200)
    rate.add_argument("--rate", type=float, default=None)
    args = parser.parse_args()
    duplicates(args) if args.what == "duplicates" else write_rate(args)


if __name__ == "__main__":
    main()
