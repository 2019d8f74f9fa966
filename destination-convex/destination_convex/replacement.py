"""Overwrite without data loss: a replacing stream's old rows go only once its new rows are all here.

Convex has no atomic replace for streaming import (`replace_tables` always answers
`OverwriteNotSupported`), and `clear_tables` empties a table in one transaction. Clearing at the
start of the sync, as earlier versions did, meant a source that failed (a wrong key, a crash
half-way) left the table empty or partial. So the records of every stream that replaces its
table (overwrite mode, or a truncate refresh) are spooled to a local temporary file, already
encoded, and nothing is sent for them until the source reports the stream COMPLETE. Then the
writer clears the table and sends the spooled records; a STATE that covers the stream is held
until they are stored, as any other.

When is a stream complete? The source's STREAM_STATUS trace says so (Airbyte forwards these
to the destination; a piped `source read | destination write` carries them too):
- COMPLETE: replace now, even with no records (the source says the table is empty now).
- INCOMPLETE, or the input ends without COMPLETE: the table is left as it was, the spool is
  dropped, and so is every STATE that covers the stream (the platform then keeps the previous
  state, and the next sync reads the stream again).
- A source that reports no stream status at all (older protocol): the end of the input is the
  only signal, so the table is replaced then, but only if the stream sent at least one record.

What remains is the time between `clear_tables` and the last acknowledged import: readers see a
partly filled table while the spool is sent (import commits every 16,000 writes), and a failure
in that window leaves it partial until the next sync. This module only decides and keeps the
files; the writer does the sending.
"""

from __future__ import annotations

import enum
import logging
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from .errors import CONFIG_ERROR, DestinationError
from .records import EncodedRecord

#: Bytes read from a spool at a time while it is sent.
READ_CHUNK = 1024 * 1024


class Outcome(enum.Enum):
    """What happened to a replacing stream's table."""

    HELD = "held"  # records spooled, waiting for the stream to complete
    REPLACED = "replaced"  # cleared and rewritten from the spool
    KEPT = "kept"  # not replaced: the stream did not complete


@dataclass
class _Held:
    label: str
    records: int = 0
    statuses: list[str] = field(default_factory=list)
    outcome: Outcome = Outcome.HELD
    #: Why a table was kept, for the closing message.
    reason: str = ""
    #: Records that arrived after the stream was given up (counted, never written).
    late_records: int = 0
    file: IO[bytes] | None = None


