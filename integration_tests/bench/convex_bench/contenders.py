"""The contenders: our connectors, the incumbent source from PyPI, and the floor programs.

Every contender is a command line run as its own child process (see `measure`). Configs,
catalogs and states are files in the run's scratch directory; the key is only ever in
those files, never on a command line.
"""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .server import Endpoint

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent  # the project's .venv/bin (make runs .venv/bin/python)
FLOOR_SCRIPT = Path(__file__).resolve().with_name("floor.py")

INCUMBENT_VENV = REPO / ".venv-incumbent"
INCUMBENT_PACKAGE = "airbyte-source-convex"
INCUMBENT_VERSION = "0.4.51"
# The incumbent pins airbyte-cdk 0.80.0, which needs Python < 3.12.
INCUMBENT_PYTHONS = ("python3.11", "python3.10")

OURS = "ours"
INCUMBENT = "incumbent"
FLOOR = "floor"


class SetupError(RuntimeError):
    """A contender could not be prepared (the message says what to do)."""


# -- the incumbent's virtualenv -------------------------------------------------------------------

def _incumbent_installed() -> bool:
    pattern = str(INCUMBENT_VENV / "lib" / "python3.*" / "site-packages" /
                  f"airbyte_source_convex-{INCUMBENT_VERSION}.dist-info")
    return (INCUMBENT_VENV / "bin" / "source-convex").exists() and bool(glob.glob(pattern))


def _incumbent_python() -> str:
    if sys.version_info < (3, 12):
        return sys.executable
    for name in INCUMBENT_PYTHONS:
        found = shutil.which(name)
        if found:
            return found
    raise SetupError(
        f"{INCUMBENT_PACKAGE}=={INCUMBENT_VERSION} needs Python 3.10 or 3.11 (it pins airbyte-cdk 0.80.0); "
        "install one of them (python3.11 on PATH) or run the bench with --only B3."
    )


def ensure_incumbent(log: Any = print) -> Path:
    """The incumbent's console script, installing it into .venv-incumbent/ first if needed."""
    script = INCUMBENT_VENV / "bin" / "source-convex"
    if _incumbent_installed():
        return script
    python = _incumbent_python()
    log(f"Installing {INCUMBENT_PACKAGE}=={INCUMBENT_VERSION} into {INCUMBENT_VENV.name}/ (about 30 s, once)...")
    if INCUMBENT_VENV.exists():
        shutil.rmtree(INCUMBENT_VENV)
    steps = [
        [python, "-m", "venv", str(INCUMBENT_VENV)],
        [str(INCUMBENT_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(INCUMBENT_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
         f"{INCUMBENT_PACKAGE}=={INCUMBENT_VERSION}"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            raise SetupError(f"Installing the incumbent failed at `{' '.join(step[-3:])}`:\n{done.stderr[-2000:]}")
    if not _incumbent_installed():
        raise SetupError(f"{INCUMBENT_PACKAGE}=={INCUMBENT_VERSION} installed, but its console script is missing.")
    return script


# -- command lines ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceConnector:
    """A source console script (ours or the incumbent's)."""

    name: str
    script: Path

    def discover(self, config: Path) -> list[dict[str, Any]]:
        """The streams the source offers (its CATALOG message)."""
        done = subprocess.run([str(self.script), "discover", "--config", str(config)], capture_output=True)
        for line in done.stdout.splitlines():
            if line.startswith((b'{"type":"CATALOG"', b'{"type": "CATALOG"')):
                return list(json.loads(line)["catalog"]["streams"])
        raise SetupError(f"`{self.name} discover` printed no catalog (exit code {done.returncode}).")

    def read_argv(self, config: Path, catalog: Path, state: Path | None = None) -> list[str]:
        argv = [str(self.script), "read", "--config", str(config), "--catalog", str(catalog)]
        return argv + (["--state", str(state)] if state is not None else [])


def our_source() -> SourceConnector:
    return SourceConnector(OURS, BIN / "source-convex")


def incumbent_source(log: Any = print) -> SourceConnector:
    return SourceConnector(INCUMBENT, ensure_incumbent(log))


def our_destination_argv(config: Path, catalog: Path) -> list[str]:
    return [str(BIN / "destination-convex"), "write", "--config", str(config), "--catalog", str(catalog)]


def floor_argv(mode: str, job: Path) -> list[str]:
    return [sys.executable, str(FLOOR_SCRIPT), mode, str(job)]


# -- files ------------------------------------------------------------------------------------------

class Workspace:
    """Config, catalog, state and job files of one bench run (a scratch directory)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0

    def write(self, stem: str, payload: Any) -> Path:
        self._n += 1
        path = self.root / f"{self._n:03d}-{stem}.json"
        path.write_text(json.dumps(payload))
        return path

    def config(self, endpoint: Endpoint, **extra: Any) -> Path:
        return self.write("config", {"deployment_url": endpoint.url, "access_key": endpoint.admin_key, **extra})


def configured_catalog(streams: Iterable[dict[str, Any]], names: Sequence[str], incremental: bool) -> dict[str, Any]:
    """A configured catalog reading the `names` streams, all full refresh or all incremental."""
    by_name = {stream["name"]: stream for stream in streams}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise SetupError(f"discover did not offer the streams {missing}")
    return {
        "streams": [
            {
                "stream": by_name[name],
                "sync_mode": "incremental" if incremental else "full_refresh",
                "destination_sync_mode": "append" if incremental else "overwrite",
                **({"cursor_field": ["_ts"]} if incremental else {}),
                "primary_key": [["_id"]],
            }
            for name in names
        ]
    }


def state_file_payload(states: dict[tuple[str, str | None], Any]) -> list[dict[str, Any]]:
    """Per-stream STATE messages (the input-state format both sources accept)."""
    return [
        {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": name, **({"namespace": namespace} if namespace else {})},
                "stream_state": blob,
            },
        }
        for (name, namespace), blob in sorted(states.items(), key=lambda item: (item[0][0], item[0][1] or ""))
    ]
