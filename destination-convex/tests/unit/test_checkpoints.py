"""Checkpoints: a STATE goes out only after the records it covers are acknowledged."""

import copy
from typing import Any

from destination_convex.checkpoints import Checkpoints

USERS = (None, "users")
ORDERS = ("shop", "orders")


def stream_state(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    descriptor = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    return {
        "type": "STATE",
        "state": {"type": "STREAM", "stream": {"stream_descriptor": descriptor, "stream_state": {"c": 1}}, **extra},
    }


def make() -> Checkpoints:
    return Checkpoints({USERS: "users", ORDERS: "shop_orders"})


def test_stream_state_waits_only_for_its_own_stream() -> None:
    checkpoints = make()
    checkpoints.received(USERS, "users")
    checkpoints.received(ORDERS, "shop_orders")
    needs = checkpoints.state(stream_state("users"))
    assert needs == {"users": 1}
    assert checkpoints.release() == []
    checkpoints.acknowledged({"users": 1})
    (released,) = checkpoints.release()
    assert released["state"]["destinationStats"] == {"recordCount": 1.0}


def test_global_state_waits_for_everything_and_counts_everything() -> None:
    checkpoints = make()
    for _ in range(3):
        checkpoints.received(USERS, "users")
    checkpoints.received(ORDERS, "shop_orders")
    message = {"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"lsn": 9}, "stream_states": []}}}
    assert checkpoints.state(message) == {"users": 3, "shop_orders": 1}
    checkpoints.acknowledged({"users": 3})
    assert checkpoints.release() == []
    checkpoints.acknowledged({"shop_orders": 1})
    (released,) = checkpoints.release()
    assert released["state"]["destinationStats"]["recordCount"] == 4.0


def test_legacy_state_covers_everything() -> None:
    checkpoints = make()
    checkpoints.received(ORDERS, "shop_orders")
    assert checkpoints.state({"type": "STATE", "state": {"data": {"x": 1}}}) == {"shop_orders": 1}


def test_states_are_released_in_arrival_order() -> None:
    checkpoints = make()
    checkpoints.received(USERS, "users")
    checkpoints.state(stream_state("users"))
    checkpoints.received(ORDERS, "shop_orders")
    checkpoints.state(stream_state("orders", "shop"))
    checkpoints.acknowledged({"shop_orders": 1})
    assert checkpoints.release() == []  # the users state is older and still waiting
    checkpoints.acknowledged({"users": 1})
    released = checkpoints.release()
    assert [m["state"]["stream"]["stream_descriptor"]["name"] for m in released] == ["users", "orders"]


def test_record_count_is_per_stream_since_its_previous_state() -> None:
    checkpoints = make()
    for _ in range(2):
        checkpoints.received(USERS, "users")
    checkpoints.received(ORDERS, "shop_orders")
    checkpoints.state(stream_state("users"))
    checkpoints.received(USERS, "users")
    checkpoints.state(stream_state("users"))
    checkpoints.state(stream_state("orders", "shop"))
    checkpoints.acknowledged({"users": 3, "shop_orders": 1})
    counts = [m["state"]["destinationStats"]["recordCount"] for m in checkpoints.release()]
    assert counts == [2.0, 1.0, 1.0]


def test_every_other_field_is_kept() -> None:
    checkpoints = make()
    original = stream_state("users", sourceStats={"recordCount": 0.0}, id=42)
    original["extra_top_level"] = {"kept": True}
    expected = copy.deepcopy(original)
    checkpoints.state(original)
    (released,) = checkpoints.release()  # nothing received: released at once
    expected["state"]["destinationStats"] = {"recordCount": 0.0}
    assert released == expected


def test_state_for_unknown_stream_or_without_records_is_released_at_once() -> None:
    checkpoints = make()
    checkpoints.received(USERS, "users")
    checkpoints.acknowledged({"users": 1})
    checkpoints.state(stream_state("users"))
    checkpoints.state(stream_state("nope"))
    assert len(checkpoints.release()) == 2
    assert checkpoints.waiting == 0
