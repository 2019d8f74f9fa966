"""Clean-JSON int64 helpers: round trips and refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convex_shared import values as v


@given(st.integers(min_value=v.INT64_MIN, max_value=v.INT64_MAX))
def test_int64_round_trip(n: int) -> None:
    """Convex writes an int64 as its base-10 string; it reads back as the same int."""
    assert v.int64_from_json(str(n)) == n


@pytest.mark.parametrize("bad", ["", "1.0", "+1", " 1", "1e3", "0x10", "٣", str(2**63), str(-(2**63) - 1), 5])
def test_int64_from_json_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        v.int64_from_json(bad)  # type: ignore[arg-type]


def test_the_int64_predicate_matches_json_schemas_rendering() -> None:
    assert v.is_int64_schema({"$description": "int64 represented as base10 string", "type": "string"})
    assert not v.is_int64_schema({"type": "string"}) and not v.is_int64_schema("int64")
