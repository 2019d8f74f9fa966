"""Query-functions mode's pure parts: config, and the paging/state rules (against a fake Convex)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from convex_shared import ConvexConfigError
from convex_shared.functions import ConvexFunctionError, Failure, FunctionResult

from source_convex.query_functions import QueryFunctionStream, parse_config, read_pages
from source_convex.query_functions_source import inferred_schema, table_schema

LOG = logging.getLogger("test")
END = "END"


class FakeConvex:
    """Documents by `_creationTime`; pages follow Convex's protocol, including its END cursor."""

    def __init__(self, n: int) -> None:
        self.docs = [{"_id": f"id{i}", "_creationTime": float(i)} for i in range(n)]
        self.calls: list[dict[str, Any]] = []

    def add(self, count: int) -> None:
        start = len(self.docs)
        self.docs += [{"_id": f"id{i}", "_creationTime": float(i)} for i in range(start, start + count)]

    def query(self, path: str, args: dict[str, Any]) -> FunctionResult:
        self.calls.append(args)
        opts = args["paginationOpts"]
        if opts["cursor"] == END:
            return FunctionResult({"page": [], "isDone": True, "continueCursor": END})
        start = int(opts["cursor"]) if opts["cursor"] else 0
        page = self.docs[start:start + opts["numItems"]]
        done = len(page) < opts["numItems"]
        return FunctionResult({"page": page, "isDone": done, "continueCursor": END if done else str(start + len(page))})


STREAM = QueryFunctionStream("docs", "docs:list", {}, 10, None)


def _sync(fake: FakeConvex, state: dict[str, Any]) -> tuple[list[str], dict[str, Any], int]:
    ids, last, pages = [], state, 0
    for documents, new_state in read_pages(fake, STREAM, state, True, LOG):  # type: ignore[arg-type]
        ids += [d["_id"] for d in documents]
        last, pages = new_state, pages + 1
    return ids, last, pages


def test_incremental_resumes_from_the_last_real_cursor_not_the_end_cursor() -> None:
    fake = FakeConvex(25)
    ids, state, pages = _sync(fake, {})
    assert len(ids) == 25 and pages == 3
    assert state == {"cursor": "20", "seen_up_to": 24.0}  # the END cursor is never saved
    assert _sync(fake, state)[0] == []
    fake.add(17)
    ids, state, _ = _sync(fake, state)
    assert ids == [f"id{i}" for i in range(25, 42)]
    assert _sync(fake, state)[0] == []


def test_every_page_checkpoints_and_a_full_page_resets_what_was_seen() -> None:
    fake = FakeConvex(20)
    states = [s for _, s in read_pages(fake, STREAM, {}, True, LOG)]  # type: ignore[arg-type]
    assert states == [{"cursor": "10", "seen_up_to": None}, {"cursor": "20", "seen_up_to": None},
                      {"cursor": "20", "seen_up_to": None}]


def test_documents_out_of_creation_order_stop_an_incremental_read() -> None:
    fake = FakeConvex(5)
    fake.docs.reverse()
    with pytest.raises(ConvexConfigError, match="out of _creationTime order"):
        list(read_pages(fake, STREAM, {}, True, LOG))  # type: ignore[arg-type]


def test_a_function_whose_validator_rejects_pagination_is_read_whole() -> None:
    class Plain:
        def query(self, path: str, args: dict[str, Any]) -> FunctionResult:
            if "paginationOpts" in args:
                raise ConvexFunctionError(path, Failure.ARGUMENTS,
                                          "ArgumentValidationError: Object contains extra field `paginationOpts`")
            return FunctionResult([{"a": 1}, {"a": 2}])

    pages = list(read_pages(Plain(), STREAM, {}, False, LOG))  # type: ignore[arg-type]
    assert pages == [([{"a": 1}, {"a": 2}], {})]


@pytest.mark.parametrize("entry, problem", [
    ({"function": "a b"}, "function"),
    ({"function": "a:b", "args": "{"}, "not valid JSON"),
    ({"function": "a:b", "args": "[]"}, "JSON object"),
    ({"function": "a:b", "args": '{"paginationOpts": {}}'}, "paginationOpts"),
    ({"function": "a:b", "page_size": 0}, "page_size"),
])
def test_config_mistakes_are_named(entry: dict[str, Any], problem: str) -> None:
    config = {"deployment_url": "https://happy-animal-123.convex.cloud", "access_key": "prod:happy-animal-123|01ab",
              "query_functions": [entry]}
    with pytest.raises(ConvexConfigError, match=problem):
        parse_config(config)


def test_stream_names_default_to_the_table_then_the_path_and_must_be_unique() -> None:
    base = {"deployment_url": "https://happy-animal-123.convex.cloud", "access_key": "Bearer eyJa.eyJb.c"}
    parsed = parse_config({**base, "query_functions": [{"function": "admin/export:users"},
                                                        {"function": "m:list", "table": "messages"}]})
    assert [s.name for s in parsed.streams] == ["admin_export_users", "messages"]
    assert parsed.connection.access_key.reveal() == "eyJa.eyJb.c"
    with pytest.raises(ConvexConfigError, match="Two query functions"):
        parse_config({**base, "query_functions": [{"function": "a:b", "stream_name": "x"},
                                                  {"function": "c:d", "stream_name": "x"}]})


def test_schemas_are_open_and_say_what_the_values_are() -> None:
    inferred = inferred_schema([{"a": 1, "b": "x"}, {"a": None, "c": [1]}])
    assert inferred["properties"] == {"a": {"type": ["null", "number"]}, "b": {"type": ["null", "string"]},
                                      "c": {"type": ["array", "null"]}}
    assert inferred["additionalProperties"] is True
    known = table_schema({"type": "object", "additionalProperties": False, "required": ["_id", "n"], "properties": {
        "_id": {"type": "string", "$description": "Id(t)"},
        "n": {"$description": "int64 represented as base10 string", "type": "string"},
        "o": {"type": "object", "additionalProperties": False, "required": ["x"], "properties": {"x": {"type": "null"}}},
        "e": {"type": "array", "items": False}}})
    assert known["required"] == ["_id"] and known["additionalProperties"] is True
    assert known["properties"]["n"] == {"description": "int64 represented as base10 string", "type": "string"}
    assert "required" not in known["properties"]["o"] and known["properties"]["o"]["additionalProperties"] is True
    assert known["properties"]["e"]["items"] == {}
