"""The client over real sockets: pooling, gzip, resets, cut-off bodies, timeouts, refused
connections, DNS and TLS failures, each classified with the host named and no key in sight."""

from __future__ import annotations

import logging
import socket
import time
from typing import Iterator

import orjson
import pytest

from convex_shared import (
    ConnectionSettings,
    ConvexBadResponseError,
    ConvexClient,
    ConvexConfigError,
    ConvexTransientError,
    RetryPolicy,
    Secret,
)

from .wire_server import Handler, WireServer, serve

pytestmark = pytest.mark.timeout(30)

KEY = "prod:happy-animal-123|01ab23cd45ef67890123456789abcdef0123456789abcdef"
PAGE = {"values": [{"_table": "t", "_component": "", "_id": "x" * 20, "n": "1"}] * 50, "snapshot": 7,
        "cursor": None, "hasMore": False}
FAST = RetryPolicy(max_attempts=3, initial_delay_s=0.01, max_delay_s=0.02, max_total_s=5.0, jitter=0.0)


@pytest.fixture
def wire() -> Iterator[WireServer]:
    yield from serve()


def make_client(url: str, read_timeout_s: float = 2.0, retry: RetryPolicy = FAST) -> ConvexClient:
    settings = ConnectionSettings(deployment_url=url, access_key=Secret(KEY), connect_timeout_s=1.0,
                                  read_timeout_s=read_timeout_s, retry=retry)
    return ConvexClient(settings, "airbyte-export-1.0.0", logging.getLogger("convex_shared.wire"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_one_pooled_connection_serves_many_requests(wire: WireServer) -> None:
    wire.routes["/api/list_snapshot"] = lambda h: h.reply(200, orjson.dumps(PAGE))
    with make_client(wire.url) as client:
        for _ in range(20):
            assert len(client.list_snapshot(snapshot=7).values) == 50
    assert wire.connections == 1 and client.request_count == 20


def test_gzip_answers_are_decoded(wire: WireServer) -> None:
    wire.routes["/api/list_snapshot"] = lambda h: h.reply_gzip(orjson.dumps(PAGE))
    with make_client(wire.url) as client:
        assert client.list_snapshot().snapshot == 7
    assert "gzip" in wire.seen[0][2]["Accept-Encoding"]


def test_get_with_json_body_reaches_the_server(wire: WireServer) -> None:
    wire.routes["/api/streaming_import/primary_key_indexes_ready"] = lambda h: h.reply(200, b'{"indexesReady":false}')
    with make_client(wire.url) as client:
        assert client.primary_key_indexes_ready(["users", "posts"]) is False
    method, _, headers, body = wire.seen[0]
    assert method == "GET" and orjson.loads(body) == {"tables": ["users", "posts"]}
    assert headers["Content-Type"] == "application/json"


def test_reset_is_retried(wire: WireServer, caplog: pytest.LogCaptureFixture) -> None:
    calls = iter([Handler.reset, lambda h: h.reply(200, orjson.dumps(PAGE))])
    wire.routes["/api/list_snapshot"] = lambda h: next(calls)(h)
    with make_client(wire.url) as client, caplog.at_level(logging.WARNING):
        assert client.list_snapshot().snapshot == 7
    assert "connection closed or reset" in caplog.text and KEY.split("|")[1] not in caplog.text


def test_cut_off_body_is_retried(wire: WireServer) -> None:
    calls = iter([lambda h: h.truncated(b'{"values":['), lambda h: h.reply(200, orjson.dumps(PAGE))])
    wire.routes["/api/list_snapshot"] = lambda h: next(calls)(h)
    with make_client(wire.url) as client:
        assert client.list_snapshot().snapshot == 7
        assert client.request_count == 2


def test_read_timeout_is_transient_and_bounded(wire: WireServer) -> None:
    wire.routes["/api/list_snapshot"] = lambda h: (time.sleep(0.6), h.reply(200, orjson.dumps(PAGE)))[1]
    started = time.monotonic()
    with make_client(wire.url, read_timeout_s=0.2, retry=RetryPolicy(max_attempts=2, initial_delay_s=0.01)) as client:
        with pytest.raises(ConvexTransientError) as info:
            client.list_snapshot()
    assert "0.2 s" in str(info.value) and "read_timeout_seconds" in str(info.value)
    assert info.value.attempts == 2
    assert time.monotonic() - started < 3


def test_connection_refused_names_the_host_and_port() -> None:
    port = free_port()
    with make_client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(ConvexTransientError) as info:
            client.test_streaming_export_connection()
    assert f"127.0.0.1:{port}" in str(info.value) and "refused" in str(info.value)
    assert info.value.attempts == 3 and not info.value.maybe_committed


def test_dns_failure_fails_at_once_naming_the_host() -> None:
    with make_client("https://no-such-deployment-123.invalid") as client:
        with pytest.raises(ConvexConfigError) as info:
            client.test_streaming_export_connection()
    assert "no-such-deployment-123.invalid" in str(info.value) and "DNS" in str(info.value)
    assert info.value.attempts == 1 and info.value.failure_type == "config_error"


def test_tls_to_a_plain_http_server_is_a_config_error(wire: WireServer) -> None:
    https_url = wire.url.replace("http://", "https://")
    with make_client(https_url) as client:
        with pytest.raises(ConvexConfigError) as info:
            client.test_streaming_export_connection()
    text = str(info.value)
    assert "TLS" in text and "http://" in text and info.value.attempts == 1
    assert info.value.__cause__ is None


def test_html_502_then_success(wire: WireServer) -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    calls = iter([lambda h: h.reply(502, html, {"Content-Type": "text/html"}),
                  lambda h: h.reply(200, orjson.dumps(PAGE))])
    wire.routes["/api/list_snapshot"] = lambda h: next(calls)(h)
    with make_client(wire.url) as client:
        assert client.list_snapshot().snapshot == 7


def test_wrong_shape_on_200_gives_up_as_bad_response(wire: WireServer) -> None:
    wire.routes["/api/list_snapshot"] = lambda h: h.reply(200, b'{"page": [], "isDone": true}')
    with make_client(wire.url) as client:
        with pytest.raises(ConvexBadResponseError) as info:
            client.list_snapshot()
    assert "missing field 'values'" in str(info.value) and info.value.attempts == 3


def test_redirect_is_reported_not_followed(wire: WireServer) -> None:
    wire.routes["/api/list_snapshot"] = lambda h: h.reply(301, b"", {"Location": "https://elsewhere.example.com/"})
    with make_client(wire.url) as client:
        with pytest.raises(ConvexConfigError) as info:
            client.list_snapshot()
    assert "elsewhere.example.com" in str(info.value)
    assert len(wire.seen) == 1
