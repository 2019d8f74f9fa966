"""`check` and `discover` of both connectors in-process, through their real entry points (the
CDK's AirbyteEntrypoint for the source, the destination's own `run_cmd`), for config fuzzing.

An exception that escapes is returned, not raised: a real process would print it as an ERROR
trace and exit 1; whether the connector classified it itself is what the tests judge.
"""

from __future__ import annotations

import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import AirbyteMessageSerializer
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from destination_convex.destination import DestinationConvex
from source_convex.source import SourceConvex

from .secrets_guard import GUARD

_LOCK = threading.Lock()


@dataclass
class CommandResult:
    messages: list[dict[str, Any]]
    exception: Optional[BaseException]

    @property
    def status(self) -> Optional[dict[str, Any]]:
        statuses = [m["connectionStatus"] for m in self.messages if m["type"] == "CONNECTION_STATUS"]
        return statuses[-1] if statuses else None

    @property
    def catalog(self) -> Optional[dict[str, Any]]:
        found = [m["catalog"] for m in self.messages if m["type"] == "CATALOG"]
        return found[-1] if found else None

    @property
    def classified(self) -> bool:
        exc = self.exception
        return isinstance(exc, AirbyteTracedException) and bool(exc.message) and exc.failure_type is not None

    def describe(self) -> str:
        exc = self.exception
        return f"status {self.status}, exception {type(exc).__name__ if exc else None}: {getattr(exc, 'message', exc)}"


def _scan(result: CommandResult, what: str) -> CommandResult:
    text = json.dumps(result.messages, default=str)
    if result.exception is not None:
        text += repr(result.exception) + str(getattr(result.exception, "message", ""))
        text += str(getattr(result.exception, "internal_message", ""))
    GUARD.check(text, what)
    return result


def source_command(command: str, config: Any) -> CommandResult:
    """`source-convex check|discover --config <config>` in-process."""
    with tempfile.TemporaryDirectory() as tmp, _LOCK:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        entrypoint = AirbyteEntrypoint(SourceConvex())
        messages: list[dict[str, Any]] = []
        exception = None
        try:
            for line in entrypoint.run(entrypoint.parse_args([command, "--config", str(path)])):
                messages.append(json.loads(line))
        except Exception as err:
            exception = err
    return _scan(CommandResult(messages, exception), f"source {command}")


def destination_check(config: Any) -> CommandResult:
    """`destination-convex check --config <config>` in-process."""
    with tempfile.TemporaryDirectory() as tmp, _LOCK:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        destination = DestinationConvex()
        messages: list[dict[str, Any]] = []
        exception = None
        try:
            for message in destination.run_cmd(destination.parse_args(["check", "--config", str(path)])):
                payload = message if isinstance(message, dict) else AirbyteMessageSerializer.dump(message)
                messages.append(json.loads(json.dumps(payload, default=str)))
        except Exception as err:
            exception = err
    return _scan(CommandResult(messages, exception), "destination check")
