"""Bad input, part 1: server answers a real Convex never gives, fuzzed with hypothesis.

A fake Convex serves one table in pages; hypothesis picks one answer (or every answer of a
route from some point on) and breaks it: a body that is not JSON or is cut off, an HTML page,
the wrong top-level type, a missing or mistyped field (`hasMore` as "false", a numeric
cursor...), a cursor that does not advance, a page far larger than 1024 documents, a document
that is not an object or lacks `_ts`, a wrapper value that does not decode, an odd status.

Every run must end in a defined outcome:
- handled: the records are exactly the table's documents, each once; or
- a clean ERROR trace: classified by the connector (not the CDK's catch-all for an exception
  nobody caught), no STATE after it, and nothing silently dropped: resuming from the last
  STATE it emitted, against a healthy server, delivers every document it had not;
and never a hang (the fake stops a client that keeps asking for pages, and the test fails).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from source_convex.source import SourceConvex  # noqa: F401  (imported here so a broken source fails collection)

from reliability_harness.catalog import configured_catalog, connection_config
from reliability_harness.fake_convex import TABLE, FakeConvex, Response, ScriptedExport, json_response
from reliability_harness.inprocess import InProcessRead, read_in_process
from reliability_harness.results import Results, Row
from reliability_harness.secrets_guard import GUARD

DOCUMENTS = 60
PAGE = 25
ROUTES = ("json_schemas", "list_snapshot", "document_deltas")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@dataclass(frozen=True)
class Corruption:
    """What to break: `route`'s answer number `at` (and every later one when `persistent`)."""

    route: str
    at: int
    persistent: bool
    kind: str
    detail: Any = None

    def applies(self, route: str, index: int) -> bool:
        return route == self.route and (index == self.at or (self.persistent and index > self.at))


def _json(response: Response) -> Any:
    return json.loads(response.body)


def corrupt(c: Corruption, route: str, index: int, answer: Response) -> Response:
    """The broken answer for `c` (the normal one where it does not apply)."""
    if not c.applies(route, index):
        return answer
    kind, detail = c.kind, c.detail
    if kind == "not_json":
        return Response(200, detail)
    if kind == "truncated":
        return Response(200, answer.body[: max(0, min(len(answer.body) - 1, detail))])
    if kind == "html":
        return Response(200, b"<!doctype html><html><body>Welcome to nginx!</body></html>",
                        {"Content-Type": "text/html"})
    if kind == "top_level":
        return json_response(detail)
    if kind == "status":
        status, body = detail
        return Response(status, body)
    body = _json(answer)
    if kind == "missing_field":
        fields = sorted(body) if isinstance(body, dict) else []
        if fields:
            body.pop(fields[detail % len(fields)])
    elif kind == "mistyped_field":
        name, value = detail
        if isinstance(body, dict) and name in body:
            body[name] = value
    elif kind == "extra_fields":
        body.update(detail)
    elif kind == "stuck_cursor" and route == "list_snapshot":
        # The same cursor as requested (or the first page's again), still "more to come".
        body.update({"cursor": body.get("cursor") and str(max(0, int(body["cursor"]) - PAGE)) or "0",
                     "hasMore": True})
        if detail == "empty":
            body["values"] = []
    elif kind == "stuck_deltas" and route == "document_deltas":
        body.update({"cursor": body["cursor"] - 1, "hasMore": True})
    elif kind == "bad_value" and route in ("list_snapshot", "document_deltas") and body.get("values"):
        body["values"][0] = _bad_value(body["values"][0], detail)
    return json_response(body)


def _bad_value(doc: dict[str, Any], how: Any) -> Any:
    if how == "ts_missing":
        return {k: v for k, v in doc.items() if k != "_ts"}
    if how == "ts_string":
        return {**doc, "_ts": str(doc["_ts"])}
    if how == "ts_float":
        return {**doc, "_ts": doc["_ts"] / 3}
    if how == "ts_negative":
        return {**doc, "_ts": -5}
    if how == "id_missing":
        return {k: v for k, v in doc.items() if k != "_id"}
    if how == "bad_bytes":
        return {**doc, "name": {"$bytes": "this is not base64!"}}
    if how == "bad_float":
        return {**doc, "name": {"$float": "AAA"}}
    return how  # not an object at all


