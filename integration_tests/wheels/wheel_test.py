"""`make wheel-test`: each connector's wheel, alone in an empty virtualenv, against a local server.

For each wheel in `dist/` (built by `make wheels`): check that it carries the shared client
(`convex_shared/`) and depends on no `convex-shared` distribution, create an empty venv with no
system site-packages, `pip install` only that wheel (its dependencies come from the package
index), then run its console script's `spec` and `check` (and the source's `discover`) against
a local Convex-compatible server on 127.0.0.1. Last, the two installed connectors move ten
documents from one local deployment to another, piped like the platform pipes them. Prints one
line per step and exits non-zero on the first failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path

from convex_local import LocalDeployment

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "dist"
WORK = REPO / ".work" / "wheel-test"
CONNECTORS = {"source": "airbyte_source_convex", "destination": "airbyte_destination_convex"}


def step(message: str) -> None:
    print(f"wheel-test: {message}", flush=True)


def fail(message: str) -> None:
    print(f"wheel-test: FAILED: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def the_wheel(prefix: str) -> Path:
    wheels = sorted(DIST.glob(f"{prefix}-*.whl"))
    if len(wheels) != 1:
        fail(f"expected one {prefix} wheel in dist/, found {[w.name for w in wheels]}: run 'make wheels'")
    return wheels[0]


def inspect(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    carried = ("convex_shared/client.py", "convex_shared/py.typed", "convex_shared/text_unidecode_1_30.json.gz",
               "convex_shared/text_unidecode_1_30.LICENSE")
    if any(name not in names for name in carried):
        fail(f"{wheel.name} does not carry the shared client whole (convex_shared/): "
             f"missing {[name for name in carried if name not in names]}")
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    if any(r.lower().replace("_", "-").startswith("convex-shared") for r in requires):
        fail(f"{wheel.name} still depends on convex-shared: {requires}")
    step(f"{wheel.name}: carries convex_shared/, requires {', '.join(requires)}")


def install(kind: str, wheel: Path) -> Path:
    """A fresh, empty venv holding only this wheel and what it requires; returns its bin dir."""
    target = WORK / f"venv-{kind}"
    venv.EnvBuilder(clear=True, with_pip=True, system_site_packages=False).create(target)
    bin_dir = target / "bin"
    started = time.monotonic()
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    str(wheel)], check=True)
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "check"], check=True, stdout=subprocess.DEVNULL)
    step(f"{kind}: installed {wheel.name} into an empty venv in {time.monotonic() - started:.0f} s")
    # The transliteration table is package data: a wheel without it fails on the first non-ASCII name.
    slug = subprocess.run([str(bin_dir / "python"), "-c", "from convex_shared.naming import slug; print(slug('顧客ID'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    if slug != "gu_ke_id":
        fail(f"{kind}: the installed wheel slugs '顧客ID' as {slug!r}, Convex as 'gu_ke_id'")
    return bin_dir


def run(exe: Path, *args: str, stdin: bytes | None = None) -> list[dict]:
    proc = subprocess.run([str(exe), *args], input=stdin, capture_output=True, timeout=120)
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith(b"{")]
    if proc.returncode != 0:
        fail(f"{exe.name} {args[0]} exited {proc.returncode}: {proc.stdout[-1500:].decode(errors='replace')}")
    return messages


def of_type(messages: list[dict], kind: str) -> list[dict]:
    return [m for m in messages if m["type"] == kind]


def main() -> None:
    wheels = {kind: the_wheel(prefix) for kind, prefix in CONNECTORS.items()}
    for wheel in wheels.values():
        inspect(wheel)
    bins = {kind: install(kind, wheel) for kind, wheel in wheels.items()}
    source, destination = bins["source"] / "source-convex", bins["destination"] / "destination-convex"

    with LocalDeployment().started() as a, LocalDeployment().started() as b, tempfile.TemporaryDirectory() as tmp:
        a.generate("users", 10, seed=1)
        files = Path(tmp)
        for name, dep in (("a", a), ("b", b)):
            (files / f"{name}.json").write_text(json.dumps({"deployment_url": dep.url, "access_key": dep.admin_key}))
        for exe in (source, destination):
            (spec,) = of_type(run(exe, "spec"), "SPEC")
            assert spec["spec"]["connectionSpecification"]["required"][:2] == ["deployment_url", "access_key"]
        step("spec: both connectors answer")
        for exe, config in ((source, "a"), (destination, "b")):
            (status,) = of_type(run(exe, "check", "--config", str(files / f"{config}.json")), "CONNECTION_STATUS")
            if status["connectionStatus"]["status"] != "SUCCEEDED":
                fail(f"{exe.name} check: {status['connectionStatus']}")
        step("check: both connectors reach the local server with its key")
        (catalog,) = of_type(run(source, "discover", "--config", str(files / "a.json")), "CATALOG")
        streams = [{"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
                   for s in catalog["catalog"]["streams"]]
        (files / "catalog.json").write_text(json.dumps({"streams": streams}))
        step(f"discover: {[s['stream']['name'] for s in streams]}")
        output = subprocess.run([str(source), "read", "--config", str(files / "a.json"), "--catalog",
                                 str(files / "catalog.json")], capture_output=True, check=True, timeout=120).stdout
        run(destination, "write", "--config", str(files / "b.json"), "--catalog", str(files / "catalog.json"),
            stdin=output)
        if len(b.documents("users")) != 10:
            fail(f"the pipe stored {len(b.documents('users'))} of 10 documents")
        step("read | write: 10 documents moved from one local deployment to another")
    step("OK")


if __name__ == "__main__":
    main()
