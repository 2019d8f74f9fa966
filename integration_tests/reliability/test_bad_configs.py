"""Bad input, part 3: configs, fuzzed with hypothesis, for both connectors' `check` (and the
source's `discover`), in-process through their real entry points.

- Harmless variations of a good config (whitespace around the URL or key, a trailing slash,
  an upper-case scheme) are normalised and accepted: check SUCCEEDS.
- Anything else (wrong types, paths, queries, credentials in the URL, a `Bearer ` / `Convex `
  prefix, quotes, a wrong or read-only key, out-of-range options, unknown fields) gives a
  defined outcome: a FAILED status with a message, or an error the connector classified — never
  an exception it did not catch, never a SUCCEEDED for a config that is not the good one, and
  never the key in any output.
Generated URLs only ever point at 127.0.0.1 (or are refused before any request), so the fuzzer
makes no DNS lookups and no connection leaves the machine.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

import pytest
from convex_shared import normalize_deployment_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability_harness.commands import destination_check, source_command
from reliability_harness.results import Results, Row

json_leaf = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=10)
json_values = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)
SPACE = st.sampled_from(["", " ", "  ", "\t", "\n", " \n"])


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def harmless_url(url: str) -> st.SearchStrategy[str]:
    scheme, rest = url.split("://", 1)
    return st.builds(lambda lead, s, slash, trail: f"{lead}{s}://{rest}{slash}{trail}", SPACE,
                     st.sampled_from([scheme, scheme.upper(), scheme.capitalize()]), st.sampled_from(["", "/", "//"]),
                     SPACE)


def broken_url(url: str, refused: str) -> st.SearchStrategy[Any]:
    host_port = url.split("://", 1)[1]
    return st.one_of(
        st.sampled_from([f"{url}/api", f"{url}/?x=1", f"{url}#frag", f"ftp://{host_port}", host_port,
                         f"http://user:pw@{host_port}", f"{url}|key", "", "   ", "http://", "https://:80",
                         f"http://{host_port.split(':')[0]}:99999", "https://dashboard.convex.dev/d/happy-animal-123",
                         "https://happy-animal-123.convex.site", refused]),
        st.builds(lambda a, b: f"{a} {b}", st.text(max_size=10), st.text(max_size=10)),  # a space: refused early
        st.none(), st.booleans(), st.integers(), st.lists(json_leaf, max_size=2), st.dictionaries(st.text(max_size=3),
                                                                                              json_leaf, max_size=2),
    )


def harmless_key(key: str) -> st.SearchStrategy[str]:
    return st.builds(lambda lead, trail: f"{lead}{key}{trail}", SPACE, SPACE)


def broken_key(key: str, other: str) -> st.SearchStrategy[Any]:
    tail = key.split("|", 1)[1]
    return st.one_of(
        st.sampled_from([f"Convex {key}", f"Bearer {key}", f'"{key}"', f"'{key}'", f"CONVEX_DEPLOY_KEY={key}",
                         f"https://{key}", key[:-1] + " " + key[-1], key + "é", "", " ", other,
                         f"prod:happy-animal-123|{tail}", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", tail]),
        st.none(), st.booleans(), st.integers(), st.lists(json_leaf, max_size=2),
    )


def options(names: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the optional fields, each valid or random JSON; plus, sometimes, unknown fields."""
    fields = {name: st.one_of(valid, json_values) for name, valid in names.items()}
    extra = st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in names and k not in (
        "deployment_url", "access_key")), json_leaf, max_size=2)
    return st.builds(lambda chosen, more: {**chosen, **more}, st.fixed_dictionaries({}, optional=fields),
                     st.one_of(st.just({}), extra))


SOURCE_OPTIONS = {
    "tables": st.sampled_from([[], ["users"], ["nope"], ["a/b"], [""]]),
    "include_components": st.booleans(),
    "on_expired_position": st.sampled_from(["fail", "resync", "FAIL", ""]),
    "connect_timeout_seconds": st.sampled_from([5, 0.5, 0, -1]),
    "read_timeout_seconds": st.sampled_from([30, 120.0, 0, -3]),
}
DESTINATION_OPTIONS = {
    "max_batch_size_mib": st.sampled_from([4, 0.01, 12, 0, 13, 0.001]),
    "flush_interval_seconds": st.sampled_from([1, 15, 0, 3600, 3601, 1.5]),
    "max_parallel_requests": st.sampled_from([1, 4, 16, 0, 17, 2.5]),
    "index_ready_timeout_seconds": st.sampled_from([1, 3600, 0, 86401]),
    "store_airbyte_metadata": st.booleans(),
    "connect_timeout_seconds": st.sampled_from([1, 10, 0, 301]),
    "read_timeout_seconds": st.sampled_from([1, 60, 0, 3601]),
}


