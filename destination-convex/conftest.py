"""pytest setup for destination-convex: the CDK's standard tests, run against local deployments.

`tests/standard` runs the CDK's `DestinationTestSuiteBase` (check for every `connection` config,
config-matches-spec for every `spec` config) over the configs that `acceptance-test-config.yml`
lists under `secrets/`. Those files are never written by hand: the session fixture
`destination_acceptance_servers` starts local Convex-compatible deployments on 127.0.0.1
(ephemeral ports), and `destination_acceptance_secrets` writes one config per scenario pointing
at them while the standard suite runs, then removes the files (one pytest session at a time: see
`convex_local.connector_testing.GeneratedSecrets`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

# Before the import: the shared suites' asserts then explain their failures as a test module's do.
pytest.register_assert_rewrite("convex_local.connector_testing")

from convex_local import LocalDeployment  # noqa: E402
from convex_local import connector_testing as testing  # noqa: E402
from convex_local import function_library  # noqa: E402

# The CDK's hooks, and ours: markers, and image tests skipped unless an image is named.
pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks", "convex_local.connector_testing"]

SECRETS = testing.GeneratedSecrets(Path(__file__).parent / "secrets")
#: The shared secret the local ingest HTTP action checks (a test value, not a key).
INGEST_SECRET = "airbyte-ingest-secret-4e1d27c9b0"


def _deploy_ingest(dep: LocalDeployment) -> None:
    """The ingest mutation and HTTP action that mutation mode calls (see docs: convex/ingest.ts)."""
    dep.functions.mutation("ingest:records", function_library.IngestFunction())
    dep.functions.http_action("POST", "/airbyte/ingest",
                              function_library.ingest_http_action(function_library.IngestFunction(), INGEST_SECRET))


def scenario_configs(servers: testing.AcceptanceServers) -> dict[str, dict[str, Any]]:
    """Every config `acceptance-test-config.yml` names, by file name."""
    main = servers.main
    return {
        **servers.common_scenarios(),
        "mutation_config.json": {"deployment_url": main.url, "access_key": main.admin_key,
                                 "mutation": "ingest:records", "max_records_per_call": 200},
        "http_action_config.json": {"deployment_url": main.url, "access_key": INGEST_SECRET,
                                    "http_action_url": main.url + "/http/airbyte/ingest"},
        "missing_mutation_config.json": {"deployment_url": main.url, "access_key": main.admin_key,
                                         "mutation": "ingest:no_such_function"},
        "all_options_config.json": {
            "deployment_url": main.url,
            "access_key": main.admin_key,
            "max_batch_size_mib": 2,
            "flush_interval_seconds": 5,
            "max_parallel_requests": 2,
            "index_ready_timeout_seconds": 600,
            "store_airbyte_metadata": True,
            "connect_timeout_seconds": 5,
            "read_timeout_seconds": 90,
        },
    }


@pytest.fixture(scope="session")
def destination_acceptance_servers() -> Iterator[testing.AcceptanceServers]:
    """The deployments (and the non-Convex web server) the generated configs point at."""
    with testing.acceptance_servers(seed=17, populate=_deploy_ingest) as servers:
        yield servers


@pytest.fixture(scope="class")
def destination_acceptance_secrets(destination_acceptance_servers: testing.AcceptanceServers) -> Iterator[None]:
    """secrets/*.json for `acceptance-test-config.yml`, present while the class that reads them runs."""
    with SECRETS.written(scenario_configs(destination_acceptance_servers)):
        yield
