"""Per-stream state: its shape, how to read a saved one, and the pure transitions.

The shape is the incumbent connector's (airbyte-source-convex 0.4.x), key for key, so a
connection upgrades without a reset and could even be rolled back:

- `snapshot_has_more`: True while the stream's initial snapshot is unfinished;
- `snapshot_cursor`: during the snapshot, the `list_snapshot` cursor to continue after
  (null = from the table's start);
- `delta_cursor`: during the snapshot, the pinned snapshot timestamp the pages must be
  read at; once the snapshot is done, the change-log position (`document_deltas` cursor,
  ns) up to which every change has been emitted.

Two optional keys of our own, ignored by the incumbent:

- `data_sync_cursor`, `data_sync_scope`: only past the snapshot, on backends with the data sync
  API: the opaque `/api/v1/data/sync` cursor the incremental streams of the connection share, and a
  digest of the tables it covers (see `data_sync`). `delta_cursor` then stays the equivalent
  change-log position (the timestamp the stream was last consistent at), so the state still reads
  as a 0.4.x one and an older backend continues from it.

- `deltas_from`: only during a snapshot that replaced an older one Convex no longer serves
  (`SnapshotTooOld`): the older snapshot's timestamp. When the new snapshot finishes, the
  change-log position starts there instead of at the new timestamp, so a document delivered
  by the older, unfinished snapshot and deleted before the new one is still reported as
  deleted (the walk replays the changes in between; a deduplicating destination ends equal).

So `{snapshot_has_more: false, delta_cursor: P}` means "walk the change log after P", and
`{snapshot_has_more: true, snapshot_cursor: C, delta_cursor: S}` means "continue the
snapshot taken at S after C". The incumbent wrote the same meaning (it set `delta_cursor`
to each page's `snapshot` while snapshotting), so its saved states continue correctly.

Transitions are small pure functions returning new dicts; each stream's `StreamRun` (see
`plan`) holds its current state and only ever replaces it through them.

Saved state as it may arrive (`input_states`): per-stream messages, or the legacy whole-connector blob.

The platform hands a source a list of per-stream (STREAM) state messages today. Older
platform versions, and people running the connector by hand (`docker run ... read
--state`), may still have the legacy form the incumbent's era produced: one JSON object
mapping stream names to their state, or a LEGACY message carrying it in `data`. Both are
turned into per-stream messages here, so everything downstream (the CDK's
ConnectorStateManager included) sees one shape.

A legacy blob whose entries are not objects is no state of ours (another connector's, or
a stream's own state given as the whole file): a config error says so, where dropping the
entries would silently re-read every table.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from typing import Any, TypedDict

from airbyte_cdk.models import (
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateMessageSerializer,
    AirbyteStateType,
    AirbyteStreamState,
    FailureType,
    StreamDescriptor,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException


class _IncumbentKeys(TypedDict):
    snapshot_cursor: str | None
    snapshot_has_more: bool
    delta_cursor: int | None


class StreamState(_IncumbentKeys, total=False):
    """The saved state of one stream (see the module docstring for each key)."""

    deltas_from: int
    data_sync_cursor: str
    data_sync_scope: str


class Phase(enum.Enum):
    """What a stream needs next."""

    NEW = "new"  # a snapshot from scratch
    SNAPSHOT = "snapshot"  # continue a snapshot at its pinned timestamp
    DELTAS = "deltas"  # walk the change log after its position


class StateError(ValueError):
    """A saved state that neither this connector nor the incumbent could have written."""


_KEYS = ("snapshot_cursor", "snapshot_has_more", "delta_cursor")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: Largest value Convex takes as a timestamp (an int64 of nanoseconds).
MAX_TIMESTAMP = 2**63 - 1
#: How far ahead of this machine's clock a saved timestamp may be (clock skew), in ns.
FUTURE_SLACK_NS = 3600 * 10**9


def _timestamp(name: str, value: Any, now_ns: int) -> None:
    """StateError for a saved timestamp Convex could never have given (see `load_state`)."""
    if value > MAX_TIMESTAMP:
        raise StateError(
            f"{name} is {value}, beyond the largest timestamp Convex uses (2^63 - 1 ns): this state was not "
            "written by this connector (edited by hand, or damaged)"
        )
    if value > now_ns + FUTURE_SLACK_NS:
        ahead_days = (value - now_ns) / 86_400e9
        raise StateError(
            f"{name} is {value} ns, {ahead_days:.1f} days in the future: reading after it would skip every change "
            "until then. It was not written against this deployment's clock (edited by hand, a unit other than "
            "nanoseconds, or a machine with a wrong clock)"
        )


def load_state(raw: Mapping[str, Any] | None, now_ns: int | None = None) -> StreamState | None:
    """The saved state of a stream, or None when there is none to continue.

    Empty blobs and the CDK's own markers (keys starting with `__ab_`, such as
    `__ab_no_cursor_state_message`) mean "nothing to continue". Everything else raises
    StateError rather than silently starting over (which would re-read, and for an append
    destination duplicate, the whole table): a blob without our keys (another connector's,
    or another shape), wrong types, or a timestamp Convex could never have handed out (beyond
    int64, or in the future by more than an hour of clock skew: `now_ns`, default this
    machine's clock; reading after it would skip changes).
    """
    if not raw:
        return None
    if not any(key in raw for key in _KEYS):
        foreign = sorted(str(key) for key in raw if not str(key).startswith("__ab_"))
        if not foreign:
            return None
        raise StateError(
            f"it holds {', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}, keys this connector never writes "
            f"(its state has {', '.join(_KEYS)}): it comes from another connector, or has another shape"
        )
    now = time.time_ns() if now_ns is None else now_ns
    snapshot_cursor = raw.get("snapshot_cursor")
    has_more = raw.get("snapshot_has_more", True)
    delta_cursor = raw.get("delta_cursor")
    if snapshot_cursor is not None and not isinstance(snapshot_cursor, str):
        raise StateError(f"snapshot_cursor must be a string or null, not {type(snapshot_cursor).__name__}")
    if not isinstance(has_more, bool):
        raise StateError(f"snapshot_has_more must be true or false, not {type(has_more).__name__}")
    if isinstance(delta_cursor, float) and delta_cursor.is_integer():
        # A platform that round-tripped the state through a float-only JSON parser.
        delta_cursor = int(delta_cursor)
    if delta_cursor is not None and not (_is_int(delta_cursor) and delta_cursor >= 0):
        raise StateError(f"delta_cursor must be a non-negative integer or null, not {delta_cursor!r}")
    if delta_cursor is not None:
        _timestamp("delta_cursor", delta_cursor, now)
    state = StreamState(snapshot_cursor=snapshot_cursor, snapshot_has_more=has_more, delta_cursor=delta_cursor)
    for key in ("data_sync_cursor", "data_sync_scope"):
        value = raw.get(key)
        if value is not None:
            if not isinstance(value, str) or not value:
                raise StateError(f"{key} must be a non-empty string, not {value!r}")
            if not has_more:  # meaningful only past the snapshot
                state[key] = value
    deltas_from = raw.get("deltas_from")
    if deltas_from is not None:
        if not (_is_int(deltas_from) and deltas_from >= 0):
            raise StateError(f"deltas_from must be a non-negative integer, not {deltas_from!r}")
        _timestamp("deltas_from", deltas_from, now)
        if has_more:  # meaningful only while the replacing snapshot runs
            state["deltas_from"] = deltas_from
    return state


def phase_of(state: StreamState | None) -> Phase:
    """What the stream with this saved state needs next.

    A state without a timestamp carries no position worth keeping (the incumbent always
    wrote one with its first page), so it starts over.
    """
    if state is None or state["delta_cursor"] is None:
        return Phase.NEW
    return Phase.SNAPSHOT if state["snapshot_has_more"] else Phase.DELTAS


def snapshot_started(snapshot_ts: int, deltas_from: int | None = None) -> StreamState:
    """A snapshot of the whole table at `snapshot_ts`, nothing read yet. `deltas_from`: the
    timestamp of the older snapshot this one replaces, if any (see the module docstring)."""
    state = StreamState(snapshot_cursor=None, snapshot_has_more=True, delta_cursor=snapshot_ts)
    if deltas_from is not None and deltas_from < snapshot_ts:
        state["deltas_from"] = deltas_from
    return state


def snapshot_page_read(state: StreamState, cursor: str | None) -> StreamState:
    """A snapshot page was emitted; continue after `cursor` next time."""
    new = StreamState(snapshot_cursor=cursor, snapshot_has_more=True, delta_cursor=state["delta_cursor"])
    if "deltas_from" in state:
        new["deltas_from"] = state["deltas_from"]
    return new


def snapshot_finished(state: StreamState) -> StreamState:
    """The table's snapshot is complete; its changes start after the snapshot timestamp (or
    after the older snapshot's, for a snapshot that replaced one)."""
    if state["delta_cursor"] is None:
        raise StateError("a snapshot cannot finish without its timestamp")
    start = min(state["delta_cursor"], state.get("deltas_from", state["delta_cursor"]))
    return StreamState(snapshot_cursor=None, snapshot_has_more=False, delta_cursor=start)


def replaced_snapshot_start(state: StreamState | None) -> int | None:
    """Where the change log must start for a snapshot that replaces the one in `state`:
    the earliest snapshot timestamp the stream has delivered documents of."""
    if state is None or state["delta_cursor"] is None:
        return None
    return min(state["delta_cursor"], state.get("deltas_from", state["delta_cursor"]))


def deltas_read(state: StreamState, cursor: int) -> StreamState:
    """The change log was walked up to `cursor`; every change of the stream up to there
    was emitted. Never moves a position backwards (the walk starts at the OLDEST position
    of all streams, so its early pages are behind the newer ones)."""
    current = state["delta_cursor"]
    if state["snapshot_has_more"] or current is None or cursor <= current:
        return state
    return StreamState(snapshot_cursor=None, snapshot_has_more=False, delta_cursor=cursor)


def data_sync_read(state: StreamState, cursor: str, scope: str, consistent_at: int | None) -> StreamState:
    """A data sync page was emitted: continue after `cursor` (covering the tables digested as `scope`).
    `consistent_at` (the page's `snapshotTs`, None while Convex re-reads a table) moves the equivalent
    change-log position, never backwards."""
    current = state["delta_cursor"]
    if current is None or state["snapshot_has_more"]:
        raise StateError("a data sync continues a stream past its snapshot only")
    position_now = current if consistent_at is None else max(current, consistent_at)
    return StreamState(
        snapshot_cursor=None,
        snapshot_has_more=False,
        delta_cursor=position_now,
        data_sync_cursor=cursor,
        data_sync_scope=scope,
    )


def position(state: StreamState | None) -> int | None:
    """The change-log position of a stream past its snapshot, else None."""
    return state["delta_cursor"] if phase_of(state) is Phase.DELTAS and state else None


# -- saved state as it arrives -------------------------------------------------------------

#: What a saved state looks like, for error messages.
EXPECTED = (
    'a list of per-stream states, [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, '
    '"stream_state": {"snapshot_cursor": null, "snapshot_has_more": false, "delta_cursor": <ns>}}}], or the '
    'legacy {"users": {...}, "posts": {...}}'
)


#: Top-level keys of one AirbyteStateMessage (a file holding one message instead of a list).
_MESSAGE_KEYS = {"type", "stream", "global", "data"}


def bad_state(problem: str) -> AirbyteTracedException:
    return AirbyteTracedException(
        message=f"The saved state is not this connector's: {problem}. Expected {EXPECTED}. Pass the state this "
        "connector emitted, or none to start over (reset the connection's state in Airbyte).",
        failure_type=FailureType.config_error,
    )


def input_states(raw: Any) -> list[AirbyteStateMessage]:
    """A `--state` file's JSON as per-stream messages; a config error for any other shape."""
    if not raw:
        return []
    if isinstance(raw, Mapping):
        if not _MESSAGE_KEYS & set(raw):
            return from_legacy_blob(raw)
        raw = [raw]
    if not isinstance(raw, list):
        raise bad_state(f"it is a JSON {type(raw).__name__}, not a list of state messages")
    messages = []
    for index, item in enumerate(raw):
        try:
            message = AirbyteStateMessageSerializer.load(item) if isinstance(item, Mapping) else None
        except Exception:
            message = None
        if message is None or not (message.stream or message.data or message.global_):
            raise bad_state(f"entry {index} of the list is not a STREAM, GLOBAL or LEGACY state message")
        messages.append(message)
    return normalize(messages)


def from_legacy_blob(blob: Mapping[str, Any]) -> list[AirbyteStateMessage]:
    """`{"users": {...}, "posts": {...}}` -> one STREAM message per stream (no namespace)."""
    odd = sorted(str(name) for name, value in blob.items() if not isinstance(value, Mapping))
    if odd:
        raise bad_state(f"its entries {', '.join(odd[:5])} are not per-stream states (objects)")
    return [
        AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(
                stream_descriptor=StreamDescriptor(name=name),
                stream_state=AirbyteStateBlob(dict(value)),
            ),
        )
        for name, value in blob.items()
    ]


def normalize(messages: list[AirbyteStateMessage]) -> list[AirbyteStateMessage]:
    """LEGACY messages expanded to STREAM messages; others kept as they are."""
    out: list[AirbyteStateMessage] = []
    for message in messages:
        if message.type in (AirbyteStateType.LEGACY, None) and message.stream is None and message.data:
            out.extend(from_legacy_blob(message.data))
        else:
            out.append(message)
    return out
