"""The error classes, and the one table that explains every Convex error code.

Classes say what the caller should do; the table (not an if-chain) says, per code, which
class it is, which Airbyte failure type it becomes and what the user should do about it.
`transient` means "the same request may succeed if retried" and drives the retry loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Literal

FailureType = Literal["config_error", "transient_error", "system_error"]
CONFIG: Final = "config_error"
TRANSIENT: Final = "transient_error"
SYSTEM: Final = "system_error"


class ConnectorError(Exception):
    """Root of every failure either connector reports: what failed (`message`), what to do (`remedy`),
    and the Airbyte failure type (config_error: change something; transient_error: try again later;
    system_error: a bug or a broken peer). `step` names what was being done (set by `step()`).
    Turned into an Airbyte trace once, at the connector boundary (`convex_shared.airbyte.to_trace`)."""

    def __init__(
        self,
        message: str,
        *,
        failure_type: FailureType = SYSTEM,
        remedy: str | None = None,
        internal: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        self.failure_type: FailureType = failure_type
        self.internal = internal  # for the trace's internal message (what a maintainer needs), never the key
        self.step: str | None = None

    def __str__(self) -> str:
        return f"{self.message} {self.remedy}" if self.remedy else self.message


@contextmanager
def step(what: str) -> Iterator[None]:
    """Name what is being done ("Listing the tables of the deployment") on any ConnectorError raised
    inside; the innermost step wins, so an outer, vaguer one never hides it."""
    try:
        yield
    except ConnectorError as err:
        if err.step is None:
            err.step = what
        raise


class ConvexError(ConnectorError):
    """Root of every error the Convex client raises."""

    default_failure_type: FailureType = SYSTEM
    default_transient: bool = False

    def __init__(
        self,
        explanation: str,
        *,
        status: int | None = None,
        code: str | None = None,
        convex_message: str | None = None,
        failure_type: FailureType | None = None,
        transient: bool | None = None,
        route: str | None = None,
        retry_after_s: float | None = None,
        maybe_committed: bool = True,
        reason: str | None = None,
    ) -> None:
        super().__init__(explanation, failure_type=failure_type or self.default_failure_type)
        self.explanation = explanation
        self.status = status
        self.code = code
        self.convex_message = convex_message
        self.transient = self.default_transient if transient is None else transient
        self.route = route
        self.retry_after_s = retry_after_s
        # False only when the request provably never reached the server (e.g. connect failed):
        # then retrying an append import cannot duplicate rows.
        self.maybe_committed = maybe_committed
        self.attempts = 1
        self._reason = reason

    @property
    def reason(self) -> str:
        """A short cause for one log line (`HTTP 503 Overloaded: ...`, `read timeout`)."""
        return self._reason or self.details or self.explanation

    @property
    def details(self) -> str:
        """What Convex said, e.g. `HTTP 401 BadAdminKey: The provided admin key was invalid`."""
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code)
        head = " ".join(parts)
        if self.convex_message:
            head = f"{head}: {self.convex_message}" if head else self.convex_message
        return head

    def __str__(self) -> str:
        text = self.explanation
        if self.details:
            text += f" [Convex: {self.details}]"
        if self.route:
            text += f" [request: {self.route}]"
        if self.attempts > 1:
            text += f" [gave up after {self.attempts} attempts]"
        return text

    def with_attempts(self, attempts: int) -> ConvexError:
        self.attempts = attempts
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, explanation={self.explanation!r})"


class ConvexConfigError(ConvexError):
    """The connector's configuration is wrong (URL, key shape, timeouts, unreachable host, TLS)."""

    default_failure_type = CONFIG


class ConvexAuthError(ConvexError):
    """The access key was refused: wrong deployment, revoked, malformed or missing."""

    default_failure_type = CONFIG


class ConvexPermissionError(ConvexError):
    """The key is valid but may not do this (missing permission, feature not on the plan)."""

    default_failure_type = CONFIG


class ConvexRequestError(ConvexError):
    """Convex rejected the request itself (arguments, state, data); retrying will not help."""


class ConvexTransientError(ConvexError):
    """A failure that may pass: network, timeout, rate limit, 5xx. Retried with backoff."""

    default_failure_type = TRANSIENT
    default_transient = True


class ConvexBadResponseError(ConvexError):
    """The server answered something that is not the Convex response expected. Retried,
    since proxies and restarts produce these; persisting means the URL is not a Convex deployment."""

    default_transient = True


@dataclass(frozen=True)
class CodeInfo:
    """How one Convex error code is classified and explained."""

    error_class: type[ConvexError]
    failure_type: FailureType
    explanation: str


