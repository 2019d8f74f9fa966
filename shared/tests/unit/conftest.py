"""Shared fixtures for the unit tests: a realistic fake key and a client with tiny retry delays."""

from __future__ import annotations

import logging
from typing import Iterator

import pytest

from convex_shared import ConnectionSettings, ConvexClient, RetryPolicy, Secret

KEY = "prod:happy-animal-123|01ab23cd45ef67890123456789abcdef0123456789abcdef"
KEY_TAIL = KEY.split("|")[1]
URL = "https://happy-animal-123.convex.cloud"
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay_s=0.001, max_delay_s=0.005, max_total_s=5.0,
                         jitter=0.0, max_retry_after_s=0.05)


def make_settings(url: str = URL, key: str = KEY, **kwargs: object) -> ConnectionSettings:
    fields: dict[str, object] = {"retry": FAST_RETRY, "connect_timeout_s": 2.0, "read_timeout_s": 2.0}
    fields.update(kwargs)
    return ConnectionSettings(deployment_url=url, access_key=Secret(key), **fields)  # type: ignore[arg-type]


@pytest.fixture
def logger() -> logging.Logger:
    return logging.getLogger("convex_shared.test")


@pytest.fixture
def client(logger: logging.Logger) -> Iterator[ConvexClient]:
    with ConvexClient(make_settings(), client_id="airbyte-export-1.0.0", logger=logger) as c:
        yield c
