"""The system fields of every exported row, checked once, where its page is converted.

Everything after the page reader trusts them: `_ts` becomes the CDC fields and orders the
change log, `_id` is the declared primary key, `_table` / `_component` route change-log rows
to their stream, and `_deleted` decides whether a record is a delete. A Convex deployment
always sends them well formed; a row that is not (a proxy mangling bodies, a backend bug)
must end the read with a clear error naming the table, never a KeyError or TypeError deep
in the record path, and never a record emitted without its key.

The check is one pass of a few dict lookups and type tests per row (no walk over the
document's values), so it stays off the snapshot throughput's profile.
"""

from __future__ import annotations

from typing import Any, Optional

from convex_shared import ConvexBadResponseError

from .cdc import DELETED, TS
from .tables import TableRef

ID = "_id"
TABLE = "_table"
COMPONENT = "_component"

_REPORT = "This is a bug in the deployment or the connector: please report it with this message."


def check_rows(values: list[dict[str, Any]], table: Optional[TableRef]) -> None:
    """Raise ConvexBadResponseError for the first row whose system fields are not well formed.

    `table` is the table the page was asked for (None for a change-log page of every table).
    `_component` may be absent (an app table on a backend without components); the others
    must be there. `type(...) is` keeps bools out of `_ts` and `_deleted` out of ints.
    """
    for row in values:
        ts = row.get(TS)
        if (
            type(ts) is not int
            or ts < 0
            or type(row.get(ID)) is not str
            or type(row.get(TABLE)) is not str
            or type(row.get(COMPONENT, "")) is not str
            or type(row.get(DELETED, False)) is not bool
        ):
            raise bad_row(row, table, _what_is_wrong(row))


def bad_row(row: dict[str, Any], table: Optional[TableRef], problem: str) -> ConvexBadResponseError:
    """The error for one malformed row: which table, what is wrong (never the row's values)."""
    where = str(table) if table is not None else _row_table(row)
    return ConvexBadResponseError(
        f"Convex sent a document of table {where} {problem}, which Convex never sends, so the read stops here "
        f"rather than emit it. {_REPORT}",
        reason=f"malformed document of table {where}: {problem}",
        transient=False,
    )


def _row_table(row: dict[str, Any]) -> str:
    name, component = row.get(TABLE), row.get(COMPONENT, "")
    if type(name) is not str or type(component) is not str:
        return "(unknown: its _table / _component are not strings)"
    return str(TableRef(component, name))


def _kind(value: Any) -> str:
    return "missing or null" if value is None else type(value).__name__


def _what_is_wrong(row: dict[str, Any]) -> str:
    ts = row.get(TS)
    if type(ts) is not int:
        return f"without a valid _ts (an integer of nanoseconds; got {_kind(ts)})"
    if ts < 0:
        return "with a negative _ts"
    if type(row.get(ID)) is not str:
        return f"without a valid _id (a string; got {_kind(row.get(ID))})"
    if type(row.get(TABLE)) is not str:
        return f"without a valid {TABLE} (a string; got {_kind(row.get(TABLE))})"
    if type(row.get(COMPONENT, "")) is not str:
        return f"without a valid {COMPONENT} (a string; got {_kind(row.get(COMPONENT))})"
    return f"with a {DELETED} that is not true or false (got {_kind(row.get(DELETED))})"
