"""Config: incumbent configs work unchanged; optional fields have the spec's defaults."""

import json
from importlib.resources import files

import pytest
from airbyte_cdk.utils.airbyte_secrets_utils import get_secrets
from convex_shared import ConvexConfigError

from source_convex.config import MAX_PARALLEL_SNAPSHOTS, OnExpiredPosition, SourceConfig, TableRef

KEY = "convex-self-hosted|01ab23cd45ef67890123456789abcdef0123456789abcdef"


def _spec() -> dict:
    return json.loads(files("source_convex").joinpath("spec.json").read_text())["connectionSpecification"]


def test_incumbent_config_works_with_defaults() -> None:
    config = SourceConfig.from_config({"deployment_url": "https://murky-swan-635.convex.cloud", "access_key": KEY})
    assert config.connection.deployment_url == "https://murky-swan-635.convex.cloud"
    assert config.tables is None
    assert config.include_components is True  # component tables are offered by default (1.1.0)
    assert config.on_expired_position is OnExpiredPosition.FAIL
    assert KEY not in repr(config)


def test_defaults_match_the_spec() -> None:
    props = _spec()["properties"]
    config = SourceConfig.from_config({"deployment_url": "https://a.convex.cloud", "access_key": KEY})
    assert props["tables"]["default"] == []
    assert props["include_components"]["default"] is config.include_components
    assert props["on_expired_position"]["default"] == config.on_expired_position.value
    assert props["connect_timeout_seconds"]["default"] == config.connection.connect_timeout_s
    assert props["read_timeout_seconds"]["default"] == config.connection.read_timeout_s
    assert sorted(props["on_expired_position"]["enum"]) == sorted(v.value for v in OnExpiredPosition)


def test_spec_keeps_the_incumbent_fields_and_marks_the_key_secret() -> None:
    spec = _spec()
    assert spec["required"] == ["deployment_url", "access_key"]
    assert spec["properties"]["access_key"]["airbyte_secret"] is True
    # What the marking is for: the CDK masks exactly these values in logs and traces.
    assert get_secrets(spec, {name: f"value of {name}" for name in spec["properties"]} | {"access_key": KEY}) == [KEY]
    for name, prop in spec["properties"].items():
        assert prop.get("title") and prop.get("description"), name


def test_tables_and_components() -> None:
    config = SourceConfig.from_config({"deployment_url": "https://a.convex.cloud", "access_key": KEY,
                                       "tables": ["users", "waitlist/entries", "a/b/c"]})
    assert config.tables == {TableRef("", "users"), TableRef("waitlist", "entries"), TableRef("a/b", "c")}
    assert config.wants(TableRef("waitlist", "entries"))
    assert not config.wants(TableRef("", "posts"))


def test_components_offered_unless_turned_off() -> None:
    base = {"deployment_url": "https://a.convex.cloud", "access_key": KEY}
    assert SourceConfig.from_config(base).wants(TableRef("waitlist", "entries"))
    assert not SourceConfig.from_config({**base, "include_components": False}).wants(TableRef("waitlist", "entries"))
    assert SourceConfig.from_config({**base, "include_components": False}).wants(TableRef("", "users"))
    assert SourceConfig.from_config(base).wants(TableRef("", "users"))


@pytest.mark.parametrize("extra, fragment", [
    ({"tables": "users"}, "tables must be a list"),
    ({"tables": [""]}, "tables must hold table names"),
    ({"include_components": "yes"}, "'include_components' must be true or false"),
    ({"on_expired_position": "ignore"}, "on_expired_position must be one of"),
    ({"read_timeout_seconds": -1}, "read_timeout_seconds"),
    ({"deployment_url": "https://happy-animal-123.convex.site"}, ".convex.site"),
])
def test_mistakes_are_explained(extra: dict, fragment: str) -> None:
    with pytest.raises(ConvexConfigError) as info:
        SourceConfig.from_config({"deployment_url": "https://a.convex.cloud", "access_key": KEY, **extra})
    assert fragment in str(info.value)
    assert KEY not in str(info.value)


def test_parallel_snapshots_default_range_and_spec() -> None:
    base = {"deployment_url": "https://a.convex.cloud", "access_key": KEY}
    prop = _spec()["properties"]["parallel_snapshots"]
    assert SourceConfig.from_config(base).parallel_snapshots == prop["default"] == 4
    assert (prop["minimum"], prop["maximum"]) == (1, MAX_PARALLEL_SNAPSHOTS)
    assert SourceConfig.from_config({**base, "parallel_snapshots": 1}).parallel_snapshots == 1
    assert SourceConfig.from_config({**base, "parallel_snapshots": 8.0}).parallel_snapshots == 8
    for wrong in (0, MAX_PARALLEL_SNAPSHOTS + 1, 2.5, "4", True):
        with pytest.raises(ConvexConfigError, match="parallel_snapshots must be a whole number from 1 to"):
            SourceConfig.from_config({**base, "parallel_snapshots": wrong})
