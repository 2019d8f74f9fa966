"""The destination's metadata.yaml in Airbyte's registry format, consistent with its package, image and docs.

`MetadataSuite` checks what every connector's metadata and docs page must satisfy. What is the
destination's own: its docs sections, the sync modes its spec and docs name, and a real truncate
refresh behind `supportsRefreshes`.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
from convex_local import LocalDeployment
from convex_local.connector_testing import AcceptanceServers, MetadataSuite, console_script

from destination_convex import DestinationConvex


def _write(config: dict[str, Any], generation_id: int, minimum_generation_id: int, value: str, tmp: Path) -> None:
    """One `destination-convex write` of one record, as a refresh sync sends it."""
    stream = {"name": "refreshed", "json_schema": {"type": "object", "properties": {"value": {"type": "string"}}},
              "supported_sync_modes": ["full_refresh"]}
    catalog = {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "append",
                            "generation_id": generation_id, "minimum_generation_id": minimum_generation_id,
                            "sync_id": generation_id}]}
    (tmp / "config.json").write_text(json.dumps(config))
    (tmp / "catalog.json").write_text(json.dumps(catalog))
    record = {"type": "RECORD", "record": {"stream": "refreshed", "data": {"value": value}, "emitted_at": 1}}
    result = subprocess.run(
        [str(console_script("destination-convex")), "write",
         "--config", str(tmp / "config.json"), "--catalog", str(tmp / "catalog.json")],
        input=json.dumps(record) + "\n", capture_output=True, text=True, timeout=60,
    )
    assert config["access_key"] not in result.stdout + result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


class TestDestinationMetadata(MetadataSuite):
    connector = DestinationConvex
    connector_root = Path(__file__).resolve().parents[2]
    connector_type = "destination"
    docs_sections = [
        "Prerequisites", "Setup guide", "Configuration reference", "Supported sync modes", "Data type mapping",
        "Table and field names", "Deletes", "Checkpoints and retries", "Limitations", "Performance", "Reliability",
        "Changelog",
    ]

    def test_sync_modes_and_refresh_support_match_the_spec(self, metadata: dict[str, Any]) -> None:
        spec = DestinationConvex().spec(logging.getLogger("airbyte"))
        modes = [mode.value for mode in spec.supported_destination_sync_modes]
        assert modes == ["overwrite", "append", "append_dedup"]
        assert metadata["supportsRefreshes"] is True
        assert metadata["supportsDbt"] is False and metadata["supportsNormalization"] is False
        sync_modes = self.docs_page.read_text().split("## Supported sync modes", 1)[1].split("\n## ", 1)[0]
        for mode in modes:
            assert f"`{mode}`" in sync_modes, f"the docs' sync modes section does not name `{mode}`"

    @pytest.mark.timeout(120)
    def test_a_truncate_refresh_replaces_the_table_and_an_append_keeps_it(
        self, destination_acceptance_servers: AcceptanceServers, tmp_path: Path
    ) -> None:
        """What `supportsRefreshes: true` promises Airbyte: generation ids are honoured."""
        dep: LocalDeployment = destination_acceptance_servers.main
        config = {"deployment_url": dep.url, "access_key": dep.admin_key}
        dep.insert("refreshed", {"value": "from an earlier generation"})
        _write(config, generation_id=2, minimum_generation_id=2, value="generation 2", tmp=tmp_path)
        assert [doc["value"] for doc in dep.documents("refreshed")] == ["generation 2"]
        _write(config, generation_id=3, minimum_generation_id=0, value="generation 3", tmp=tmp_path)
        assert sorted(doc["value"] for doc in dep.documents("refreshed")) == ["generation 2", "generation 3"]
