"""Catalog -> stream plans: modes, truncate refreshes, keys, and refusals before any write."""

from typing import Any

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

from destination_convex.errors import ConfigurationError
from destination_convex.plan import WriteMode, is_truncate_refresh, plan_catalog

SCHEMA = {"type": "object", "properties": {"_id": {"type": "string"}, "name": {"type": "string"}}}


def stream(name: str, mode: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "stream": {"name": name, "namespace": namespace, "json_schema": SCHEMA, "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "full_refresh",
        "destination_sync_mode": mode,
        **extra,
    }


def catalog(*streams: dict[str, Any]) -> Any:
    return ConfiguredAirbyteCatalogSerializer.load({"streams": list(streams)})


def test_modes_tables_and_keys() -> None:
    plans = plan_catalog(
        catalog(
            stream("users", "append_dedup", primary_key=[["_id"]]),
            stream("orders", "append", namespace="shop"),
            stream("logs", "overwrite"),
        )
    )
    users, orders, logs = plans
    assert (users.table, users.mode, users.primary_key, users.truncate) == (
        "users", WriteMode.DEDUP, (("source_id",),), False)
    assert (orders.table, orders.mode, orders.primary_key, orders.truncate) == (
        "shop_orders", WriteMode.APPEND, None, False)
    assert (logs.mode, logs.truncate) == (WriteMode.OVERWRITE, True)
    assert users.renames == (("_id", "source_id"),)
    assert users.idempotent and not orders.idempotent
    assert orders.label == "shop.orders" and orders.key == ("shop", "orders")


def test_append_ignores_a_primary_key() -> None:
    (plan,) = plan_catalog(catalog(stream("users", "append", primary_key=[["_id"]])))
    assert plan.primary_key is None


@pytest.mark.parametrize(
    ("generation", "minimum", "truncate"),
    [(None, None, False), (0, 0, False), (3, 0, False), (3, 3, True), (3, None, False), (None, 3, False)],
)
def test_truncate_refresh(generation: int | None, minimum: int | None, truncate: bool) -> None:
    assert is_truncate_refresh(generation, minimum) is truncate
    (plan,) = plan_catalog(catalog(stream("users", "append", generation_id=generation, minimum_generation_id=minimum)))
    assert plan.truncate is truncate


@pytest.mark.parametrize("mode", ["update", "soft_delete"])
def test_unsupported_modes_are_config_errors(mode: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        plan_catalog(catalog(stream("users", mode)))
    assert "users" in str(caught.value) and mode in str(caught.value)
    assert caught.value.failure_type == "config_error"


def test_dedup_without_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no primary key"):
        plan_catalog(catalog(stream("users", "append_dedup")))


def test_two_streams_in_one_table_are_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        plan_catalog(catalog(stream("a_b", "append"), stream("b", "append", namespace="a")))
    assert "a_b" in str(caught.value) and "a.b" in str(caught.value)


def test_setup_log_line_names_table_key_renames_and_deletes() -> None:
    from destination_convex.plan import describe_plan

    schema = {"type": "object", "properties": {"_id": {}, "Straße": {}, "_ab_cdc_deleted_at": {}}}
    dedup = dict(stream("users", "append_dedup", primary_key=[["_id"]]))
    dedup["stream"] = {**dedup["stream"], "json_schema": schema}
    (plan,) = plan_catalog(catalog(dedup))
    line = describe_plan(plan)
    assert "Stream 'users' is written to the Convex table 'users' (append_dedup on source_id)" in line
    assert "_id -> source_id, Straße -> source_strasse" in line
    assert "deleted records delete their document" in line
    (plan,) = plan_catalog(catalog(stream("logs", "overwrite")))
    assert "old documents replaced once the stream is complete" in describe_plan(plan, store_airbyte_metadata=True)
    assert "source_airbyte_raw_id" in describe_plan(plan, store_airbyte_metadata=True)
