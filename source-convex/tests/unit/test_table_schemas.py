"""The permissive schemas of the NoSchemaForExport fallback, and the data sync selection."""

from source_convex.reader import selection_of
from source_convex.catalog import to_airbyte_schema
from source_convex.table_schemas import REFUSED, permissive_schema
from source_convex.config import TableRef


def test_permissive_schema_converts_like_any_other() -> None:
    convex = permissive_schema(TableRef("", "orders"), ["Order ID", "_creationTime", "_id", "first-name"], REFUSED)
    airbyte = to_airbyte_schema(convex)
    props = airbyte["properties"]
    assert props["Order ID"] == {} and props["first-name"] == {}
    assert props["_id"] == {"type": "string", "description": "Id(orders)"}
    assert props["_creationTime"] == {"type": "number"}
    assert airbyte["additionalProperties"] is True and airbyte["required"] == ["_id"]
    assert airbyte["description"] == REFUSED
    assert {"_ts", "_table", "_component", "_ab_cdc_lsn", "_ab_cdc_deleted_at"} <= set(props)


def test_selection_of_exactly_the_tables() -> None:
    assert selection_of([TableRef("", "users"), TableRef("auth", "session"), TableRef("", "posts")]) == {
        "_other": "excluded",
        "": {"_other": "excluded", "users": {"_other": "included"}, "posts": {"_other": "included"}},
        "auth": {"_other": "excluded", "session": {"_other": "included"}},
    }
