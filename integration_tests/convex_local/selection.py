"""Which components, tables and columns an export request selects.

Mirrors the backend's SelectionArg: a POST `selection` object; else `table_name` / `tableName`
(in `component`, the root when absent); else `component` alone; else everything. In a selection
object a component or table is either the string "excluded" or an object with its own `_other`;
only columns take "included" / "excluded" directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, internal_error

_INCLUSION = {"included": True, "excluded": False}


@dataclass(frozen=True)
class Columns:
    columns: dict[str, bool] = field(default_factory=dict)
    other: bool = True

    @property
    def everything(self) -> bool:
        return self.other and all(self.columns.values())

    def includes(self, name: str) -> bool:
        return self.columns.get(name, self.other)


ALL_COLUMNS = Columns()


@dataclass(frozen=True)
class ComponentSelection:
    tables: dict[str, Columns | None]  # None: excluded
    other_tables: bool


@dataclass(frozen=True)
class Selection:
    components: dict[str, ComponentSelection | None]  # None: excluded
    other_components: bool = True

    def includes_table(self, component: str, table: str) -> bool:
        return self.columns(component, table) is not None

    def columns(self, component: str, table: str) -> Columns | None:
        """The column filter of a selected table, or None when the table is not selected."""
        if component not in self.components:
            return ALL_COLUMNS if self.other_components else None
        comp = self.components[component]
        if comp is None:
            return None
        if table in comp.tables:
            return comp.tables[table]
        return ALL_COLUMNS if comp.other_tables else None


EVERYTHING = Selection({}, True)


def single_table(table: str, component: str | None) -> Selection:
    return Selection({component or "": ComponentSelection({table: ALL_COLUMNS}, False)}, False)


def single_component(component: str) -> Selection:
    return Selection({component: ComponentSelection({}, True)}, False)


def _bad(message: str) -> ApiError:
    return ApiError(400, "BadJsonBody", f"Failed to deserialize the JSON body into the target type: {message}")


def _inclusion(value: Any, where: str) -> bool:
    if value not in _INCLUSION:
        raise _bad(f"{where}: unknown variant {value!r}, expected `included` or `excluded`")
    return _INCLUSION[value]


def _other(obj: dict[str, Any], where: str) -> bool:
    if "_other" not in obj:
        raise _bad(f"{where}: missing field `_other`")
    return _inclusion(obj["_other"], f"{where}._other")


def parse_selection(raw: Any) -> Selection:
    """The POST `selection` object."""
    if not isinstance(raw, dict):
        raise _bad("selection: expected an object")
    components: dict[str, ComponentSelection | None] = {}
    for path, comp in raw.items():
        if path == "_other":
            continue
        where = f"selection.{path}"
        if comp == "excluded":  # the only bare string here: inclusion needs an object with `_other`
            components[path] = None
            continue
        if not isinstance(comp, dict):
            raise _bad(f"{where}: expected an object or \"excluded\"")
        tables: dict[str, Columns | None] = {}
        for table, tsel in comp.items():
            if table == "_other":
                continue
            twhere = f"{where}.{table}"
            if tsel == "excluded":
                tables[table] = None
                continue
            if not isinstance(tsel, dict):
                raise _bad(f"{twhere}: expected an object or \"excluded\"")
            cols = {c: _inclusion(v, f"{twhere}.{c}") for c, v in tsel.items() if c != "_other"}
            columns = Columns(cols, _other(tsel, twhere))
            if not columns.includes("_id"):
                # The backend rejects this with a plain anyhow error, i.e. a 500.
                raise internal_error()
            tables[table] = columns
        components[path] = ComponentSelection(tables, _other(comp, where))
    return Selection(components, _other(raw, "selection"))


TABLE_PARAMETER_ERAS = ("both", "table_name", "tableName")


def _table_arg(args: dict[str, Any], era: str) -> Any:
    """The table the request names, as a backend of `era` reads it (see Settings.table_parameter)."""
    if era == "both":
        # One field with an alias in an untagged enum: both spellings at once fail that variant, and
        # the request falls through to the next one (a component, or every table).
        if "table_name" in args and "tableName" in args:
            return None
        return args.get("table_name", args.get("tableName"))
    if era in ("table_name", "tableName"):
        return args.get(era)
    raise ValueError(f"unknown table_parameter era {era!r}; expected one of {TABLE_PARAMETER_ERAS}")


def from_args(args: dict[str, Any], ignore_table_name: bool, allow_selection: bool,
              table_parameter: str = "both") -> Selection:
    if allow_selection and "selection" in args and args["selection"] is not None:
        return parse_selection(args["selection"])
    table = _table_arg(args, "table_name" if ignore_table_name else table_parameter)
    component = args.get("component")
    for name, value in (("table_name", table), ("component", component)):
        if value is not None and not isinstance(value, str):
            raise _bad(f"{name}: expected a string")
    if table is not None:
        return single_table(table, component)
    if component is not None:
        return single_component(component)
    return EVERYTHING
