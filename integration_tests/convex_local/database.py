"""The deployment's data: tables, transactions, timestamps, and the caches built on storage.

All access goes through one re-entrant lock (one SQLite connection, correctness first). A
transaction holds the lock from start to commit, so it knows its timestamp up front:
`_ts` is strictly increasing per transaction, never equal to a timestamp already handed to a
reader, even when the clock is set back.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from . import ids, shapes
from .clock import Clock
from .errors import ApiError
from .settings import Settings
from .size import MAX_DOCUMENT_SIZE, system_fields_size, value_size, write_bytes
from .storage import DELETE, INSERT, UPDATE, Store, Tablet
from .values import check_document_fields, dumps, render_document, stored_to_python, to_encoded
from .write_meter import WriteMeter

SYSTEM_FIELDS = ("_id", "_creationTime")


class MissingKeyValue(Exception):
    """A primary-key field path has no value in a record."""


def value_at(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = doc
    for part in path:
        if not isinstance(cur, dict) or part not in cur:
            raise MissingKeyValue(".".join(path))
        cur = cur[part]
    return cur


def key_text(doc: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> str:
    """An exact-match key (int64 1 and float64 1.0 differ, as in Convex indexes)."""
    return dumps([to_encoded(value_at(doc, p)) for p in paths])


@dataclass
class PkCache:
    """Current documents of one tablet by primary-key value."""

    paths: tuple[tuple[str, ...], ...]
    keys: dict[str, set[str]]


@dataclass
class Write:
    tablet: str
    kind: int
    fields: dict[str, Any] | None
    clean: str | None
    encoded: str | None
    creation_time: float | None = None
    export: str | None = None


@dataclass
class PendingTablet:
    tablet: str
    component: str
    name: str
    number: int


class Transaction:
    """Writes that commit together at one timestamp. Use through Database.transaction()."""

    def __init__(self, db: "Database", ts: int) -> None:
        self._db = db
        self.ts = ts
        self.writes: dict[str, Write] = {}
        self.new_tablets: dict[tuple[str, str], PendingTablet] = {}
        self.deleted_tablets: list[str] = []
        # Convex's accounting: document sizes written (the 16 MiB limit), write-throughput bytes,
        # and index intervals read by primary-key lookups (the 4,096 limit).
        self.nbytes = 0
        self.meter_bytes = 0
        self.read_intervals = 0
        self.write_ops = 0
        self._pk_indexed: dict[str, bool] = {}
        # Primary-key index entries changed by this transaction: (tablet, key) -> ids.
        self.pk_overlay: dict[tuple[str, str], set[str]] = {}
        self.pk_maintained: set[str] = set()
        self._pk_seen: dict[str, PkCache] = {}

    @property
    def write_count(self) -> int:
        return len(self.writes)

    # -- tables ---------------------------------------------------------------------------------
    def table(self, name: str, component: str = "", create: bool = True) -> tuple[str, int] | None:
        """(tablet, table number) of the active table, creating it in this transaction if asked."""
        pending = self.new_tablets.get((component, name))
        if pending:
            return pending.tablet, pending.number
        t = self._db.current_tablet(component, name)
        if t is not None and t.tablet not in self.deleted_tablets:
            return t.tablet, t.number
        if not create:
            return None
        number = t.number if t is not None else self._db.allocate_table_number()
        pending = PendingTablet(self._db.ids.new_tablet_id(), component, name, number)
        self.new_tablets[(component, name)] = pending
        return pending.tablet, pending.number

    def replace_table(self, name: str, component: str = "") -> str:
        """Start a new, empty incarnation of the table (what clear_tables does)."""
        old = self.table(name, component, create=False)
        if old is not None:
            if (component, name) in self.new_tablets:
                del self.new_tablets[(component, name)]
                for doc_id in [i for i, w in self.writes.items() if w.tablet == old[0]]:
                    del self.writes[doc_id]
            else:
                self.deleted_tablets.append(old[0])
        tablet, _ = self.table(name, component, create=True)  # type: ignore[misc]
        return tablet

    def drop_table(self, name: str, component: str = "") -> None:
        old = self.table(name, component, create=False)
        if old is None:
            raise ApiError(404, "TableNotFound", f"Table {name!r} does not exist")
        if (component, name) in self.new_tablets:
            del self.new_tablets[(component, name)]
        else:
            self.deleted_tablets.append(old[0])

    # -- documents ------------------------------------------------------------------------------
    def _render(
        self, doc_id: str, creation_time: float, fields: dict[str, Any], plain: bool | None, size: int | None
    ) -> tuple[str, str | None, str | None, int]:
        """Rendered texts and Convex size of the document; 400 ValueTooLargeError over 1 MiB."""
        size = (value_size(fields) if size is None else size) + system_fields_size(doc_id)
        if size > MAX_DOCUMENT_SIZE:
            raise ApiError(
                400, "ValueTooLargeError", f"Value is too large ({size / 1024:.1f} KiB > maximum size 1 MiB)"
            )
        doc = dict(fields)
        doc["_id"] = doc_id
        doc["_creationTime"] = creation_time
        clean, encoded, export = render_document(doc, plain)
        return clean, encoded, export, size

    def _count_write(self, size: int, update: bool, tablet: str) -> None:
        self.write_ops += 1
        self.nbytes += size
        indexed = self._pk_indexed.get(tablet)
        if indexed is None:
            indexed = self._pk_indexed[tablet] = self._db.has_pk_index(tablet)
        indexes = 3 if indexed else 2
        self.meter_bytes += write_bytes(size, update=update, indexes=indexes)

    def insert(
        self,
        table: str,
        fields: dict[str, Any],
        component: str = "",
        checked: bool = False,
        plain: bool | None = None,
        size: int | None = None,
    ) -> str:
        """Insert a document; `checked`/`plain`/`size` (of the fields) let import skip work it already did."""
        if not checked:
            check_document_fields(fields)
        tablet, number = self.table(table, component)  # type: ignore[misc]
        doc_id = self._db.ids.new_document_id(number)
        creation_time = self.ts / 1e6
        clean, encoded, export, size = self._render(doc_id, creation_time, fields, plain, size)
        self.writes[doc_id] = Write(tablet, INSERT, dict(fields), clean, encoded, creation_time, export)
        self._count_write(size, False, tablet)
        return doc_id

    def _locate(self, doc_id: str) -> tuple[str, dict[str, Any] | None, float | None]:
        """(tablet, current fields or None, creation time) of a document as this transaction sees it."""
        w = self.writes.get(doc_id)
        if w is not None:
            return w.tablet, (w.fields if w.kind != DELETE else None), w.creation_time
        number = ids.table_number_of(doc_id)
        if number is None:
            raise ApiError(400, "InvalidId", f"Invalid ID: {doc_id!r}")
        t = self._db.tablet_by_number(number)
        if t is None or t.tablet in self.deleted_tablets:
            return "", None, None
        rev = self._db.store.latest(t.tablet, doc_id)
        if rev is None or rev.kind == DELETE:
            return t.tablet, None, None
        doc = stored_to_python(rev.clean, rev.encoded)  # type: ignore[arg-type]
        creation_time = doc.pop("_creationTime")
        doc.pop("_id")
        return t.tablet, doc, creation_time

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The document (with _id and _creationTime) as this transaction sees it, or None."""
        _, fields, creation_time = self._locate(doc_id)
        if fields is None:
            return None
        return {"_id": doc_id, "_creationTime": creation_time, **fields}

    def replace(
        self,
        doc_id: str,
        fields: dict[str, Any],
        checked: bool = False,
        plain: bool | None = None,
        size: int | None = None,
    ) -> None:
        if not checked:
            check_document_fields(fields)
        tablet, old, creation_time = self._locate(doc_id)
        if old is None or creation_time is None:
            raise ApiError(404, "DocumentNotFound", f"Document {doc_id} does not exist")
        clean, encoded, export, size = self._render(doc_id, creation_time, fields, plain, size)
        prior = self.writes.get(doc_id)
        kind = INSERT if prior is not None and prior.kind == INSERT else UPDATE
        self.writes[doc_id] = Write(tablet, kind, dict(fields), clean, encoded, creation_time, export)
        self._count_write(size, True, tablet)

    def patch(self, doc_id: str, fields: dict[str, Any]) -> None:
        current = self.get(doc_id)
        if current is None:
            raise ApiError(404, "DocumentNotFound", f"Document {doc_id} does not exist")
        merged = {k: v for k, v in current.items() if k not in SYSTEM_FIELDS}
        merged.update(fields)
        self.replace(doc_id, merged)

    def delete(self, doc_id: str) -> None:
        tablet, old, _ = self._locate(doc_id)
        if old is None:
            raise ApiError(404, "DocumentNotFound", f"Document {doc_id} does not exist")
        prior = self.writes.get(doc_id)
        if prior is not None and prior.kind == INSERT:
            del self.writes[doc_id]  # inserted and deleted in one transaction: no revision at all
        else:
            self.writes[doc_id] = Write(tablet, DELETE, None, None, None)
        self._count_write(0, True, tablet)

    # -- primary-key lookups (import) -------------------------------------------------------------
    def pk_lookup(self, tablet: str, key: str) -> set[str]:
        self.read_intervals += 1
        found = self.pk_overlay.get((tablet, key))
        if found is not None:
            return found
        cache = self._pk_seen.get(tablet)
        if cache is None:
            cache = self._pk_seen[tablet] = self._db.pk_cache(tablet)
        return cache.keys.get(key, set())

    def pk_set(self, tablet: str, key: str, ids_: set[str]) -> None:
        self.pk_maintained.add(tablet)
        self.pk_overlay[(tablet, key)] = ids_