REPORT_BUG: Final = "This is a bug in the connector: please report it with this message."
_REPORT = REPORT_BUG
_REFRESH = "Refresh the connection (or reset its state) in Airbyte to start again from a new snapshot."

#: Every error code in the Convex contract -> class, Airbyte failure type, explanation + remedy.
CODE_TABLE: Final[Mapping[str, CodeInfo]] = {
    # Request shape: our bugs, or a batch over the body limit.
    "BadJsonBody": CodeInfo(
        ConvexRequestError,
        SYSTEM,
        "Convex could not read the request body (not JSON, wrong Content-Type, or over the size limit). " + _REPORT,
    ),
    "BadQueryArgs": CodeInfo(ConvexRequestError, SYSTEM, "Convex rejected the request's query parameters. " + _REPORT),
    "InvalidClientVersion": CodeInfo(
        ConvexRequestError, SYSTEM, "Convex rejected the Convex-Client header. " + _REPORT
    ),
    "BadFormat": CodeInfo(
        ConvexRequestError, SYSTEM, "Convex does not support the requested export format. " + _REPORT
    ),
    "DocumentDeltasCursorRequired": CodeInfo(
        ConvexRequestError, SYSTEM, "A change-log read was sent without a cursor. " + _REPORT
    ),
    "MissingStream": CodeInfo(
        ConvexRequestError, SYSTEM, "An import batch referred to a stream it did not declare. " + _REPORT
    ),
    "MissingIndex": CodeInfo(
        ConvexRequestError,
        SYSTEM,
        "Convex was asked whether a primary-key index is ready on a table that has none. " + _REPORT,
    ),
    "OverwriteNotSupported": CodeInfo(
        ConvexRequestError, SYSTEM, "Convex does not support replacing tables through streaming import. " + _REPORT
    ),
    # Authentication.
    "BadAdminKey": CodeInfo(
        ConvexAuthError,
        CONFIG,
        "The access key does not belong to this deployment, or it was revoked. Check that the key was made for "
        "the same deployment as deployment_url (prod vs dev is the usual mix-up), and create a new deploy key in the "
        "Convex dashboard under Settings -> URL & Deploy Key if needed.",
    ),
    "BadDeployKey": CodeInfo(
        ConvexAuthError,
        CONFIG,
        "Convex did not accept the access key for this deployment. Check that the key's environment (prod, dev, "
        "preview) matches deployment_url and paste the whole key.",
    ),
    "InvalidHeaderFailure": CodeInfo(
        ConvexAuthError,
        CONFIG,
        "Convex could not read the access key: it looks empty or cut short. Paste the whole deploy key.",
    ),
    "InvalidAdminKey": CodeInfo(
        ConvexAuthError,
        CONFIG,
        "Convex could not read the access key. Paste the deploy key exactly as the dashboard shows it "
        "(e.g. prod:happy-animal-123|...), without a 'Convex ' or 'Bearer ' prefix.",
    ),
    # Permission and plan.
    "OperationNotPermitted": CodeInfo(
        ConvexPermissionError,
        CONFIG,
        "The access key lacks the permission for this operation: importing needs deployment:backups:import, "
        "exporting needs deployment:data:view (a read-only key can export but not import). Use a deploy key or an "
        "admin key that has it.",
    ),
    "StreamingExportNotEnabled": CodeInfo(
        ConvexPermissionError,
        CONFIG,
        "Streaming export is not available on this deployment's Convex plan. Upgrade at https://www.convex.dev/plans "
        "(self-hosted deployments always have it).",
    ),
    # Export positions.
    "InvalidListSnapshotCursor": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "Convex could not read the saved snapshot position (cursor); the saved state is damaged or from another "
        "deployment. " + _REFRESH,
    ),
    "SnapshotTooOld": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "The interrupted initial sync cannot resume: its snapshot is older than Convex keeps snapshots (5 days). "
        + _REFRESH,
    ),
    "SnapshotTooNew": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "The saved snapshot is ahead of the deployment's clock, so the saved state probably belongs to another "
        "deployment. " + _REFRESH,
    ),
    "InvalidWindowToReadDocuments": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "The saved position is older than the deployment's change-log retention window, so the changes since then "
        "are gone. " + _REFRESH,
    ),
    # Export schemas.
    "NoSchemaForExport": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "Convex cannot infer the schema of at least one table (it names none), so it describes no table of the "
        "deployment: that table's documents have more than 64 top-level fields (counting _id and _creationTime) or "
        "a top-level field name that is not an identifier (such as 'Order ID' or 'first-name'). Add a validator "
        "for the table in convex/schema.ts and deploy, or rename such fields to identifiers (letters, digits, "
        "underscores) and keep at most 62 fields of your own.",
    ),
    "NoTableDefinitionForExport": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A table whose schema Convex cannot infer (more than 64 top-level fields, or a field name that is not an "
        "identifier) has no definition in convex/schema.ts, so Convex describes no table of the deployment. Add a "
        "defineTable(...) for it and deploy.",
    ),
    "UnsupportedSchemaForExport": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A table's schema.ts validator is a shape streaming export cannot describe (the top level must be one "
        "object, not a union of objects), so Convex describes no table of the deployment. Change the validator "
        "and deploy.",
    ),
    # Import data and keys.
    "EmptyPrimaryKey": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A stream synced in a deduplicating mode has an empty primary key. Choose a primary key for the stream in "
        "the connection, or sync it in append mode.",
    ),
    "MissingPrimaryKeyValue": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A record has no value for its stream's primary key. Choose a primary key that every record has, or sync "
        "the stream in append mode.",
    ),
    "InvalidPrimaryKey": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A primary-key field cannot be indexed by Convex: key fields must be identifiers starting with a letter. "
        "Choose another primary key for the stream.",
    ),
    "IndexNotFoundError": CodeInfo(
        ConvexRequestError,
        TRANSIENT,
        "The table's primary-key index is missing (a schema push during the sync can remove it). Run the sync "
        "again: the connector creates the index before writing.",
    ),
    "IndexBackfillingError": CodeInfo(
        ConvexRequestError,
        TRANSIENT,
        "The table's primary-key index is still being built (it was changed during the sync). Run the sync again "
        "once the index is ready.",
    ),
    # Load.
    "TooManyWrites": CodeInfo(
        ConvexTransientError,
        TRANSIENT,
        "Convex is limiting how fast this deployment accepts writes. The connector slowed down and retried; if it "
        "keeps happening, run the sync when the deployment is less busy.",
    ),
    "InternalServerError": CodeInfo(
        ConvexTransientError,
        TRANSIENT,
        "The Convex deployment had an internal error. This is usually temporary: run the sync again later, and "
        "check https://status.convex.dev if it persists.",
    ),
    # The data sync API (/api/v1/data/sync, data_sync_cursor_from_deltas).
    "DataSyncCursorExpired": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "The saved data sync position is older than the deployment's retention window, so the changes since then "
        "are gone. " + _REFRESH,
    ),
    "InvalidDataSyncCursor": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "Convex could not read the saved data sync position (cursor), or it is ahead of the deployment's clock; "
        "the saved state is damaged or from another deployment. " + _REFRESH,
    ),
    "InvalidDataSyncSelection": CodeInfo(
        ConvexRequestError, SYSTEM, "Convex rejected the table selection of a data sync request. " + _REPORT
    ),
    # Import validation (the contract's Corrections): the data cannot be stored as it is.
    "SchemaEnforcementError": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A record does not match the table's schema in convex/schema.ts (Convex's message names the field). "
        "Change the validator so it accepts the stream's fields as Convex stores them (e.g. `_id` as source_id, "
        "numbers as v.float64(), optional fields with v.optional), or deselect the field in the connection.",
    ),
    "InvalidDocumentError": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A record is not a valid Convex document; usually it nests objects and arrays more than 16 levels deep. "
        "Deselect or flatten the deeply nested field of the stream at the source.",
    ),
    "TooNestedError": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A record nests objects and arrays more than Convex allows. Deselect or flatten the deeply nested field.",
    ),
    "ValueTooLargeError": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A record is over Convex's 1 MiB document limit (in Convex's size accounting). Deselect its large fields "
        "in the connection, or shrink the data at the source.",
    ),
    "TooManyFieldsError": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A record has an object with more than 1024 fields (a document's top level also holds _id and "
        "_creationTime). Deselect fields of the stream, or nest them at the source.",
    ),
    "ArrayTooLong": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A record holds an array of more than 8192 elements, which Convex cannot store. Deselect that field or "
        "split the array at the source.",
    ),
    "IndexTooManyFields": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "The stream's primary key has too many fields for a Convex index (at most 15: Convex appends "
        "_creationTime). Choose a shorter primary key.",
    ),
    "IndexFieldNameReserved": CodeInfo(
        ConvexRequestError,
        CONFIG,
        "A primary-key field starts with `_`, which Convex reserves. Choose another primary key.",
    ),
    "IndexFieldsContainId": CodeInfo(
        ConvexRequestError,
        SYSTEM,
        "The primary-key index was asked for on `_id`, which Convex does not allow. " + _REPORT,
    ),
    "IndexFieldsContainCreationTime": CodeInfo(
        ConvexRequestError,
        SYSTEM,
        "The primary-key index was asked for on `_creationTime`, which Convex does not allow. " + _REPORT,
    ),
    "IndexFieldsNotUnique": CodeInfo(
        ConvexRequestError, CONFIG, "The stream's primary key names the same field twice. Choose the primary key again."
    ),
}

