"""The destination's `write` command run in-process: its real `run()` entry point, reading the
input from a file descriptor as it reads stdin, printing to a captured stdout.

Used for property-based fuzzing, where a new interpreter per example would cost a second or
more; the CLI-level behaviour (exit code, stderr) is tested with real subprocesses elsewhere.
An exception escaping `run()` is what the CDK's excepthook would turn into an ERROR trace and
exit code 1; it is returned as such, so a test can tell a classified failure from a stray one.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from destination_convex.destination import DestinationConvex

from .messages import Output
from .secrets_guard import GUARD

_LOCK = threading.Lock()  # stdin, stdout and the excepthook are process-wide


@dataclass
class InProcessWrite:
    output: Output
    exception: Optional[BaseException]

    @property
    def failed(self) -> bool:
        return self.exception is not None

    @property
    def classified(self) -> bool:
        """The failure is one the connector raised on purpose, with its own message."""
        exc = self.exception
        return isinstance(exc, AirbyteTracedException) and bool(exc.message) and exc.failure_type is not None

    def describe(self) -> str:
        exc = self.exception
        detail = (f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}" if exc is not None else "none")
        return f"exception {detail}; states out {len(self.output.states)}"


def write_in_process(config: dict[str, Any], catalog: dict[str, Any], data: bytes) -> InProcessWrite:
    with tempfile.TemporaryDirectory() as tmp, _LOCK:
        folder = Path(tmp)
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "catalog.json").write_text(json.dumps(catalog))
        (folder / "input.jsonl").write_bytes(data)
        stdout = io.StringIO()
        hook, stdin = sys.excepthook, sys.stdin
        exception: Optional[BaseException] = None
        with open(folder / "input.jsonl", "r", encoding="utf-8", errors="replace") as source:
            sys.stdin = source
            try:
                with contextlib.redirect_stdout(stdout):
                    DestinationConvex().run(["write", "--config", str(folder / "config.json"), "--catalog",
                                             str(folder / "catalog.json")])
            except Exception as err:  # what the excepthook of a real process would report
                exception = err
            finally:
                sys.stdin, sys.excepthook = stdin, hook
    text = stdout.getvalue()
    GUARD.check(text, "the stdout of an in-process destination write")
    if exception is not None:
        GUARD.check(f"{exception!r} {getattr(exception, 'message', '')}",
                    "the error of an in-process destination write")
    return InProcessWrite(Output.parse(text), exception)
