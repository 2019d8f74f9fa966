"""The clean-json fallback turns int64 strings into ints exactly where the schema says."""

from source_convex.clean_json import compile_converter

INT64 = {"$description": "int64 represented as base10 string", "type": "string"}
BYTES = {"$description": "base64 bytes", "type": "string"}


def _table(properties: dict) -> dict:
    return {"type": "object", "properties": properties, "additionalProperties": False, "required": []}


def test_no_int64_no_converter() -> None:
    assert compile_converter(_table({"name": {"type": "string"}, "n": {"type": "number"}})) is None


def test_top_level_nested_and_array_int64() -> None:
    schema = _table({
        "count": INT64,
        "name": {"type": "string"},
        "inner": _table({"big": INT64}),
        "many": {"type": "array", "items": INT64},
    })
    convert = compile_converter(schema)
    assert convert is not None
    doc = {"count": "-9223372036854775808", "name": "123", "inner": {"big": "7"}, "many": ["1", "2"]}
    assert convert(doc) == {"count": -9223372036854775808, "name": "123", "inner": {"big": 7}, "many": [1, 2]}


def test_union_with_another_string_type_stays_a_string() -> None:
    convert = compile_converter(_table({"v": {"anyOf": [INT64, BYTES]}, "w": {"anyOf": [INT64, {"type": "null"}]}}))
    assert convert is not None
    assert convert({"v": "12", "w": "34"}) == {"v": "12", "w": 34}
    assert convert({"v": "12", "w": None}) == {"v": "12", "w": None}


def test_union_of_objects() -> None:
    schema = {"anyOf": [_table({"kind": {"type": "string"}, "a": INT64}), _table({"b": INT64})]}
    convert = compile_converter(schema)
    assert convert is not None
    assert convert({"kind": "x", "a": "5"}) == {"kind": "x", "a": 5}
    assert convert({"b": "6"}) == {"b": 6}


def test_values_that_are_not_int64_text_pass() -> None:
    convert = compile_converter(_table({"count": INT64}))
    assert convert is not None
    assert convert({"count": "NaN"}) == {"count": "NaN"}
    assert convert({}) == {}
