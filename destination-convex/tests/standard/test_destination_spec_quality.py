"""The spec as the Airbyte UI renders it: complete, ordered, stable, and true to the code.

The CDK's destination suite has no spec test, so the CDK's spec lint (secret marking) runs
here, and these tests hold the form a user fills in to the
rest of Airbyte's spec conventions: every field has a title, a description and an `order`; the
required connection fields come first and the advanced tuning last; free-text fields show
examples; optional fields show the default the connector really applies; the key is a secret
and its description names the permission it needs; and `spec` prints the same fields in the
same order every time, whatever the process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest
import yaml
from airbyte_cdk.models import ConnectorSpecificationSerializer
from airbyte_cdk.test.standard_tests._spec_lint import assert_spec_is_valid

from destination_convex import DestinationConvex
from convex_shared import ConnectionSettings
from destination_convex.options import WriterOptions

CONNECTOR_ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("destination-convex")
#: Required first, then how records are written; the network tuning comes last.
EXPECTED_ORDER = [
    "deployment_url",
    "access_key",
    "max_batch_size_mib",
    "flush_interval_seconds",
    "max_parallel_requests",
    "index_ready_timeout_seconds",
    "store_airbyte_metadata",
    "connect_timeout_seconds",
    "read_timeout_seconds",
]
#: Words of a title that are acronyms or units and must keep their case.
ACRONYMS = {"url": "URL", "urls": "URLs", "id": "ID", "ids": "IDs", "api": "API", "json": "JSON", "mib": "MiB"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    specification = DestinationConvex().spec(logging.getLogger("airbyte"))
    return json.loads(json.dumps(ConnectorSpecificationSerializer.dump(specification)))


@pytest.fixture(scope="module")
def connection_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["connectionSpecification"]


def fields(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(path, property schema, the object schema that declares it) for every property, nested too."""
    for name, prop in schema.get("properties", {}).items():
        where = f"{path}.{name}" if path else name
        yield where, prop, schema
        yield from fields(prop, where)
        for variant in prop.get("oneOf", []):
            yield from fields(variant, where)


