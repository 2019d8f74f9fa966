"""The Secret type and the redaction helper."""

from __future__ import annotations

import pickle
import urllib.parse

import pytest

from convex_shared import Secret, redact

KEY = "prod:happy-animal-123|01ab23cd45ef67890123456789abcdef0123456789abcdef"
TAIL = KEY.split("|")[1]


def test_repr_and_str_are_masked() -> None:
    secret = Secret(KEY)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret]), repr({"k": secret})):
        assert TAIL not in text and "happy-animal" not in text


def test_reveal_returns_the_value_and_equality_works() -> None:
    assert Secret(KEY).reveal() == KEY
    assert Secret(KEY) == Secret(KEY) and Secret(KEY) != Secret(KEY + "0")
    assert len({Secret(KEY), Secret(KEY)}) == 1


def test_pickling_is_refused() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))


def test_redact_masks_every_spelling() -> None:
    text = f"a {KEY} b {urllib.parse.quote(KEY, safe='')} c {urllib.parse.quote_plus(KEY)} d {TAIL} e"
    masked = redact(text, Secret(KEY))
    assert TAIL not in masked and "01ab23cd45ef" not in masked
    assert masked.startswith("a ") and masked.endswith(" e")


def test_redact_leaves_other_text_alone() -> None:
    assert redact("nothing here", Secret(KEY)) == "nothing here"


@pytest.mark.parametrize(
    ("key", "hint"),
    [(KEY, "happy-animal-123"), ("dev:joyful-cat-456|0123456789abcdef", "joyful-cat-456"),
     ("convex-self-hosted|0123456789abcdef", None), ("preview:team:proj|0123456789abcdef", None)],
)
def test_deployment_hint(key: str, hint: str | None) -> None:
    assert Secret(key).deployment_hint == hint


def test_copies_share_the_secret() -> None:
    import copy

    from convex_shared import ConnectionSettings

    settings = ConnectionSettings.from_config({"deployment_url": "http://127.0.0.1:3210", "access_key": KEY})
    assert copy.deepcopy(settings) == settings and copy.copy(Secret(KEY)).reveal() == KEY
