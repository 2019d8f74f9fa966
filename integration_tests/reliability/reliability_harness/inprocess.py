"""The source run in-process through the CDK's test entrypoint, for fuzzing at many examples a
second. It is the source's real entry class; only a quicker retry policy is passed in (the
constructor's documented knob), so a malformed answer that is retried costs milliseconds.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Optional

from airbyte_cdk.models import (
    AirbyteMessageSerializer,
    AirbyteStateMessageSerializer,
    ConfiguredAirbyteCatalogSerializer,
)
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read
from airbyte_cdk.test.models.outcome import ExpectedOutcome
from convex_shared import RetryPolicy
from source_convex.source import SourceConvex

from .secrets_guard import GUARD

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay_s=0.005, max_delay_s=0.02, max_total_s=5.0, jitter=0.0)
GENERIC = "Something went wrong in the connector"
#: The CDK's test entrypoint adjusts process-wide logging while it runs: one at a time.
_LOCK = threading.Lock()


@dataclass
class InProcessRead:
    """Messages of one in-process read, as dicts, in order."""

    messages: list[dict[str, Any]]

    @property
    def records(self) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD"]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["state"] for m in self.messages if m["type"] == "STATE"]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]

    def states_after_first_error(self) -> list[dict[str, Any]]:
        seen_error = False
        out = []
        for m in self.messages:
            if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR":
                seen_error = True
            elif m["type"] == "STATE" and seen_error:
                out.append(m["state"])
        return out

    def unclean_errors(self) -> list[str]:
        """ERROR traces that are the CDK's catch-all (an exception the connector did not classify)."""
        return [f"{e.get('message')} / {e.get('internal_message')}" for e in self.errors
                if not e.get("message") or GENERIC in e.get("message", "") or not e.get("failure_type")]


def read_in_process(config: dict[str, Any], catalog: dict[str, Any],
                    state: Optional[list[dict[str, Any]]] = None) -> InProcessRead:
    """One `read` of the source's real entry class; its whole output is scanned for keys."""
    states = [AirbyteStateMessageSerializer.load(s) for s in state] if state is not None else None
    with _LOCK:
        output: EntrypointOutput = read(SourceConvex(retry=FAST_RETRY), config,
                                        ConfiguredAirbyteCatalogSerializer.load(catalog), states,
                                        expected_outcome=ExpectedOutcome.ALLOW_ANY)
    messages = [AirbyteMessageSerializer.dump(m) for m in output.get_message_iterator()]
    GUARD.check(json.dumps(messages, default=str), "the output of an in-process source read")
    return InProcessRead(messages)
