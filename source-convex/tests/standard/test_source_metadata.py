"""metadata.yaml in Airbyte's registry format, consistent with the package, image and docs.

The registry validates `data` strictly (unknown keys are rejected), so the keys are checked
against the registry's schema; the values are checked against what they describe: the package
version, the Dockerfile's base image, the spec's documentation URL, the sync modes a real
`discover` offers, and the docs page (its sections and changelog).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from airbyte_cdk.models import AirbyteMessageSerializer, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import discover

from source_convex import SourceConvex

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
    "State and the retention window", "Convex components", "Deletes", "Limitations", "Performance",
    "Reliability", "Changelog",
]


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
    assert metadata["connectorType"] == "source"
    assert metadata["connectorSubtype"] == "api"
    assert metadata["dockerRepository"] == f"airbyte/{CONNECTOR_NAME}"
    assert metadata["githubIssueLabel"] == CONNECTOR_NAME
    assert metadata["releaseStage"] in {"alpha", "beta", "generally_available", "custom"}
    assert metadata["supportLevel"] in {"community", "certified", "archived"}
    assert "language:python" in metadata["tags"] and "cdk:python" in metadata["tags"]


def test_image_tag_is_the_package_version(metadata: dict[str, Any]) -> None:
    assert metadata["dockerImageTag"] == importlib.metadata.version(CONNECTOR_NAME)


def test_base_image_is_the_dockerfile_default(metadata: dict[str, Any]) -> None:
    dockerfile = CONNECTOR_ROOT.parent / "Dockerfile.source"
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


def test_every_discovered_stream_offers_the_documented_sync_modes(source_acceptance_configs: dict[str, Any]) -> None:
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
    properties = SourceConvex().spec(logging.getLogger("airbyte")).connectionSpecification["properties"]
    reference = DOCS_PAGE.read_text().split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in properties if f"`{name}`" not in reference]
    assert not missing, f"fields missing from the docs' configuration reference: {missing}"