#: What a repeated 500 from a dedup `import_airbyte_records` most likely means (the backend answers a
#: plain 500 for these, and retrying cannot help).
IMPORT_500: Final = (
    "Convex failed this deduplicated import twice with an internal error. That is usually not "
    "temporary: several documents in the table share one primary-key value (the table holds rows written "
    "without the key, e.g. by an append sync or the app), a field name needs more than 3 renames to avoid a "
    "collision (e.g. _id next to source_id, source_source_id and source_source_source_id), or a stream or "
    "field name has no valid Convex name (too long). Check the table's rows for duplicate keys (or clear it "
    "with a full refresh) and the stream's field names; if none applies, run the sync again later and check "
    "https://status.convex.dev."
)

#: Statuses that are always worth retrying, whatever the code says.
TRANSIENT_STATUSES: Final = frozenset({429, 500, 502, 503, 504})

#: Codes Convex did not name (or bodies that were not JSON), classified by status.
STATUS_TABLE: Final[Mapping[int, CodeInfo]] = {
    400: CodeInfo(ConvexRequestError, SYSTEM, "Convex rejected the request as invalid. " + _REPORT),
    401: CodeInfo(
        ConvexAuthError,
        CONFIG,
        "Convex did not accept the access key. Check that it was made for the deployment at deployment_url.",
    ),
    403: CodeInfo(
        ConvexPermissionError,
        CONFIG,
        "Convex refused the operation for this access key. Check the key's permissions and the deployment's plan.",
    ),
    404: CodeInfo(
        ConvexConfigError,
        CONFIG,
        "The server has no such Convex API route. Check that deployment_url is the deployment's URL "
        "(https://<name>.convex.cloud) and that the backend is recent enough to support streaming export/import.",
    ),
    413: CodeInfo(
        ConvexRequestError,
        SYSTEM,
        "The request was larger than the deployment (or a proxy in front of it) accepts; import batches must stay "
        "under 20 MiB. " + _REPORT,
    ),
    429: CodeInfo(
        ConvexTransientError,
        TRANSIENT,
        "Convex is rate-limiting requests. The connector waited and retried; run the sync again later.",
    ),
    500: CODE_TABLE["InternalServerError"],
    502: CodeInfo(
        ConvexTransientError,
        TRANSIENT,
        "A proxy in front of the deployment could not reach it (bad gateway). This is usually temporary: run the "
        "sync again later, and check https://status.convex.dev if it persists.",
    ),
    503: CodeInfo(
        ConvexTransientError,
        TRANSIENT,
        "The Convex deployment is overloaded or temporarily unavailable. Run the sync again later.",
    ),
    504: CodeInfo(
        ConvexTransientError,
        TRANSIENT,
        "A proxy in front of the deployment timed out waiting for it. This is usually temporary: run the sync "
        "again later.",
    ),
}

