"""End to end through PyAirbyte (PyPI `airbyte`), a real client that runs connectors.

Run by `run.sh` (`make pyairbyte-test`) with the PyAirbyte virtualenv's python; not collected by
`make test` (the file name does not start with `test_`, and the main virtualenv has no PyAirbyte).
The connectors run from the main virtualenv's console scripts (`local_executable=`), the local
Convex-compatible servers with the main virtualenv's python, and PyAirbyte runs offline
(`AIRBYTE_OFFLINE_MODE=1`, set by run.sh): no registry, no Docker.

1. source-convex into PyAirbyte's local DuckDB cache: every document of every table arrives, and
   every top-level value reads back as Convex holds it.
2. destination-convex from a PyAirbyte source (source-convex, streamed with no cache): deployment B
   ends up equal to deployment A, by the same comparison `make demo` uses.
3. destination-convex from the cache (PyAirbyte's usual "read, then write" path): one document per
   source document, with its text and boolean fields.
No access key may appear in anything PyAirbyte printed or logged.
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

E2E_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(E2E_DIR))

import airbyte as ab  # noqa: E402
from convex_local.control import ControlClient  # noqa: E402

from convex_demo.compare import compare_table  # noqa: E402
from convex_demo.servers import LocalServer, ServerInfo  # noqa: E402

MAIN_VENV_BIN = Path(os.environ.get("CONVEX_MAIN_VENV", E2E_DIR.parents[1] / ".venv")) / "bin"
SOURCE_EXECUTABLE = MAIN_VENV_BIN / "source-convex"
DESTINATION_EXECUTABLE = MAIN_VENV_BIN / "destination-convex"
#: (component, table, documents): every table A holds; `audit_log` is empty on purpose.
TABLES = (("", "users", 120), ("", "posts", 200), ("", "audit_log", 0), ("waitlist", "entries", 30))

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pyairbyte")


def _server(name: str, work: Path, seed: int) -> Iterator[ServerInfo]:
    with LocalServer(name, work / f"server-{name}.log", python=str(MAIN_VENV_BIN / "python"),
                     extra_args=["--seed", str(seed)]) as info:
        yield info


@pytest.fixture(scope="module")
def deployment_a(work: Path) -> Iterator[ServerInfo]:
    """Deployment A, seeded: app tables and one component table."""
    yield from _seeded(work)


def _seeded(work: Path) -> Iterator[ServerInfo]:
    for info in _server("A", work, seed=1):
        with ControlClient(info.url, info.admin_key) as control:
            for component, table, count in TABLES:
                if count:
                    control.generate(table, count, seed=len(table), component=component)
                else:
                    control.create_table(table, component)
        yield info


@pytest.fixture
def deployment_b(work: Path, request: pytest.FixtureRequest) -> Iterator[ServerInfo]:
    """A fresh, empty deployment B for each write test."""
    yield from _server(f"B-{request.node.name[:40]}", work, seed=2)


def source_for(a: ServerInfo) -> ab.Source:
    source = ab.get_source(
        "source-convex",
        # The source needs only deployment:data:view: A's read-only key.
        config={"deployment_url": a.url, "access_key": a.read_only_key, "include_components": True},
        local_executable=SOURCE_EXECUTABLE,
    )
    source.select_all_streams()
    return source


def destination_for(b: ServerInfo) -> ab.Destination:
    return ab.get_destination(
        "destination-convex",
        config={"deployment_url": b.url, "access_key": b.admin_key},
        local_executable=DESTINATION_EXECUTABLE,
    )


def documents(info: ServerInfo, table: str, component: str = "") -> list[dict[str, Any]]:
    with ControlClient(info.url, info.admin_key) as control:
        return control.documents(table, component) if table in control.table_names(component) else []


def as_cached(value: Any) -> Any:
    """A Convex value as source-convex emits it (and a cache stores it)."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def same(expected: Any, cached: Any) -> bool:
    """Whether a cached cell holds the expected value (the cache may type numbers as decimals and
    store objects and arrays as JSON text). int64 values must come back exact."""
    if isinstance(cached, str) and isinstance(expected, (dict, list)):
        cached = json.loads(cached)
    if expected is None:
        return cached is None or (isinstance(cached, float) and math.isnan(cached))
    if isinstance(expected, bool) or isinstance(expected, str):
        return expected == cached
    if isinstance(expected, int):
        return cached is not None and int(cached) == expected and float(cached) == float(expected)
    if isinstance(expected, float):
        # The cache keeps numbers as decimals; the way back to a double may land one ulp away.
        return cached is not None and math.isclose(float(cached), expected, rel_tol=1e-12, abs_tol=0.0)
    if isinstance(expected, list):
        return isinstance(cached, list) and len(expected) == len(cached) and all(map(same, expected, cached))
    if isinstance(expected, dict):
        cached = dict(cached)
        return set(expected) == set(cached) and all(same(expected[key], cached[key]) for key in expected)
    return False


