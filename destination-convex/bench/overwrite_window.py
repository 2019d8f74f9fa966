"""How long an overwrite table is partly filled: from `clear_tables` to the last import.

    python destination-convex/bench/overwrite_window.py [--records 100000]

A local server in this process; `destination-convex write` as a subprocess fed one overwrite
stream (STARTED, the records, a STATE, COMPLETE) over a table holding 500 old documents. Prints
the wall time and the window between the server's log entries of the clear and the last import.
"""
from __future__ import annotations

import argparse
import json, subprocess, sys, tempfile, time
from pathlib import Path
import orjson
from convex_local import LocalDeployment
parser = argparse.ArgumentParser()
parser.add_argument("--records", type=int, default=100_000)
N = parser.parse_args().records
with LocalDeployment().started() as dep, tempfile.TemporaryDirectory() as tmp:
    for i in range(500): dep.insert("users", {"old": i})
    tmp = Path(tmp)
    (tmp / "c.json").write_text(json.dumps({"deployment_url": dep.url, "access_key": dep.admin_key}))
    (tmp / "k.json").write_text(json.dumps({"streams": [{"stream": {"name": "users", "json_schema": {}, "supported_sync_modes": ["full_refresh"]}, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}))
    lines = [orjson.dumps({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 0, "stream_status": {"stream_descriptor": {"name": "users"}, "status": "STARTED"}}})]
    for i in range(N):
        lines.append(orjson.dumps({"type": "RECORD", "record": {"stream": "users", "emitted_at": 0, "data": {"_id": f"id{i:08d}", "name": f"user {i}", "age": i % 90, "email": f"u{i}@example.com", "tags": ["a", "b"], "nested": {"x": i, "y": "zz" * 10}}}}))
    lines.append(orjson.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"c": 1}}}}))
    lines.append(orjson.dumps({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 0, "stream_status": {"stream_descriptor": {"name": "users"}, "status": "COMPLETE"}}}))
    started = time.monotonic()
    proc = subprocess.run([str(Path(sys.executable).parent / "destination-convex"), "write", "--config", str(tmp / "c.json"), "--catalog", str(tmp / "k.json")], input=b"\n".join(lines) + b"\n", capture_output=True)
    wall = time.monotonic() - started
    log = dep.request_log.entries()
    clear = [e.at_ns for e in log if e.route.endswith("clear_tables")]
    imports = [e.at_ns for e in log if e.route.endswith("import_airbyte_records")]
    print(f"rc={proc.returncode} docs={len(dep.documents('users'))} wall={wall:.1f}s window(clear -> last import logged)={(max(imports) - clear[0]) / 1e9:.1f}s imports={len(imports)}")
