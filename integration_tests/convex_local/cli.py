"""`convex-local serve`: run a local deployment as its own process.

Prints one JSON line `{"url": ..., "admin_key": ..., "read_only_key": ...}` on stdout once it
listens, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Sequence

from .deployment import LocalDeployment
from .settings import Settings


def seed_demo(dep: LocalDeployment) -> None:
    """A small, varied dataset: tables with references, a component, an empty table."""
    if dep.table_names():
        return  # a reopened file keeps its data
    dep.generate("users", 200, seed=1)
    dep.generate("posts", 500, seed=2)
    dep.create_table("audit_log")
    dep.generate("entries", 20, seed=3, component="waitlist")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convex-local", description="A local Convex-compatible deployment.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a deployment over HTTP until SIGTERM/SIGINT")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (0: an ephemeral port)")
    serve.add_argument("--data", default=":memory:", help="SQLite file, or :memory: (default)")
    serve.add_argument("--seed", type=int, default=0, help="seed for ids and table order")
    serve.add_argument("--seed-demo", action="store_true", help="fill an empty deployment with demo data")
    serve.add_argument("--admin-key", help="use this admin key instead of a new (or stored) one")
    serve.add_argument("--read-only-key", help="use this read-only key instead of a new (or stored) one")
    serve.add_argument("--latency-s", type=float, default=0.0, help="fixed latency added to every request")
    serve.add_argument("--no-streaming-export", action="store_true", help="answer 403 StreamingExportNotEnabled")
    serve.add_argument("--ignore-table-name", action="store_true", help="ignore `tableName` like older backends")
    serve.add_argument("--index-backfill-delay-s", type=float, default=0.0)
    serve.add_argument("--max-write-bytes-per-s", type=float, default=4 * 1024 * 1024,
                       help="write-throughput window: app mutations fail with TooManyWrites above it")
    serve.add_argument("--page-delay-s", type=float, default=0.0,
                       help="latency added to each page of list_snapshot, document_deltas and data sync")
    serve.add_argument("--page-render", choices=("stored", "generic"), default="stored",
                       help="generic: render every document value by value (a slower server)")
    serve.add_argument("--log-level", default="WARNING", help="server log level on stderr (routes only, never keys)")
    return parser


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    settings = Settings(
        streaming_export_enabled=not args.no_streaming_export,
        ignore_table_name=args.ignore_table_name,
        index_backfill_delay_s=args.index_backfill_delay_s,
        max_write_bytes_per_s=args.max_write_bytes_per_s,
        latency_s=args.latency_s,
        page_delay_s=args.page_delay_s,
        page_render=args.page_render,
    )
    dep = LocalDeployment(
        data=args.data, settings=settings, seed=args.seed, admin_key=args.admin_key, read_only_key=args.read_only_key
    )
    if args.seed_demo:
        seed_demo(dep)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    dep.start(args.host, args.port)
    try:
        print(json.dumps({"url": dep.url, "admin_key": dep.admin_key, "read_only_key": dep.read_only_key}), flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        dep.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
