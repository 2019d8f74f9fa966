"""`source_convex.entrypoint.ConvexEntrypoint.read_output` repeats the CDK's `AirbyteEntrypoint.run` for `read`,
and `_read_lines` its `AirbyteEntrypoint.read`, writing records a page at a time with a serialiser that keeps
nulls (see `source_convex.entrypoint`). This test fails when the installed CDK's `run` or `read` changes, so
the copies are reviewed against the new code instead of silently diverging (a new setup step, a changed
order of queued messages, another cache directory, another rule for the record counts...)."""

import hashlib
import inspect
import io
import re
import tokenize

import pytest

from airbyte_cdk.entrypoint import AirbyteEntrypoint

#: sha256 of each copied CDK method without comments and whitespace, as our copy was last checked against
#: (airbyte-cdk 7.39.1). When one fails: compare the CDK's new code with ours, carry over what changed,
#: then update its digest.
CHECKED_DIGESTS = {
    "run": ("read_output", "989a8751763266b6118a847881bea86cd4e7f6d7c34d8bda5a23c7b664755a66"),
    "read": ("_read_lines", "a705739080486daf135b297a25178c11c54712916628640da6dd2af08d6ae649"),
}


def _code_only(source: str) -> str:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    kept = [tok.string for tok in tokens
            if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]
    return re.sub(r"\s+", " ", " ".join(kept)).strip()


@pytest.mark.parametrize("name", sorted(CHECKED_DIGESTS))
def test_the_cdks_methods_are_the_ones_the_read_branch_was_copied_from(name: str) -> None:
    ours, checked = CHECKED_DIGESTS[name]
    digest = hashlib.sha256(_code_only(inspect.getsource(getattr(AirbyteEntrypoint, name))).encode()).hexdigest()
    assert digest == checked, (
        f"airbyte-cdk's AirbyteEntrypoint.{name} changed: review ConvexEntrypoint.{ours} "
        f"(source_convex/entrypoint.py) against it, then set its digest to {digest}")


def test_comments_and_layout_do_not_count_but_code_does() -> None:
    assert _code_only("if a:  # why\n    b(1,\n      2)\n") == _code_only("if a:\n    b(1, 2)\n")
    assert _code_only("if a:\n    b(1, 2)\n") != _code_only("if a:\n    b(2, 1)\n")
