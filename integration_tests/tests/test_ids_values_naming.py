"""Pure parts: Convex ids, value renderings, the import naming rule (the contract's examples)."""

from __future__ import annotations

import math

import pytest

from convex_local import ids, naming, values
from convex_local.errors import ApiError


def test_document_id_matches_the_backends_stability_vector() -> None:
    internal = [251]
    for _ in range(15):
        internal.append((internal[-1] * 251) & 0xFF)
    assert ids.encode_id(1017, bytes(internal)) == "z43zp6c3e75gkmz1kfwj6mbbx5sw281h"


def test_ids_round_trip_use_convex_alphabet_and_sort_by_bytes() -> None:
    source = ids.IdSource(3)
    made = [source.new_document_id(10001) for _ in range(200)]
    for doc_id in made:
        assert len(doc_id) == 32 and set(doc_id) <= set("0123456789abcdefghjkmnpqrstvwxyz")
        number, internal = ids.decode_id(doc_id)  # type: ignore[misc]
        assert number == 10001 and ids.encode_id(number, internal) == doc_id
    assert sorted(made) == sorted(made, key=lambda i: ids.decode_id(i)[1])  # type: ignore[index]
    assert ids.decode_id("not-an-id") is None
    assert ids.decode_id(made[0][:-1] + ("0" if made[0][-1] != "0" else "1")) is None  # checksum


def test_tablet_ids_are_22_chars_and_seeded() -> None:
    a, b = ids.IdSource(7), ids.IdSource(7)
    assert [a.new_tablet_id() for _ in range(3)] == [b.new_tablet_id() for _ in range(3)]
    assert len(ids.IdSource(1).new_tablet_id()) == 22


def test_value_renderings_in_every_format() -> None:
    doc = {"i": 5, "neg": -1, "f": 1.5, "z": -0.0, "nan": math.nan, "inf": math.inf, "ninf": -math.inf,
           "b": b"\x00\x10\x83", "s": "x", "n": None, "t": True, "arr": [1, 2.0], "o": {"k": 2**62}}
    assert values.to_clean(doc) == {
        "i": "5", "neg": "-1", "f": 1.5, "z": -0.0, "nan": "NaN", "inf": "Infinity", "ninf": "-Infinity",
        "b": "ABCD", "s": "x", "n": None, "t": True, "arr": ["1", 2.0], "o": {"k": str(2**62)}}
    enc = values.to_encoded(doc)
    assert enc["i"] == {"$integer": "BQAAAAAAAAA="} and enc["b"] == {"$bytes": "ABCD"}
    assert enc["z"] == {"$float": "AAAAAAAAAIA="} and enc["inf"] == {"$float": "AAAAAAAA8H8="}
    assert enc["f"] == 1.5
    exp = values.to_export(doc)
    assert exp["i"] == 5 and exp["z"] == -0.0 and exp["inf"] == {"$float": "AAAAAAAA8H8="}
    assert exp["b"] == {"$bytes": "ABCD"}
    back = values.from_encoded_text(values.dumps(enc))
    assert back["i"] == 5 and type(back["i"]) is int and back["f"] == 1.5 and math.isnan(back["nan"])
    assert math.copysign(1, back["z"]) < 0 and back["b"] == b"\x00\x10\x83" and back["o"]["k"] == 2**62


def test_plain_documents_render_once() -> None:
    clean, encoded, export = values.render_document({"a": 1.0, "b": "x", "c": [None, True]})
    assert encoded is None and export is None and clean == '{"a":1.0,"b":"x","c":[null,true]}'
    clean, encoded, export = values.render_document({"a": 1, "b": b"\x01"})
    assert clean == '{"a":"1","b":"AQ=="}' and encoded == '{"a":{"$integer":"AQAAAAAAAAA="},"b":{"$bytes":"AQ=="}}'
    assert export == '{"a":1,"b":{"$bytes":"AQ=="}}'


def test_bad_format_is_400() -> None:
    with pytest.raises(values.ApiError) as e:
        values.parse_format("xml")
    assert e.value.code == "BadFormat" and e.value.message == "format param must be one of [`json`]. Got xml"
    assert values.parse_format("convex_json") == "encoded" and values.parse_format("convex_clean_json") == "clean"


@pytest.mark.parametrize(
    "raw, mapped",
    [
        ("_id", "source_id"),  # the contract's three examples
        ("*name!of.table", "source_name_of_table"),
        ("_system_table", "source_system_table"),
        ("ok_table", "ok_table"),
        ("_airbyte_raw_id", "source_airbyte_raw_id"),
        ("Straße Nº 5", "source_strasse_no_5"),
        ("1st", "source_1st"),
        ("__x__", "source_x"),
        ("!!!", "source_"),
        ("a" * 64, "a" * 64),
        # The contract's Corrections: slugify 0.1.0 over unidecode 0.3.0, one syllable per ideograph.
        ("顧客ID", "source_gu_ke_id"),
        ("中文", "source_zhong_wen"),
        ("Ёлка", "source_iolka"),
        ("×", "source_x"),
        ("🎉 party", "source_party"),  # emoji vanish
    ],
)
def test_table_names(raw: str, mapped: str) -> None:
    assert naming.table_name(raw) == mapped


def test_a_table_name_without_a_valid_mapping_is_a_500() -> None:
    with pytest.raises(ApiError) as info:
        naming.table_name("a" * 65)  # not an identifier (too long): mapped, and then still too long
    assert info.value.status == 500


@pytest.mark.parametrize(
    "raw, mapped",
    [
        ("_id", "source_id"),
        ("_airbyte_extracted_at", "source_airbyte_extracted_at"),
        ("$price", "source_price"),  # `$` may not start a field name
        ("Straße", "source_strasse"),  # not ASCII
        ("tab\there", "source_tab_here"),  # a control character
        # Any other non-control ASCII name is a valid field name, so it is kept as it is.
        ("first name", "first name"),
        ("a.b-c", "a.b-c"),
        ("1st", "1st"),
        ("price$", "price$"),
        ("", ""),  # the empty name is a valid field name: kept (the contract's Corrections)
        ("x" * 1024, "x" * 1024),
        ("x" * 1025, "source_" + "x" * 1025),  # too long: mapped, and then too long to store
    ],
)
def test_field_names(raw: str, mapped: str) -> None:
    assert naming.field_name(raw) == mapped


def test_map_document_collisions_nested_and_arrays() -> None:
    assert naming.map_object({"source_id": 1, "_id": 2}) == {"source_id": 1, "source_source_id": 2}
    assert naming.map_object({"_id": 2, "source_id": 1}) == {"source_id": 1, "source_source_id": 2}
    assert naming.map_object({"a": {"_b": [{"c d": 1, "$e": 2}]}}) == {"a": {"source_b": [{"c d": 1, "source_e": 2}]}}
    assert naming.map_object({"_id": 0, "source_id": 1, "source_source_id": 2}) == {
        "source_id": 1, "source_source_id": 2, "source_source_source_id": 0}


def test_the_servers_transliteration_agrees_with_the_connectors_on_the_whole_basic_plane() -> None:
    # Two independent routes to the Rust unidecode 0.3.0 table (text-unidecode plus the 1.30
    # changes here; the crate's own table shipped with the connector): each checks the other.
    from convex_local.transliteration import unidecode
    from convex_shared.naming import transliterate

    differ = [code for code in range(0x10000) if unidecode(chr(code)) != transliterate(chr(code))]
    assert differ == []
