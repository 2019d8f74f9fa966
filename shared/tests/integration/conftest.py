"""Helpers for the integration tests against the local Convex-compatible deployment."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterator

import pytest

from convex_shared import ConnectionSettings, ConvexClient, RetryPolicy, Secret, client_id
from convex_shared.version import EXPORT_CLIENT, IMPORT_CLIENT

FAST_RETRY = RetryPolicy(max_attempts=4, initial_delay_s=0.01, max_delay_s=0.05, max_total_s=10.0, jitter=0.0,
                         max_retry_after_s=0.5)
LOGGER = logging.getLogger("convex_shared.itest")

ClientFactory = Callable[..., ConvexClient]


@pytest.fixture
def make_client(convex_server: Any) -> Iterator[ClientFactory]:
    """Build clients for the running deployment; all are closed after the test."""
    made: list[ConvexClient] = []

    def build(key: str | None = None, *, importing: bool = False, read_timeout_s: float = 5.0,
              retry: RetryPolicy = FAST_RETRY) -> ConvexClient:
        settings = ConnectionSettings.from_config(
            {"deployment_url": convex_server.url, "access_key": key or convex_server.admin_key,
             "connect_timeout_seconds": 2, "read_timeout_seconds": read_timeout_s},
            retry=retry,
        )
        client = ConvexClient(settings, client_id(IMPORT_CLIENT if importing else EXPORT_CLIENT), LOGGER)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


def secret_of(key: str) -> str:
    """The secret part of a key, which must appear nowhere."""
    return Secret(key).reveal().split("|", 1)[-1]
