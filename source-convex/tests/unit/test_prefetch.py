"""Lookahead paging: same pages in the same order as a sequential loop, errors at the same page."""

import threading

import pytest

from source_convex.prefetch import lookahead


def _pages(n: int):
    calls = []

    def fetch(key: int) -> dict:
        calls.append((key, threading.current_thread().name))
        if key == -1:
            raise ValueError("boom")
        return {"key": key, "more": key + 1 < n}

    return fetch, calls


def test_pages_in_order_and_one_ahead() -> None:
    fetch, calls = _pages(4)
    seen = []
    for page in lookahead(fetch, 0, lambda key, page: key + 1 if page["more"] else None):
        seen.append(page["key"])
        if page["key"] == 1:
            # While page 1 is being handled, page 2 has already been asked for, not page 3.
            assert [k for k, _ in calls] in ([0, 1, 2], [0, 1])
    assert seen == [0, 1, 2, 3]
    assert [k for k, _ in calls] == [0, 1, 2, 3]
    assert calls[0][1] == threading.current_thread().name and calls[1][1] == "convex-prefetch"


def test_first_page_given() -> None:
    fetch, calls = _pages(3)
    pages = list(lookahead(fetch, 0, lambda key, page: key + 1 if page["more"] else None, first_page={"key": 0, "more": True}))
    assert [p["key"] for p in pages] == [0, 1, 2]
    assert [k for k, _ in calls] == [1, 2]


def test_error_of_the_next_page_surfaces_when_it_is_needed() -> None:
    fetch, _ = _pages(10)
    seen = []
    with pytest.raises(ValueError, match="boom"):
        for page in lookahead(fetch, 0, lambda key, page: -1 if key == 1 else key + 1):
            seen.append(page["key"])
    assert seen == [0, 1]


def test_next_key_errors_stop_before_the_page() -> None:
    fetch, _ = _pages(10)

    def next_key(key: int, page: dict) -> int:
        raise RuntimeError("cursor did not advance")

    with pytest.raises(RuntimeError):
        list(lookahead(fetch, 0, next_key))
