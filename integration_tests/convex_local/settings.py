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
    # Which spelling of the table parameter the backend reads, by era (when ignore_table_name is False):
    # "both" (since 2026-03-16; sending both at once selects every table), "table_name" (2025-08-14 to
    # 2026-03-16), "tableName" (2025-07-01 to 2025-08-14). A spelling the era does not read is ignored.
    table_parameter: str = "both"
    # Seconds a primary-key index on a table that already holds data stays "backfilling".
    index_backfill_delay_s: float = 0.0
    # The deployment's write-throughput limit (MAX_BYTES_WRITTEN_PER_SECOND, 4 MiB): bytes committed in the
    # last second above which app mutations fail with 429 TooManyWrites. Import is never refused for it.
    max_write_bytes_per_s: float = 4 * 1024 * 1024
    # Fixed latency added to every request, to look like a remote deployment.
    latency_s: float = 0.0
    # Latency added to each PAGE of the paging routes (list_snapshot, document_deltas, data sync), on top of
    # latency_s: a remote deployment reading and rendering a page from its storage.
    page_delay_s: float = 0.0
    # How page values are rendered: "stored" joins the stored document text (cheap); "generic" decodes each
    # document and encodes it again value by value, as a server that builds pages from objects pays.
    page_render: str = "stored"
    # How far back document_deltas may start (open-source default: 14 days).
    delta_retention_ns: int = 14 * NS_PER_DAY
    # How old a list_snapshot snapshot may be (the backend's limit: 5 days).
    snapshot_max_age_ns: int = 5 * NS_PER_DAY
    # A younger snapshot that is past the deployment's retention answers 503 InternalServerError (the
    # backend's out-of-retention error has no code of its own). None: retention never cuts in first.
    snapshot_retention_ns: int | None = None
    # How a list_snapshot cursor that cannot be parsed is answered: 400 InvalidListSnapshotCursor since
    # 2026-08-17, a plain 500 InternalServerError before.
    invalid_snapshot_cursor_status: int = 400
    # Page limits (the backend's knobs); tests may shrink them.
    snapshot_page_size: int = 1024
    deltas_page_rows: int = 128
    # The data sync API (/api/v1/data/sync, data_sync_cursor_from_deltas); False answers 404 like older backends.
    data_sync_api: bool = True
    # Its knobs (DATA_SYNC_PAGE_SIZE_LIMIT, DATA_SYNC_MAX_ROWS_READ, DATA_SYNC_BY_ID_FRESHNESS).
    data_sync_page_size: int = 16384
    data_sync_max_rows_read: int = 32768
    data_sync_by_id_freshness_ns: int = 30 * 10**9
    # Import commits a transaction after this many writes or bytes (the backend's limits).
    import_tx_max_writes: int = 16_000
    import_tx_max_bytes: int = 16 << 20
    # Functions API limits per call (knobs.rs: TRANSACTION_MAX_NUM_USER_WRITES,
    # TRANSACTION_MAX_USER_WRITE_SIZE_BYTES, FUNCTION_MAX_ARGS_SIZE); tests may shrink them.
    function_max_writes: int = 16_000
    function_max_write_bytes: int = 16 << 20
    function_max_args_bytes: int = 16 << 20
