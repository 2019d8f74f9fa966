"""The code table: every contract code is classified and explained; unknown codes fall back by status."""

from __future__ import annotations

import pytest

from convex_shared import (
    CODE_TABLE,
    ConvexAuthError,
    ConvexBadResponseError,
    ConvexConfigError,
    ConvexError,
    ConvexPermissionError,
    ConvexRequestError,
    ConvexTransientError,
)
from convex_shared.errors import error_for_status

# Every code named in the Convex contract (convex-api.md), with its status there.
CONTRACT_CODES = {
    "BadJsonBody": 400, "BadQueryArgs": 400, "InvalidClientVersion": 400, "BadAdminKey": 401,
    "BadDeployKey": 403, "OperationNotPermitted": 403, "InvalidHeaderFailure": 400, "InvalidAdminKey": 400,
    "StreamingExportNotEnabled": 403, "BadFormat": 400, "InvalidListSnapshotCursor": 400, "SnapshotTooOld": 400,
    "SnapshotTooNew": 400, "DocumentDeltasCursorRequired": 400, "InvalidWindowToReadDocuments": 400,
    "NoSchemaForExport": 400, "NoTableDefinitionForExport": 400, "UnsupportedSchemaForExport": 400,
    "OverwriteNotSupported": 400, "MissingStream": 400, "EmptyPrimaryKey": 400, "MissingPrimaryKeyValue": 400,
    "IndexNotFoundError": 400, "IndexBackfillingError": 400, "InvalidPrimaryKey": 400, "MissingIndex": 400,
    "TooManyWrites": 429, "InternalServerError": 500,
}


def test_table_covers_every_contract_code() -> None:
    assert set(CONTRACT_CODES) <= set(CODE_TABLE)


@pytest.mark.parametrize("code", sorted(CODE_TABLE))
def test_every_row_is_complete(code: str) -> None:
    info = CODE_TABLE[code]
    assert issubclass(info.error_class, ConvexError)
    assert info.failure_type in {"config_error", "transient_error", "system_error"}
    assert len(info.explanation) > 40 and info.explanation.endswith((".", ")"))


@pytest.mark.parametrize(
    ("code", "cls", "failure_type", "remedy"),
    [
        ("BadAdminKey", ConvexAuthError, "config_error", "prod vs dev"),
        ("BadDeployKey", ConvexAuthError, "config_error", "environment"),
        ("InvalidAdminKey", ConvexAuthError, "config_error", "without a 'Convex '"),
        ("InvalidHeaderFailure", ConvexAuthError, "config_error", "whole deploy key"),
        ("OperationNotPermitted", ConvexPermissionError, "config_error", "deployment:backups:import"),
        ("StreamingExportNotEnabled", ConvexPermissionError, "config_error", "convex.dev/plans"),
        ("InvalidWindowToReadDocuments", ConvexRequestError, "config_error", "retention window"),
        ("SnapshotTooOld", ConvexRequestError, "config_error", "Refresh the connection"),
        ("NoSchemaForExport", ConvexRequestError, "config_error", "schema.ts"),
        ("EmptyPrimaryKey", ConvexRequestError, "config_error", "primary key"),
        ("MissingStream", ConvexRequestError, "system_error", "bug in the connector"),
        ("BadJsonBody", ConvexRequestError, "system_error", "bug in the connector"),
        ("IndexBackfillingError", ConvexRequestError, "transient_error", "index"),
    ],
)
def test_code_rows(code: str, cls: type, failure_type: str, remedy: str) -> None:
    err = error_for_status(CONTRACT_CODES[code], code, "what convex said", route="/api/x")
    assert type(err) is cls
    assert err.failure_type == failure_type
    assert err.transient is False
    assert remedy in err.explanation
    assert (err.status, err.code, err.convex_message) == (CONTRACT_CODES[code], code, "what convex said")
    text = str(err)
    assert code in text and "what convex said" in text and remedy in text


@pytest.mark.parametrize(("status", "code"), [(429, "TooManyWrites"), (500, "InternalServerError"),
                                              (502, None), (503, None), (504, None), (503, "SomethingNew"),
                                              (429, None)])
def test_transient_statuses_are_retryable(status: int, code: str | None) -> None:
    err = error_for_status(status, code, None, retry_after_s=2.0)
    assert isinstance(err, ConvexTransientError)
    assert err.transient and err.failure_type == "transient_error"
    assert err.retry_after_s == 2.0


@pytest.mark.parametrize(
    ("status", "cls", "failure_type"),
    [(400, ConvexRequestError, "system_error"), (401, ConvexAuthError, "config_error"),
     (403, ConvexPermissionError, "config_error"), (404, ConvexConfigError, "config_error"),
     (409, ConvexRequestError, "system_error"), (413, ConvexRequestError, "system_error"),
     (501, ConvexRequestError, "system_error"), (505, ConvexRequestError, "system_error")],
)
def test_unknown_codes_fall_back_by_status(status: int, cls: type, failure_type: str) -> None:
    err = error_for_status(status, "NeverHeardOfIt", "m")
    assert type(err) is cls and err.failure_type == failure_type and not err.transient


def test_bad_response_is_transient_but_a_system_error() -> None:
    err = ConvexBadResponseError("x")
    assert err.transient and err.failure_type == "system_error"


def test_str_lists_details_and_attempts() -> None:
    err = error_for_status(503, None, None, route="/api/list_snapshot", note="(The answer had no body.)")
    err.attempts = 4
    assert str(err).endswith("[Convex: HTTP 503] [request: /api/list_snapshot] [gave up after 4 attempts]")
    assert "no body" in err.explanation


def test_all_classes_share_one_root() -> None:
    for cls in (ConvexAuthError, ConvexPermissionError, ConvexConfigError, ConvexRequestError,
                ConvexTransientError, ConvexBadResponseError):
        assert issubclass(cls, ConvexError) and cls.__doc__


@pytest.mark.parametrize("code", ["SchemaEnforcementError", "InvalidDocumentError", "ValueTooLargeError",
                                  "TooManyFieldsError", "ArrayTooLong", "IndexTooManyFields", "TooNestedError"])
def test_validation_codes_are_config_errors_with_a_remedy(code: str) -> None:
    # The contract's Corrections: data Convex cannot store is the user's to change, not a connector bug.
    error = error_for_status(400, code, "Object has too many fields")
    assert error.failure_type == "config_error" and not error.transient
    assert "bug" not in error.explanation and ("Deselect" in error.explanation or "Choose" in error.explanation
                                               or "Change" in error.explanation)
