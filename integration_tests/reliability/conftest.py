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

from reliability_harness.results import REPO_ROOT, Results, render_text, section, write_results  # noqa: E402
from reliability_harness.secrets_guard import GUARD, SecretLeak  # noqa: E402

RESULTS_KEY = pytest.StashKey[Results]()
STARTED_KEY = pytest.StashKey[float]()


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


FAST = Budget(False, crash_seeds_dedup=1, crash_seeds_append=1, crash_kills_per_round=2, crash_rounds=2, parallel=2,
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
        if exitstatus != 0:
            terminalreporter.write_line("not written to RESULTS.md / docs: some tests failed")
            return
        written = write_results(section(rows, "sweep", duration, GUARD.scanned))
        for path in written:
            terminalreporter.write_line(f"written: {path.relative_to(REPO_ROOT)}")
