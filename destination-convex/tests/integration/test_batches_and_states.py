"""Request sizes and counts, and STATE messages emitted only after their records are stored."""

import math
import subprocess
import threading
from typing import Any

import orjson
import pytest

LIMIT_MIB = 0.02
LIMIT = int(LIMIT_MIB * 1024 * 1024)


@pytest.mark.timeout(120)
def test_no_request_over_the_limit_and_full_requests(convex_server: Any, run_destination: Any, make: Any) -> None:
    messages = []
    sizes = {"a": 0, "b": 0}
    largest = 0
    for i in range(400):
        table = "a" if i % 3 else "b"
        data = {"_id": f"{table}{i}", "name": "x" * (50 + (i * 37) % 400)}
        if i == 200:
            data["name"] = "y" * 30_000  # bigger than a batch: must travel alone
        messages.append(make.record(table, data))
        size = len(orjson.dumps({"tableName": table, "data": data})) + 1
        if i != 200:
            sizes[table] += size
            largest = max(largest, size)
    result = run_destination(convex_server, [make.stream("a"), make.stream("b")], messages, max_batch_size_mib=LIMIT_MIB)
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(convex_server.documents("a")) + len(convex_server.documents("b")) == 400

    imports = convex_server.request_log.entries("import_airbyte_records")
    assert all(entry.status == 200 and entry.params["messages"] > 0 for entry in imports), "never an empty request"
    alone = [entry for entry in imports if entry.bytes_in > LIMIT]
    assert len(alone) == 1 and alone[0].params["messages"] == 1 and alone[0].bytes_in < 40_000
    for table in ("a", "b"):
        mine = [entry for entry in imports if table in entry.params["tables"]]
        # Each request but the table's last was closed because the next record did not fit
        # (the one before the oversized record was closed early by that record).
        for entry, following in zip(mine, mine[1:]):
            if entry.params["tables"] == [table] and entry not in alone and following not in alone:
                assert entry.bytes_in + largest > LIMIT
    # Request counts: the oversized record's own request, plus what the rest needs at least / at most.
    assert len(imports) >= 1 + math.ceil(sum(sizes.values()) / LIMIT)
    assert len(imports) <= 1 + math.ceil(sum(sizes.values()) / (LIMIT - largest - 500)) + 2


@pytest.mark.timeout(120)
def test_states_are_emitted_only_after_their_records_are_stored(convex_server: Any, make: Any, tmp_path: Any) -> None:
    convex_server.settings.latency_s = 0.1  # a slow deployment: an early state would be caught
    streams = [make.stream("a"), make.stream("b", mode="append_dedup", primary_key=[["_id"]])]
    messages: list[dict[str, Any]] = []
    expected: list[tuple[str, dict[str, int]]] = []  # per state: stored counts it requires
    counts = {"a": 0, "b": 0}
    for round_ in range(30):
        for i in range(15):
            messages.append(make.record("a", {"_id": f"a{round_}-{i}", "pad": "z" * 300}))
            counts["a"] += 1
        messages.append(make.stream_state("a", round_))
        expected.append(("a", {"a": counts["a"]}))
        for i in range(5):
            messages.append(make.record("b", {"_id": f"b{round_}-{i}"}))
            counts["b"] += 1
        if round_ % 10 == 9:
            messages.append(make.global_state(round_))
            expected.append(("global", dict(counts)))
    config, catalog = make.write_files(tmp_path, convex_server, streams, None, {"max_batch_size_mib": LIMIT_MIB})
    process = subprocess.Popen([make.script, "write", "--config", str(config), "--catalog", str(catalog)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    feeder = threading.Thread(target=lambda: (process.stdin.write(make.encode_input(messages)), process.stdin.close()))
    feeder.start()
    observed = []
    output = []
    for line in process.stdout:  # read as the destination writes, and look at the server at once
        output.append(line.decode())
        message = orjson.loads(line)
        if message["type"] == "STATE":
            observed.append((message["state"], {t: len(convex_server.documents(t)) for t in ("a", "b")}))
    feeder.join()
    assert process.wait(30) == 0, "".join(output)[-3000:]
    make.assert_no_secret("".join(output) + process.stderr.read().decode(), convex_server.admin_key)

    assert len(observed) == len(expected)
    for (state, stored), (kind, needed) in zip(observed, expected):
        assert state.get("type") == ("GLOBAL" if kind == "global" else "STREAM")
        for table, count in needed.items():
            assert stored[table] >= count, f"state {state} came out before its {table} records were stored"
    imports = convex_server.request_log.entries("import_airbyte_records")
    assert len(imports) < len(expected) + 30, "states arriving during a request share the next request"
