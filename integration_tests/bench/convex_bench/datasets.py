"""The data every contender reads or writes, built once and reused.

- Snapshot tables: one table `bench` of N generated documents (~350 bytes as clean JSON:
  nested objects, arrays, int64, bytes, optional fields) in a SQLite file, written in-process
  with `LocalDeployment.generate` (16,000 documents per transaction) before any server opens
  it. Files are cached under `.work/bench/`, keyed by N and a fingerprint of the server's
  code, and every scenario serves a fresh copy, so no contender sees another's leftovers.
- Change-log tables (B2): 20 tables of generated documents, then (after the first syncs)
  a stream of single-document transactions — updates, inserts and deletes spread at random
  over the tables, as an app's mutations would make them.
- Destination input: N Airbyte RECORD messages of the same generated documents (bytes as
  base64, as a source emits them) with a STATE every 20,480 records (our source's cadence:
  20 pages of 1024), and the floor's request bodies built from the same records.
"""

from __future__ import annotations

import base64
import hashlib
import random
import shutil
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

import convex_local
from convex_local import LocalDeployment
from convex_local.seeding import document

from .contenders import REPO

CACHE = REPO / ".work" / "bench"
SNAPSHOT_TABLE = "bench"
DEST_STREAM = "bench"
STATE_EVERY = 20 * 1024
GENERATE_SEED = 7
# Bump when what a dataset holds changes in a way the server fingerprint cannot see.
DATASET_VERSION = "1"

MIB = 1 << 20
#: The destination's default batch size (`max_batch_size_mib`: 4).
DEST_BATCH_BYTES = 4 * MIB


#: The server's modules that decide what a seeded file holds (how it is served does not matter).
_STORAGE_MODULES = ("storage.py", "database.py", "values.py", "ids.py", "seeding.py", "deployment.py", "clock.py")


def _fingerprint() -> str:
    """Changes whenever the server's storage or generator code changes."""
    digest = hashlib.sha256(DATASET_VERSION.encode())
    folder = Path(convex_local.__file__).parent
    for name in _STORAGE_MODULES:
        path = folder / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]


def _cached(name: str, build: Any) -> Path:
    """`CACHE/<fingerprint>/<name>`, built by `build(tmp_path)` when missing."""
    folder = CACHE / _fingerprint()
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        build(tmp)
        tmp.rename(path)
    return path


def prune_cache() -> None:
    """Drop cached datasets of older server code."""
    keep = _fingerprint()
    if CACHE.exists():
        for folder in CACHE.iterdir():
            if folder.is_dir() and folder.name != keep:
                shutil.rmtree(folder, ignore_errors=True)


# -- snapshot tables --------------------------------------------------------------------------------

def snapshot_data(n: int, workdir: Path, log: Any = print) -> Path:
    """A fresh copy of a data file holding table `bench` with `n` documents."""

    def build(tmp: Path) -> None:
        started = time.perf_counter()
        dep = LocalDeployment(data=str(tmp))
        try:
            dep.generate(SNAPSHOT_TABLE, n, seed=GENERATE_SEED)
        finally:
            dep.stop()
        log(f"  seeded {n:,} documents in {time.perf_counter() - started:.1f} s (cached for later runs)")

    cached = _cached(f"snapshot-{n}.sqlite", build)
    copy = workdir / f"snapshot-{n}.sqlite"
    shutil.copyfile(cached, copy)
    return copy


def tiny_table(path: Path, n: int) -> None:
    """A fresh data file holding table `bench` with `n` documents (seeded in well under a second)."""
    dep = LocalDeployment(data=str(path))
    try:
        dep.generate(SNAPSHOT_TABLE, n, seed=GENERATE_SEED)
    finally:
        dep.stop()


# -- change-log tables (B2) ---------------------------------------------------------------------------

def change_tables(count: int) -> list[str]:
    return [f"t{index:02d}" for index in range(count)]


def seed_change_tables(path: Path, tables: list[str], per_table: int) -> None:
    dep = LocalDeployment(data=str(path))
    try:
        for index, table in enumerate(tables):
            dep.generate(table, per_table, seed=100 + index)
    finally:
        dep.stop()


