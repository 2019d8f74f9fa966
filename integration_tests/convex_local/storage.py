"""SQLite storage: every document revision, the tables ("tablets") and primary-key indexes.

One connection, used only under the deployment's lock. Revisions are append-only, so a snapshot
at any timestamp and the complete change log both come from the same rows:
- `revisions(tablet, id, ts)` finds a document's latest revision at or before a snapshot;
- `revisions(ts, id)` is the change log in document_deltas order.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Iterable, Sequence

INSERT, UPDATE, DELETE = 0, 1, 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tablets (
    tablet TEXT PRIMARY KEY,
    component TEXT NOT NULL,
    name TEXT NOT NULL,
    number INTEGER NOT NULL,
    created_ts INTEGER NOT NULL,
    deleted_ts INTEGER
);
CREATE TABLE IF NOT EXISTS revisions (
    seq INTEGER PRIMARY KEY,
    tablet TEXT NOT NULL,
    id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    clean TEXT,
    encoded TEXT,
    export TEXT
);
CREATE INDEX IF NOT EXISTS revisions_by_doc ON revisions (tablet, id, ts);
CREATE INDEX IF NOT EXISTS revisions_by_ts ON revisions (ts, id);
CREATE INDEX IF NOT EXISTS revisions_by_tablet_ts ON revisions (tablet, ts);
CREATE TABLE IF NOT EXISTS pk_indexes (
    component TEXT NOT NULL,
    name TEXT NOT NULL,
    fields TEXT NOT NULL,
    ready_at REAL NOT NULL,
    PRIMARY KEY (component, name)
);
CREATE TABLE IF NOT EXISTS components (path TEXT PRIMARY KEY);
INSERT OR IGNORE INTO components (path) VALUES ('');
"""


@dataclass(frozen=True)
class Tablet:
    """One incarnation of a table: clearing a table starts a new tablet with the same name."""

    tablet: str
    component: str
    name: str
    number: int
    created_ts: int
    deleted_ts: int | None

    def active_at(self, ts: int) -> bool:
        return self.created_ts <= ts and (self.deleted_ts is None or self.deleted_ts > ts)


@dataclass(frozen=True)
class Revision:
    tablet: str
    id: str
    ts: int
    kind: int
    clean: str | None
    encoded: str | None
    export: str | None = None


