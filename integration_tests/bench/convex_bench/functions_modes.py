"""B5: the Functions API modes against the streaming modes, on the same data and server.

Source: one table of `n` generated documents read in full by our source twice, through streaming
export (`list_snapshot`) and through a paginated query function (`bench:list`, 1000 documents per
page, the default `page_size`). Destination: the same `n` RECORD messages written by our
destination twice into fresh deployments, through streaming import and through the ingest
mutation (`ingest:records`, append + dedup on the bench key, 500 records per call: the defaults).
Every run is checked like the others: exit 0 and exactly `n` records read, or stored.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Sequence

from . import contenders as c
from . import datasets
from .server import ServerProcess

if TYPE_CHECKING:
    from .scenarios import Bench, Run

STREAMING = "streaming"
FUNCTIONS = "functions API"
QUERY_FUNCTION = "bench:list"
INGEST_MUTATION = "ingest:records"


def read_case(n: int) -> str:
    return f"read {n // 1000}k docs"


def write_case(n: int) -> str:
    return f"write {n // 1000}k records, dedup"


def run(bench: "Bench", n: int) -> None:
    from .measure import ContenderFailed
    from .scenarios import _remove_data, destination_catalog

    bench.log(f"B5: Functions API modes vs streaming modes, {n:,} documents")
    data = datasets.snapshot_data(n, bench.workdir, bench.log)
    try:
        with ServerProcess(data) as server:
            server.warm_schemas()
            assert server.endpoint is not None
            server.ctl.register_function(kind="paginated_list", path=QUERY_FUNCTION, table=datasets.SNAPSHOT_TABLE)
            streaming = bench.ws.config(server.endpoint)
            functions = bench.ws.config(server.endpoint, query_functions=[
                {"function": QUERY_FUNCTION, "table": datasets.SNAPSHOT_TABLE, "stream_name": datasets.SNAPSHOT_TABLE}])
            for who, config in ((STREAMING, streaming), (FUNCTIONS, functions)):
                source = c.our_source()
                catalog = bench.ws.write(f"catalog-b5-{who}", c.configured_catalog(
                    source.discover(config), [datasets.SNAPSHOT_TABLE], incremental=False))
                argv = source.read_argv(config, catalog)
                bench._best(partial(bench._read_once, server, "B5", read_case(n), who, argv, n))
    finally:
        _remove_data(data)

    records = datasets.destination_input(n)
    for who in (STREAMING, FUNCTIONS):
        path = bench.workdir / f"b5-dest-{who.replace(' ', '-')}.sqlite"

        def once(path=path, who=who) -> "Run":  # type: ignore[no-untyped-def]
            try:
                with ServerProcess(path) as server:
                    assert server.endpoint is not None
                    extra = {}
                    if who == FUNCTIONS:
                        server.ctl.register_function(kind="ingest", path=INGEST_MUTATION)
                        extra = {"mutation": INGEST_MUTATION}
                    config = bench.ws.config(server.endpoint, **extra)
                    catalog = bench.ws.write("catalog-b5-destination", destination_catalog(True))
                    result, _ = bench._once(server, "B5", write_case(n), who, c.our_destination_argv(config, catalog),
                                            None, stdin=records)
                    stored = len(server.ctl.documents(datasets.DEST_STREAM))
                    if stored != n:
                        raise ContenderFailed(f"{who} (B5, {write_case(n)}) stored {stored} documents, expected {n}")
                    result.records = stored
                    return result
            finally:
                _remove_data(path)

        bench._best(once)


def section(runs: Sequence["Run"], n: int) -> list[str]:
    """The B5 table for the report (both connectors' rows)."""
    from .report import RUN_HEADER, _find, _run_row, _table

    rows, notes = [], []
    for side, case in (("source", read_case(n)), ("destination", write_case(n))):
        streaming, functions = _find(runs, case, STREAMING), _find(runs, case, FUNCTIONS)
        for run in (streaming, functions):
            if run:
                rows.append([case] + _run_row(run.contender, run))
        if streaming and functions:
            notes.append(f"{side}: the Functions API mode moves {functions.records_per_s / streaming.records_per_s:.2f}× "
                         "the records per second of the streaming mode")
    if not rows:
        return []
    lines = [f"### B5 — Functions API modes vs streaming modes, {n:,} documents", "",
             f"Source: one table read in full through `list_snapshot` vs through a paginated query function "
             f"(`{QUERY_FUNCTION}`, 1000 documents per call). Destination: the same records (append + dedup) through "
             f"`import_airbyte_records` vs through the ingest mutation (`{INGEST_MUTATION}`, 500 records per call). "
             "The local server runs the functions in Python, so the ratio says more than the absolute figures: "
             "on Convex, a mutation also pays for its index lookup and writes in the function's own transaction.", ""]
    lines += _table(["case"] + RUN_HEADER, rows, right_from=2)
    return lines + ["", ("; ".join(notes) + ".") if notes else "", ""]
