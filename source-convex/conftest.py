"""pytest setup for source-convex: the CDK's standard tests, run against local deployments.

`tests/standard` runs the CDK's `SourceTestSuiteBase` (spec, check, discover, basic read, full
refresh) over the configs that `acceptance-test-config.yml` lists under `secrets/`. Those files
are never written by hand: the session fixture `source_acceptance_servers` starts local
Convex-compatible deployments on 127.0.0.1 (ephemeral ports) and seeds them, and
`source_acceptance_secrets` writes one config per scenario pointing at them while the standard
suite runs, then removes the files (one pytest session at a time: see
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

#: Tables the main deployment holds (component, table); `audit_log` is empty on purpose.
SEEDED_TABLES = (("", "users"), ("", "posts"), ("", "measurements"), ("", "audit_log"), ("waitlist", "entries"))


def seed(dep: LocalDeployment) -> None:
    """A few tables of realistic documents, every Convex type, one table in a component."""
    dep.generate("users", 40, seed=1)
    dep.generate("posts", 60, seed=2)  # references users
    dep.create_table("audit_log")
    dep.generate("entries", 12, seed=3, component="waitlist")
    with dep.transaction() as tx:
        tx.insert("measurements", {"sensor": "boiler", "reading": 71.5, "count": 2**62, "raw": b"\x00\xff\x10",
                                   "labels": {"Floor No.": "2", "unit-name": "west"}})
        tx.insert("measurements", {"sensor": "attic", "reading": float("nan"), "count": -(2**40), "raw": b"",
                                   "labels": {}})
        tx.insert("measurements", {"sensor": "cellar", "reading": float("inf"), "count": 0, "raw": b"\x01",
                                   "labels": {"Floor No.": "-1"}, "note": None})
    # Query-functions mode reads these (a paginated query over a table, an array-returning one).
    dep.functions.query("users:list", function_library.paginated_list("users"))
    dep.functions.query("measurements:all", function_library.list_all("measurements"))


def scenario_configs(servers: testing.AcceptanceServers) -> dict[str, dict[str, Any]]:
    """Every config `acceptance-test-config.yml` names, by file name."""
    main, common = servers.main, servers.common_scenarios()
    return {
        **common,
        "config.json": {**common["config.json"], "include_components": True},
        "all_options_config.json": {
            "deployment_url": main.url,
            "access_key": main.admin_key,
            "tables": ["users", "waitlist/entries"],
            "include_components": True,
            "on_expired_position": "resync",
            "connect_timeout_seconds": 5,
            "read_timeout_seconds": 90,
        },
        "unknown_table_config.json": {"deployment_url": main.url, "access_key": main.admin_key,
                                      "tables": ["users", "no_such_table"]},
        "query_functions_config.json": {"deployment_url": main.url, "access_key": main.admin_key, "query_functions": [
            {"function": "users:list", "table": "users", "page_size": 16},
            {"function": "measurements:all", "stream_name": "measurements"}]},
        "query_functions_user_token_config.json": {
            "deployment_url": main.url, "access_key": "Bearer " + main.functions.add_user_token("ada"),
            "query_functions": [{"function": "users:list", "page_size": 16}]},
        "query_functions_missing_config.json": {"deployment_url": main.url, "access_key": main.admin_key,
                                                "query_functions": [{"function": "users:no_such_function"}]},
    }


@pytest.fixture(scope="session")
def source_acceptance_servers() -> Iterator[testing.AcceptanceServers]:
    """The deployments (and the non-Convex web server) the generated configs point at."""
    with testing.acceptance_servers(seed=7, populate=seed) as servers:
        yield servers


@pytest.fixture(scope="session")
def source_acceptance_configs(source_acceptance_servers: testing.AcceptanceServers) -> dict[str, dict[str, Any]]:
    """The scenario configs, by file name (what `source_acceptance_secrets` writes)."""
    return scenario_configs(source_acceptance_servers)


@pytest.fixture(scope="class")
def source_acceptance_secrets(source_acceptance_configs: dict[str, dict[str, Any]]) -> Iterator[None]:
    """secrets/*.json for `acceptance-test-config.yml`, present while the class that reads them runs."""
    with SECRETS.written(source_acceptance_configs):
        yield