class Database:
    """Tables, documents and timestamps of one deployment."""

    def __init__(self, path: str, clock: Clock, settings: Settings, seed: int | None) -> None:
        self.lock = threading.RLock()
        self.store = Store(path)
        self.clock = clock
        self.settings = settings
        self._tablets: dict[str, Tablet] = {t.tablet: t for t in self.store.tablets()}
        self._last_ts = self.store.max_ts()
        self._last_read_ts = 0
        numbers = [t.number for t in self._tablets.values()]
        self._next_number = max(numbers) + 1 if numbers else ids.FIRST_USER_TABLE_NUMBER
        # A reopened file must not replay the ids it already handed out.
        self.ids = ids.IdSource(seed if not self._tablets or seed is None else hash((seed, self._last_ts)))
        self._shape_cache: dict[str, tuple[int, shapes.Shape]] = {}
        self._pk_caches: dict[str, PkCache] = {}
        self.write_meter = WriteMeter()

    def close(self) -> None:
        with self.lock:
            self.store.close()

    # -- time -----------------------------------------------------------------------------------
    def read_ts(self) -> int:
        """A timestamp that sees every commit so far; later commits get a larger one."""
        with self.lock:
            ts = max(self.clock.now_ns(), self._last_ts, self._last_read_ts)
            self._last_read_ts = ts
            return ts

    @property
    def last_commit_ts(self) -> int:
        return self._last_ts

    # -- tables ---------------------------------------------------------------------------------
    def allocate_table_number(self) -> int:
        number = self._next_number
        self._next_number += 1
        return number

    def all_tablets(self) -> list[Tablet]:
        return sorted(self._tablets.values(), key=lambda t: t.tablet)

    def tablets_at(self, ts: int) -> list[Tablet]:
        """Tables active at `ts`, in list_snapshot order (by tablet id)."""
        return [t for t in self.all_tablets() if t.active_at(ts)]

    def current_tablet(self, component: str, name: str) -> Tablet | None:
        for t in self._tablets.values():
            if t.deleted_ts is None and t.component == component and t.name == name:
                return t
        return None

    def tablet_by_number(self, number: int) -> Tablet | None:
        for t in self._tablets.values():
            if t.deleted_ts is None and t.number == number:
                return t
        return None

    def tablet(self, tablet: str) -> Tablet | None:
        return self._tablets.get(tablet)

    def table_name_of_number(self, number: int) -> str | None:
        t = self.tablet_by_number(number)
        return t.name if t else None

    def number_exists(self, number: int) -> bool:
        return self.tablet_by_number(number) is not None

    def components(self) -> list[str]:
        with self.lock:
            return self.store.components()

    def add_component(self, path: str) -> None:
        with self.lock:
            self.store.add_component(path)

    # -- transactions -----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Commit on normal exit, discard on an exception."""
        with self.lock:
            tx = self.begin()
            try:
                yield tx
            except BaseException:
                self.abort(tx)
                raise
            self.commit(tx)

    def begin(self) -> Transaction:
        self.lock.acquire()
        ts = max(self.clock.now_ns(), self._last_ts + 1, self._last_read_ts + 1)
        return Transaction(self, ts)

    def abort(self, tx: Transaction) -> None:
        self.lock.release()

    def commit(self, tx: Transaction) -> None:
        try:
            if not tx.writes and not tx.new_tablets and not tx.deleted_tablets:
                return
            ts = tx.ts
            new = [
                Tablet(p.tablet, p.component, p.name, p.number, ts, None) for p in tx.new_tablets.values()
            ]
            store = self.store
            self.write_meter.record(tx.meter_bytes)
            store.begin()
            try:
                for tablet in tx.deleted_tablets:
                    store.delete_tablet(tablet, ts)
                for t in new:
                    store.add_tablet(t)
                store.add_revisions(
                    (w.tablet, doc_id, ts, w.kind, w.clean, w.encoded, w.export) for doc_id, w in tx.writes.items()
                )
                store.commit()
            except BaseException:
                store.rollback()
                raise
            for tablet in tx.deleted_tablets:
                old = self._tablets[tablet]
                self._tablets[tablet] = Tablet(old.tablet, old.component, old.name, old.number, old.created_ts, ts)
                self._pk_caches.pop(tablet, None)
                self._shape_cache.pop(tablet, None)
            for t in new:
                self._tablets[t.tablet] = t
            previous_ts = self._last_ts
            self._last_ts = ts
            self._apply_pk_changes(tx)
            self._apply_shape_changes(tx, previous_ts, {t.tablet for t in new})
        finally:
            self.lock.release()

    def _apply_shape_changes(self, tx: Transaction, previous_ts: int, new_tablets: set[str]) -> None:
        """Keep table shapes current through inserts, so json_schemas stays cheap on big tables.

        A cached shape is extended only when it was current before this commit (or the table is
        new); updates and deletes drop it, and the next json_schemas recomputes it exactly.
        """
        inserts: dict[str, list[Write]] = {}
        dirty: set[str] = set()
        for w in tx.writes.values():
            if w.kind == INSERT:
                inserts.setdefault(w.tablet, []).append(w)
            else:
                dirty.add(w.tablet)
        for tablet in dirty:
            self._shape_cache.pop(tablet, None)
        for tablet, writes in inserts.items():
            if tablet in dirty:
                continue
            if tablet in new_tablets:
                shape: shapes.Shape = shapes.NEVER
            else:
                cached = self._shape_cache.get(tablet)
                if cached is None or cached[0] < previous_ts:
                    self._shape_cache.pop(tablet, None)
                    continue
                shape = cached[1]
            number = self._tablets[tablet].number
            for w in writes:
                shape = shapes.union(shape, shapes.document_shape(w.fields, number, self.number_exists))  # type: ignore[arg-type]
            self._shape_cache[tablet] = (tx.ts, shape)

    def _apply_pk_changes(self, tx: Transaction) -> None:
        touched = {w.tablet for w in tx.writes.values()}
        for tablet in touched - tx.pk_maintained:
            self._pk_caches.pop(tablet, None)
        for (tablet, key), found in tx.pk_overlay.items():
            cache = self._pk_caches.get(tablet)
            if cache is None:
                continue
            if found:
                cache.keys[key] = found
            else:
                cache.keys.pop(key, None)

    # -- reads ----------------------------------------------------------------------------------
    def iter_documents(self, tablet: str, at_ts: int, batch: int = 4096) -> Iterator[dict[str, Any]]:
        after = ""
        while True:
            rows = self.store.snapshot_rows(tablet, after, at_ts, batch)
            for doc_id, _ts, clean, encoded, _export in rows:
                yield stored_to_python(clean, encoded)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def documents(self, name: str, component: str = "") -> list[dict[str, Any]]:
        with self.lock:
            t = self.current_tablet(component, name)
            if t is None:
                return []
            return list(self.iter_documents(t.tablet, self.read_ts()))

    def get(self, doc_id: str) -> dict[str, Any] | None:
        with self.transaction() as tx:
            return tx.get(doc_id)

    # -- primary-key caches -----------------------------------------------------------------------
    def has_pk_index(self, tablet: str) -> bool:
        t = self._tablets.get(tablet)
        return t is not None and self.store.pk_index(t.component, t.name) is not None

    def pk_paths(self, component: str, name: str) -> tuple[tuple[tuple[str, ...], ...], float] | None:
        found = self.store.pk_index(component, name)
        if found is None:
            return None
        fields, ready_at = found
        return tuple(tuple(p) for p in json.loads(fields)), ready_at

    def pk_cache(self, tablet: str) -> PkCache:
        """Current documents of a tablet keyed by its primary-key index (built on first use)."""
        with self.lock:
            cache = self._pk_caches.get(tablet)
            t = self._tablets.get(tablet)
            paths: tuple = ()
            if t is not None:
                found = self.pk_paths(t.component, t.name)
                paths = found[0] if found else ()
            if cache is not None and cache.paths == paths:
                return cache
            keys: dict[str, set[str]] = {}
            if t is not None and paths:
                for doc in self.iter_documents(tablet, max(self._last_ts, self._last_read_ts)):
                    try:
                        k = key_text(doc, paths)
                    except MissingKeyValue:
                        continue
                    keys.setdefault(k, set()).add(doc["_id"])
            cache = PkCache(paths, keys)
            self._pk_caches[tablet] = cache
            return cache

    # -- shapes ---------------------------------------------------------------------------------
    def table_shape(self, tablet: str, at_ts: int) -> shapes.Shape:
        """The inferred shape of a table's current documents (cached, extended on inserts)."""
        with self.lock:
            cached = self._shape_cache.get(tablet)
            exists = self.number_exists
            number = self._tablets[tablet].number
            if cached is not None:
                as_of, shape = cached
                later = self.store.tablet_revisions_since(tablet, as_of)
                if not later:
                    return shape
                if all(kind == INSERT for kind, _, _ in later):
                    for _, clean, encoded in later:
                        doc = stored_to_python(clean, encoded)  # type: ignore[arg-type]
                        shape = shapes.union(shape, shapes.document_shape(doc, number, exists))
                    self._shape_cache[tablet] = (at_ts, shape)
                    return shape
            shape = shapes.NEVER
            for doc in self.iter_documents(tablet, at_ts):
                shape = shapes.union(shape, shapes.document_shape(doc, number, exists))
            self._shape_cache[tablet] = (at_ts, shape)
            return shape
