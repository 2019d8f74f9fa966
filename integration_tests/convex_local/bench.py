"""Benchmark (not a test): one 1024-document list_snapshot page of ~300-byte documents, end to end.

The server runs as its own process (`python -m convex_local serve`) on a SQLite file seeded
beforehand; this process times requests over one keep-alive HTTP/1.1 connection and prints
median / p95 milliseconds. Run: `make bench-server` or `python -m convex_local.bench`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from .deployment import LocalDeployment

TARGET_MS = 20.0


def _document(rng: random.Random, i: int) -> dict:
    return {
        "name": f"User Number {i}",
        "email": f"user{i}@example.com",
        "age": float(rng.randint(18, 90)),
        "score": round(rng.uniform(0, 1000), 3),
        "active": rng.random() < 0.5,
        "tags": rng.sample(["alpha", "beta", "gamma", "delta", "omega"], 2),
        "address": {"city": rng.choice(["Oslo", "Lima", "Osaka"]), "zip": f"{rng.randint(0, 99999):05d}"},
        "bio": "x" * rng.randint(45, 65),
    }


def seed(path: str, n: int) -> float:
    """Fill a SQLite file with `n` documents; returns their mean clean-JSON size in bytes."""
    dep = LocalDeployment(data=path, seed=1)
    rng = random.Random(1)
    with dep.transaction() as tx:
        for i in range(n):
            tx.insert("bench", _document(rng, i))
    tablet = dep.db.current_tablet("", "bench")
    assert tablet is not None
    rows = dep.db.store.snapshot_rows(tablet.tablet, "", dep.db.read_ts(), 1024)
    dep.stop()
    return sum(len(r[2].encode()) for r in rows) / len(rows)


def run(n_docs: int, rounds: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.sqlite")
        mean_size = seed(path, n_docs)
        proc = subprocess.Popen(
            [sys.executable, "-m", "convex_local", "serve", "--port", "0", "--data", path],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            info = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
            url = urlsplit(info["url"])
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            headers = {"Authorization": "Convex " + info["admin_key"], "Convex-Client": "bench-1.0.0"}

            def get(params: dict) -> tuple[float, dict, int]:
                t = time.perf_counter()
                conn.request("GET", "/api/list_snapshot?" + urlencode(params), headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                elapsed = (time.perf_counter() - t) * 1000
                assert resp.status == 200, body[:300]
                return elapsed, json.loads(body), len(body)

            _, first, _ = get({})  # warm up; pins the snapshot
            snapshot = first["snapshot"]
            same_page = [get({"snapshot": snapshot}) for _ in range(rounds)]
            times = [t for t, _, _ in same_page]
            assert all(len(p["values"]) == 1024 for _, p, _ in same_page)
            paging = []
            cursor = first["cursor"]
            while cursor:
                t, page, _ = get({"snapshot": snapshot, "cursor": cursor})
                paging.append((t, len(page["values"])))
                cursor = page["cursor"]
            conn.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)

    times.sort()
    median = statistics.median(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    page_bytes = same_page[0][2]
    full_pages = [t for t, n in paging if n == 1024]
    print(f"documents: {n_docs}, mean document size {mean_size:.0f} bytes (clean JSON)")
    print(f"one 1024-document page ({page_bytes} bytes), {rounds} requests over one keep-alive connection:")
    print(f"  median {median:.2f} ms   p95 {p95:.2f} ms   min {times[0]:.2f} ms   max {times[-1]:.2f} ms")
    if full_pages:
        print(f"paging through the rest: {len(paging)} pages, median {statistics.median(full_pages):.2f} ms per full page,"
              f" {sum(n for _, n in paging) / (sum(t for t, _ in paging) / 1000):.0f} documents/s")
    verdict = "OK" if median < TARGET_MS else "SLOW"
    print(f"target: median well under {TARGET_MS:.0f} ms -> {verdict}")
    return 0 if verdict == "OK" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convex_local.bench", description=__doc__)
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args(argv)
    return run(args.documents, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
