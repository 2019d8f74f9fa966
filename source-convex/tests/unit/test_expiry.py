"""Finding expired positions: few requests, exact set, a message that names and dates them."""

import pytest
from convex_shared import ConvexRequestError, DeltaPage

from source_convex.expiry import describe_age, expired_message, probe
from source_convex.config import TableRef

DAY = 86_400 * 10**9


class RetentionLog:
    """A change log that refuses cursors older than `oldest` (what Convex does), counting calls."""

    def __init__(self, oldest: int) -> None:
        self.oldest = oldest
        self.calls: list[int] = []

    def __call__(self, cursor: int) -> DeltaPage:
        self.calls.append(cursor)
        if cursor < self.oldest:
            raise ConvexRequestError("expired", status=400, code="InvalidWindowToReadDocuments",
                                     convex_message="older than the retention window")
        return DeltaPage(values=[], cursor=cursor + 1, has_more=False)


def _tables(n: int) -> list[TableRef]:
    return [TableRef("", f"t{i}") for i in range(n)]


def test_nothing_expired_costs_one_request_and_keeps_the_page() -> None:
    log = RetentionLog(oldest=0)
    positions = {t: 100 + i for i, t in enumerate(_tables(5))}
    result = probe(positions, log)
    assert result.expired == frozenset()
    assert log.calls == [100]
    assert result.first_page is not None and result.first_page[0] == 100


@pytest.mark.parametrize("oldest", [0, 103, 110, 150, 10_000])
def test_exact_expired_set(oldest: int) -> None:
    tables = _tables(50)
    positions = {t: 100 + i for i, t in enumerate(tables)}
    log = RetentionLog(oldest=oldest)
    result = probe(positions, log)
    assert result.expired == {t for t, p in positions.items() if p < oldest}
    assert len(log.calls) <= 1 + 7  # one try at the oldest, then a binary search over 50
    if result.first_page is not None:
        assert result.first_page[0] == min(p for p in positions.values() if p >= oldest)


def test_other_errors_are_not_swallowed() -> None:
    def broken(cursor: int) -> DeltaPage:
        raise ConvexRequestError("nope", status=400, code="BadQueryArgs")

    with pytest.raises(ConvexRequestError):
        probe({TableRef("", "a"): 1}, broken)


def test_message_names_streams_ages_and_remedy() -> None:
    now = 1_800_000_000 * 10**9
    text = expired_message({TableRef("", "users"): now - 20 * DAY, TableRef("waitlist", "entries"): now - 15 * DAY},
                           now_ns=now)
    assert "users (position 2026-12-26T" in text or "users (position" in text
    assert "20.0 days old" in text and "15.0 days old" in text
    assert "waitlist/entries" in text
    assert "Refresh" in text and "on_expired_position" in text


def test_describe_age() -> None:
    assert describe_age(3 * 3_600 * 10**9) == "3.0 hours"
    assert describe_age(3 * DAY) == "3.0 days"
