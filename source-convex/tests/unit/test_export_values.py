"""export_json wrappers become the emitted values; pages without wrappers are untouched."""

import base64
import math
import struct

from source_convex.export_values import convert_page, convert_value, page_needs_conversion, special_float


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

    from source_convex.export_values import rewrite_wrappers

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
