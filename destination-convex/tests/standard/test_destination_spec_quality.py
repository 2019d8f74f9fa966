"""The destination's spec as the Airbyte UI renders it: complete, ordered, stable, and true to the code.

The CDK's destination suite has no spec test, so `SpecQualitySuite` holds the form to Airbyte's
spec conventions, secret marking included (what the CDK masks). What is the
destination's own: its fields and their order, the permission its key needs, the sync modes it
declares, and that its spec defaults are what `WriterOptions` and the connection settings apply
without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convex_local.connector_testing import SpecQualitySuite, minimal_and_defaulted_configs
from convex_shared import ConnectionSettings

from destination_convex import DestinationConvex
from destination_convex.options import WriterOptions


class TestDestinationSpecQuality(SpecQualitySuite):
    connector = DestinationConvex
    connector_root = Path(__file__).resolve().parents[2]
    #: Required first, then how records are written; the network tuning comes last.
    expected_order = [
        "deployment_url",
        "access_key",
        "max_batch_size_mib",
        "flush_interval_seconds",
        "max_parallel_requests",
        "index_ready_timeout_seconds",
        "store_airbyte_metadata",
        "max_write_rate_mib_per_second",
        "connect_timeout_seconds",
        "read_timeout_seconds",
        "mutation",
        "http_action_url",
        "max_records_per_call",
    ]
    key_permission = "deployment:backups:import"
    key_use = "import"

    def test_supported_sync_modes_are_declared(self, spec: dict[str, Any]) -> None:
        assert spec["supported_destination_sync_modes"] == ["overwrite", "append", "append_dedup"]
        assert spec["supportsIncremental"] is True

    def test_spec_defaults_are_what_the_connector_does_without_the_field(self, connection_spec: dict[str, Any]) -> None:
        minimal, defaulted = minimal_and_defaulted_configs(connection_spec)
        assert WriterOptions.from_config(minimal) == WriterOptions.from_config(defaulted)
        without = ConnectionSettings.from_config(minimal)
        with_defaults = ConnectionSettings.from_config(defaulted)
        assert without.connect_timeout_s == with_defaults.connect_timeout_s
        assert without.read_timeout_s == with_defaults.read_timeout_s