_CLASS_FALLBACK: Final[Mapping[int, CodeInfo]] = {
    4: CodeInfo(ConvexRequestError, SYSTEM, "Convex rejected the request. " + _REPORT),
    5: CodeInfo(
        ConvexRequestError,
        SYSTEM,
        "The Convex deployment failed in a way that retrying will not fix. Check https://status.convex.dev.",
    ),
}


def classify(status: int, code: str | None) -> CodeInfo:
    """The table row for a response: the code's row when known, else the status's."""
    info = CODE_TABLE.get(code) if code else None
    if info is None:
        info = STATUS_TABLE.get(status) or _CLASS_FALLBACK.get(status // 100, _CLASS_FALLBACK[5])
    return info


def error_for_status(
    status: int,
    code: str | None,
    convex_message: str | None,
    *,
    route: str | None = None,
    retry_after_s: float | None = None,
    note: str | None = None,
) -> ConvexError:
    """Build the error for a non-2xx answer. A transient status wins over the code's class,
    so a 503 is retried even when it carries an unfamiliar code."""
    info = classify(status, code)
    explanation = f"{info.explanation} {note}" if note else info.explanation
    if status in TRANSIENT_STATUSES:
        return ConvexTransientError(
            explanation,
            status=status,
            code=code,
            convex_message=convex_message,
            route=route,
            retry_after_s=retry_after_s,
        )
    return info.error_class(
        explanation,
        status=status,
        code=code,
        convex_message=convex_message,
        failure_type=info.failure_type,
        transient=False,
        route=route,
    )
