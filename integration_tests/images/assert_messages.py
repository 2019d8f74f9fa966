"""Checks on what a connector container printed, for test.sh (the `make image-test` steps).

Each command reads the Airbyte messages a container wrote to stdout (STEP.out, its stderr in
STEP.err), asserts what the step must show, and exits 1 with one line saying what is wrong.
Every command first makes sure no secret (IMAGE_TEST_SECRETS, one per line) appears in
either stream; output holding one is never echoed. Secrets reach this script only through the
environment, never its arguments, so they stay out of process listings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

Message = dict[str, Any]


class StepFailed(Exception):
    """What a step's output lacks or wrongly contains."""


def fail(reason: str) -> NoReturn:
    raise StepFailed(reason)


def secrets() -> list[str]:
    return [line for line in os.environ.get("IMAGE_TEST_SECRETS", "").splitlines() if line]


def assert_no_secrets(out: Path) -> None:
    for path in (out, out.with_suffix(".err")):
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(secret in text for secret in secrets()):
            fail(f"an access key appears in {path.name}; the output is not shown")


def messages(out: Path) -> Iterator[Message]:
    """The JSON objects of a connector's stdout; other lines are skipped."""
    for line in out.read_text(encoding="utf-8").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and "type" in message:
            yield message


def of_type(out: Path, kind: str) -> list[Message]:
    return [message for message in messages(out) if message["type"] == kind]


def assert_no_error_trace(out: Path) -> None:
    for trace in of_type(out, "TRACE"):
        error = trace.get("trace", {}).get("error")
        if error:
            fail(f"the connector reported an error: {error.get('message')!r} ({error.get('failure_type')})")


def state_key(state: Message) -> str:
    """What identifies a checkpoint: everything but the stats the connectors add."""
    return json.dumps({k: v for k, v in state.items() if not k.endswith("Stats")}, sort_keys=True)


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")


def cmd_config(args: argparse.Namespace) -> None:
    """Writes a connector config for the deployment in CONVEX_URL / CONVEX_ACCESS_KEY."""
    write_json(Path(args.path), {"deployment_url": os.environ["CONVEX_URL"], "access_key": os.environ["CONVEX_ACCESS_KEY"]})


def cmd_spec(args: argparse.Namespace) -> None:
    specs = of_type(args.out, "SPEC")
    if len(specs) != 1:
        fail(f"expected one SPEC message, got {len(specs)}")
    connection_spec = specs[0].get("spec", {}).get("connectionSpecification")
    if not isinstance(connection_spec, dict) or "properties" not in connection_spec:
        fail("the SPEC message has no connectionSpecification with properties")


def cmd_check(args: argparse.Namespace) -> None:
    statuses = [m["connectionStatus"] for m in of_type(args.out, "CONNECTION_STATUS")]
    if args.expect == "SUCCEEDED":
        assert_no_error_trace(args.out)
        if [s.get("status") for s in statuses] != ["SUCCEEDED"]:
            fail(f"expected one CONNECTION_STATUS SUCCEEDED, got {statuses}")
        return
    # A refused check may be a FAILED status or a config_error trace; either must explain itself.
    errors = [t["trace"]["error"] for t in of_type(args.out, "TRACE") if t.get("trace", {}).get("error")]
    explained = [s.get("message") for s in statuses if s.get("status") == "FAILED"]
    explained += [e.get("message") for e in errors if e.get("failure_type") == "config_error"]
    if not any(explained):
        fail(f"expected a FAILED status or a config_error with a message, got {statuses} / {errors}")