def apply_changes(path: Path, tables: list[str], changes: int, seed: int = 11) -> tuple[int, int]:
    """`changes` single-document transactions spread over `tables`: 50% updates (a patch of a few
    fields), 30% inserts, 20% deletes. Returns the first and last commit timestamps."""
    rng = random.Random(seed)
    dep = LocalDeployment(data=str(path))
    try:
        live = {table: [doc["_id"] for doc in dep.documents(table)] for table in tables}
        first = last = 0
        for n in range(changes):
            table = tables[rng.randrange(len(tables))]
            ids = live[table]
            roll = rng.random()
            with dep.transaction() as tx:
                if roll < 0.3 or len(ids) < 2:
                    ids.append(tx.insert(table, document(rng, 1_000_000 + n, [])))
                elif roll < 0.8:
                    doc_id = ids[rng.randrange(len(ids))]
                    tx.patch(doc_id, {"score": round(rng.uniform(0, 1000), 3), "active": rng.random() < 0.5,
                                      "seq": 2_000_000 + n})
                else:
                    doc_id = ids.pop(rng.randrange(len(ids)))
                    tx.delete(doc_id)
                last = tx.ts
            first = first or last
        return first, last
    finally:
        dep.stop()


# -- destination input ------------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    """A generated document as a source emits it: bytes as base64 text."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


DEST_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string"},
        "seq": {"type": "integer"},
        "score": {"type": "number"},
        "active": {"type": "boolean"},
        "plan": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "zip": {"type": "string"},
                "geo": {"type": "object", "properties": {"lat": {"type": "number"}, "lng": {"type": "number"}}},
            },
        },
        "visits": {"type": "array", "items": {"type": "integer"}},
        "nickname": {"type": "string"},
        "avatar": {"type": "string"},
        "deletedAt": {"type": "null"},
    },
}
DEST_PRIMARY_KEY = [["seq"]]


def _messages(n: int) -> Iterator[bytes]:
    rng = random.Random(GENERATE_SEED)
    emitted_at = 1_750_000_000_000
    for index in range(n):
        data = _jsonable(document(rng, index, []))
        yield orjson.dumps({"type": "RECORD", "record": {"stream": DEST_STREAM, "data": data,
                                                         "emitted_at": emitted_at}})
        if (index + 1) % STATE_EVERY == 0 or index + 1 == n:
            yield orjson.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
                "stream_descriptor": {"name": DEST_STREAM}, "stream_state": {"seq": index}}}})


def destination_input(n: int) -> Path:
    """JSONL of `n` RECORD messages (and STATEs) for stream `bench` (cached)."""

    def build(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            for line in _messages(n):
                out.write(line + b"\n")

    return _cached(f"records-{n}.jsonl", build)


def import_bodies(lines: Iterable[bytes], table: str, primary_key: list[list[str]] | None,
                  json_schema: Any, max_bytes: int = DEST_BATCH_BYTES) -> Iterator[tuple[int, bytes]]:
    """(record count, body) of each import request for the RECORD lines among `lines`, the way the
    destination builds them: one `tables` entry, messages `{"tableName":..,"data":..}` serialized with
    orjson and joined, a new body whenever the next message would take it over `max_bytes`."""
    entry = orjson.dumps({table: {"primaryKey": primary_key, "jsonSchema": json_schema}})[1:-1]
    head = b'{"tables":{' + entry + b'},"messages":['
    prefix = b'{"tableName":' + orjson.dumps(table) + b',"data":'
    empty = len(head) + 2  # + the closing `]}`
    batch: list[bytes] = []
    size = empty
    for line in lines:
        message = orjson.loads(line)
        if message.get("type") != "RECORD":
            continue
        encoded = prefix + orjson.dumps(message["record"]["data"]) + b"}"
        if batch and size + 1 + len(encoded) > max_bytes:
            yield len(batch), head + b",".join(batch) + b"]}"
            batch, size = [], empty
        size += len(encoded) + (1 if batch else 0)
        batch.append(encoded)
    if batch:
        yield len(batch), head + b",".join(batch) + b"]}"


def floor_bodies(n: int, primary_key: list[list[str]] | None) -> Path:
    """The import bodies for `destination_input(n)`, one per line as `<record count> <body>` (cached)."""
    mode = "dedup" if primary_key else "append"

    def build(tmp: Path) -> None:
        with open(destination_input(n), "rb") as lines, open(tmp, "wb") as out:
            for count, body in import_bodies(lines, DEST_STREAM, primary_key, DEST_SCHEMA):
                out.write(str(count).encode() + b" " + body + b"\n")

    return _cached(f"bodies-{n}-{mode}.txt", build)
