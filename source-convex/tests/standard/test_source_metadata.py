"""The source's metadata.yaml in Airbyte's registry format, consistent with its package, image and docs.

`MetadataSuite` checks what every connector's metadata and docs page must satisfy. What is the
source's own: its docs sections, and the sync modes a real `discover` offers for every stream.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airbyte_cdk.models import AirbyteMessageSerializer, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import discover
from convex_local.connector_testing import MetadataSuite

from source_convex import SourceConvex


class TestSourceMetadata(MetadataSuite):
    connector = SourceConvex
    connector_root = Path(__file__).resolve().parents[2]
    connector_type = "source"
    docs_sections = [
        "Prerequisites", "Setup guide", "Configuration reference", "Supported sync modes", "Data type mapping",
        "State and the retention window", "Convex components", "Deletes", "Limitations", "Performance",
        "Reliability", "Changelog",
    ]

    def test_every_discovered_stream_offers_the_documented_sync_modes(
        self, source_acceptance_configs: dict[str, Any]
    ) -> None:
        output = discover(SourceConvex(), source_acceptance_configs["config.json"])
        streams = output.catalog.catalog.streams
        assert {(stream.namespace, stream.name) for stream in streams} == {
            (None, "users"), (None, "posts"), (None, "measurements"), (None, "audit_log"), ("waitlist", "entries")
        }
        for stream in streams:
            assert stream.supported_sync_modes == [SyncMode.full_refresh, SyncMode.incremental]
            assert stream.source_defined_cursor is True
            assert stream.default_cursor_field == ["_ts"]
            assert stream.source_defined_primary_key == [["_id"]]
        printed = "\n".join(json.dumps(AirbyteMessageSerializer.dump(message)) for message in output.get_message_iterator())
        assert source_acceptance_configs["config.json"]["access_key"] not in printed
