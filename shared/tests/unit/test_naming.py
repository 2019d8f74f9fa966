"""The import naming rule, with the contract's examples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convex_shared.naming import (
    RenameLimitError,
    convex_field_name,
    convex_table_name,
    is_kept,
    is_kept_table,
    map_document,
    map_keys,
    slug,
    transliterate,
)


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
        ("北京", "source_bei_jing"),  # unidecode 0.3.0: one syllable and a space per ideograph
        ("$price", "source_price"),
        ("!!!", "!!!"),
        ("", ""),  # a valid field name (the contract's Corrections)
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


def test_renamed_keys_reaching_one_name_collapse_the_later_winning() -> None:
    # The collision check looks only at the object's own keys, not at names given to other keys.
    doc = {"_a b": 1, "$a-b": 2, "_a.b": 3}
    assert map_keys(list(doc)) == ["source_a_b"] * 3
    assert map_document(doc) == {"source_a_b": 3}


def test_three_rounds_then_convex_gives_up() -> None:
    assert map_keys(["_id", "source_id", "source_source_id"]) == [
        "source_source_source_id", "source_id", "source_source_id"]
    with pytest.raises(RenameLimitError):
        map_keys(["_id", "source_id", "source_source_id", "source_source_source_id"])


@pytest.mark.parametrize(
    ("name", "stored"),
    # The contract's Corrections, slugify 0.1.0 over unidecode 0.3.0.
    [("顧客ID", "source_gu_ke_id"), ("中文", "source_zhong_wen"), ("Ёлка", "source_iolka"), ("×", "source_x"),
     ("🎉", "source_"), ("🎉 party", "source_party"), ("影師嗎", "source_ying_shi_ma"), ("Компьютер", "source_komp_iuter")],
)
def test_slug_matches_the_rust_crates(name: str, stored: str) -> None:
    assert convex_field_name(name) == stored and convex_table_name(name) == stored


def test_transliteration_table_covers_the_basic_plane_only() -> None:
    assert transliterate("Æneid") == "AEneid" and transliterate("北亰") == "Bei Jing "
    assert transliterate("\U0001F600") == "" and transliterate("\uFFFF") == ""


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
def test_mapped_keys_are_valid_and_only_renamed_keys_collapse(doc: dict[str, int]) -> None:
    try:
        names = map_keys(list(doc))
    except RenameLimitError:
        return
    for key, name in zip(doc, names):
        assert is_kept(name) and (name == key or name.startswith("source_"))
        if name != key:
            assert name not in doc  # never onto a key the object already has
    kept = [name for key, name in zip(doc, names) if name == key]
    assert len(set(kept)) == len(kept)


def test_remapping_slugs_the_taken_name() -> None:
    # A taken name is prefixed again as it is (`prefix_field`), not slugged again.
    assert map_document({"_": 1, "$": 2}) == {"source_": 2}
    assert map_document({"source_": 1, "_": 2}) == {"source_": 1, "source_source_": 2}
