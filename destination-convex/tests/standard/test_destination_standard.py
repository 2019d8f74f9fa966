"""The CDK's standard destination tests, over the scenarios of `acceptance-test-config.yml`.

`DestinationTestSuiteBase` runs `check` for every `connection` config (including the expected
failures: a key without import permission, a wrong key, a URL that is not a deployment, a host
that does not exist) and validates every `spec` config against the spec. Every run also asserts
that no access key from the config appears in the connector's output.

The configs point at local deployments that conftest.py starts for the session.
"""

from __future__ import annotations

import pytest
from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase

from destination_convex import DestinationConvex


@pytest.mark.usefixtures("destination_acceptance_secrets")
@pytest.mark.timeout(120)
class TestDestinationConvexStandard(DestinationTestSuiteBase):
    """Standard tests for destination-convex (the connector root is found from this file: metadata.yaml)."""

    connector = DestinationConvex