def assert_no_key_printed(keys: list[str], capfd: pytest.CaptureFixture[str]) -> None:
    printed = "".join(capfd.readouterr())
    logs_root = Path(os.environ.get("AIRBYTE_LOGGING_ROOT", "/nonexistent"))
    logged = "".join(path.read_text(errors="replace") for path in logs_root.rglob("*") if path.is_file())
    for key in keys:
        assert key not in printed, "an access key was printed"
        assert key not in logged, "an access key was written to PyAirbyte's logs"


def test_source_reads_every_document_into_the_local_cache(
    deployment_a: ServerInfo, work: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    source = source_for(deployment_a)
    source.check()
    assert sorted(source.get_available_streams()) == sorted(table for _, table, _ in TABLES)
    cache = ab.new_local_cache("convex_source", cache_dir=work / "cache-source", cleanup=True)
    result = source.read(cache=cache)
    for component, table, count in TABLES:
        rows = {row["_id"]: row for row in result[table].to_pandas().to_dict("records")} if count else {}
        originals = documents(deployment_a, table, component)
        assert len(originals) == count and set(rows) == {doc["_id"] for doc in originals}, table
        for doc in originals:
            row = rows[doc["_id"]]
            for name, value in doc.items():
                column = name.lower()  # PyAirbyte's column names are lower case
                assert same(as_cached(value), row[column]), f"{table} {doc['_id']}.{name}: {row[column]!r} != {value!r}"
            assert row["_table"] == table and row["_component"] == component and not row["_deleted"]
    assert_no_key_printed([deployment_a.admin_key, deployment_a.read_only_key], capfd)


def test_destination_writes_a_streamed_pyairbyte_source_exactly(
    deployment_a: ServerInfo, deployment_b: ServerInfo, capfd: pytest.CaptureFixture[str]
) -> None:
    destination = destination_for(deployment_b)
    destination.check()
    destination.write(source_for(deployment_a), cache=False)
    problems = []
    for component, table, _ in TABLES:
        stored_as = f"{component}_{table}" if component else table
        outcome = compare_table(documents(deployment_a, table, component), documents(deployment_b, stored_as),
                                table, component)
        if not outcome.equal:
            problems.append(f"{stored_as}: {outcome.differences} differences, e.g. {outcome.examples}")
    assert not problems, "\n".join(problems)
    assert_no_key_printed([deployment_a.read_only_key, deployment_b.admin_key], capfd)


def test_destination_writes_from_the_local_cache(
    deployment_a: ServerInfo, deployment_b: ServerInfo, work: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cache = ab.new_local_cache("convex_write", cache_dir=work / "cache-write", cleanup=True)
    result = source_for(deployment_a).read(cache=cache)
    destination_for(deployment_b).write(result)
    for component, table, _ in TABLES:
        originals = documents(deployment_a, table, component)
        stored = {doc["source_id"]: doc for doc in documents(deployment_b, f"{component}_{table}" if component else table)}
        assert set(stored) == {doc["_id"] for doc in originals}, table
        for doc in originals:
            copy = stored[doc["_id"]]
            for name, value in doc.items():
                if isinstance(value, (str, bool)) and not name.startswith("_"):
                    assert copy.get(name.lower()) == value, f"{table} {doc['_id']}.{name}"
    assert_no_key_printed([deployment_a.read_only_key, deployment_b.admin_key], capfd)
