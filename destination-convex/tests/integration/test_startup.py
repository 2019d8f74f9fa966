"""The `destination-convex` console script starts without the CDK parts it never uses (bench B7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

EXE = Path(sys.executable).with_name("destination-convex")


def test_spec_starts_without_the_cdk_package_init() -> None:
    proc = subprocess.run([str(EXE), "spec"], check=False, capture_output=True, text=True, timeout=50,
                          env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    (spec,) = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"type":"SPEC"')]
    assert "deployment_url" in spec["spec"]["connectionSpecification"]["properties"]
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "airbyte_cdk.models.airbyte_protocol_serializers" in imported  # the measurement saw the CDK
    assert not {name for name in imported if name.startswith(("airbyte_cdk.sources.declarative", "airbyte_cdk.legacy",
                                                              "airbyte_cdk.sources.file_based"))}
