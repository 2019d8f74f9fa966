"""Secrets: the access key stays where it belongs, whatever a server does.

Every connector run in this suite is already scanned for every key it could know (see
secrets_guard). The tests here provoke the leaks on purpose:
- a server that echoes the Authorization header back, whole or only its secret part, in an
  error message, an HTML error page, a body that is not JSON, a redirect's Location;
- a redirect to another host (on another port): the other host must never see a request;
- a deployment behind TLS with a certificate no authority signed: the connectors must refuse
  it (verification is never turned off) and send no request over it;
- a read with `--debug`, which logs every request.
"""

from __future__ import annotations

import ssl
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import convex_shared
import destination_convex
import pytest
import source_convex

from reliability_harness.catalog import configured_catalog, connection_config, discovered_streams
from reliability_harness.dataset import seed_origin
from reliability_harness.fake_convex import TABLE, FakeConvex, Request, Response, ScriptedExport, json_response
from reliability_harness.processes import (
    DESTINATION,
    SOURCE,
    Run,
    assert_success,
    run_connector,
    source_read,
    write_json,
)
from reliability_harness.results import Results, Row
from reliability_harness.secrets_guard import GUARD, SecretLeak

KEY = "convex-self-hosted|01" + "3f9a6c2e8b7d4f10a5c3e9b2d7f6a8c1e4b9d2f7a6c3e8b5d1f4a7c2e9b6d3f8a5"
GUARD.register(KEY, "the key given to the fake deployments")