class Replacements:
    """The spools of the replacing streams, and the stream statuses that decide their fate."""

    def __init__(self, labels_by_table: Mapping[str, str], spool_dir: str | None = None) -> None:
        self._held = {table: _Held(label) for table, label in labels_by_table.items()}
        self._spool_dir = spool_dir
        #: True once any STREAM_STATUS arrived: the source speaks the protocol that says "complete".
        self.statuses_seen = False

    def holds(self, table: str) -> bool:
        """True while `table`'s records must be spooled rather than sent."""
        held = self._held.get(table)
        return held is not None and held.outcome is Outcome.HELD

    def given_up(self, table: str) -> bool:
        held = self._held.get(table)
        return held is not None and held.outcome is Outcome.KEPT

    def spool(self, table: str, encoded: EncodedRecord) -> None:
        """Keep one encoded record as a line `<messages> <write bytes> <data>` (orjson output never
        holds a raw newline, so lines delimit)."""
        held = self._held[table]
        try:
            if held.file is None:
                # Kept open across calls until the stream completes (closed in _keep or close).
                held.file = tempfile.TemporaryFile(prefix="convex-overwrite-", dir=self._spool_dir)  # noqa: SIM115
            held.file.write(b"%d %d " % (encoded.messages, encoded.write_bytes))
            held.file.write(encoded.data)
            held.file.write(b"\n")
        except OSError as err:
            raise DestinationError(
                f"Could not keep the records of stream '{held.label}' in a temporary file ({err.strerror or err}). "
                "Overwrite keeps a stream's records on local disk until the stream is complete: free space in the "
                "temporary directory (TMPDIR), or sync this stream in append or dedup mode. The Convex table "
                f"'{table}' was not changed.",
                failure_type=CONFIG_ERROR,
            ) from None
        held.records += 1

    def count_late(self, table: str) -> None:
        self._held[table].late_records += 1

    def status(self, table: str, status: str) -> bool:
        """Note a stream status; True when it is the COMPLETE that makes `table` ready to replace."""
        self.statuses_seen = True
        held = self._held.get(table)
        if held is None or held.outcome is not Outcome.HELD:
            return False
        held.statuses.append(status)
        if status == "COMPLETE":
            return True
        if status == "INCOMPLETE":
            self._keep(held, "the source reported the stream INCOMPLETE")
        return False

    def at_end_of_input(self) -> list[str]:
        """The tables to replace now, of the streams still held at the end (the others are given up:
        see `kept`)."""
        replace = []
        for table, held in self._held.items():
            if held.outcome is not Outcome.HELD:
                continue
            if self.statuses_seen:
                self._keep(held, "the input ended before the source reported the stream COMPLETE")
            elif held.records:
                replace.append(table)
            else:
                self._keep(held, "the stream sent no record and the source reports no stream status")
        return replace

    def records(self, table: str) -> Iterator[EncodedRecord]:
        """The spooled records of `table`, in arrival order; marks it replaced. Frees the file."""
        held = self._held[table]
        held.outcome = Outcome.REPLACED
        spool, held.file = held.file, None
        if spool is None:
            return
        with spool:
            spool.flush()
            spool.seek(0)
            partial = b""
            while chunk := spool.read(READ_CHUNK):
                lines = (partial + chunk).split(b"\n")
                partial = lines.pop()
                yield from map(_unspooled, lines)
            if partial:
                yield _unspooled(partial)

    def record_count(self, table: str) -> int:
        return self._held[table].records

    def kept(self) -> list[tuple[str, _Held]]:
        """Tables left as they were, with what happened to their streams."""
        return [(table, held) for table, held in self._held.items() if held.outcome is Outcome.KEPT]

    def close(self) -> None:
        for held in self._held.values():
            if held.file is not None:
                held.file.close()
                held.file = None

    def _keep(self, held: _Held, reason: str) -> None:
        held.outcome = Outcome.KEPT
        held.reason = reason
        if held.file is not None:
            held.file.close()
            held.file = None


def _unspooled(line: bytes) -> EncodedRecord:
    messages, write_bytes, data = line.split(b" ", 2)
    return EncodedRecord(data, int(messages), int(write_bytes))


def stream_status(message: Mapping[str, Any]) -> tuple[str | None, str, str] | None:
    """(namespace, name, status) of a STREAM_STATUS trace message; None for any other trace."""
    trace = message.get("trace")
    if not isinstance(trace, dict) or trace.get("type") != "STREAM_STATUS":
        return None
    body = trace.get("stream_status")
    descriptor = body.get("stream_descriptor") if isinstance(body, dict) else None
    status = body.get("status") if isinstance(body, dict) else None
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("name"), str) or not isinstance(status, str):
        return None
    namespace = descriptor.get("namespace")
    return (namespace if isinstance(namespace, str) else None, descriptor["name"], status)


def kept_message(kept: list[tuple[str, _Held]]) -> str:
    """The closing error: which tables were not replaced, why, and what to do."""
    parts = []
    for table, held in kept:
        discarded = held.records + held.late_records
        parts.append(
            f"stream '{held.label}' -> table '{table}': {held.reason}; "
            + (f"its {discarded} records were not written" if discarded else "it sent no records")
        )
    return (
        "These Convex tables were NOT replaced and keep every document they held before this sync: "
        + "; ".join(parts)
        + ". Overwrite (and truncate refresh) removes the old documents only once the source has read the whole "
        "stream. Fix the source's error (see its messages above) and sync again."
    )


def log_replacing(logger: logging.Logger, table: str, label: str, records: int) -> None:
    logger.info(
        f"Stream '{label}' is complete: clearing the Convex table '{table}' and writing its {records} records."
        + (" The stream completed with no records, so the table is now empty." if records == 0 else "")
    )
