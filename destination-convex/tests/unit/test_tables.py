"""Table names (drop-in with 0.2.x) and primary-key paths mapped to stored field names."""

import pytest

from typing import Any

from destination_convex.fields import FieldMapping
from destination_convex.tables import (
    NamingError,
    declared_fields,
    raw_table_name,
    table_name,
)
from destination_convex.tables import primary_key_paths as stored_paths


def primary_key_paths(stream: str, key: list[list[str]], schema: Any) -> list[list[str]]:
    return stored_paths(stream, key, schema, FieldMapping(declared_fields(schema)))


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
    # Convex's slug (slugify 0.1.0 over unidecode 0.3.0): a syllable and a space per ideograph.
    assert table_name(None, "顧客ID") == "source_gu_ke_id"  # 1.0.0 said source_gukeid


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
        ([[f"f{i}"] for i in range(16)], "at most 15"),  # Convex appends _creationTime
        ([["k" * 65]], "at most 64 characters"),
    ],
)
def test_unusable_keys_are_config_errors_naming_stream(key: list[list[str]], words: str) -> None:
    with pytest.raises(NamingError) as caught:
        primary_key_paths("shop.orders", key, {})
    assert words in str(caught.value) and "shop.orders" in str(caught.value)


def test_fifteen_key_fields_of_64_characters_are_fine() -> None:
    key = [[f"{i:02d}" + "k" * 62] for i in range(15)]
    assert primary_key_paths("s", [[f"k{i}"] for i in range(15)], {}) == [[f"k{i}"] for i in range(15)]
    assert len(primary_key_paths("s", [["k" * 64]], {})[0][0]) == 64
    assert key  # identifiers must start with a letter: "00kk..." would be refused