def _good(config: dict[str, Any], url: str, key: str) -> bool:
    """Whether the URL and key of `config` are the deployment's, after harmless normalisation."""
    raw_url, raw_key = config.get("deployment_url"), config.get("access_key")
    if not isinstance(raw_url, str) or not isinstance(raw_key, str):
        return False
    try:
        same_url = normalize_deployment_url(raw_url) == url
    except Exception:
        return False
    return same_url and raw_key.strip() == key


@pytest.mark.timeout(600)
def test_harmless_variations_are_accepted(budget: Any, deployments: Callable[..., Any], results: Results) -> None:
    dep = deployments("deployment (config normalisation)")
    runs = 0

    @settings(max_examples=max(10, budget.config_examples // 4), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(url=harmless_url(dep.url), key=harmless_key(dep.admin_key))
    def check(url: str, key: str) -> None:
        nonlocal runs
        config = {"deployment_url": url, "access_key": key}
        source = source_command("check", config)
        assert source.status and source.status["status"] == "SUCCEEDED", f"{config!r:.0}source: {source.describe()}"
        destination = destination_check(config)
        assert destination.status and destination.status["status"] == "SUCCEEDED", destination.describe()
        runs += 2

    check()
    results.add(Row("bad input: harmless config variations accepted", runs=runs, faults=0, expected=None,
                    delivered=None, lost=None, duplicates=None))


@pytest.mark.timeout(900)
def test_any_config_gets_a_defined_answer(budget: Any, deployments: Callable[..., Any], results: Results) -> None:
    dep = deployments("deployment (config fuzzing)")
    other = deployments("another deployment (config fuzzing)")
    refused = f"http://127.0.0.1:{closed_port()}"
    runs = 0

    def configs(fields: dict[str, st.SearchStrategy[Any]], allow_refused: bool) -> st.SearchStrategy[dict[str, Any]]:
        urls = st.one_of(harmless_url(dep.url), broken_url(dep.url, refused if allow_refused else dep.url + "/x"))
        keys = st.one_of(harmless_key(dep.admin_key), broken_key(dep.admin_key, other.admin_key),
                         st.just(dep.read_only_key))
        return st.builds(lambda url, key, more, drop: {k: v for k, v in {"deployment_url": url, "access_key": key,
                                                                        **more}.items() if k not in drop},
                         urls, keys, options(fields),
                         st.sets(st.sampled_from(["deployment_url", "access_key"]), max_size=1))

    @settings(max_examples=budget.config_examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(source_config=configs(SOURCE_OPTIONS, True), destination_config=configs(DESTINATION_OPTIONS, False))
    def check(source_config: dict[str, Any], destination_config: dict[str, Any]) -> None:
        nonlocal runs
        # Discover retries a refused connection for half a minute (the read's patience): the
        # persistent-fault tests cover that; here only check meets the closed port.
        commands = ("check",) if source_config.get("deployment_url") == refused else ("check", "discover")
        for command in commands:
            result = source_command(command, source_config)
            if result.exception is not None:
                assert result.classified, f"source {command}: unclassified {result.describe()}"
            elif command == "check":
                status = result.status
                assert status is not None, f"source check gave no status: {result.describe()}"
                if status["status"] == "SUCCEEDED":
                    assert _good(source_config, dep.url, dep.admin_key) or _good(
                        source_config, dep.url, dep.read_only_key), "source check accepted a config that is not good"
                else:
                    assert status.get("message"), "a FAILED status without a message"
            else:
                assert result.catalog is not None, f"source discover gave neither a catalog nor an error: " \
                                                   f"{result.describe()}"
        result = destination_check(destination_config)
        if result.exception is not None:
            assert result.classified, f"destination check: unclassified {result.describe()}"
        else:
            status = result.status
            assert status is not None, f"destination check gave no status: {result.describe()}"
            if status["status"] == "SUCCEEDED":
                assert _good(destination_config, dep.url, dep.admin_key), (
                    "destination check accepted a config that is not good (or a read-only key)")
            else:
                assert status.get("message"), "a FAILED status without a message"
        runs += len(commands) + 1

    check()
    results.add(Row("bad input: configs, check + discover (hypothesis)", runs=runs, faults=runs, expected=None,
                    delivered=None, lost=None, duplicates=None))
