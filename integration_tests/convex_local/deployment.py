"""LocalDeployment: one Convex-compatible deployment (storage, HTTP server, test controls)."""

from __future__ import annotations

import logging
import random
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from . import auth, seeding
from .clock import Clock
from .database import Database, Transaction
from .errors import ApiError
from .faults import Faults
from .functions import FunctionRegistry
from .http_server import make_server
from .request_log import RequestLog
from .settings import Settings

log = logging.getLogger("convex_local")
#: Waits between a mutation's write-throughput checks (UDF_EXECUTOR_OCC_MAX_RETRIES = 4), then none.
MUTATION_BACKOFF_S = (0.01, 0.02, 0.04, 0.08, None)


class TransactionHandle:
    """The seeding view of a transaction: insert / replace / patch / delete / get."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    @property
    def ts(self) -> int:
        return self._tx.ts

    def insert(self, table: str, value: dict[str, Any], component: str = "") -> str:
        return self._tx.insert(table, value, component)

    def replace(self, doc_id: str, value: dict[str, Any]) -> None:
        self._tx.replace(doc_id, value)

    def patch(self, doc_id: str, fields: dict[str, Any]) -> None:
        self._tx.patch(doc_id, fields)

    def delete(self, doc_id: str) -> None:
        self._tx.delete(doc_id)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        return self._tx.get(doc_id)


class LocalDeployment:
    """Storage and logic of a local deployment; `start()` serves it over HTTP."""

    def __init__(
        self,
        data: str = ":memory:",
        settings: Settings | None = None,
        seed: int | None = 0,
        admin_key: str | None = None,
        read_only_key: str | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.clock = Clock()
        self.db = Database(data, self.clock, self.settings, seed)
        # A file keeps its keys, so a restarted server answers to the same ones.
        self.admin_key = admin_key or self._stored_key("admin_key")
        self.read_only_key = read_only_key or self._stored_key("read_only_key")
        self.keys = auth.KeyChecker(self.admin_key, self.read_only_key)
        self.faults = Faults()
        self.request_log = RequestLog()
        self.functions = FunctionRegistry(self)  # the Functions API's deployed functions
        from .control import ControlRoutes

        self.control = ControlRoutes(self)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _stored_key(self, name: str) -> str:
        with self.db.lock:
            key = self.db.store.get_meta(name)
            if key is None:
                key = auth.new_key()
                self.db.store.set_meta(name, key)
            return key

    def __repr__(self) -> str:  # never show keys
        return f"LocalDeployment(url={self.url if self._server else None!r})"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> "LocalDeployment":
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = make_server(host, port, self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="convex-local", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None
        self.db.close()

    @contextmanager
    def started(self, host: str = "127.0.0.1", port: int = 0) -> Iterator["LocalDeployment"]:
        self.start(host, port)
        try:
            yield self
        finally:
            self.stop()

    def __enter__(self) -> "LocalDeployment":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the deployment is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- seeding --------------------------------------------------------------------------------
    def create_table(self, name: str, component: str = "") -> None:
        """Create an empty table (no-op if it exists)."""
        with self.db.transaction() as tx:
            tx.table(name, component)

    def delete_table(self, name: str, component: str = "") -> None:
        """Delete a table; its change-log rows are then skipped by document_deltas."""
        with self.db.transaction() as tx:
            tx.drop_table(name, component)

    def clear_table(self, name: str, component: str = "") -> None:
        """What clear_tables does: a new, empty incarnation of the table."""
        with self.db.transaction() as tx:
            tx.replace_table(name, component)

    def add_component(self, path: str) -> None:
        """Register a component (json_schemas?byComponent=true lists it even without tables)."""
        self.db.add_component(path)

    def insert(self, table: str, value: dict[str, Any], component: str = "") -> str:
        """Insert one document in its own transaction; returns its `_id`."""
        with self.db.transaction() as tx:
            return tx.insert(table, value, component)

    def app_mutation_insert(self, table: str, value: dict[str, Any]) -> str:
        """An app mutation's one insert: refused with 429 TooManyWrites while the deployment's write
        window is over its limit (after the mutation runner's 4 retries with backoff)."""
        limit = self.settings.max_write_bytes_per_s
        for delay in MUTATION_BACKOFF_S:
            try:
                self.db.write_meter.check(limit)
                break
            except ApiError:
                if delay is None:
                    raise
                time.sleep(delay)
        return self.insert(table, value)

    @contextmanager
    def transaction(self) -> Iterator[TransactionHandle]:
        """One transaction (one `_ts`): committed on normal exit, discarded on an exception.

        It holds the deployment's lock until it ends: do not call this deployment's HTTP API
        from inside the `with` block (the request would wait for the transaction).
        """
        with self.db.transaction() as tx:
            yield TransactionHandle(tx)

    def generate(self, table: str, n: int, seed: int = 0, component: str = "", batch: int = 16_000) -> list[str]:
        """Insert `n` realistic documents (transactions of up to `batch`); returns their ids.

        Documents reference ids of another table of the same component when one has documents.
        """
        rng = random.Random(seed)
        refs: list[str] = []
        for other in self.table_names(component):
            if other != table:
                refs = self._some_ids(other, component, 200)
                if refs:
                    break
        out: list[str] = []
        while len(out) < n:
            with self.db.transaction() as tx:
                for i in range(len(out), min(n, len(out) + batch)):
                    out.append(tx.insert(table, seeding.document(rng, i, refs), component, checked=True))
        return out

    def _some_ids(self, table: str, component: str, limit: int) -> list[str]:
        with self.db.lock:
            t = self.db.current_tablet(component, table)
            if t is None:
                return []
            return [row[0] for row in self.db.store.snapshot_rows(t.tablet, "", self.db.read_ts(), limit)]

    def documents(self, table: str, component: str = "") -> list[dict[str, Any]]:
        """Current documents (with `_id`, `_creationTime`) as Python values, in id order."""
        return self.db.documents(table, component)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        return self.db.get(doc_id)

    def table_names(self, component: str | None = None) -> list[str]:
        """Names of the active tables of a component (all components when None)."""
        with self.db.lock:
            tablets = self.db.tablets_at(self.db.read_ts())
        return sorted({t.name for t in tablets if component is None or t.component == component})

    def index_fields(self, table: str) -> list[list[str]] | None:
        """The primary-key index fields of a root table, if it has one."""
        found = self.db.pk_paths("", table)
        return [list(p) for p in found[0]] if found else None
