"""The Functions API client's pure parts: auth, answer parsing, failure classes, action URLs."""

from __future__ import annotations

import logging

import orjson
import pytest

from convex_shared import ConvexBadResponseError, ConvexConfigError
from convex_shared.functions import (
    AuthScheme,
    ConvexFunctionError,
    Failure,
    FunctionAuth,
    _parser,
    classify_message,
    split_action_url,
)


def test_a_bearer_access_key_is_a_user_token_and_anything_else_a_deploy_key() -> None:
    user = FunctionAuth.from_access_key("Bearer eyJhbGc.eyJzdWIi.sig")
    assert user.scheme is AuthScheme.USER_TOKEN and user.header == "Bearer eyJhbGc.eyJzdWIi.sig"
    key = FunctionAuth.from_access_key("prod:happy-animal-123|01ab")
    assert key.scheme is AuthScheme.DEPLOY_KEY and key.header == "Convex prod:happy-animal-123|01ab"
    assert "01ab" not in repr(key)
    with pytest.raises(ConvexConfigError):
        FunctionAuth.from_access_key("Bearer ")


@pytest.mark.parametrize("message, failure", [
    ("[Request ID: 1] Server Error\nCould not find public function for 'a:b'.", Failure.NOT_FOUND),
    ("Trying to execute a:b as Mutation, but it is defined as Query.", Failure.WRONG_KIND),
    ("ArgumentValidationError: Object is missing the required field `x`.", Failure.ARGUMENTS),
    ("Uncaught Error: Too many writes in a single function execution (limit: 16000)", Failure.LIMIT),
    ("Arguments for a:b are too large (actual: 17 MiB, limit: 16 MiB)", Failure.LIMIT),
    ("Function execution timed out (maximum duration: 1s)", Failure.LIMIT),
    ("Uncaught TypeError: x is undefined", Failure.OTHER),
])
def test_error_messages_are_classified_in_the_backends_words(message: str, failure: Failure) -> None:
    assert classify_message(message) is failure


def test_a_success_answer_returns_the_value_and_logs_its_lines(caplog: pytest.LogCaptureFixture) -> None:
    parse = _parser("a:b", logging.getLogger("t"), lambda text: text)
    with caplog.at_level(logging.INFO):
        result = parse(orjson.dumps({"status": "success", "value": [1], "logLines": ["[LOG] 'hi'"]}))
    assert result.value == [1] and result.log_lines == ["[LOG] 'hi'"]
    assert "[LOG] 'hi'" in caplog.text


def test_an_error_answer_with_error_data_is_a_config_error_that_is_not_retried() -> None:
    parse = _parser("a:b", logging.getLogger("t"), lambda text: text.replace("secret", "****"))
    with pytest.raises(ConvexFunctionError) as caught:
        parse(orjson.dumps({"status": "error", "errorMessage": "Uncaught ConvexError: secret", "errorData": {"i": 2}}))
    err = caught.value
    assert err.failure is Failure.CONVEX_ERROR and err.failure_type == "config_error" and not err.transient
    assert err.error_data == {"i": 2} and "secret" not in str(err) and "a:b" in str(err)


def test_an_unknown_thrown_error_is_retried_and_a_non_udf_body_is_a_bad_response() -> None:
    parse = _parser("a:b", logging.getLogger("t"), lambda text: text)
    with pytest.raises(ConvexFunctionError) as caught:
        parse(orjson.dumps({"status": "error", "errorMessage": "Uncaught Error: boom"}))
    assert caught.value.transient
    with pytest.raises(ConvexBadResponseError):
        parse(b"<html>")
    with pytest.raises(ConvexBadResponseError):
        parse(b'{"code": "X"}')


def test_http_action_urls() -> None:
    assert split_action_url("https://happy-animal-123.convex.site/airbyte/ingest") == (
        "https://happy-animal-123.convex.site", "/airbyte/ingest")
    with pytest.raises(ConvexConfigError, match="convex.site"):
        split_action_url("https://happy-animal-123.convex.cloud/airbyte/ingest")
    with pytest.raises(ConvexConfigError):
        split_action_url("ftp://x/y")
