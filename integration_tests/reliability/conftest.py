"""pytest setup for the reliability suite: modes, deployments whose keys are watched, the table.

- `--sweep` (make reliability) runs more seeds, runs and examples; without it (make test) the
  same scenarios run at a size that fits a few minutes on two cores.
- `deployments(...)` starts local Convex-compatible deployments (the server's own fixture) and
  registers their keys with the secret guard, which every connector run is scanned against;
  a logging handler scans every log record the test process emits for the same keys.
- At the end of the session the reliability table is printed; in sweep mode it is also written
  to RESULTS.md and between the reliability markers of the connectors' docs.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

# The harness is a plain package next to the tests (pytest runs in importlib mode here).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability_harness.persistent import PersistentFaults  # noqa: E402
from reliability_harness.results import REPO_ROOT, Results, render_text, section, write_results  # noqa: E402
from reliability_harness.secrets_guard import GUARD, SecretLeak  # noqa: E402

RESULTS_KEY = pytest.StashKey[Results]()
STARTED_KEY = pytest.StashKey[float]()
COMPLETE_KEY = pytest.StashKey[bool]()
SUITE_DIR = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--sweep", action="store_true", default=False,
                     help="reliability suite: the long sweep (more seeds, runs and examples) and write the table")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS_KEY] = Results()
    config.stash[STARTED_KEY] = time.monotonic()


@dataclass(frozen=True)
class Budget:
    """How much of each scenario a mode runs."""

    sweep: bool
    crash_seeds_dedup: int
    crash_seeds_append: int
    crash_kills_per_round: int
    crash_rounds: int
    parallel: int
    fault_seeds: int
    response_examples: int
    config_examples: int
    destination_examples: int


FAST = Budget(False, crash_seeds_dedup=1, crash_seeds_append=1, crash_kills_per_round=1, crash_rounds=2, parallel=2,
              fault_seeds=1,
              response_examples=40, config_examples=40, destination_examples=25)
SWEEP = Budget(True, crash_seeds_dedup=8, crash_seeds_append=3, crash_kills_per_round=3, crash_rounds=3, parallel=2,
               fault_seeds=3,
               response_examples=300, config_examples=200, destination_examples=150)


def _sweep(config: pytest.Config) -> bool:
    return bool(config.getoption("--sweep", default=False))


@pytest.fixture(scope="session")
def budget(request: pytest.FixtureRequest) -> Budget:
    return SWEEP if _sweep(request.config) else FAST


@pytest.fixture(scope="session")
def results(request: pytest.FixtureRequest) -> Results:
    return request.config.stash[RESULTS_KEY]


@pytest.fixture
def deployments(convex_server_factory: Callable[..., Any]) -> Callable[..., Any]:
    """Start a local deployment (same arguments as LocalDeployment) and watch its keys."""
    count = 0

    def start(label: str = "", **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        dep = convex_server_factory(**kwargs)
        name = label or f"deployment {count}"
        GUARD.register(dep.admin_key, f"the admin key of {name}")
        GUARD.register(dep.read_only_key, f"the read-only key of {name}")
        return dep

    return start


PERSISTENT_TEST = "test_persistent_faults_end_in_a_clean_error"


@pytest.fixture(scope="session")
def persistent_faults(request: pytest.FixtureRequest) -> Iterator[PersistentFaults]:
    """The persistent-fault runs (see reliability_harness.persistent), started once."""
    jobs = PersistentFaults(_sweep(request.config))
    jobs.start()
    yield jobs
    jobs.close()


@pytest.fixture(scope="session", autouse=True)
def _start_persistent_faults_early(request: pytest.FixtureRequest) -> None:
    """Start them with the first test of the session when their test is going to run."""
    if any(item.name == PERSISTENT_TEST for item in request.session.items):
        request.getfixturevalue("persistent_faults")


class _LeakScanner(logging.Handler):
    """Scans every log record of the test process (servers, in-process connector runs)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose args do not format is not ours to judge
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        found = GUARD.leaks(text)
        if found:
            self.leaks.append(f"{', '.join(found)} in a log record of {record.name}")


@pytest.fixture(autouse=True)
def scan_logs() -> Iterator[None]:
    scanner = _LeakScanner()
    root = logging.getLogger()
    root.addHandler(scanner)
    try:
        yield
    finally:
        root.removeHandler(scanner)
    GUARD.scanned += 1
    if scanner.leaks:
        raise SecretLeak("; ".join(scanner.leaks))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remember whether every test of this suite is going to run: only then may the table be
    written to RESULTS.md and the docs (a partial run would publish a partial table)."""
    ours = [item for item in items if SUITE_DIR in Path(str(item.path)).resolve().parents]
    wanted = {path.name for path in SUITE_DIR.glob("test_*.py")}
    collected = {Path(str(item.path)).name for item in ours}
    filtered = bool(config.option.keyword or config.option.markexpr or getattr(config.option, "lf", False))
    config.stash[COMPLETE_KEY] = not filtered and collected == wanted


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    rows = config.stash[RESULTS_KEY].rows if RESULTS_KEY in config.stash else []
    if not rows:
        return
    sweep = _sweep(config)
    duration = time.monotonic() - config.stash[STARTED_KEY]
    terminalreporter.section("reliability table (" + ("sweep" if sweep else "fast mode") + ")")
    terminalreporter.write_line(render_text(rows))
    terminalreporter.write_line(f"secret scan: {GUARD.scanned} texts, no key found in any "
                                "(a leak fails its test)")
    if sweep:
        if not config.stash.get(COMPLETE_KEY, False):
            terminalreporter.write_line("not written to RESULTS.md / docs: only part of the suite ran")
            return
        failed = [report.nodeid for report in terminalreporter.stats.get("failed", [])]
        block = section(rows, "sweep", duration, GUARD.scanned, failed)
        for path in write_results(block, docs=not failed):
            terminalreporter.write_line(f"written: {path.relative_to(REPO_ROOT)}")
        if failed:
            terminalreporter.write_line("the docs were not updated: some tests failed (RESULTS.md lists them)")
