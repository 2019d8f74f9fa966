"""The import naming rule, with the contract's examples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convex_shared.naming import convex_field_name, convex_table_name, is_kept, is_kept_table, map_document, slug


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("users", "users"),
        ("Users_2", "Users_2"),
        ("*name!of.table", "source_name_of_table"),
        ("_system_table", "source_system_table"),
        ("2fast", "source_2fast"),
        ("first name", "source_first_name"),
        ("a" * 64, "a" * 64),
        ("Ünïcödé Näme", "source_unicode_name"),
    ],
)
def test_convex_table_name(name: str, stored: str) -> None:
    assert convex_table_name(name) == stored


def test_a_table_name_over_64_characters_is_not_kept() -> None:
    assert not is_kept_table("a" * 65)
    assert convex_table_name("a" * 65) == "source_" + "a" * 65  # still too long: the destination refuses it


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("users", "users"),
        ("_id", "source_id"),
        ("_airbyte_raw_id", "source_airbyte_raw_id"),
        ("_ab_cdc_deleted_at", "source_ab_cdc_deleted_at"),
        ("2fast", "2fast"),
        ("first name", "first name"),
        ("a.b.c", "a.b.c"),
        ("  --weird--  ", "  --weird--  "),
        ("Ünïcödé Näme", "source_unicode_name"),
        ("北京", "source_beijing"),
        ("$price", "source_price"),
        ("!!!", "!!!"),
        ("", "source_"),
        ("name\n", "source_name"),
        ("x" * 1024, "x" * 1024),
        ("x" * 1025, "source_" + "x" * 1025),
    ],
)
def test_convex_field_name(name: str, stored: str) -> None:
    assert convex_field_name(name) == stored


def test_slug() -> None:
    assert slug("__Hello,  World__") == "hello_world"
    assert slug("Crème Brûlée") == "creme_brulee"


def test_contract_collision_example() -> None:
    assert map_document({"source_id": 1, "_id": 2}) == {"source_id": 1, "source_source_id": 2}


def test_kept_keys_claim_first_even_when_later() -> None:
    assert map_document({"_id": 2, "source_id": 1}) == {"source_source_id": 2, "source_id": 1}


def test_renamed_keys_collide_in_input_order() -> None:
    doc = {"_a b": 1, "$a-b": 2, "_a.b": 3}
    assert map_document(doc) == {"source_a_b": 1, "source_source_a_b": 2, "source_source_source_a_b": 3}


def test_nested_objects_and_arrays_are_mapped() -> None:
    doc = {"_id": "x", "profile": {"_first name": "a", "tags": [{"$k": 1}, [{"_v": 2}], 3]}, "ok": [1, "s"]}
    assert map_document(doc) == {
        "source_id": "x",
        "profile": {"source_first_name": "a", "tags": [{"source_k": 1}, [{"source_v": 2}], 3]},
        "ok": [1, "s"],
    }


def test_values_are_untouched() -> None:
    doc = {"s": "_id", "n": None, "f": 1.5, "b": True}
    assert map_document(doc) == doc


@given(st.dictionaries(st.text(max_size=12), st.integers(), max_size=12))
def test_mapped_keys_are_distinct_valid_and_order_preserving(doc: dict[str, int]) -> None:
    mapped = map_document(doc)
    assert len(mapped) == len(doc)
    assert list(mapped.values()) == list(doc.values())
    for key in mapped:
        assert is_kept(key) or key == "source_" or key.startswith("source_")
        assert key.isascii()


def test_remapping_slugs_the_taken_name() -> None:
    # "source_" (from an empty slug) is mapped again through the slug, which trims its "_".
    assert map_document({"_": 1, "$": 2}) == {"source_": 1, "source_source": 2}
    assert map_document({"source_": 1, "_": 2}) == {"source_": 1, "source_source": 2}
