"""The console entry point's launch: the CDK's entrypoint, with RECORD messages printed faithfully.

The CDK serialises every message with `AirbyteMessageSerializer` (serpyco, `omit_none`),
which drops TOP-LEVEL null fields of a record's `data`: a Convex field holding `null`
would reach the destination as missing, and `_ab_cdc_deleted_at: null` would never be
written. For the `read` command, RECORD messages are therefore printed here as
`orjson` of a plain dict, nulls and all (also the cheaper path per record). Everything
else (config validation against the spec, secret masking, STATE `sourceStats`, the other
commands, error traces) stays the CDK's: `read` still goes through `AirbyteEntrypoint.read`.

`run` repeats the CDK's read branch because the CDK calls its serialiser through the class
(`AirbyteEntrypoint.airbyte_message_to_string`), which a subclass cannot override.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.logger import PRINT_BUFFER, is_platform_debug_log_enabled
from airbyte_cdk.models import AirbyteMessage, Type
from airbyte_cdk.sources import Source
from airbyte_cdk.utils.constants import ENV_REQUEST_CACHE_PATH

from convex_shared.airbyte import record_dict

_cdk_logger = logging.getLogger("airbyte")


def message_to_string(message: AirbyteMessage) -> str:
    """One protocol line; RECORD messages keep their top-level nulls."""
    record = message.record
    if message.type is Type.RECORD and record is not None and record.meta is None and record.file_reference is None:
        try:
            return orjson.dumps(record_dict(record)).decode()
        except (TypeError, orjson.JSONEncodeError):
            pass  # a value orjson cannot write (an int beyond 64 bits, say): the CDK's path copes
    return AirbyteEntrypoint.airbyte_message_to_string(message)


class ConvexEntrypoint(AirbyteEntrypoint):
    """AirbyteEntrypoint whose `read` prints RECORD messages with `message_to_string`."""

    def run(self, parsed_args: argparse.Namespace) -> Iterable[str]:
        if parsed_args.command != "read":
            return super().run(parsed_args)
        return self._run_read(parsed_args)

    def _run_read(self, parsed_args: argparse.Namespace) -> Iterator[str]:
        # The CDK's `run` for cmd == "read" (airbyte-cdk 7.x), with our serialiser.
        if getattr(parsed_args, "debug", False) or is_platform_debug_log_enabled():
            self.logger.setLevel(logging.DEBUG)
            _cdk_logger.setLevel(logging.DEBUG)
            self.logger.debug("Debug logs enabled")
        else:
            self.logger.setLevel(logging.INFO)
        source_spec = self.source.spec(self.logger)
        try:
            with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as temp_dir:
                os.environ[ENV_REQUEST_CACHE_PATH] = temp_dir
                config = self.source.configure(self.source.read_config(parsed_args.config), temp_dir)
                yield from map(message_to_string, self._emit_queued_messages(self.source))
                catalog = self.source.read_catalog(parsed_args.catalog)
                state = self.source.read_state(parsed_args.state)
                yield from map(message_to_string, self.read(source_spec, config, catalog, state))
        finally:
            yield from map(message_to_string, self._emit_queued_messages(self.source))


_RECORD_PREFIX = '{"type":"RECORD"'
_BATCH = 256


def launch(source: Source, args: list[str]) -> None:
    """The CDK's `launch`, with `ConvexEntrypoint`, writing records in batches.

    Lines go to stdout as the CDK's launch sends them (through its PRINT_BUFFER), but
    RECORD lines are joined up to `_BATCH` at a time: one write instead of one print per
    record. Any other message (STATE, TRACE, LOG) flushes the batch first and goes out
    at once, so a state is never held back behind records, nor records behind their state.
    """
    entrypoint = ConvexEntrypoint(source)
    parsed_args = entrypoint.parse_args(args)
    with PRINT_BUFFER:
        batch: list[str] = []
        try:
            for message in entrypoint.run(parsed_args):
                batch.append(message)
                if len(batch) >= _BATCH or not message.startswith(_RECORD_PREFIX):
                    sys.stdout.write("\n".join(batch) + "\n")
                    batch.clear()
        finally:
            if batch:
                sys.stdout.write("\n".join(batch) + "\n")