def cmd_discover(args: argparse.Namespace) -> None:
    """Asserts a non-empty catalog and writes a configured catalog reading every stream."""
    assert_no_error_trace(args.out)
    catalogs = of_type(args.out, "CATALOG")
    streams = catalogs[0]["catalog"]["streams"] if len(catalogs) == 1 else []
    if not streams:
        fail(f"expected one CATALOG message with streams, got {len(catalogs)} catalog(s) and no stream")
    configured = []
    for stream in streams:
        incremental = "incremental" in stream.get("supported_sync_modes", [])
        configured.append(
            {
                "stream": stream,
                "sync_mode": "incremental" if incremental else "full_refresh",
                "destination_sync_mode": "append",
                "cursor_field": stream.get("default_cursor_field", []),
                "primary_key": stream.get("source_defined_primary_key", []),
                "generation_id": 1,
                "minimum_generation_id": 0,
                "sync_id": 1,
            }
        )
    write_json(Path(args.catalog), {"streams": configured})
    print(f"{len(streams)} streams: {', '.join(s['name'] for s in streams)}")


def cmd_read(args: argparse.Namespace) -> None:
    """Asserts RECORD and STATE messages and writes the last state of each stream as input state."""
    assert_no_error_trace(args.out)
    records = of_type(args.out, "RECORD")
    states = [m["state"] for m in of_type(args.out, "STATE")]
    if len(records) < args.min_records:
        fail(f"expected at least {args.min_records} RECORD messages, got {len(records)}")
    if not states:
        fail("expected STATE messages, got none")
    latest: dict[str, Message] = {}
    for state in states:
        descriptor = state.get("stream", {}).get("stream_descriptor", state.get("type"))
        latest[json.dumps(descriptor, sort_keys=True)] = state
    if args.state:
        write_json(Path(args.state), list(latest.values()))
    print(f"{len(records)} records, {len(states)} states")


def cmd_write_input(args: argparse.Namespace) -> None:
    """Turns a source's read output into a destination's input: its RECORD and STATE lines."""
    lines = [json.dumps(m) for m in messages(args.out) if m["type"] in ("RECORD", "STATE")]
    Path(args.input).write_text("\n".join(lines) + "\n", encoding="utf-8")


def cmd_write(args: argparse.Namespace) -> None:
    """Asserts the destination passed back the last state it was given."""
    assert_no_error_trace(args.out)
    sent = [m["state"] for m in messages(args.input) if m["type"] == "STATE"]
    echoed = [m["state"] for m in of_type(args.out, "STATE")]
    if not echoed:
        fail(f"the destination emitted no STATE message (it was sent {len(sent)})")
    if state_key(echoed[-1]) != state_key(sent[-1]):
        fail("the destination's last STATE is not the last STATE it was sent")
    print(f"{len(echoed)} of {len(sent)} states passed back")


def cmd_documents(args: argparse.Namespace) -> None:
    """Asserts the deployment in CONVEX_URL holds as many documents as RECORDs were written."""
    from convex_local.control import ControlClient  # the host venv has it; the images do not

    expected = sum(1 for m in messages(args.input) if m["type"] == "RECORD")
    client = ControlClient(os.environ["CONVEX_URL"], os.environ["CONVEX_ACCESS_KEY"])
    counts = {table: len(client.documents(table)) for table in client.table_names()}
    if sum(counts.values()) != expected:
        fail(f"the destination deployment holds {sum(counts.values())} documents {counts}, expected {expected}")
    print(f"{expected} documents in {len(counts)} tables")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    def command(name: str, func: Any, *outputs: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name)
        for output in outputs:
            p.add_argument(output, type=Path)
        p.set_defaults(func=func)
        return p

    command("config", cmd_config).add_argument("path")
    command("spec", cmd_spec, "out")
    command("check", cmd_check, "out").add_argument("--expect", choices=["SUCCEEDED", "FAILED"], default="SUCCEEDED")
    command("discover", cmd_discover, "out").add_argument("catalog")
    read = command("read", cmd_read, "out")
    read.add_argument("--state")
    read.add_argument("--min-records", type=int, default=0)
    command("write-input", cmd_write_input, "out").add_argument("input")
    command("write", cmd_write, "out", "input")
    command("documents", cmd_documents, "input")
    return top


def main() -> int:
    args = parser().parse_args()
    try:
        for name in ("out", "input"):
            if isinstance(getattr(args, name, None), Path):
                assert_no_secrets(getattr(args, name))
        args.func(args)
    except StepFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