MISTYPED = st.one_of(
    st.tuples(st.just("hasMore"), st.sampled_from(["false", "true", 0, 1, None, [], {}])),
    st.tuples(st.just("cursor"), st.sampled_from([25, 2.5, True, [], {"c": 1}, "", "not-a-cursor"])),
    st.tuples(st.just("snapshot"), st.sampled_from(["1800000000000000000", 1.8e18, None, True, -1])),
    st.tuples(st.just("values"), st.sampled_from([{}, "[]", None, 3, [[]]])),
    st.tuples(st.sampled_from(["hasMore", "cursor", "snapshot", "values"]), json_values).filter(
        lambda field: not _well_typed(*field)),
)


def _well_typed(name: str, value: Any) -> bool:
    """A value of the field's own type is a lie no client can see (`values: []`, `hasMore: false`
    on a page that has more), not a malformed answer: those are left out of the fuzzing."""
    if name == "hasMore":
        return isinstance(value, bool)
    if name == "values":
        return isinstance(value, list) and all(isinstance(item, dict) for item in value)
    if name == "cursor":
        return value is None or isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool)


@st.composite
def corruptions(draw: Any) -> Corruption:
    route = draw(st.sampled_from(ROUTES))
    kind = draw(st.sampled_from(["not_json", "truncated", "html", "top_level", "status", "missing_field",
                                 "mistyped_field", "extra_fields", "stuck_cursor", "stuck_deltas", "bad_value"]))
    detail: Any = None
    if kind == "not_json":
        detail = draw(st.binary(max_size=200).filter(lambda b: not _is_json(b)))
    elif kind == "truncated":
        detail = draw(st.integers(0, 400))
    elif kind == "top_level":
        detail = draw(st.one_of(st.lists(json_values, max_size=3), st.text(max_size=10), st.integers(), st.none(),
                                st.booleans()))
    elif kind == "status":
        detail = draw(st.sampled_from([(400, b'{"code":"SomethingNew","message":"A new error code"}'),
                                       (404, b"<html>Not Found</html>"), (500, b"oops"), (418, b""),
                                       (403, b'{"code":"Forbidden"}'), (200, b""), (204, b"")]))
    elif kind == "missing_field":
        detail = draw(st.integers(0, 10))
    elif kind == "mistyped_field":
        detail = draw(MISTYPED)
    elif kind == "extra_fields":
        detail = draw(st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in (
            "values", "cursor", "snapshot", "hasMore")), json_values, min_size=1, max_size=3))
    elif kind == "stuck_cursor":
        route = "list_snapshot"
        detail = draw(st.sampled_from(["full", "empty"]))
    elif kind == "stuck_deltas":
        route = "document_deltas"
    elif kind == "bad_value":
        route = draw(st.sampled_from(["list_snapshot", "document_deltas"]))
        detail = draw(st.one_of(st.sampled_from(["ts_missing", "ts_string", "ts_float", "ts_negative", "id_missing",
                                                 "bad_bytes", "bad_float"]),
                                st.one_of(st.integers(), st.text(max_size=5), st.none(), st.lists(st.integers()))))
    at = draw(st.integers(0, 3))
    return Corruption(route, at, draw(st.booleans()), kind, detail)


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _key() -> str:
    key = f"convex-self-hosted|01{secrets.token_hex(30)}"
    GUARD.register(key, "the fake deployment's key")
    return key


def _catalog(url: str, key: str) -> dict[str, Any]:
    stream = {"name": TABLE, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh", "incremental"],
              "source_defined_cursor": True, "default_cursor_field": ["_ts"], "source_defined_primary_key": [["_id"]]}
    return configured_catalog([stream])


def _ids(read: InProcessRead) -> list[str]:
    return [r["data"].get("_id") for r in read.records if isinstance(r.get("data"), dict)]