def test_connection_specification_is_a_valid_json_schema(connection_spec: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(connection_spec)


def test_the_cdk_spec_lint_passes() -> None:
    assert_spec_is_valid(DestinationConvex().spec(logging.getLogger("airbyte")), connector_name="destination-convex")


def test_supported_sync_modes_are_declared(spec: dict[str, Any]) -> None:
    assert spec["supported_destination_sync_modes"] == ["overwrite", "append", "append_dedup"]
    assert spec["supportsIncremental"] is True


def test_every_field_has_a_title_a_description_and_an_order(connection_spec: dict[str, Any]) -> None:
    problems = []
    for path, prop, _ in fields(connection_spec):
        if not str(prop.get("title", "")).strip():
            problems.append(f"{path}: no title")
        description = str(prop.get("description", "")).strip()
        if len(description) < 20 or not description.endswith((".", ")")):
            problems.append(f"{path}: the description must be a sentence of at least 20 characters: {description!r}")
        if not isinstance(prop.get("order"), int):
            problems.append(f"{path}: no integer `order`")
    assert not problems, "\n".join(problems)


def test_titles_spell_acronyms_in_capitals(connection_spec: dict[str, Any]) -> None:
    problems = [
        f"{path}: title {prop['title']!r} should write {word!r} as {ACRONYMS[word.lower()]!r}"
        for path, prop, _ in fields(connection_spec)
        for word in re.findall(r"[A-Za-z]+", str(prop.get("title", "")))
        if word.lower() in ACRONYMS and word != ACRONYMS[word.lower()]
    ]
    assert not problems, "\n".join(problems)


def test_orders_are_unique_contiguous_and_match_the_listing(connection_spec: dict[str, Any]) -> None:
    objects = [connection_spec] + [prop for _, prop, _ in fields(connection_spec) if "properties" in prop]
    for schema in objects:
        names = list(schema["properties"])
        orders = [schema["properties"][name].get("order") for name in names]
        assert sorted(orders) == list(range(len(names))), f"orders {orders} of {names} are not 0..{len(names) - 1}"
        assert orders == sorted(orders), f"properties {names} are not listed in their `order`"


def test_fields_are_grouped_required_first_then_options_then_tuning(connection_spec: dict[str, Any]) -> None:
    by_order = sorted(connection_spec["properties"], key=lambda name: connection_spec["properties"][name]["order"])
    assert by_order == EXPECTED_ORDER
    required = connection_spec["required"]
    assert by_order[: len(required)] == required, "required fields must come before every optional one"


def test_the_access_key_is_the_only_secret_and_names_its_permission(connection_spec: dict[str, Any]) -> None:
    secret_fields = [path for path, prop, _ in fields(connection_spec) if prop.get("airbyte_secret") is True]
    assert secret_fields == ["access_key"]
    description = connection_spec["properties"]["access_key"]["description"]
    assert "deployment:backups:import" in description, (
        "the key's description must say which permission import needs (deployment:backups:import), so users "
        f"pick the right key: {description!r}"
    )


def test_free_text_fields_show_examples(connection_spec: dict[str, Any]) -> None:
    missing = []
    for path, prop, _ in fields(connection_spec):
        is_text = prop.get("type") == "string" and "enum" not in prop and not prop.get("airbyte_secret")
        is_text_list = prop.get("type") == "array" and prop.get("items", {}).get("type") == "string"
        if (is_text or is_text_list) and not prop.get("examples"):
            missing.append(path)
    assert not missing, f"free-text fields without `examples`: {missing}"


def test_optional_fields_declare_their_default(connection_spec: dict[str, Any]) -> None:
    required = set(connection_spec["required"])
    missing = [name for name, prop in connection_spec["properties"].items() if name not in required and "default" not in prop]
    assert not missing, f"optional fields without a `default` (the UI cannot show what an empty field means): {missing}"
    for name, prop in connection_spec["properties"].items():
        if "default" in prop:
            jsonschema.validate(prop["default"], {k: v for k, v in prop.items() if k != "default"})
        if "enum" in prop:
            for choice in prop["enum"]:
                assert f'"{choice}"' in prop["description"], f"{name}: the description must explain {choice!r}"


def test_spec_defaults_are_what_the_connector_does_without_the_field(connection_spec: dict[str, Any]) -> None:
    minimal = {"deployment_url": "https://happy-animal-123.convex.cloud", "access_key": "prod:happy-animal-123|01ab"}
    defaults = {name: prop["default"] for name, prop in connection_spec["properties"].items() if "default" in prop}
    assert WriterOptions.from_config(minimal) == WriterOptions.from_config({**minimal, **defaults})
    without = ConnectionSettings.from_config(minimal)
    with_defaults = ConnectionSettings.from_config({**minimal, **defaults})
    assert without.connect_timeout_s == with_defaults.connect_timeout_s
    assert without.read_timeout_s == with_defaults.read_timeout_s


def test_documentation_url_is_the_registry_documentation_url(spec: dict[str, Any]) -> None:
    metadata = yaml.safe_load((CONNECTOR_ROOT / "metadata.yaml").read_text())
    assert spec["documentationUrl"] == metadata["data"]["documentationUrl"]
    assert spec["documentationUrl"].startswith("https://")


@pytest.mark.timeout(60)
def test_spec_prints_the_same_fields_in_the_same_order_every_time() -> None:
    """Two processes with different hash seeds (set and dict iteration) print byte-identical specs."""
    outputs = []
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [str(CONSOLE_SCRIPT), "spec"],
            capture_output=True, text=True, timeout=60, check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        specs = [line for line in result.stdout.splitlines() if line.startswith('{"type":"SPEC"') or '"type": "SPEC"' in line]
        assert len(specs) == 1, result.stdout[-2000:]
        outputs.append(specs[0])
    assert outputs[0] == outputs[1]
    rendered = json.loads(outputs[0])["spec"]["connectionSpecification"]["properties"]
    assert sorted(rendered, key=lambda name: rendered[name]["order"]) == EXPECTED_ORDER
