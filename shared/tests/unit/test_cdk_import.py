"""fast_cdk_import: the CDK imported without its package `__init__` and docstring scan, same behaviour.

Each case runs in a fresh interpreter: what it checks is how the CDK gets imported the first time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(120)

_MESSAGES = """
    from airbyte_cdk.models import AirbyteMessageSerializer, ConfiguredAirbyteCatalogSerializer
    message = {"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "users"}, "stream_state": {"cursor": 1, "__ab_private": True}},
        "sourceStats": {"recordCount": 2.0}}}
    catalog = {"streams": [{"stream": {"name": "users", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                            "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}
    out = [AirbyteMessageSerializer.dump(AirbyteMessageSerializer.load(message)),
           ConfiguredAirbyteCatalogSerializer.dump(ConfiguredAirbyteCatalogSerializer.load(catalog))]
"""
_PRINT = "\nimport json\nprint(json.dumps(out))\n"


def _python(body: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(body)], check=False, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_serialisers_answer_the_same_as_after_the_ordinary_import() -> None:
    ordinary = _python(textwrap.dedent(_MESSAGES) + _PRINT)
    fast = _python("from convex_shared.cdk_import import fast_cdk_import\nwith fast_cdk_import():\n"
                   + textwrap.indent(textwrap.dedent(_MESSAGES), "    ") + _PRINT)
    assert fast == ordinary


def test_the_package_init_is_skipped_until_a_re_exported_name_is_asked_for() -> None:
    found = _python("""
        import sys, json
        from convex_shared.cdk_import import fast_cdk_import
        import serpyco_rs._describe as describe
        reader = describe.get_attributes_doc
        with fast_cdk_import():
            from airbyte_cdk.entrypoint import AirbyteEntrypoint
        before = "airbyte_cdk.legacy.sources.declarative.declarative_stream" in sys.modules
        restored = describe.get_attributes_doc is reader
        from airbyte_cdk import AirbyteEntrypoint as reexported, DeclarativeStream
        print(json.dumps({"before": before, "restored": restored, "same": reexported is AirbyteEntrypoint,
                          "after": "airbyte_cdk.legacy.sources.declarative.declarative_stream" in sys.modules}))
    """)
    assert found == {"before": False, "restored": True, "same": True, "after": True}


def test_the_plain_import_variable_turns_it_off() -> None:
    found = _python("""
        import os, sys, json
        os.environ["CONVEX_CONNECTOR_PLAIN_CDK_IMPORT"] = "1"
        from convex_shared.cdk_import import fast_cdk_import
        with fast_cdk_import():
            from airbyte_cdk.entrypoint import AirbyteEntrypoint
        print(json.dumps({"init ran": "airbyte_cdk.legacy.sources.declarative.declarative_stream" in sys.modules}))
    """)
    assert found == {"init ran": True}
