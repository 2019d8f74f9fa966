"""The value codec: export_json wrappers and clean-json int64 strings become the emitted values.

Round trips: a Convex value, written as Convex writes it (a test encoder of the contract's
rules), comes back through the codec as the value the source promises, by both unwrapping
paths (the raw-body rewrite and the walk) and through the clean-json converters.
"""

import base64
import math
import struct
from typing import Any

import orjson
import pytest

from source_convex.value_codec import compile_converter, convert_value, page_needs_conversion, rewrite_wrappers, \
    special_float

INT64 = {"$description": "int64 represented as base10 string", "type": "string"}
BYTES = {"$description": "base64 bytes", "type": "string"}


def convert_page(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the page reader does with a parsed page that may still hold markers."""
    if page_needs_conversion(page):
        for document in page:
            convert_value(document)
    return page


def _float(number: float) -> dict:
    return {"$float": base64.b64encode(struct.pack("<d", number)).decode()}


def test_special_floats() -> None:
    assert special_float(_float(math.nan)["$float"]) == "NaN"
    assert special_float(_float(math.inf)["$float"]) == "Infinity"
    assert special_float(_float(-math.inf)["$float"]) == "-Infinity"
    negative_zero = special_float(_float(-0.0)["$float"])
    assert negative_zero == 0.0 and math.copysign(1.0, negative_zero) == -1.0


def test_nested_wrappers_are_replaced() -> None:
    doc = {
        "_id": "x",
        "blob": {"$bytes": "AAEC"},
        "nested": {"list": [{"$bytes": "AQ=="}, _float(math.nan), 3, {"deep": [_float(-math.inf)]}]},
        "count": 12345678901234,
    }
    assert convert_value(doc) == {
        "_id": "x",
        "blob": "AAEC",
        "nested": {"list": ["AQ==", "NaN", 3, {"deep": ["-Infinity"]}]},
        "count": 12345678901234,
    }


def test_page_without_markers_is_not_walked() -> None:
    page = [{"_id": "a", "n": 1, "s": "plain"}, {"_id": "b", "obj": {"k": [1, 2]}}]
    assert not page_needs_conversion(page)
    before = [dict(d) for d in page]
    assert convert_page(page) is page
    assert page == before


def test_a_string_that_reads_like_a_marker_is_left_alone() -> None:
    page = [{"_id": "a", "s": "$bytes", "t": 'say "$float"'}]
    assert page_needs_conversion(page)  # a false positive only costs the walk
    assert convert_page(page) == [{"_id": "a", "s": "$bytes", "t": 'say "$float"'}]


def test_page_with_bytes_is_converted() -> None:
    page = [{"_id": "a", "b": {"$bytes": "AA=="}}, {"_id": "b"}]
    assert convert_page(page) == [{"_id": "a", "b": "AA=="}, {"_id": "b"}]


def test_raw_rewrite_equals_the_walk() -> None:
    import orjson

    from source_convex.value_codec import rewrite_wrappers

    page = {"values": [
        {"_id": "a", "b": {"$bytes": "AAEC"}, "n": {"list": [{"$bytes": ""}, _float(math.nan), _float(-math.inf)]},
         "s": '{"$bytes":"not a wrapper, a string"}', "t": "$bytes", "k": 12},
        {"_id": "b", "zero": _float(-0.0), "inf": _float(math.inf)},
    ]}
    body = orjson.dumps(page)
    rewritten = orjson.loads(rewrite_wrappers(body))
    walked = [convert_value(doc) for doc in orjson.loads(body)["values"]]
    assert rewritten["values"] == walked
    assert rewritten["values"][0]["s"] == '{"$bytes":"not a wrapper, a string"}'
    assert rewritten["values"][0]["n"]["list"] == ["", "NaN", "-Infinity"]
    # Spaced JSON (another writer) is recognised too.
    spaced = b'{"values": [{"_id": "c", "b": { "$bytes" : "AA==" }}]}'
    assert orjson.loads(rewrite_wrappers(spaced))["values"][0]["b"] == "AA=="
    plain = b'{"values": [{"_id": "d"}]}'
    assert rewrite_wrappers(plain) is plain


# -- the clean json format -------------------------------------------------------------

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


# -- round trips ---------------------------------------------------------------------------


def _export_json(value: Any) -> Any:
    """A Python value as Convex's export_json writes it: bytes and non-finite floats wrapped."""
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": base64.b64encode(struct.pack("<d", value)).decode()}
    if isinstance(value, dict):
        return {key: _export_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_export_json(item) for item in value]
    return value


def _emitted(value: Any) -> Any:
    """What the source promises for a Convex value: base64 text for bytes, names for NaN/inf."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {key: _emitted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_emitted(item) for item in value]
    return value


VALUES = [
    b"", b"\x00\x01\xff", bytes(range(256)), math.nan, math.inf, -math.inf, 0.0, -0.0, 1.5e308, 2**63 - 1, -(2**63),
    "plain", "$bytes", 'say "$float"', True, None, [b"\x01", [math.inf, {"deep": b"\x02"}]],
    {"nested": {"list": [b"a", -math.inf, 3]}},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_export_json_round_trip_by_both_paths(value: Any) -> None:
    document = {"_id": "x", "v": _export_json(value)}
    walked = convert_value(orjson.loads(orjson.dumps(document)))
    rewritten = orjson.loads(rewrite_wrappers(orjson.dumps(document)))
    assert walked == rewritten == {"_id": "x", "v": _emitted(value)}
    assert type(walked["v"]) is type(_emitted(value))


@pytest.mark.parametrize("number", [0, 1, -1, 2**53 + 1, 2**63 - 1, -(2**63)])
def test_clean_json_int64_round_trip(number: int) -> None:
    """Clean json writes an int64 as a base-10 string; the converter gives the same int back."""
    convert = compile_converter(_table({"n": INT64, "many": {"type": "array", "items": INT64}}))
    assert convert is not None
    document = orjson.loads(orjson.dumps({"n": str(number), "many": [str(number)]}))
    assert convert(document) == {"n": number, "many": [number]}
    assert type(document["n"]) is int
