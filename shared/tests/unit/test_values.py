"""Clean-JSON value helpers: round trips and refusals."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convex_shared import values as v


@given(st.integers(min_value=v.INT64_MIN, max_value=v.INT64_MAX))
def test_int64_round_trip(n: int) -> None:
    text = v.int64_to_json(n)
    assert isinstance(text, str)
    assert v.int64_from_json(text) == n


@pytest.mark.parametrize("bad", ["", "1.0", "+1", " 1", "1e3", "0x10", "٣", str(2**63), str(-(2**63) - 1), 5])
def test_int64_from_json_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        v.int64_from_json(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [2**63, True, 1.0])
def test_int64_to_json_refuses(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        v.int64_to_json(bad)  # type: ignore[arg-type]


@given(st.binary(max_size=64))
def test_bytes_round_trip(data: bytes) -> None:
    text = v.bytes_to_json(data)
    assert len(text) % 4 == 0
    assert v.bytes_from_json(text) == data


@pytest.mark.parametrize("bad", ["abc", "a-b_", "!!!!"])
def test_bytes_from_json_refuses(bad: str) -> None:
    with pytest.raises(ValueError):
        v.bytes_from_json(bad)


def test_special_floats() -> None:
    assert v.float_to_json(math.nan) == "NaN"
    assert v.float_to_json(math.inf) == "Infinity"
    assert v.float_to_json(-math.inf) == "-Infinity"
    assert math.isnan(v.float_from_json("NaN"))
    assert v.float_from_json("-Infinity") == -math.inf
    assert v.is_special_float("Infinity") and not v.is_special_float("inf")
    with pytest.raises(ValueError):
        v.float_from_json("inf")
    with pytest.raises(ValueError):
        v.float_from_json(True)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_round_trip(x: float) -> None:
    back = v.float_from_json(v.float_to_json(x))
    assert (math.isnan(x) and math.isnan(back)) or (back == x and math.copysign(1, back) == math.copysign(1, x))


def test_schema_predicates_match_json_schemas_renderings() -> None:
    assert v.is_int64_schema({"$description": "int64 represented as base10 string", "type": "string"})
    assert v.is_bytes_schema({"$description": "base64 bytes", "type": "string"})
    assert v.is_float64_schema({"$description": "float64", "anyOf": [{"type": "number"}, {"type": "string"}]})
    assert v.id_table({"$description": "Id(users)", "type": "string"}) == "users"
    assert not v.is_int64_schema({"type": "string"}) and v.id_table({"type": "string"}) is None
    assert v.id_table("Id(users)") is None
