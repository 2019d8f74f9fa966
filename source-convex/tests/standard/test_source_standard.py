"""The CDK's standard source tests, over the scenarios of `acceptance-test-config.yml`.

`SourceTestSuiteBase` runs spec (with the spec lint), check for every `connection` config
(including the expected failures), discover (with the catalog checks), a full-refresh read of
every discovered stream (records must match their stream schemas: `test_strictness_level: high`
forbids opting out), and a read with a broken catalog that must fail cleanly. Every run also
asserts that no access key from the config appears in the connector's output.

The configs point at local deployments that conftest.py starts and seeds for the session.
"""

from __future__ import annotations

import pytest
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from source_convex import SourceConvex


# The catalog checks the CDK does not enforce yet (valid JSON schema, cursor and key fields in the
# schema, Airbyte types) are enforced here: this source passes them all, and must keep doing so.
@pytest.mark.filterwarnings("error::airbyte_cdk.test.standard_tests.DiscoveredCatalogWarning")
@pytest.mark.usefixtures("source_acceptance_secrets")
@pytest.mark.timeout(120)
class TestSourceConvexStandard(SourceTestSuiteBase):
    """Standard tests for source-convex (the connector root is found from this file: metadata.yaml)."""

    connector = SourceConvex