def check_outcome(corruption: Optional[Corruption], *, documents: int = DOCUMENTS, page: int = PAGE) -> str:
    """Run a read against the broken server and judge it; returns "handled" or "error"."""
    key = _key()
    wanted = [f"k{n:031d}" for n in range(documents)]
    rewrite = (lambda route, index, answer: corrupt(corruption, route, index, answer)) if corruption else None
    export = ScriptedExport(documents, page, rewrite, runaway_after=documents // page * 3 + 30)
    with FakeConvex(export) as fake:
        config = connection_config(fake.url, key)
        run = read_in_process(config, _catalog(fake.url, key))
    about = f"{corruption}: {len(run.records)} records, errors {run.errors}"
    assert not export.runaway, f"the source kept asking for pages (a loop) on {about}"
    if not run.errors:
        ids = _ids(run)
        assert sorted(map(str, ids)) == wanted, (
            f"handled, but the records are not the table's documents, each once: {about}; ids {ids[:5]}")
        return "handled"
    assert not run.unclean_errors(), f"an exception nobody classified: {run.unclean_errors()} on {corruption}"
    assert not run.states_after_first_error(), f"STATE after the ERROR trace on {about}"
    # Nothing silently dropped: what the failed run emitted plus a resume from its last state
    # (against a healthy server) covers every document.
    resume_state = [{"type": "STREAM", "stream": s["stream"]} for s in run.states[-1:]]
    with FakeConvex(ScriptedExport(documents, page)) as healthy:
        config = connection_config(healthy.url, key)
        resumed = read_in_process(config, _catalog(healthy.url, key), resume_state or None)
        if resumed.errors:
            # A position the broken server made up may be unusable even on a healthy one: then the
            # resume must say so cleanly (reset the state), and the reset sync delivers everything.
            assert not resumed.unclean_errors(), f"the resume failed unclassified: {resumed.errors}"
            assert {e.get("failure_type") for e in resumed.errors} == {"config_error"}, (
                f"the resume failed without telling the user what to do: {resumed.errors}")
            resumed = read_in_process(config, _catalog(healthy.url, key))
    assert not resumed.errors, f"the resume against a healthy server failed: {resumed.errors}"
    missing = set(wanted) - set(_ids(run)) - set(_ids(resumed))
    assert not missing, f"silently dropped {len(missing)} documents (e.g. {sorted(missing)[:3]}) on {about}"
    return "error"


@pytest.mark.timeout(900)
def test_malformed_server_answers_end_in_a_defined_outcome(budget: Any, results: Results) -> None:
    outcomes: dict[str, int] = {"handled": 0, "error": 0}

    @settings(max_examples=budget.response_examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(corruptions())
    @example(Corruption("list_snapshot", 1, False, "mistyped_field", ("hasMore", "false")))
    @example(Corruption("list_snapshot", 0, True, "stuck_cursor", "full"))
    @example(Corruption("list_snapshot", 1, True, "stuck_cursor", "empty"))
    @example(Corruption("document_deltas", 0, True, "stuck_deltas"))
    @example(Corruption("list_snapshot", 0, False, "bad_value", "ts_missing"))
    @example(Corruption("list_snapshot", 1, False, "bad_value", "bad_bytes"))
    @example(Corruption("list_snapshot", 0, True, "truncated", 100))
    @example(Corruption("json_schemas", 0, True, "html"))
    def check(corruption: Corruption) -> None:
        outcomes[check_outcome(corruption)] += 1

    check()
    results.add(Row("bad input: malformed server answers (hypothesis)", runs=sum(outcomes.values()),
                    faults=sum(outcomes.values()), expected=None, delivered=None, lost=0, duplicates=None))


@pytest.mark.timeout(300)
def test_huge_pages_are_handled(results: Results) -> None:
    """A page of 20,000 documents (Convex sends at most 1024) is read whole, each once."""
    assert check_outcome(None, documents=20_000, page=20_000) == "handled"
    results.add(Row("bad input: one 20,000-document page", runs=1, faults=1, expected=20_000, delivered=20_000,
                    lost=0, duplicates=0))


def test_the_fuzzer_can_fail() -> None:
    """A corruption that drops documents while saying all is well must be caught by the oracle."""
    dropping = Corruption("list_snapshot", 1, False, "drop_silently")

    def drop(route: str, index: int, answer: Response) -> Response:
        if dropping.applies(route, index):
            body = _json(answer)
            body["values"] = body["values"][1:]
            return json_response(body)
        return answer

    key = _key()
    export = ScriptedExport(DOCUMENTS, PAGE, drop)
    with FakeConvex(export) as fake:
        run = read_in_process(connection_config(fake.url, key), _catalog(fake.url, key))
    assert not run.errors
    assert len(_ids(run)) == DOCUMENTS - 1  # the check in check_outcome compares with the full table
