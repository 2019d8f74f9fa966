"""Switches that change how the local deployment behaves (mutable while it runs)."""

from __future__ import annotations

from dataclasses import dataclass

NS_PER_DAY = 86_400 * 10**9


@dataclass
class Settings:
    """Behaviour switches; tests flip them on a running deployment."""

    # False: every export route answers 403 StreamingExportNotEnabled, checked before auth.
    streaming_export_enabled: bool = True
    # True: `tableName` is ignored as older / some self-hosted backends do; `table_name` still works.
    ignore_table_name: bool = False
    # Seconds a primary-key index on a table that already holds data stays "backfilling".
    index_backfill_delay_s: float = 0.0
    # The deployment's write-throughput limit (MAX_BYTES_WRITTEN_PER_SECOND, 4 MiB): bytes committed in the
    # last second above which app mutations fail with 429 TooManyWrites. Import is never refused for it.
    max_write_bytes_per_s: float = 4 * 1024 * 1024
    # Fixed latency added to every request, to look like a remote deployment.
    latency_s: float = 0.0
    # How far back document_deltas may start (open-source default: 14 days).
    delta_retention_ns: int = 14 * NS_PER_DAY
    # How old a list_snapshot snapshot may be (the backend's limit: 5 days).
    snapshot_max_age_ns: int = 5 * NS_PER_DAY
    # Page limits (the backend's knobs); tests may shrink them.
    snapshot_page_size: int = 1024
    deltas_page_rows: int = 128
    # Import commits a transaction after this many writes or bytes (the backend's limits).
    import_tx_max_writes: int = 16_000
    import_tx_max_bytes: int = 16 << 20
