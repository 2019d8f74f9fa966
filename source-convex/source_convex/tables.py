"""Naming of Convex tables as Airbyte streams.

A table lives in a component: the app itself (path `""`) or an installed component
(`waitlist`, or nested `waitlist/ratelimiter`). Root tables become streams named after
the table with no namespace, as the incumbent named them; a component's tables get the
component path as their stream namespace, so same-named tables of different components
never collide. In the `tables` config field a component table is written
`<component path>/<table>`: table names cannot contain `/`, so the last segment is the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True, order=True)
class TableRef:
    """One table: its component path (`""` for the app) and its name."""

    component: str
    name: str

    @property
    def is_root(self) -> bool:
        return self.component == ""

    @property
    def namespace(self) -> Optional[str]:
        """The Airbyte stream namespace: the component path, or None for the app's tables."""
        return self.component or None

    @classmethod
    def of_stream(cls, name: str, namespace: Optional[str]) -> "TableRef":
        """The table a stream (name + namespace) reads."""
        return cls(component=namespace or "", name=name)

    @classmethod
    def parse(cls, text: str) -> "TableRef":
        """`users` -> app table; `waitlist/entries` -> table `entries` of component `waitlist`."""
        component, _, name = text.rpartition("/")
        return cls(component=component.strip("/"), name=name)

    def __str__(self) -> str:
        return f"{self.component}/{self.name}" if self.component else self.name