def _key_of(request: Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Convex ")


ECHOES: dict[str, Callable[[Request], Response]] = {
    "key in a JSON error message": lambda r: json_response(
        {"code": "BadRequest", "message": f"We did not like the key {_key_of(r)}"}, 400),
    "key tail in a 401": lambda r: json_response(
        {"code": "BadAdminKey", "message": f"Key ...{_key_of(r).split('|')[-1]} is invalid for this instance"}, 401),
    "key in an HTML 502 page": lambda r: Response(
        502, f"<html><body>Bad gateway for Authorization: Convex {_key_of(r)}</body></html>".encode(),
        {"Content-Type": "text/html"}),
    "key tail in a 200 that is not JSON": lambda r: Response(
        200, f"debug: token={_key_of(r).split('|')[-1]}".encode(), {"Content-Type": "text/plain"}),
    "key in a redirect's Location": lambda r: Response(
        307, b"", {"Location": f"http://127.0.0.1:9/login?key={_key_of(r)}"}),
}


def _source_check(url: str, tmp: Path, name: str) -> Run:
    config = write_json(tmp / f"{name}-source.json", connection_config(url, KEY))
    return run_connector([SOURCE, "check", "--config", config], timeout_s=120)


def _destination_check(url: str, tmp: Path, name: str) -> Run:
    config = write_json(tmp / f"{name}-destination.json", connection_config(url, KEY))
    return run_connector([DESTINATION, "check", "--config", config], timeout_s=120)


def _status(run: Run) -> dict[str, Any]:
    statuses = run.output.of_type("CONNECTION_STATUS")
    assert statuses, f"no connection status: {run.describe()}"
    return statuses[-1]["connectionStatus"]


def _refused(run: Run) -> str:
    """The check failed (FAILED status or ERROR trace); returns its message."""
    statuses = run.output.of_type("CONNECTION_STATUS")
    if statuses:
        status = statuses[-1]["connectionStatus"]
        assert status["status"] == "FAILED", run.describe()
        return status.get("message") or ""
    assert run.output.errors and run.exit_code != 0, run.describe()
    return run.output.errors[0].get("message") or ""


@pytest.mark.timeout(600)
def test_a_server_echoing_the_key_never_gets_it_printed(budget: Any, tmp_path: Path, results: Results) -> None:
    """Each echo, against both connectors' check and a source read, as real processes."""
    fakes = {name: FakeConvex(handler) for name, handler in ECHOES.items()}
    jobs = []
    for n, (name, fake) in enumerate(fakes.items()):
        fake.__enter__()
        slug = name.replace(" ", "_").replace("'", "")
        checks = [_source_check, _destination_check]
        # Fast mode: each echo against one connector, alternating; the sweep runs both.
        jobs += [(check, fake.url, slug) for check in (checks if budget.sweep else [checks[n % 2]])]
    def run(job: tuple[Callable[[str, Path, str], Run], str, str]) -> tuple[str, Any]:
        check, url, slug = job
        try:
            return slug, check(url, tmp_path, slug)  # each run's output is scanned for the key
        except SecretLeak as leak:
            return slug, leak

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            runs = list(pool.map(run, jobs))
    finally:
        for fake in fakes.values():
            fake.__exit__(None, None, None)
    leaks = [f"{slug}: {outcome}" for slug, outcome in runs if isinstance(outcome, SecretLeak)]
    assert not leaks, "\n".join(leaks)
    for _, outcome in runs:
        assert _refused(outcome), outcome.describe()
    results.add(Row("secrets: servers echoing the key (checks)", runs=len(runs), faults=len(runs), expected=None,
                    delivered=None, lost=None, duplicates=None))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("status", [307, 301, 302, 308])
def test_no_redirect_is_followed(status: int, budget: Any, tmp_path: Path) -> None:
    if status != 307 and not budget.sweep:
        pytest.skip("fast mode checks a 307; the sweep checks every redirect status")
    elsewhere = FakeConvex(lambda r: json_response(None))
    with elsewhere:
        redirecting = FakeConvex(lambda r: Response(status, b"", {"Location": f"{elsewhere.url}{r.path}"}))
        with redirecting:
            checks = [_source_check(redirecting.url, tmp_path, f"r{status}"),
                      _destination_check(redirecting.url, tmp_path, f"r{status}")]
        assert not elsewhere.requests, f"a {status} redirect was followed to another host"
    for run in checks:
        message = _refused(run)
        assert "redirect" in message.lower(), f"the failure does not say it was a redirect: {message!r}"


def _self_signed(tmp: Path) -> ssl.SSLContext:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.timeout(300)
def test_tls_verification_is_never_turned_off(tmp_path: Path) -> None:
    export = ScriptedExport(10, 5)
    with FakeConvex(export, tls=_self_signed(tmp_path)) as fake:
        assert fake.url.startswith("https://")
        source_config = write_json(tmp_path / "tls-source.json", connection_config(fake.url, KEY))
        catalog = write_json(tmp_path / "tls-catalog.json", configured_catalog([{
            "name": TABLE, "json_schema": {"type": "object"}, "supported_sync_modes": ["incremental"],
            "source_defined_primary_key": [["_id"]], "default_cursor_field": ["_ts"]}]))
        runs = [_source_check(fake.url, tmp_path, "tls"), _destination_check(fake.url, tmp_path, "tls"),
                source_read(source_config, catalog, timeout_s=120)]
        assert not fake.requests, "a request went over a TLS connection whose certificate was not verified"
    for run in runs[:2]:
        message = _refused(run)
        assert "TLS" in message or "certificate" in message.lower(), message
    read = runs[2]
    assert read.exit_code != 0 and read.output.errors and not read.output.records, read.describe()


@pytest.mark.timeout(300)
def test_debug_logging_keeps_the_key_out(deployments: Callable[..., Any], tmp_path: Path) -> None:
    origin = deployments("origin A (debug read)")
    seed_origin(origin, 3, users=30, posts=10)
    config = connection_config(origin.url, origin.admin_key)
    catalog = write_json(tmp_path / "catalog.json", configured_catalog(discovered_streams(config)))
    run = source_read(write_json(tmp_path / "source.json", config), catalog, debug=True)  # scanned
    assert_success(run)
    assert any(m["type"] == "LOG" or m["type"] == "DEBUG" for m in run.output.messages)


_TURNED_OFF = ("verify=False", "CERT_NONE", "check_hostname = False", "allow_redirects=True",
               "_create_unverified_context", "PYTHONHTTPSVERIFY", "disable_warnings")


def test_nothing_in_the_code_turns_verification_off_or_follows_redirects() -> None:
    """The static side of the TLS and redirect tests: no switch anywhere in our packages."""
    found = []
    for package in (convex_shared, source_convex, destination_convex):
        for path in Path(package.__file__).parent.rglob("*.py"):
            text = path.read_text()
            found += [f"{package.__name__}/{path.name}: {switch}" for switch in _TURNED_OFF if switch in text]
    assert not found, found
