"""Discover: one stream per table, component tables namespaced, schemas in Airbyte's type system."""

from __future__ import annotations

import math

import jsonschema
import pytest
from airbyte_cdk.models import SyncMode
from convex_local import LocalDeployment
from source_helpers import catalog_problems, config_for, configured, discover, read, records

pytestmark = pytest.mark.timeout(60)


def _seed(dep: LocalDeployment) -> None:
    dep.create_table("empty")
    dep.generate("users", 30, seed=1)
    dep.insert("kinds", {"big": 2**62, "blob": b"\x00\xff", "nan": math.nan, "inf": math.inf, "ninf": -math.inf,
                         "nested": {"n": 7, "list": [1, b"\x01"]}, "none": None, "flag": True})
    dep.insert("entries", {"email": "a@example.com"}, component="waitlist")
    dep.insert("users", {"name": "component user"}, component="waitlist")


def test_streams_and_their_declarations(convex_server: LocalDeployment) -> None:
    _seed(convex_server)
    catalog = discover(convex_server, config_for(convex_server, include_components=False))
    names = [(s.namespace, s.name) for s in catalog.streams]
    assert names == [(None, "empty"), (None, "kinds"), (None, "users")]
    for stream in catalog.streams:
        assert stream.source_defined_primary_key == [["_id"]]
        assert stream.source_defined_cursor is True
        assert stream.default_cursor_field == ["_ts"]
        assert set(stream.supported_sync_modes) == {SyncMode.full_refresh, SyncMode.incremental}
    assert catalog_problems(catalog) == []


def test_component_tables_are_offered_by_default_namespaced(convex_server: LocalDeployment) -> None:
    # A Better Auth-like component keeps business data (users, sessions) in its own tables.
    _seed(convex_server)
    catalog = discover(convex_server, config_for(convex_server))
    names = [(s.namespace, s.name) for s in catalog.streams]
    assert names == [(None, "empty"), (None, "kinds"), (None, "users"), ("waitlist", "entries"), ("waitlist", "users")]
    assert catalog_problems(catalog) == []


def test_tables_setting_selects_streams(convex_server: LocalDeployment) -> None:
    _seed(convex_server)
    catalog = discover(convex_server, config_for(convex_server, tables=["kinds", "waitlist/entries", "missing"]))
    assert [(s.namespace, s.name) for s in catalog.streams] == [(None, "kinds"), ("waitlist", "entries")]


def test_types_and_every_record_validates(convex_server: LocalDeployment) -> None:
    _seed(convex_server)
    config = config_for(convex_server, include_components=True)
    catalog = discover(convex_server, config)
    kinds = next(s for s in catalog.streams if s.name == "kinds").json_schema
    props = kinds["properties"]
    assert props["big"]["type"] == "integer"
    assert props["blob"]["type"] == "string"
    assert {"type": "string", "description": "-inf, inf, or NaN"} in props["nan"]["anyOf"]
    assert props["_id"] == {"type": "string", "description": "Id(kinds)"}
    assert kinds["required"] == ["_id"] and kinds["additionalProperties"] is True

    out = read(config, configured(catalog))
    schemas = {(s.namespace, s.name): s.json_schema for s in catalog.streams}
    by_stream = records(out)
    assert sum(len(rows) for rows in by_stream.values()) == 33
    for key, rows in by_stream.items():
        validator = jsonschema.Draft7Validator(schemas[key])
        for row in rows:
            assert not list(validator.iter_errors(row)), (key, row)
    (kind,) = by_stream[(None, "kinds")]
    assert kind["big"] == 2**62 and isinstance(kind["big"], int)
    assert kind["blob"] == "AP8="
    assert (kind["nan"], kind["inf"], kind["ninf"]) == ("NaN", "Infinity", "-Infinity")
    assert kind["nested"] == {"n": 7, "list": [1, "AQ=="]}
