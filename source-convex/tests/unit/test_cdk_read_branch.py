"""`source_convex.entrypoint.ConvexEntrypoint._run_read` repeats the CDK's `AirbyteEntrypoint.run` for `read`
with a serialiser that keeps nulls (see `source_convex.entrypoint`). This test fails when the installed CDK's
`run` changes, so the copy is reviewed against the new branch instead of silently diverging (a new
setup step, a changed order of queued messages, another cache directory...)."""

import hashlib
import inspect
import io
import re
import tokenize

from airbyte_cdk.entrypoint import AirbyteEntrypoint

#: sha256 of `AirbyteEntrypoint.run` without comments and whitespace, as ConvexEntrypoint._run_read
#: was last checked against (airbyte-cdk 7.39.1). When it fails: compare the CDK's new `run` with
#: `_run_read`, carry over what changed for `read`, then update this digest.
CHECKED_DIGEST = "989a8751763266b6118a847881bea86cd4e7f6d7c34d8bda5a23c7b664755a66"


def _code_only(source: str) -> str:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    kept = [tok.string for tok in tokens
            if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]
    return re.sub(r"\s+", " ", " ".join(kept)).strip()


def test_the_cdks_run_is_the_one_the_read_branch_was_copied_from() -> None:
    digest = hashlib.sha256(_code_only(inspect.getsource(AirbyteEntrypoint.run)).encode()).hexdigest()
    assert digest == CHECKED_DIGEST, (
        "airbyte-cdk's AirbyteEntrypoint.run changed: review ConvexEntrypoint._run_read (source_convex/entrypoint.py) "
        f"against it, then set CHECKED_DIGEST to {digest}")


def test_comments_and_layout_do_not_count_but_code_does() -> None:
    assert _code_only("if a:  # why\n    b(1,\n      2)\n") == _code_only("if a:\n    b(1, 2)\n")
    assert _code_only("if a:\n    b(1, 2)\n") != _code_only("if a:\n    b(2, 1)\n")
