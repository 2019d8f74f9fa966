"""Convex's inferred schemas become valid, permissive Airbyte schemas that records satisfy."""

import jsonschema
from airbyte_cdk.models import AirbyteCatalog, AirbyteStream, SyncMode
from source_helpers import catalog_problems

from source_convex.messages import add_cdc_fields
from source_convex.catalog import convert_node, to_airbyte_schema

INT64 = {"$description": "int64 represented as base10 string", "type": "string"}
BYTES = {"$description": "base64 bytes", "type": "string"}
FLOAT = {"$description": "float64", "anyOf": [{"type": "number"}, {"type": "string", "$description": "-inf, inf, or NaN"}]}
DELTA_FIELDS = {"_table": {"type": "string"}, "_component": {"type": "string"}, "_ts": {"type": "integer"},
                "_deleted": {"type": "boolean"}}

USERS = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "_creationTime": {"type": "number"},
        "_id": {"$description": "Id(users)", "type": "string"},
        "age": INT64,
        "avatar": BYTES,
        "score": FLOAT,
        "friend": {"$description": "Id(users)", "type": "string"},
        "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": INT64},
                    "additionalProperties": False, "required": ["city", "zip"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "never": {"type": "array", "items": False},
        "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "anything": {},
        **DELTA_FIELDS,
    },
    "additionalProperties": False,
    "required": ["_creationTime", "_id", "age", "address"],
}


def test_types() -> None:
    schema = to_airbyte_schema(USERS)
    props = schema["properties"]
    assert props["age"] == {"type": "integer", "description": "int64"}
    assert props["avatar"] == {"type": "string", "description": "base64 bytes"}
    assert props["score"] == {"description": "float64", "anyOf": [
        {"type": "number"}, {"type": "string", "description": "-inf, inf, or NaN"}]}
    assert props["friend"] == {"type": "string", "description": "Id(users)"}
    assert props["address"]["properties"]["zip"]["type"] == "integer"
    assert props["never"]["items"] == {}
    assert props["_ts"]["type"] == "integer"
    assert props["_ab_cdc_lsn"]["type"] == "integer"
    assert props["_ab_cdc_updated_at"]["type"] == "string"
    assert props["_ab_cdc_deleted_at"]["type"] == ["string", "null"]
    assert schema["required"] == ["_id"]
    assert "required" not in props["address"]


def test_no_closed_objects_and_no_dollar_keywords_anywhere() -> None:
    text = repr(to_airbyte_schema(USERS))
    assert "'additionalProperties': False" not in text
    assert "$description" not in text


def test_input_is_not_mutated() -> None:
    before = repr(USERS)
    to_airbyte_schema(USERS)
    assert repr(USERS) == before


def test_empty_table_schema() -> None:
    empty = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
             "properties": {"_creationTime": {"type": "number"}, "_id": {"type": "string", "$description": "Id(posts)"}},
             "additionalProperties": False, "required": ["_creationTime", "_id"]}
    schema = to_airbyte_schema(empty)
    assert set(schema["properties"]) >= {"_id", "_creationTime", "_table", "_component", "_ts", "_deleted",
                                         "_ab_cdc_lsn", "_ab_cdc_updated_at", "_ab_cdc_deleted_at"}


def test_union_of_objects_is_flattened() -> None:
    union = {"anyOf": [
        {"type": "object", "properties": {"_id": {"type": "string"}, "kind": {"type": "string"}, "a": INT64},
         "additionalProperties": False, "required": ["_id"]},
        {"type": "object", "properties": {"_id": {"type": "string"}, "kind": {"type": "number"}, "b": BYTES},
         "additionalProperties": False, "required": ["_id"]},
    ]}
    schema = to_airbyte_schema(union)
    assert schema["type"] == "object"
    assert schema["properties"]["a"]["type"] == "integer"
    assert schema["properties"]["kind"] == {"anyOf": [{"type": "string"}, {"type": "number"}]}


def test_catalog_passes_the_standard_catalog_checks() -> None:
    catalog = AirbyteCatalog(streams=[AirbyteStream(
        name="users", json_schema=to_airbyte_schema(USERS), supported_sync_modes=[SyncMode.full_refresh, SyncMode.incremental],
        source_defined_cursor=True, default_cursor_field=["_ts"], source_defined_primary_key=[["_id"]])])
    problems = catalog_problems(catalog)
    assert not problems, problems


def test_records_of_every_kind_validate() -> None:
    validator = jsonschema.Draft7Validator(to_airbyte_schema(USERS))
    live = {"_id": "u1", "_creationTime": 1.5, "age": 2**62, "avatar": "AAEC", "score": "NaN", "friend": "u2",
            "address": {"city": "x", "zip": 12345, "added_later": True}, "tags": ["a"], "never": [1],
            "maybe": None, "anything": {"k": [1]}, "new_field": 1, "_table": "users", "_component": "", "_ts": 10}
    deleted = {"_id": "u1", "_table": "users", "_component": "", "_ts": 11, "_deleted": True}
    partial = {"_id": "u3", "_creationTime": 2.0, "_table": "users", "_component": "", "_ts": 12, "_deleted": False}
    for row in (live, deleted, partial):
        errors = list(validator.iter_errors(add_cdc_fields(dict(row))))
        assert not errors, errors


def test_int64_string_would_not_validate() -> None:
    # The guarantee is one-sided on purpose: the emitted value must be an integer.
    validator = jsonschema.Draft7Validator(to_airbyte_schema(USERS))
    row = add_cdc_fields({"_id": "u", "age": "12", "_ts": 1})
    assert list(validator.iter_errors(row))


def test_boolean_schemas() -> None:
    assert convert_node(True) == {}
    assert convert_node(False) == {}
