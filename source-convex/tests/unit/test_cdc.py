"""CDC fields: exact RFC 3339 from integer nanoseconds, and the three fields per row kind."""

from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from source_convex.messages import add_cdc_fields, rfc3339_from_ns


def test_known_instant_keeps_every_nanosecond() -> None:
    ns = 1_795_250_539_123_456_789
    assert rfc3339_from_ns(ns) == "2026-11-21T08:42:19.123456789Z"


def test_float_rounding_would_have_lost_digits_here() -> None:
    # 999_999_999 ns: a float division rounds this up into the next second.
    ns = 1_700_000_000_999_999_999
    assert ns / 1e9 == 1_700_000_001.0
    assert rfc3339_from_ns(ns) == "2023-11-14T22:13:20.999999999Z"


def test_epoch_and_before() -> None:
    assert rfc3339_from_ns(0) == "1970-01-01T00:00:00.000000000Z"
    assert rfc3339_from_ns(-1) == "1969-12-31T23:59:59.999999999Z"


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9))
def test_matches_integer_datetime_arithmetic(ns: int) -> None:
    seconds, nanos = divmod(ns, 10**9)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    expected = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
    assert rfc3339_from_ns(ns) == expected


def test_snapshot_row_gets_deleted_false() -> None:
    row = {"_id": "a", "_ts": 1_000_000_001, "_table": "users", "_component": "", "name": "x"}
    out = add_cdc_fields(row)
    assert out["_deleted"] is False
    assert out["_ab_cdc_lsn"] == 1_000_000_001
    assert isinstance(out["_ab_cdc_lsn"], int)
    assert out["_ab_cdc_updated_at"] == "1970-01-01T00:00:01.000000001Z"
    assert out["_ab_cdc_deleted_at"] is None


def test_delete_row_gets_deleted_at() -> None:
    row = {"_component": "", "_table": "posts", "_ts": 2_000_000_000, "_deleted": True, "_id": "p"}
    out = add_cdc_fields(row)
    assert out["_deleted"] is True
    assert out["_ab_cdc_deleted_at"] == "1970-01-01T00:00:02.000000000Z" == out["_ab_cdc_updated_at"]


def test_update_row_from_the_change_log_is_not_deleted() -> None:
    out = add_cdc_fields({"_id": "a", "_ts": 5, "_deleted": False})
    assert out["_deleted"] is False and out["_ab_cdc_deleted_at"] is None
