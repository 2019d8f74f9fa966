"""Bad input, part 2: what the destination reads on stdin, fuzzed with hypothesis.

Hypothesis writes input streams mixing valid records of a dedup stream (`users`, key `id`)
and an append stream (`events`), per-stream and global STATE messages, and bad input: lines
that are not JSON, JSON that is not an Airbyte message, messages of other types, blank lines
(all of which are skipped), and input the destination must refuse: a record of an unknown
stream, a record whose data is not an object or that is not an object itself, a dedup record
without its key, nesting deeper than Convex allows, a document over 1 MiB.

Every stream must end in a defined outcome:
- no refusable input: success, every STATE confirmed in order, and B holds exactly the records
  (the last value per key for `users`, every record for `events`);
- otherwise a clean ERROR: a failure the connector classified itself, and every STATE it did
  confirm is true: the records before it are in B (nothing silently dropped).
The in-process runs use the destination's real `run()`; a handful of cases run as real
processes too, to check the exit code, the single ERROR trace and a stderr without traceback.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from convex_local import LocalDeployment
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reliability_harness.compare import expected_document, own_fields
from reliability_harness.inprocess_destination import write_in_process
from reliability_harness.processes import assert_clean_failure, assert_success, destination_write, write_json
from reliability_harness.records import canonical
from reliability_harness.results import Results, Row
from reliability_harness.secrets_guard import GUARD

STREAMS = {"users": ("append_dedup", [["id"]]), "events": ("append", None)}
HANDLED = ("garbage", "json_not_message", "other_type", "blank")
FATAL = ("unknown_stream", "data_not_object", "record_not_object", "missing_key", "deep", "oversized")

json_leaf = (st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.floats(allow_nan=False, allow_infinity=False)
             | st.text(max_size=12))
json_values = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)


@dataclass(frozen=True)
class Item:
    kind: str
    stream: str = "users"
    key: int = 0
    payload: Any = None


def catalog() -> dict[str, Any]:
    streams = []
    for name, (mode, key) in STREAMS.items():
        entry: dict[str, Any] = {
            "stream": {"name": name, "json_schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
                       "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental", "destination_sync_mode": mode}
        if key:
            entry["primary_key"] = key
        streams.append(entry)
    return {"streams": streams}


def deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


def line(item: Item, n: int) -> bytes:
    """The input line for one item (`n` numbers states so confirmed ones can be told apart)."""
    kind = item.kind
    if kind == "record":
        data = {"id": item.key, "v": item.payload} if item.stream == "users" else {"id": item.key, "e": item.payload}
        return _msg({"type": "RECORD", "record": {"stream": item.stream, "data": data, "emitted_at": 1}})
    if kind == "state":
        return _msg({"type": "STATE", "state": {"type": "STREAM", "stream": {
            "stream_descriptor": {"name": item.stream}, "stream_state": {"n": n}}}})
    if kind == "global_state":
        return _msg({"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"n": n},
                                                                            "stream_states": []}}})
    if kind == "garbage":
        return b"#" + item.payload.replace(b"\n", b" ").replace(b"\r", b" ")
    if kind == "json_not_message":
        return json.dumps(item.payload).encode()
    if kind == "other_type":
        return _msg({"type": item.payload, "log": {"level": "INFO", "message": "from the source"}})
    if kind == "blank":
        return b"   "
    if kind == "unknown_stream":
        return _msg({"type": "RECORD", "record": {"stream": item.payload, "data": {"id": 1}, "emitted_at": 1}})
    if kind == "data_not_object":
        return _msg({"type": "RECORD", "record": {"stream": item.stream, "data": item.payload, "emitted_at": 1}})
    if kind == "record_not_object":
        return _msg({"type": "RECORD", "record": item.payload})
    if kind == "missing_key":
        return _msg({"type": "RECORD", "record": {"stream": "users", "data": {"v": 1}, "emitted_at": 1}})
    if kind == "deep":
        data = {"id": item.key, "v": deep(item.payload)}
        return _msg({"type": "RECORD", "record": {"stream": item.stream, "data": data, "emitted_at": 1}})
    if kind == "oversized":
        return _msg({"type": "RECORD", "record": {"stream": item.stream,
                                                  "data": {"id": item.key, "v": "x" * item.payload}, "emitted_at": 1}})
    raise AssertionError(kind)


def _msg(value: Any) -> bytes:
    return json.dumps(value).encode()


def render(items: list[Item]) -> bytes:
    return b"\n".join(line(item, n) for n, item in enumerate(items)) + b"\n"


valid_items = st.one_of(
    st.builds(Item, st.just("record"), st.sampled_from(list(STREAMS)), st.integers(0, 6),
              st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
    st.builds(Item, st.just("state"), st.sampled_from(list(STREAMS) + ["not_in_catalog"])),
    st.builds(Item, st.just("global_state")),
)
handled_items = st.one_of(
    st.builds(Item, st.just("garbage"), payload=st.binary(max_size=80)),
    st.builds(Item, st.just("json_not_message"), payload=st.one_of(
        st.lists(json_leaf, max_size=3), json_leaf,
        st.dictionaries(st.text(max_size=5).filter(lambda k: k != "type"), json_leaf, max_size=3),
        st.fixed_dictionaries({"type": st.one_of(st.integers(), st.none(), st.lists(st.integers(), max_size=2))}))),
    st.builds(Item, st.just("other_type"), payload=st.sampled_from(["LOG", "TRACE", "CONTROL", "SPEC", "NOT_A_TYPE"])),
    st.builds(Item, st.just("blank")),
)
fatal_items = st.one_of(
    st.builds(Item, st.just("unknown_stream"), payload=st.one_of(st.just("nope"), st.none(), st.integers())),
    st.builds(Item, st.just("data_not_object"), st.sampled_from(list(STREAMS)),
              payload=st.one_of(st.lists(json_leaf, max_size=2), json_leaf)),
    st.builds(Item, st.just("record_not_object"), payload=st.one_of(st.lists(json_leaf, max_size=2), json_leaf)),
    st.builds(Item, st.just("missing_key")),
    st.builds(Item, st.just("deep"), st.sampled_from(list(STREAMS)), st.integers(0, 6), st.integers(17, 64)),
    st.builds(Item, st.just("oversized"), st.sampled_from(list(STREAMS)), st.integers(0, 6),
              st.integers(1_050_000, 1_300_000)),
)
streams_of_items = st.lists(st.one_of(valid_items, valid_items, valid_items, handled_items, fatal_items), max_size=30)


@dataclass
class Verdict:
    outcome: str  # "handled" | "error"
    records: int


def _stream_of(item: Item) -> Optional[str]:
    """The catalog stream an input item belongs to (None: no stream of the catalog)."""
    if item.kind in ("record", "data_not_object", "deep", "oversized", "state"):
        return item.stream if item.stream in STREAMS else None
    if item.kind == "missing_key":
        return "users"
    return None


def _covers(item: Item) -> set[str]:
    """The streams a STATE vouches for: its own (STREAM), or all (GLOBAL)."""
    if item.kind == "global_state":
        return set(STREAMS)
    stream = _stream_of(item)
    return {stream} if stream else set()


def judge(items: list[Item], run: Any, target: LocalDeployment) -> Verdict:
    """Check one write against the oracle described in the module docstring.

    A confirmed STATE vouches for every record of the streams it covers that came before it: those
    must be in B, and none of them may be one the destination refused. Records after a refused one
    may or may not have been processed (a refusal by Convex comes after later input was read)."""
    fatal = [i for i, item in enumerate(items) if item.kind in FATAL]
    state_positions = [i for i, item in enumerate(items) if item.kind in ("state", "global_state")]
    confirmed = [s.get("stream", s.get("global")) for s in run.output.states]
    about = f"{run.describe()} for {[item.kind for item in items]}"
    if not fatal:
        assert not run.failed, f"valid input failed: {about}"
    else:
        assert run.failed, f"input the destination must refuse was accepted: {items[fatal[0]]}: {about}"
        assert run.classified, f"a failure the connector did not classify: {about}"
    # Confirmed states: a prefix of the input states, in order, each exactly as it came.
    expected_states = [json.loads(line(items[i], i))["state"] for i in state_positions]
    expected_states = [s.get("stream", s.get("global")) for s in expected_states]
    assert [canonical(s) for s in confirmed] == [canonical(s) for s in expected_states[: len(confirmed)]], about
    if not run.failed:
        assert len(confirmed) == len(expected_states), f"not every state was confirmed: {about}"
    # What each confirmed state vouches for, per stream: the position up to which records count.
    vouched: dict[str, int] = {}
    for position in state_positions[: len(confirmed)]:
        for stream in _covers(items[position]):
            vouched[stream] = position
    for i in fatal:
        stream = _stream_of(items[i])
        covered = stream is not None and vouched.get(stream, -1) > i
        covered = covered or (stream is None and any(items[p].kind == "global_state" for p in
                                                      state_positions[: len(confirmed)] if p > i))
        assert not covered, f"a confirmed STATE vouches for a record the destination refused ({items[i].kind}): {about}"
    if not run.failed:
        vouched = {stream: len(items) for stream in STREAMS}
    _check_stored(items, vouched, target, exact=not run.failed, about=about)
    return Verdict("error" if run.failed else "handled", sum(1 for item in items if item.kind == "record"))


def _data(item: Item) -> dict[str, Any]:
    return json.loads(line(item, 0))["record"]["data"]


def _stored(target: LocalDeployment, table: str) -> list[dict[str, Any]]:
    return [own_fields(doc) for doc in target.documents(table)] if table in target.table_names() else []


def _check_stored(items: list[Item], vouched: dict[str, int], target: LocalDeployment, *, exact: bool,
                  about: str) -> None:
    records = [(i, item) for i, item in enumerate(items) if item.kind == "record"]
    # events (append): every vouched record stored; nothing stored that was not sent.
    stored_events = Counter(canonical(doc) for doc in _stored(target, "events"))
    promised = Counter(canonical(expected_document(_data(item))) for i, item in records
                       if item.stream == "events" and i < vouched.get("events", -1))
    sent_events = Counter(canonical(expected_document(_data(item))) for _, item in records if item.stream == "events")
    assert not promised - stored_events, f"confirmed events missing from B: {promised - stored_events}: {about}"
    assert not stored_events - sent_events, f"B holds events never sent: {about}"
    if exact:
        assert stored_events == sent_events, f"events in B differ from the input: {about}"
    # users (dedup on id): one document per id; its value is one sent at or after the id's last
    # vouched record (later records may already be applied).
    users = _stored(target, "users")
    by_id = Counter(doc.get("id") for doc in users)
    assert all(count == 1 for count in by_id.values()), f"duplicate users in B: {by_id}: {about}"
    stored_users = {doc.get("id"): canonical(doc) for doc in users}
    user_records = [(i, item) for i, item in records if item.stream == "users"]
    for key in {item.key for _, item in user_records}:
        positions = [i for i, item in user_records if item.key == key]
        before = [i for i in positions if i < vouched.get("users", -1)]
        if not before:
            continue
        allowed = {canonical(expected_document(_data(items[i]))) for i in positions if i >= before[-1]}
        assert stored_users.get(float(key)) in allowed, f"user {key} in B is not a value it was sent: {about}"
    if exact:
        final = {float(item.key): canonical(expected_document(_data(item))) for _, item in user_records}
        assert stored_users == final, f"users in B differ from the last value per id: {about}"


def _key() -> str:
    return f"convex-self-hosted|01{secrets.token_hex(30)}"


@pytest.mark.timeout(900)
def test_destination_input_ends_in_a_defined_outcome(budget: Any, results: Results) -> None:
    counts: Counter[str] = Counter()
    records = 0

    @settings(max_examples=budget.destination_examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(streams_of_items)
    @example([Item("record", "users", 1, {"a": 1}), Item("garbage", payload=b"not json"), Item("state", "users"),
              Item("record", "events", 2, {"b": [1, 2]}), Item("json_not_message", payload=[1, 2]),
              Item("other_type", payload="LOG"), Item("blank"), Item("global_state")])
    @example([Item("record", "users", 1, {}), Item("state", "users"), Item("unknown_stream", payload="nope")])
    @example([Item("state", "events"), Item("data_not_object", "events", payload=[1, 2])])
    @example([Item("record", "events", 3, {}), Item("record_not_object", payload="text")])
    @example([Item("missing_key")])
    @example([Item("record", "users", 0, {"x": 1}), Item("state", "users"), Item("deep", "users", 0, 40)])
    @example([Item("oversized", "events", 1, 1_100_000)])
    def check(items: list[Item]) -> None:
        nonlocal records
        key = _key()
        with LocalDeployment(admin_key=key).started() as target:
            GUARD.register(target.admin_key, "the admin key of the fuzzing target")
            config = {"deployment_url": target.url, "access_key": target.admin_key, "max_batch_size_mib": 0.01,
                      "flush_interval_seconds": 1}
            run = write_in_process(config, catalog(), render(items))
            verdict = judge(items, run, target)
        counts[verdict.outcome] += 1
        records += verdict.records

    check()
    results.add(Row("bad input: destination stdin (hypothesis)", runs=sum(counts.values()),
                    faults=sum(counts.values()), expected=None, delivered=None, lost=0, duplicates=None))


# -- the same kinds of input, through real processes ------------------------------------------

CLI_CASES: dict[str, tuple[list[Item], bool]] = {
    "skipped lines only": ([Item("record", "users", 1, {"a": 1}), Item("garbage", payload=b"SECRET-LOOKING CONTENT"),
                            Item("json_not_message", payload={"no": "type"}), Item("state", "users")], True),
    "unknown stream": ([Item("record", "users", 1, {}), Item("unknown_stream", payload="nope")], False),
    "data not an object": ([Item("data_not_object", "events", payload="text")], False),
    "dedup record without its key": ([Item("missing_key")], False),
    "nesting too deep": ([Item("deep", "events", 1, 40)], False),
    "document over 1 MiB": ([Item("oversized", "users", 1, 1_100_000)], False),
}


@pytest.mark.timeout(300)
def test_bad_input_through_real_processes(deployments: Callable[..., Any], tmp_path: Path, results: Results) -> None:
    target = deployments("target B (bad stdin)")
    catalog_path = write_json(tmp_path / "catalog.json", catalog())

    def run(name: str) -> Any:
        items, _ = CLI_CASES[name]
        config = write_json(tmp_path / f"{name.replace(' ', '_')}.json", {
            "deployment_url": target.url, "access_key": target.admin_key})
        return destination_write(config, catalog_path, render(items), timeout_s=120)

    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = dict(zip(CLI_CASES, pool.map(run, CLI_CASES), strict=True))
    for name, outcome in runs.items():
        succeeds = CLI_CASES[name][1]
        if succeeds:
            assert_success(outcome)
            assert "SECRET-LOOKING CONTENT" not in outcome.stdout + outcome.stderr, (
                "a skipped line's content was logged")
            assert "Skipped input line" in outcome.output.log_text, f"{name}: skipped lines were not reported"
        else:
            error = assert_clean_failure(outcome, within_s=60)
            assert error.get("failure_type") in ("config_error", "system_error"), f"{name}: {error}"
    results.add(Row("bad input: destination stdin, real processes", runs=len(runs), faults=len(runs), expected=None,
                    delivered=None, lost=0, duplicates=None))


def test_the_oracle_sees_a_dropped_record() -> None:
    """A write whose confirmed records are not all in B must fail the oracle."""
    items = [Item("record", "events", 1, {"a": 1}), Item("record", "events", 2, {"a": 2}), Item("state", "events")]
    with LocalDeployment(admin_key=_key()).started() as target:
        GUARD.register(target.admin_key, "the admin key of the oracle check")
        run = write_in_process({"deployment_url": target.url, "access_key": target.admin_key}, catalog(), render(items))
        judge(items, run, target)  # the honest outcome passes
        with target.transaction() as tx:
            tx.delete(target.documents("events")[0]["_id"])
        with pytest.raises(AssertionError):
            judge(items, run, target)
