"""The floor: the least a client can do to move the same data over the same wire.

Run as its own process by the bench (`python floor.py <mode> <job.json>`), like a connector,
so its wall time and peak RSS are measured the same way. It imports nothing but `requests`
and `orjson`, keeps one `requests.Session`, and emits nothing but one summary line:
`{"type":"FLOOR","records":N,"requests":M}`.

Modes:
- `snapshot`: `GET /api/list_snapshot` for one table in the format our source asks for,
  until `hasMore` is false, decoding every page with orjson;
- `snapshots`: `snapshot` for each of several tables, `threads` tables at a time on as many
  threads (each thread its own session), as a connector reading tables in parallel would;
- `deltas`: `GET /api/document_deltas` (every table, our source's format) from a cursor until
  `hasMore` is false, decoding every page;
- `import`: for dedup, create the primary-key index and wait until it is ready (as any
  importer must), then `POST /api/streaming_import/import_airbyte_records` with each
  pre-built body of a file (one body per line), sequentially.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import orjson
import requests

CLIENT = {"export": "airbyte-export-1.0.0", "import": "streaming-import-1.0.0"}
TIMEOUT_S = 600


def _session(job: dict[str, Any], client: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Convex {job['access_key']}"
    session.headers["Convex-Client"] = client
    return session


def _ok(response: requests.Response) -> requests.Response:
    if response.status_code != 200:
        raise SystemExit(f"floor: {response.request.method} {response.url.split('?')[0]} answered "
                         f"{response.status_code} {response.text[:300]}")
    return response


def _page_through(job: dict[str, Any], route: str, params: dict[str, str],
                  advance: Callable[[dict[str, Any], dict[str, str]], None]) -> tuple[int, int]:
    """GET pages of `route` until `hasMore` is false; `advance` sets the next page's params."""
    session = _session(job, CLIENT["export"])
    url = job["deployment_url"] + route
    records = requests_made = 0
    while True:
        page = orjson.loads(_ok(session.get(url, params=params, timeout=TIMEOUT_S)).content)
        requests_made += 1
        records += len(page["values"])
        if not page["hasMore"]:
            return records, requests_made
        advance(page, params)


def snapshot(job: dict[str, Any]) -> tuple[int, int]:
    def advance(page: dict[str, Any], params: dict[str, str]) -> None:
        params["snapshot"] = str(page["snapshot"])
        params["cursor"] = page["cursor"]

    return _page_through(job, "/api/list_snapshot", {"format": job["format"], "table_name": job["table"]}, advance)


def snapshots(job: dict[str, Any]) -> tuple[int, int]:
    with ThreadPoolExecutor(max_workers=job["threads"]) as pool:
        done = list(pool.map(snapshot, [{**job, "table": table} for table in job["tables"]]))
    return sum(records for records, _ in done), sum(requests_made for _, requests_made in done)


def deltas(job: dict[str, Any]) -> tuple[int, int]:
    def advance(page: dict[str, Any], params: dict[str, str]) -> None:
        params["cursor"] = str(page["cursor"])

    return _page_through(job, "/api/document_deltas", {"format": job["format"], "cursor": str(job["cursor"])}, advance)


def import_records(job: dict[str, Any]) -> tuple[int, int]:
    session = _session(job, CLIENT["import"])
    base = job["deployment_url"] + "/api/streaming_import"
    json_headers = {"Content-Type": "application/json"}
    requests_made = 0
    if job.get("primary_key"):
        table = job["table"]
        body = orjson.dumps({"indexes": {table: job["primary_key"]}})
        _ok(session.put(base + "/add_primary_key_indexes", data=body, headers=json_headers, timeout=TIMEOUT_S))
        requests_made += 1
        ready_body = orjson.dumps({"tables": [table]})
        while True:
            answer = _ok(session.get(base + "/primary_key_indexes_ready", data=ready_body, headers=json_headers,
                                     timeout=TIMEOUT_S))
            requests_made += 1
            if orjson.loads(answer.content)["indexesReady"]:
                break
            time.sleep(0.1)
    records = 0
    url = base + "/import_airbyte_records"
    with open(job["bodies"], "rb") as bodies:
        for line in bodies:
            count, _, body = line.rstrip(b"\n").partition(b" ")
            _ok(session.post(url, data=body, headers=json_headers, timeout=TIMEOUT_S))
            requests_made += 1
            records += int(count)
    return records, requests_made


MODES = {"snapshot": snapshot, "snapshots": snapshots, "deltas": deltas, "import": import_records}


def main(argv: list[str]) -> int:
    mode, job_path = argv
    with open(job_path, "rb") as job_file:
        job = orjson.loads(job_file.read())
    records, requests_made = MODES[mode](job)
    sys.stdout.write(orjson.dumps({"type": "FLOOR", "records": records, "requests": requests_made}).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
