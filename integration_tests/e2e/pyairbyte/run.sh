#!/usr/bin/env bash
# `make pyairbyte-test`: the connectors end to end through PyAirbyte (PyPI `airbyte`).
#
# PyAirbyte lives in its own virtualenv, .venv-pyairbyte (it pins packages the connectors do not
# want, and supports Python < 3.13 only), built on first use and reused while its requirements
# are unchanged. The test (pyairbyte_e2e.py) runs with that virtualenv's python, offline, and runs
# our connectors from the main .venv's console scripts and the local servers with the main .venv's
# python. Exits non-zero on any failure; everything it starts is stopped by the test itself.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../../.." && pwd)"
MAIN_VENV="$REPO_ROOT/.venv"
VENV="$REPO_ROOT/.venv-pyairbyte"
WORK="$REPO_ROOT/.work/pyairbyte"
# What the PyAirbyte virtualenv holds. convex-local and convex-shared are test helpers (the
# ControlClient that seeds the servers, the naming rule of the comparison); the connectors
# themselves are NOT installed there.
REQUIREMENTS=("airbyte>=0.71,<0.72" "pytest>=8" "pytest-timeout>=2.3")
STAMP="$VENV/.requirements"

log() { printf 'pyairbyte-test: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[[ -x "$MAIN_VENV/bin/source-convex" && -x "$MAIN_VENV/bin/destination-convex" ]] ||
    die "no connectors in $MAIN_VENV: run 'make install' first"

pick_python() {   # PyAirbyte supports Python 3.10 to 3.12
    local candidate
    for candidate in "${PYAIRBYTE_PYTHON:-}" python3.12 python3.11 python3.10 python3; do
        [[ -n $candidate ]] && command -v "$candidate" >/dev/null 2>&1 || continue
        # stderr dropped: a pyenv shim for a version that is not selected answers "pyenv: python3.12:
        # command not found" even though `command -v` found the shim.
        if "$candidate" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

wanted="${REQUIREMENTS[*]} -e $REPO_ROOT/shared -e $REPO_ROOT/integration_tests"
if [[ ! -x "$VENV/bin/python" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$wanted" ]]; then
    python="$(pick_python)" || die "PyAirbyte needs Python 3.10 to 3.12; none found (set PYAIRBYTE_PYTHON)"
    log "building $VENV with $python (PyAirbyte is large: about 90 s) ..."
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    # PYTHONWARNINGS: setuptools prints a framed notice per editable install (BuildBackendWarning).
    PYTHONWARNINGS=ignore::UserWarning "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "${REQUIREMENTS[@]}" -e "$REPO_ROOT/shared" -e "$REPO_ROOT/integration_tests"
    printf '%s' "$wanted" >"$STAMP"
fi

rm -rf "$WORK"
mkdir -p "$WORK/logs"
export AIRBYTE_OFFLINE_MODE=1 DO_NOT_TRACK=1 AIRBYTE_LOGGING_ROOT="$WORK/logs" CONVEX_MAIN_VENV="$MAIN_VENV"
cd "$HERE"
log "running the PyAirbyte end-to-end test ..."
rc=0
timeout --kill-after=15 900 "$VENV/bin/python" -m pytest pyairbyte_e2e.py --basetemp="$WORK/tmp" "$@" || rc=$?
if ((rc == 0)); then
    rm -rf "$WORK"
else
    log "failed (exit $rc); PyAirbyte's logs are in ${WORK#"$REPO_ROOT"/}/logs"
fi
exit "$rc"
