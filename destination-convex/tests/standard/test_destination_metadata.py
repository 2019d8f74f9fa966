"""metadata.yaml in Airbyte's registry format, consistent with the package, image and docs.

The registry validates `data` strictly (unknown keys are rejected), so the keys are checked
against the registry's schema; the values are checked against what they describe: the package
version, the Dockerfile's base image, the spec's documentation URL and sync modes, a real
truncate refresh (`supportsRefreshes`), and the docs page (its sections and changelog).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import re
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from convex_local import LocalDeployment

from destination_convex import DestinationConvex

CONNECTOR_ROOT = Path(__file__).resolve().parents[2]
CONNECTOR_NAME = CONNECTOR_ROOT.name
DOCS_PAGE = CONNECTOR_ROOT / "docs" / "convex.md"
MIGRATIONS_PAGE = CONNECTOR_ROOT / "docs" / "convex-migrations.md"

#: The keys `data` may hold in Airbyte's ConnectorMetadataDefinitionV0 (additionalProperties: false).
REGISTRY_DATA_KEYS = {
    "name", "icon", "definitionId", "connectorBuildOptions", "connectorTestSuitesOptions", "connectorType",
    "dockerRepository", "dockerImageTag", "supportsDbt", "supportsNormalization", "license", "documentationUrl",
    "externalDocumentationUrls", "githubIssueLabel", "maxSecondsBetweenMessages", "releaseDate", "protocolVersion",
    "erdUrl", "connectorSubtype", "releaseStage", "supportLevel", "tags", "registryOverrides", "allowedHosts",
    "releases", "normalizationConfig", "suggestedStreams", "resourceRequirements", "ab_internal",
    "remoteRegistries", "supportsRefreshes", "supportsFileTransfer", "supportsDataActivation", "generated",
    "connectorIPCOptions",
}
REQUIRED_DATA_KEYS = {
    "name", "definitionId", "connectorType", "dockerRepository", "dockerImageTag", "license", "documentationUrl",
    "githubIssueLabel", "connectorSubtype", "releaseStage",
}
#: The sections users look for on an Airbyte connector page (headings, in this order).
DOCS_SECTIONS = [
    "Prerequisites", "Setup guide", "Configuration reference", "Supported sync modes", "Data type mapping",
    "Table and field names", "Deletes", "Checkpoints and retries", "Limitations", "Performance", "Reliability",
    "Changelog",
]
CONSOLE_SCRIPT = Path(sys.executable).with_name(CONNECTOR_NAME)


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    document = yaml.safe_load((CONNECTOR_ROOT / "metadata.yaml").read_text())
    assert set(document) == {"data", "metadataSpecVersion"}
    return document["data"]


def test_data_holds_only_registry_keys_and_every_required_one(metadata: dict[str, Any]) -> None:
    assert not set(metadata) - REGISTRY_DATA_KEYS, f"not registry keys: {sorted(set(metadata) - REGISTRY_DATA_KEYS)}"
    assert not REQUIRED_DATA_KEYS - set(metadata), f"missing: {sorted(REQUIRED_DATA_KEYS - set(metadata))}"


def test_identity_type_and_tags(metadata: dict[str, Any]) -> None:
    assert str(uuid.UUID(metadata["definitionId"])) == metadata["definitionId"]
    assert metadata["connectorType"] == "destination"
    assert metadata["connectorSubtype"] == "api"
    assert metadata["dockerRepository"] == f"airbyte/{CONNECTOR_NAME}"
    assert metadata["githubIssueLabel"] == CONNECTOR_NAME
    assert metadata["releaseStage"] in {"alpha", "beta", "generally_available", "custom"}
    assert metadata["supportLevel"] in {"community", "certified", "archived"}
    assert "language:python" in metadata["tags"] and "cdk:python" in metadata["tags"]


def test_image_tag_is_the_package_version(metadata: dict[str, Any]) -> None:
    assert metadata["dockerImageTag"] == importlib.metadata.version(CONNECTOR_NAME)


def test_base_image_is_the_dockerfile_default(metadata: dict[str, Any]) -> None:
    dockerfile = CONNECTOR_ROOT.parent / "Dockerfile.destination"
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile.read_text(), re.MULTILINE)
    assert match, f"{dockerfile.name} declares no ARG BASE_IMAGE default"
    assert metadata["connectorBuildOptions"]["baseImage"] == match.group(1)
    assert re.fullmatch(r"docker\.io/airbyte/python-connector-base:[\d.]+@sha256:[0-9a-f]{64}", match.group(1))


def test_breaking_changes_are_well_formed_and_documented(metadata: dict[str, Any]) -> None:
    current = tuple(int(part) for part in metadata["dockerImageTag"].split("."))
    migrations = MIGRATIONS_PAGE.read_text()
    for version, change in metadata["releases"]["breakingChanges"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version)
        assert tuple(int(part) for part in version.split(".")) <= current
        date.fromisoformat(change["upgradeDeadline"])
        assert len(change["message"]) > 100
        assert change["migrationDocumentationUrl"].endswith(f"-migrations#{version}")
        assert f"## Upgrading to {version}" in migrations


def test_sync_modes_and_refresh_support_match_the_spec(metadata: dict[str, Any]) -> None:
    spec = DestinationConvex().spec(logging.getLogger("airbyte"))
    modes = [mode.value for mode in spec.supported_destination_sync_modes]
    assert modes == ["overwrite", "append", "append_dedup"]
    assert metadata["supportsRefreshes"] is True
    assert metadata["supportsDbt"] is False and metadata["supportsNormalization"] is False
    sync_modes = DOCS_PAGE.read_text().split("## Supported sync modes", 1)[1].split("\n## ", 1)[0]
    for mode in modes:
        assert f"`{mode}`" in sync_modes, f"the docs' sync modes section does not name `{mode}`"


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
        [str(CONSOLE_SCRIPT), "write", "--config", str(tmp / "config.json"), "--catalog", str(tmp / "catalog.json")],
        input=json.dumps(record) + "\n", capture_output=True, text=True, timeout=60,
    )
    assert config["access_key"] not in result.stdout + result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.timeout(120)
def test_a_truncate_refresh_replaces_the_table_and_an_append_keeps_it(destination_acceptance_servers: Any, tmp_path: Path) -> None:
    """What `supportsRefreshes: true` promises Airbyte: generation ids are honoured."""
    dep: LocalDeployment = destination_acceptance_servers.main
    config = {"deployment_url": dep.url, "access_key": dep.admin_key}
    dep.insert("refreshed", {"value": "from an earlier generation"})
    _write(config, generation_id=2, minimum_generation_id=2, value="generation 2", tmp=tmp_path)
    assert [doc["value"] for doc in dep.documents("refreshed")] == ["generation 2"]
    _write(config, generation_id=3, minimum_generation_id=0, value="generation 3", tmp=tmp_path)
    assert sorted(doc["value"] for doc in dep.documents("refreshed")) == ["generation 2", "generation 3"]


def test_docs_page_has_the_sections_users_look_for(metadata: dict[str, Any]) -> None:
    page = DOCS_PAGE.read_text()
    headings = [line[3:].strip() for line in page.splitlines() if line.startswith("## ")]
    assert [heading for heading in headings if heading in DOCS_SECTIONS] == DOCS_SECTIONS
    for marker in ("bench", "reliability"):
        assert page.count(f"<!-- {marker}:start -->") == 1 and page.count(f"<!-- {marker}:end -->") == 1
        assert page.index(f"<!-- {marker}:start -->") < page.index(f"<!-- {marker}:end -->")
    changelog = page[page.index("## Changelog"):]
    assert f"| {metadata['dockerImageTag']} " in changelog, "the changelog has no row for the current version"


def test_docs_page_documents_every_spec_field() -> None:
    properties = DestinationConvex().spec(logging.getLogger("airbyte")).connectionSpecification["properties"]
    reference = DOCS_PAGE.read_text().split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in properties if f"`{name}`" not in reference]
    assert not missing, f"fields missing from the docs' configuration reference: {missing}"
