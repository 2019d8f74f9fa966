"""Unit tests of the bench harness's own logic (no server): measuring a child, building the floor's
import bodies, judging targets, and replacing the docs block. The bench itself is `make bench`."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from convex_bench import report
from convex_bench.datasets import import_bodies
from convex_bench.measure import ContenderFailed, check, run_child
from convex_bench.scenarios import Run, Sizes


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "child.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


@pytest.mark.timeout(60)
def test_run_child_counts_records_keeps_last_state_per_stream_and_measures_the_child(tmp_path: Path) -> None:
    argv = _script(tmp_path, """
        import json
        blob = bytearray(40 * 1024 * 1024)  # resident: touched below
        for i in range(0, len(blob), 4096):
            blob[i] = 1
        for i in range(5):
            print(json.dumps({"type": "RECORD", "record": {"stream": "a", "data": {"type": "RECORD"}}},
                             separators=(",", ":")))
        print('{"type": "RECORD", "record": {"stream": "b", "data": {}}}')  # the CDK 0.x spelling
        for n in (1, 2):
            print(json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
                "stream_descriptor": {"name": "a"}, "stream_state": {"n": n}}}}))
        print('{"type":"LOG","log":{"level":"INFO","message":"done"}}')
    """)
    result = run_child(argv)
    assert result.exit_code == 0
    assert result.records == 6
    assert result.states == {("a", None): {"n": 2}}
    assert result.peak_rss_mib > 40  # the child's own peak, not the launcher's
    assert result.wall_s > 0 and result.cpu_s > 0
    assert any("done" in line for line in result.tail)
    check(result, "child", 6)


@pytest.mark.timeout(60)
def test_check_fails_on_exit_code_and_record_count_and_masks_the_secret(tmp_path: Path) -> None:
    argv = _script(tmp_path, """
        import sys
        print("failed with key convex-self-hosted|0123456789abcdef0123456789abcdef01234567")
        sys.exit(3)
    """)
    result = run_child(argv)
    assert result.exit_code == 3
    with pytest.raises(ContenderFailed) as failure:
        check(result, "child", None, secret="convex-self-hosted|0123456789abcdef0123456789abcdef01234567")
    assert "exited with code 3" in str(failure.value)
    assert "0123456789abcdef" not in str(failure.value)
    ok = run_child(_script(tmp_path, "print('{\"type\":\"RECORD\"}')"))
    with pytest.raises(ContenderFailed, match="emitted 1 records, expected 2"):
        check(ok, "child", 2)


def _record_lines(n: int) -> list[bytes]:
    lines = []
    for index in range(n):
        lines.append(orjson.dumps({"type": "RECORD", "record": {"stream": "s", "data": {"seq": index, "pad": "x" * 50}}}))
        if index % 7 == 0:
            lines.append(orjson.dumps({"type": "STATE", "state": {"type": "STREAM"}}))
    return lines


@pytest.mark.parametrize("primary_key", [None, [["seq"]]])
def test_import_bodies_hold_every_record_once_in_order_and_respect_the_batch_limit(primary_key) -> None:
    limit = 1000
    bodies = list(import_bodies(_record_lines(100), "s", primary_key, {"type": "object"}, max_bytes=limit))
    assert len(bodies) > 5
    seen = []
    for count, body in bodies:
        assert len(body) <= limit
        parsed = orjson.loads(body)
        assert parsed["tables"] == {"s": {"primaryKey": primary_key, "jsonSchema": {"type": "object"}}}
        assert len(parsed["messages"]) == count
        assert all(message["tableName"] == "s" for message in parsed["messages"])
        seen += [message["data"]["seq"] for message in parsed["messages"]]
    assert seen == list(range(100))


def _run(case: str, who: str, wall: float, records: int, requests: int = 10, rss: float = 80.0) -> Run:
    return Run("B?", case, who, wall, records, requests, rss)


def test_targets_judge_measured_runs_and_say_when_something_was_not_measured() -> None:
    sizes = Sizes()
    runs = [
        _run("snapshot 200k docs", "ours", 5.0, 200_000),
        _run("snapshot 200k docs", "incumbent", 20.0, 200_000),
        _run("snapshot 200k docs", "floor", 4.0, 200_000),
        _run("50k changes, 0 ms", "ours", 3.0, 50_000, requests=400),
        _run("50k changes, 0 ms", "incumbent", 40.0, 50_000, requests=7_900),
        _run("50k changes, 50 ms", "ours", 25.0, 50_000, requests=400),
        _run("50k changes, 50 ms", "incumbent", 100.0, 50_000, requests=7_900),
        _run("write 200k records, append", "ours", 10.0, 200_000),
        _run("write 200k records, append", "floor", 4.0, 200_000),
        _run("snapshot 400k docs", "ours", 10.0, 400_000, rss=120.0),
        _run("write 400k records, append", "ours", 10.0, 400_000, rss=150.0),
    ]
    verdicts = {target.name: target.met for target in report.targets(runs, sizes)}
    assert verdicts == {
        "B1 snapshot throughput ≥ 3× the incumbent's": True,
        "B1 snapshot throughput ≥ ½ the floor's": True,
        "B2 20-table incremental sync: ≥ 10× fewer requests than the incumbent": True,
        "B2 at 50 ms latency: ≥ 5× faster than the incumbent": False,  # ×4.0
        "B3 destination throughput (append) ≥ ½ the floor's": False,  # 0.40
        "B3 destination throughput (dedup) ≥ ½ the floor's": None,
        "Peak RSS < 150 MB at 400k records (source)": True,
        "Peak RSS < 150 MB at 400k records (destination)": False,  # 150 MiB is 157 MB
        "B9 parallel snapshots (20 tables × 10,000 at 50 ms): `parallel_snapshots` = 4 ≥ 3× one table at a time": None,
    }


def test_render_has_every_measured_section_and_only_those() -> None:
    runs = [_run("snapshot 200k docs", who, wall, 200_000) for who, wall in
            (("ours", 5.0), ("incumbent", 20.0), ("floor", 4.0))]
    runs.append(_run("write 200k records, dedup", "ours", 10.0, 200_000))
    machine = report.Machine.now()
    text = report.render(runs, Sizes(), "make bench", 60.0, machine, quick=False)
    assert text.startswith("## Benchmarks")
    assert "### B1" in text and "×4.0" in text and "### B3" in text
    assert "### B2" not in text and "### B4" not in text
    assert "not measured" in text
    source_page = report.render(runs, Sizes(), "make bench", 60.0, machine, quick=False, side="source")
    assert "### B1" in source_page and "### B3" not in source_page and "B3 destination" not in source_page
    destination_page = report.render(runs, Sizes(), "make bench", 60.0, machine, quick=False, side="destination")
    assert "### B3" in destination_page and "### B1" not in destination_page
    assert "(destination)" in destination_page and "(source)" not in destination_page


def test_replace_between_markers_keeps_the_rest_of_the_page() -> None:
    page = "# Convex\n\nintro\n\n<!-- bench:start -->\nold table\n<!-- bench:end -->\n\nmore\n"
    assert report.replace_between_markers(page, "new table\n") == (
        "# Convex\n\nintro\n\n<!-- bench:start -->\nnew table\n<!-- bench:end -->\n\nmore\n"
    )
    assert report.replace_between_markers("# no markers\n", "x") is None


def test_growth_section_reports_time_per_100k_and_memory_from_smallest_to_largest() -> None:
    runs = [_run(f"snapshot {n // 1000}k docs", "ours", wall, n, rss=rss)
            for n, wall, rss in ((100_000, 4.0, 90.0), (200_000, 7.0, 91.0), (400_000, 13.0, 92.0))]
    text = report.render(runs, Sizes(), "make bench", 60.0, report.Machine.now(), quick=False)
    assert "### B4" in text
    assert "4× the records took 3.2× the time (3.0 s per extra 100k records), peak RSS 94 MB → 96 MB" in text


def test_slow_server_and_startup_sections_report_ratios_measured_in_the_same_run() -> None:
    from convex_bench import slow_server, startup

    runs = [_run(slow_server.case_name(50_000, "100 ms per page"), who, wall, 50_000)
            for who, wall in (("ours", 8.0), ("incumbent", 16.0), ("floor", 6.0))]
    text = "\n".join(slow_server.section(runs, 50_000))
    assert "100 ms per page: ours ÷ incumbent throughput: **×2.0**, ours ÷ floor throughput: **0.75**" in text
    assert "as served" not in text  # only measured cases get rows
    runs = [_run(startup.INTERPRETER, "floor", 0.02, 0), _run(startup.case_name("source", "spec"), "ours", 0.8, 0),
            _run(startup.case_name("source", "spec"), "incumbent", 0.5, 0)]
    text = "\n".join(startup.section(runs))
    assert "source spec: ours takes 1.60 of the incumbent's time" in text and "| ×40 |" in text


def test_parallel_section_and_target_take_their_ratios_from_the_same_run() -> None:
    from convex_bench import parallel

    shape = parallel.Shape()
    walls = {parallel.contender("ours", 4): 4.9, parallel.contender("ours", 1): 14.5,
             parallel.contender("floor", 4): 3.7, parallel.contender("floor", 1): 13.0}
    runs = [_run(shape.case, who, wall, 200_000) for who, wall in walls.items()]
    text = "\n".join(parallel.section(runs, shape))
    assert "parallel ÷ one table at a time: **×2.96**; ours at 4 ÷ the floor at 4 threads throughput: **0.76**" in text
    assert "| ours, parallel_snapshots=1 | 14.50 s |" in text
    (target,) = [t for t in report.targets(runs, Sizes()) if t.name.startswith("B9")]
    assert target.met is False and target.measured.startswith("×2.96")
    faster = [_run(shape.case, who, 4.5 if who == parallel.contender("ours", 4) else wall, 200_000)
              for who, wall in walls.items()]
    assert [t.met for t in report.targets(faster, Sizes()) if t.name.startswith("B9")] == [True]
    assert parallel.section(runs[2:], shape)[-2] == ""  # no ratio without both of ours


def test_startup_import_seconds_sums_the_top_level_imports_only(tmp_path: Path) -> None:
    from convex_bench import startup

    assert 0 < startup.import_seconds([sys.executable, "-c", "import json"]) < 5
    assert startup._IMPORT_LINE.match("import time:       121 |        304 |   json.decoder") is None
    assert startup._IMPORT_LINE.match("import time:       121 |        304 | json").group(1) == "304"


def test_scale_counts_destination_progress_from_its_states_and_renders_per_segment_figures() -> None:
    from convex_bench import scale

    state = orjson.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "bench"}, "stream_state": {"seq": 20_479}}}})
    assert scale._committed(state, 0) == 20_480
    assert scale._committed(b'{"type":"LOG","log":{}}', 7) == 7
    assert scale._records(b'{"type":"RECORD","record":{}}', 7) == 8
    run = scale.ScaleRun("ours", "source", 2_000_000, 60.0, [
        scale.Checkpoint(500_000, 15.0, 80.0, 70.0), scale.Checkpoint(1_000_000, 30.0, 81.0, 70.0),
        scale.Checkpoint(2_000_000, 60.0, 82.0, 70.0)])
    text = scale.section([scale.ScaleRun("floor", "source", 2_000_000, 30.0), run], 2_000_000, "make bench-scale", "now")
    assert "| source | 1,000,000 | 30.0 s | 3.00 s |" in text
    assert "the last segment took 1.00× the first's time per 100k records" in text
    assert "ours ÷ floor throughput **0.50**" in text


def test_a_full_run_keeps_the_scale_block_of_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from convex_bench import scale

    results = tmp_path / "RESULTS.md"
    monkeypatch.setattr(report, "RESULTS", results)
    monkeypatch.setattr(report, "DOC_PAGES", {"source": tmp_path / "missing.md"})
    results.write_text("# Benchmark results\n\nold\n")
    report.write_scale("### B8 first\n")
    report.write_scale("### B8 second\n")
    assert results.read_text().count(scale.START) == 1 and "### B8 second" in results.read_text()
    report.write("## Benchmarks new\n", {})
    text = results.read_text()
    assert "## Benchmarks new" in text and "old" not in text and "### B8 second" in text
