"""Table names (drop-in with 0.2.x) and primary-key paths mapped to stored field names."""

import pytest

from destination_convex.tables import (
    NamingError,
    primary_key_paths,
    raw_table_name,
    renamed_fields,
    table_name,
)


def test_table_names_match_02x() -> None:
    assert raw_table_name(None, "users") == "users"
    assert raw_table_name("public", "users") == "public_users"
    # 0.2.x tested `namespace is not None`, so an empty namespace still adds the underscore.
    assert raw_table_name("", "users") == "_users"


def test_table_names_are_mapped_like_convex_stores_them() -> None:
    assert table_name("public", "users") == "public_users"
    assert table_name(None, "*name!of.table") == "source_name_of_table"
    assert table_name(None, "_system_table") == "source_system_table"
    assert table_name("my-db", "Orders") == "source_my_db_orders"


def test_too_long_table_name_is_refused_with_the_stream() -> None:
    with pytest.raises(NamingError) as caught:
        table_name("a" * 40, "b" * 30)
    assert "64" in str(caught.value) and "b" * 30 in str(caught.value)


def test_id_primary_key_maps_to_source_id() -> None:
    schema = {"type": "object", "properties": {"_id": {"type": "string"}, "name": {"type": "string"}}}
    assert primary_key_paths("users", [["_id"]], schema) == [["source_id"]]


def test_collision_with_an_existing_source_id_follows_the_schema() -> None:
    schema = {"properties": {"source_id": {"type": "string"}, "_id": {"type": "string"}}}
    assert primary_key_paths("users", [["_id"]], schema) == [["source_source_id"]]
    assert primary_key_paths("users", [["source_id"]], schema) == [["source_id"]]


def test_nested_and_unknown_paths() -> None:
    schema = {"properties": {"meta": {"type": "object", "properties": {"_key": {"type": "string"}}}}}
    assert primary_key_paths("s", [["meta", "_key"], ["plain"], ["_not_in_schema"]], schema) == [
        ["meta", "source_key"],
        ["plain"],
        ["source_not_in_schema"],
    ]


def test_a_key_convex_stores_as_is_but_cannot_index_names_stream_and_field() -> None:
    # "Key Name" is a valid field name (kept), but index paths must be identifiers.
    schema = {"properties": {"meta": {"type": "object", "properties": {"Key Name": {"type": "string"}}}}}
    with pytest.raises(NamingError) as caught:
        primary_key_paths("s", [["meta", "Key Name"]], schema)
    assert "'s'" in str(caught.value) and "meta.Key Name" in str(caught.value)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ([], "no primary key"),
        ([[]], "empty or malformed"),
        ([["_ab_cdc_lsn"]], "CDC field"),
        ([[f"f{i}"] for i in range(17)], "at most 16"),
    ],
)
def test_unusable_keys_are_config_errors_naming_stream(key: list[list[str]], words: str) -> None:
    with pytest.raises(NamingError) as caught:
        primary_key_paths("shop.orders", key, {})
    assert words in str(caught.value) and "shop.orders" in str(caught.value)


def test_renamed_fields_lists_only_renamed_top_level_fields() -> None:
    schema = {"properties": {"_id": {}, "name": {}, "first name": {}, "Straße": {}, "_ab_cdc_deleted_at": {}}}
    assert renamed_fields(schema) == [
        ("_id", "source_id"),
        ("Straße", "source_strasse"),
        ("_ab_cdc_deleted_at", "source_ab_cdc_deleted_at"),
    ]
    assert renamed_fields(None) == []
