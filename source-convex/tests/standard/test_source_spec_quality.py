"""The source's spec as the Airbyte UI renders it: complete, ordered, stable, and true to the code.

The CDK's spec lint only checks secret marking; `SpecQualitySuite` holds the form to the rest of
Airbyte's spec conventions. What is the source's own: its fields and their order, the permission
its key needs, and that its spec defaults are what `SourceConfig` applies without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convex_local.connector_testing import SpecQualitySuite, minimal_and_defaulted_configs

from source_convex import SourceConvex
from source_convex.config import SourceConfig


class TestSourceSpecQuality(SpecQualitySuite):
    connector = SourceConvex
    connector_root = Path(__file__).resolve().parents[2]
    #: Required first, then what to read, then how; the network tuning comes last.
    expected_order = [
        "deployment_url",
        "access_key",
        "tables",
        "include_components",
        "on_expired_position",
        "connect_timeout_seconds",
        "read_timeout_seconds",
        "parallel_snapshots",
        "query_functions",
    ]
    key_permission = "deployment:data:view"
    key_use = "export"

    def test_spec_defaults_are_what_the_connector_does_without_the_field(self, connection_spec: dict[str, Any]) -> None:
        minimal, defaulted = minimal_and_defaulted_configs(connection_spec)
        without, with_defaults = SourceConfig.from_config(minimal), SourceConfig.from_config(defaulted)
        assert without.tables == with_defaults.tables
        assert without.include_components == with_defaults.include_components
        assert without.on_expired_position == with_defaults.on_expired_position
        assert without.connection.connect_timeout_s == with_defaults.connection.connect_timeout_s
        assert without.connection.read_timeout_s == with_defaults.connection.read_timeout_s
