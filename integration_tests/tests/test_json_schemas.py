"""json_schemas and get_table_column_names: schemas inferred from stored data, every rendering."""

from __future__ import annotations

import math

from .conftest import Api, error

SCHEMA = "http://json-schema.org/draft-07/schema#"


def schemas(api: Api, **params: str) -> dict:
    resp = api.get("/api/json_schemas", params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_empty_table_schema(api: Api) -> None:
    api.dep.create_table("posts")
    assert schemas(api) == {"posts": {
        "$schema": SCHEMA, "type": "object",
        "properties": {"_creationTime": {"type": "number"}, "_id": {"type": "string", "$description": "Id(posts)"}},
        "additionalProperties": False, "required": ["_creationTime", "_id"]}}


def test_every_type_rendering_in_clean_json(api: Api) -> None:
    dep = api.dep
    user = dep.insert("users", {"name": "u"})
    dep.insert("t", {
        "ref": user, "nil": None, "flag": True, "text": "s", "f": 1.5, "special": math.inf, "negzero": -0.0,
        "i": 1, "b": b"x", "arr": ["a"], "empty": [], "mixed": "x", "obj": {"k": 1.0}, "rec": {"not ident": 1.0},
    })
    dep.insert("t", {"mixed": 2.0, "special": 1.0, "empty": [], "f": 2.0, "obj": {"k": 2.0, "extra": "e"}})
    props = schemas(api)["t"]["properties"]
    assert props["ref"] == {"$description": "Id(users)", "type": "string"}
    assert props["nil"] == {"type": "null"}
    assert props["flag"] == {"type": "boolean"} and props["text"] == {"type": "string"}
    assert props["f"] == {"type": "number"}
    special = {"$description": "float64", "anyOf": [{"type": "number"}, {"type": "string", "$description": "-inf, inf, or NaN"}]}
    assert props["special"] == special and props["negzero"] == special
    assert props["i"] == {"$description": "int64 represented as base10 string", "type": "string"}
    assert props["b"] == {"$description": "base64 bytes", "type": "string"}
    assert props["arr"] == {"type": "array", "items": {"type": "string"}}
    assert props["empty"] == {"type": "array", "items": False}
    assert props["mixed"] == {"anyOf": [{"type": "number"}, {"type": "string"}]}
    assert props["obj"] == {"type": "object", "properties": {"extra": {"type": "string"}, "k": {"type": "number"}},
                            "additionalProperties": False, "required": ["k"]}
    assert props["rec"] == {}
    top = schemas(api)["t"]
    assert top["$schema"] == SCHEMA and "$schema" not in props["obj"]
    assert top["required"] == ["_creationTime", "_id", "empty", "f", "mixed", "obj", "special"]


def test_encoded_and_export_renderings(api: Api) -> None:
    api.dep.insert("t", {"i": 1, "b": b"x", "special": math.nan})
    enc = schemas(api, format="convex_encoded_json")["t"]["properties"]
    assert enc["i"]["properties"]["$integer"]["type"] == "string" and enc["i"]["type"] == "object"
    assert enc["b"]["properties"] == {"$bytes": {"type": "string"}}
    assert enc["special"]["anyOf"][1]["properties"]["$float"]["type"] == "string"
    assert schemas(api, format="convex_json") == schemas(api, format="convex_encoded_json")
    exp = schemas(api, format="export_json")["t"]["properties"]
    assert exp["i"] == {"$description": "int64", "type": "number"}
    assert error(api.get("/api/json_schemas", {"format": "bogus"})) == (400, "BadFormat")


def test_delta_schema_adds_metadata_properties_not_required(api: Api) -> None:
    api.dep.insert("t", {"a": 1.0})
    top = schemas(api, deltaSchema="true")["t"]
    for name, typ in (("_table", "string"), ("_component", "string"), ("_ts", "integer"), ("_deleted", "boolean")):
        assert top["properties"][name] == {"type": typ}
        assert name not in top["required"]
    assert "_ts" not in schemas(api, deltaSchema="false")["t"]["properties"]


def test_by_component_and_optional_fields(api: Api) -> None:
    dep = api.dep
    dep.insert("users", {"a": 1.0, "b": "x"})
    dep.insert("users", {"a": 2.0})
    dep.insert("users", {"c": True}, component="waitlist")
    dep.add_component("emptycomp")
    flat = schemas(api)
    assert set(flat) == {"users"}  # same-named tables in different components overwrite each other
    nested = schemas(api, byComponent="true")
    assert set(nested) == {"", "waitlist", "emptycomp"} and nested["emptycomp"] == {}
    assert nested[""]["users"]["required"] == ["_creationTime", "_id", "a"]
    assert "b" in nested[""]["users"]["properties"]
    assert nested["waitlist"]["users"]["required"] == ["_creationTime", "_id", "c"]


def test_schema_follows_updates_and_deletes(api: Api) -> None:
    dep = api.dep
    doc = dep.insert("t", {"v": 1})
    assert schemas(api)["t"]["properties"]["v"]["$description"].startswith("int64")
    dep.insert("t", {"v": 2})
    with dep.transaction() as tx:
        tx.replace(doc, {"v": "now a string"})
        tx.delete(dep.documents("t")[-1]["_id"] if dep.documents("t")[-1]["_id"] != doc else dep.documents("t")[0]["_id"])
    assert schemas(api)["t"]["properties"]["v"] == {"type": "string"}


def test_non_object_table_shape_needs_a_schema(api: Api) -> None:
    dep = api.dep
    dep.insert("wide", {f"f{i}": float(i) for i in range(62)})  # 64 fields with `_id` and `_creationTime`
    dep.insert("t", {"o": {"first name": "x"}, "u": {"__": 1.0}})  # not identifiers: records, rendered {}
    found = schemas(api)
    assert len(found["wide"]["properties"]) == 64
    assert found["t"]["properties"]["o"] == {} and found["t"]["properties"]["u"] == {}
    dep.insert("wider", {f"f{i}": float(i) for i in range(63)})  # 65 fields: a record shape
    resp = api.get("/api/json_schemas")
    assert resp.json() == {"code": "NoSchemaForExport",
                           "message": "There is no active schema, which is needed for streaming export."}
    assert resp.status_code == 400
    dep.delete_table("wider")
    dep.insert("named", {"first name": "a"})  # a valid field name, but not an identifier
    assert error(api.get("/api/json_schemas")) == (400, "NoSchemaForExport")


def test_get_table_column_names(api: Api) -> None:
    dep = api.dep
    dep.insert("users", {"name": "a"})
    dep.create_table("empty")
    dep.insert("x", {"q": 1.0}, component="comp")
    resp = api.get("/api/get_table_column_names")
    assert resp.text.startswith('{"byComponent":{"":[{"name":"empty","columns":')
    assert resp.json() == {"byComponent": {
        "": [{"name": "empty", "columns": ["_creationTime", "_id"]},
             {"name": "users", "columns": ["_creationTime", "_id", "name"]}],
        "comp": [{"name": "x", "columns": ["_creationTime", "_id", "q"]}]}}