class Store:
    """Thin SQL layer; callers hold the deployment lock."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL" if path != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-65536")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    # -- transactions -------------------------------------------------------------------------
    def begin(self) -> None:
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def max_ts(self) -> int:
        row = self.conn.execute(
            "SELECT MAX(t) FROM (SELECT MAX(ts) AS t FROM revisions UNION ALL SELECT MAX(created_ts) FROM tablets"
            " UNION ALL SELECT MAX(deleted_ts) FROM tablets)"
        ).fetchone()
        return int(row[0] or 0)

    # -- tablets ------------------------------------------------------------------------------
    def tablets(self) -> list[Tablet]:
        rows = self.conn.execute(
            "SELECT tablet, component, name, number, created_ts, deleted_ts FROM tablets ORDER BY tablet"
        ).fetchall()
        return [Tablet(*r) for r in rows]

    def add_tablet(self, t: Tablet) -> None:
        self.conn.execute(
            "INSERT INTO tablets (tablet, component, name, number, created_ts, deleted_ts) VALUES (?, ?, ?, ?, ?, ?)",
            (t.tablet, t.component, t.name, t.number, t.created_ts, t.deleted_ts),
        )
        self.conn.execute("INSERT OR IGNORE INTO components (path) VALUES (?)", (t.component,))

    def delete_tablet(self, tablet: str, ts: int) -> None:
        self.conn.execute("UPDATE tablets SET deleted_ts = ? WHERE tablet = ?", (ts, tablet))

    def components(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT path FROM components ORDER BY path")]

    def add_component(self, path: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO components (path) VALUES (?)", (path,))

    # -- revisions ----------------------------------------------------------------------------
    def add_revisions(self, rows: Iterable[tuple[str, str, int, int, str | None, str | None, str | None]]) -> None:
        self.conn.executemany(
            "INSERT INTO revisions (tablet, id, ts, kind, clean, encoded, export) VALUES (?, ?, ?, ?, ?, ?, ?)", rows
        )

    def latest(self, tablet: str, doc_id: str, at_ts: int | None = None) -> Revision | None:
        """The document's latest revision (at or before `at_ts`), deletes included."""
        if at_ts is None:
            row = self.conn.execute(
                "SELECT tablet, id, ts, kind, clean, encoded FROM revisions WHERE tablet = ? AND id = ?"
                " ORDER BY ts DESC LIMIT 1",
                (tablet, doc_id),
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT tablet, id, ts, kind, clean, encoded FROM revisions WHERE tablet = ? AND id = ? AND ts <= ?"
                " ORDER BY ts DESC LIMIT 1",
                (tablet, doc_id, at_ts),
            ).fetchone()
        return Revision(*row) if row else None

    def snapshot_rows(
        self, tablet: str, after_id: str, at_ts: int, limit: int
    ) -> list[tuple[str, int, str, str | None, str | None]]:
        """(id, ts, clean, encoded, export) of live documents at `at_ts` with id > after_id, in id order."""
        return self.conn.execute(
            "SELECT r.id, r.ts, r.clean, r.encoded, r.export FROM revisions r"
            " WHERE r.tablet = ?1 AND r.id > ?2 AND r.ts <= ?3 AND r.kind != 2"
            " AND r.ts = (SELECT MAX(x.ts) FROM revisions x WHERE x.tablet = ?1 AND x.id = r.id AND x.ts <= ?3)"
            " ORDER BY r.id LIMIT ?4",
            (tablet, after_id, at_ts, limit),
        ).fetchall()

    def has_live_documents(self, tablet: str, at_ts: int) -> bool:
        return bool(self.snapshot_rows(tablet, "", at_ts, 1))

    def log_rows(self, after_ts: int, upto_ts: int, limit: int) -> list[Revision]:
        rows = self.conn.execute(
            "SELECT tablet, id, ts, kind, clean, encoded, export FROM revisions WHERE ts > ? AND ts <= ?"
            " ORDER BY ts, id LIMIT ?",
            (after_ts, upto_ts, limit),
        ).fetchall()
        return [Revision(*r) for r in rows]

    def log_rows_at(self, ts: int, after_id: str) -> list[Revision]:
        rows = self.conn.execute(
            "SELECT tablet, id, ts, kind, clean, encoded, export FROM revisions WHERE ts = ? AND id > ? ORDER BY id",
            (ts, after_id),
        ).fetchall()
        return [Revision(*r) for r in rows]

    def log_has_rows(self, after_ts: int, upto_ts: int) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM revisions WHERE ts > ? AND ts <= ? LIMIT 1", (after_ts, upto_ts)
        ).fetchone()
        return row is not None

    def tablet_revisions_since(self, tablet: str, after_ts: int) -> list[tuple[int, str | None, str | None]]:
        return self.conn.execute(
            "SELECT kind, clean, encoded FROM revisions WHERE tablet = ? AND ts > ? ORDER BY ts",
            (tablet, after_ts),
        ).fetchall()

    def tablet_last_ts(self, tablet: str) -> int:
        row = self.conn.execute("SELECT MAX(ts) FROM revisions WHERE tablet = ?", (tablet,)).fetchone()
        return int(row[0] or 0)

    # -- primary-key indexes --------------------------------------------------------------------
    def pk_index(self, component: str, name: str) -> tuple[str, float] | None:
        row = self.conn.execute(
            "SELECT fields, ready_at FROM pk_indexes WHERE component = ? AND name = ?", (component, name)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def set_pk_index(self, component: str, name: str, fields: str, ready_at: float) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO pk_indexes (component, name, fields, ready_at) VALUES (?, ?, ?, ?)",
            (component, name, fields, ready_at),
        )

    def drop_pk_index(self, component: str, name: str) -> None:
        self.conn.execute("DELETE FROM pk_indexes WHERE component = ? AND name = ?", (component, name))


def chunks(seq: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]
