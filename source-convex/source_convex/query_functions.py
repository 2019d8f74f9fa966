"""Query-functions mode: streams read through Convex's public Functions API (every plan).

Config `query_functions`: a list of `{"function": "messages:list", "args": "{...}" (JSON text),
"page_size": 500, "table": "messages", "stream_name": "messages"}`. `access_key` is a deploy
key (`Authorization: Convex <key>`, internal functions allowed) or `Bearer <user token>` (the
user's public functions only, as that user).

Paginated functions follow Convex's protocol (`args.paginationOpts = {numItems, cursor}` ->
`{page, isDone, continueCursor}`); a function answering an array is read whole (full refresh).
Which one it is, is found by calling it: a function that answers an array, or whose argument
validator rejects `paginationOpts`, is not paginated.

Incremental append, and why its state is not just `continueCursor`: on Convex, `isDone` is true
exactly when the query reached the END of its index, and the `continueCursor` it then returns is
that END position (isolate/src/environment/udf/async_syscall.rs, query_page): resumed from it,
the query returns nothing, even after new documents arrive. So the state keeps the last cursor
that was a real position, plus the largest `_creationTime` already emitted after it, and a
resumed read skips documents at or below it. The function must return documents in
`_creationTime` order (Convex's default order for `ctx.db.query(table)`); a page out of order
is refused rather than read wrong.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from convex_shared import ConnectionSettings, ConvexConfigError, RetryPolicy
from convex_shared.functions import ConvexFunctionError, Failure, FunctionAuth, FunctionsClient

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 32_000  # TRANSACTION_MAX_READ_SIZE_ROWS: a larger page is refused (PageSizeTooLarge)
CREATION_TIME = "_creationTime"


@dataclass(frozen=True)
class QueryFunctionStream:
    """One configured query function and the stream it feeds."""

    name: str
    function: str
    args: dict[str, Any]
    page_size: int
    table: str | None


@dataclass(frozen=True)
class FunctionsConfig:
    connection: ConnectionSettings
    auth: FunctionAuth
    streams: tuple[QueryFunctionStream, ...]


def configured(config: Mapping[str, Any]) -> bool:
    """True when the config asks for query-functions mode."""
    return bool(config.get("query_functions"))


def parse_config(config: Mapping[str, Any], retry: RetryPolicy | None = None) -> FunctionsConfig:
    """Read the query-functions part of a config; ConvexConfigError on any mistake."""
    auth = FunctionAuth.from_access_key(config.get("access_key"))
    # The URL and timeouts are read as in streaming mode; the key slot is filled with a well-formed
    # stand-in because a user token is not a key (the real secret replaces it just below).
    connection = ConnectionSettings.from_config({**config, "access_key": "prod:x|" + "0" * 8}, retry=retry)
    connection = ConnectionSettings(
        connection.deployment_url,
        auth.secret,
        connection.connect_timeout_s,
        connection.read_timeout_s,
        connection.retry,
    )
    raw = config.get("query_functions")
    if not isinstance(raw, list):
        raise ConvexConfigError("query_functions must be a list of query functions to read.")
    streams = [_stream(item, index) for index, item in enumerate(raw)]
    names = [s.name for s in streams]
    for name in names:
        if names.count(name) > 1:
            raise ConvexConfigError(f"Two query functions feed the stream '{name}': give one a different stream_name.")
    return FunctionsConfig(connection, auth, tuple(streams))


def _stream(item: Any, index: int) -> QueryFunctionStream:
    where = f"query_functions[{index}]"
    if not isinstance(item, Mapping):
        raise ConvexConfigError(f"{where} must be an object with at least a 'function' path.")
    function = item.get("function")
    if not isinstance(function, str) or not function.strip() or any(ch.isspace() for ch in function.strip()):
        raise ConvexConfigError(
            f"{where}.function must be a query function path like 'messages:list', not {function!r}."
        )
    function = function.strip()
    args_raw = item.get("args", "{}")
    if isinstance(args_raw, str):
        try:
            args = json.loads(args_raw or "{}")
        except ValueError as exc:
            raise ConvexConfigError(
                f"{where}.args is not valid JSON ({exc}). Write the function's fixed "
                'arguments as a JSON object, e.g. {"channel": "general"}.'
            ) from None
    else:
        args = args_raw
    if not isinstance(args, dict):
        raise ConvexConfigError(f"{where}.args must be a JSON object of the function's fixed arguments.")
    if "paginationOpts" in args:
        raise ConvexConfigError(
            f"{where}.args must not set paginationOpts: the connector pages itself (set page_size instead)."
        )
    page_size = item.get("page_size", DEFAULT_PAGE_SIZE)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ConvexConfigError(
            f"{where}.page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, not {page_size!r}."
        )
    table = item.get("table") or None
    if table is not None and not isinstance(table, str):
        raise ConvexConfigError(f"{where}.table must be a table name.")
    name = item.get("stream_name") or table or function.replace(":", "_").replace("/", "_")
    if not isinstance(name, str):
        raise ConvexConfigError(f"{where}.stream_name must be a string.")
    return QueryFunctionStream(name, function, args, page_size, table)


# -- calling the functions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    documents: list[Any]
    is_done: bool
    continue_cursor: str | None
    paginated: bool


def _is_pagination_rejection(err: ConvexFunctionError) -> bool:
    return err.failure is Failure.ARGUMENTS and "paginationOpts" in err.error_message


def fetch_page(
    client: FunctionsClient, stream: QueryFunctionStream, cursor: str | None, num_items: int | None = None
) -> Page:
    """One page (or the whole answer of a function that does not paginate)."""
    args = {**stream.args, "paginationOpts": {"numItems": num_items or stream.page_size, "cursor": cursor}}
    try:
        value = client.query(stream.function, args).value
    except ConvexFunctionError as err:
        if cursor is not None or not _is_pagination_rejection(err):
            raise
        value = client.query(stream.function, stream.args).value
    if isinstance(value, list):
        return Page(value, True, None, paginated=False)
    if isinstance(value, dict) and isinstance(value.get("page"), list) and isinstance(value.get("isDone"), bool):
        cursor_out = value.get("continueCursor")
        if not isinstance(cursor_out, str):
            raise ConvexConfigError(
                f"The query function {stream.function} returned a page without a continueCursor "
                "string: return the result of .paginate(args.paginationOpts) unchanged."
            )
        return Page(value["page"], value["isDone"], cursor_out, paginated=True)
    raise ConvexConfigError(
        f"The query function {stream.function} returned {type(value).__name__}, which is neither an array of "
        "documents nor a page ({page, isDone, continueCursor}). Return ctx.db.query(...).paginate(args.paginationOpts) "
        "or an array of objects."
    )


def objects(stream: QueryFunctionStream, documents: list[Any]) -> list[dict[str, Any]]:
    for document in documents:
        if not isinstance(document, dict):
            raise ConvexConfigError(
                f"The query function {stream.function} returned a {type(document).__name__} "
                "inside its page; every element must be an object (a document)."
            )
    return documents


def read_pages(
    client: FunctionsClient,
    stream: QueryFunctionStream,
    state: Mapping[str, Any],
    incremental: bool,
    logger: logging.Logger,
) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """(documents to emit, the state after them) per page. Full refresh starts from the beginning."""
    cursor = state.get("cursor") if incremental else None
    seen_up_to = state.get("seen_up_to") if incremental else None
    while True:
        page = fetch_page(client, stream, cursor)
        documents = objects(stream, page.documents)
        if not page.paginated:
            if incremental:
                logger.warning(
                    f"The query function {stream.function} is not paginated: stream '{stream.name}' is "
                    "read in full every time."
                )
            yield documents, {}
            return
        if incremental:
            documents = _new_documents(stream, documents, seen_up_to)
        last_seen = _max_creation_time(stream, documents, incremental)
        if page.is_done:
            # continueCursor is Convex's END position now: keep the last real position instead.
            candidates = [x for x in (seen_up_to, last_seen) if x is not None]
            seen = max(candidates) if candidates else None
            yield documents, {"cursor": cursor, "seen_up_to": seen}
            return
        cursor, seen_up_to = page.continue_cursor, None
        yield documents, {"cursor": cursor, "seen_up_to": None}


def _new_documents(
    stream: QueryFunctionStream, documents: list[dict[str, Any]], seen_up_to: float | None
) -> list[dict[str, Any]]:
    if seen_up_to is None:
        return documents
    return [d for d in documents if _creation_time(stream, d) > seen_up_to]


def _creation_time(stream: QueryFunctionStream, document: dict[str, Any]) -> float:
    value = document.get(CREATION_TIME)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConvexConfigError(
            f"Stream '{stream.name}' is read incrementally, but the query function "
            f"{stream.function} returned a document without a numeric _creationTime. Return the "
            "documents themselves (ordered by _creationTime), or sync the stream in full refresh."
        )
    return float(value)


def _max_creation_time(stream: QueryFunctionStream, documents: list[dict[str, Any]], incremental: bool) -> float | None:
    if not incremental or not documents:
        return None
    times = [_creation_time(stream, d) for d in documents]
    if any(later < earlier for earlier, later in itertools.pairwise(times)):
        raise ConvexConfigError(
            f"The query function {stream.function} returned documents out of _creationTime "
            "order, which incremental reads rely on. Query without an index or .order('desc') "
            "(Convex's default order is by _creationTime), or sync the stream in full refresh."
        )
    return times[-1]
