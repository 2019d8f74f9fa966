"""The Convex-Client header value."""

from __future__ import annotations

import re

from convex_shared import EXPORT_CLIENT, IMPORT_CLIENT, client_id, package_version


def test_client_ids_use_the_installed_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", package_version())
    assert client_id(EXPORT_CLIENT) == f"airbyte-export-{package_version()}"
    assert client_id(IMPORT_CLIENT).startswith("streaming-import-")


def test_unknown_distribution_still_gives_a_valid_header() -> None:
    assert client_id(EXPORT_CLIENT, "no-such-dist-xyz") == "airbyte-export-0.0.0"
