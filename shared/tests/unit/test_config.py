"""Normalisation of deployment_url and access_key, and the refusals users get for common pastes."""

from __future__ import annotations

import pytest

from convex_shared import ConnectionSettings, ConvexConfigError, Secret
from convex_shared.config import normalize_access_key, normalize_deployment_url

KEY = "prod:happy-animal-123|01ab23cd45ef67890123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://happy-animal-123.convex.cloud", "https://happy-animal-123.convex.cloud"),
        ("  https://happy-animal-123.convex.cloud/  ", "https://happy-animal-123.convex.cloud"),
        ("happy-animal-123.convex.cloud", "https://happy-animal-123.convex.cloud"),
        ("happy-animal-123.convex.cloud/", "https://happy-animal-123.convex.cloud"),
        ("HTTPS://Happy-Animal-123.Convex.Cloud//", "https://happy-animal-123.convex.cloud"),
        ("https://happy-animal-123.eu-west-1.convex.cloud", "https://happy-animal-123.eu-west-1.convex.cloud"),
        ("https://api.example.com", "https://api.example.com"),
        ("https://convex.example.com:8443/", "https://convex.example.com:8443"),
        ("http://127.0.0.1:3210", "http://127.0.0.1:3210"),
        ("http://localhost:3210/", "http://localhost:3210"),
        ("http://[::1]:3210", "http://[::1]:3210"),
        # Plain http stays possible where the key cannot cross the public internet.
        ("http://10.0.0.7:3210", "http://10.0.0.7:3210"),
        ("http://192.168.1.20:3210", "http://192.168.1.20:3210"),
        ("http://convex-backend:3210", "http://convex-backend:3210"),
        ("http://host.docker.internal:3210", "http://host.docker.internal:3210"),
        ("http://convex.default.svc.cluster.local:3210", "http://convex.default.svc.cluster.local:3210"),
        ("\thttps://x.convex.cloud\n", "https://x.convex.cloud"),
    ],
)
def test_deployment_url_is_normalised(raw: str, expected: str) -> None:
    assert normalize_deployment_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "must_say"),
    [
        ("https://happy-animal-123.convex.cloud/api/list_snapshot", "remove '/api/list_snapshot'"),
        ("https://happy-animal-123.convex.cloud/api/", "remove '/api'"),
        ("https://happy-animal-123.convex.cloud?x=1", "remove '?x=1'"),
        ("https://happy-animal-123.convex.cloud/#top", "remove '#top'"),
        ("https://happy-animal-123.convex.site", "https://happy-animal-123.convex.cloud"),
        ("happy-animal-123.eu-west-1.convex.site/", "https://happy-animal-123.eu-west-1.convex.cloud"),
        ("https://dashboard.convex.dev/t/team/project/happy-animal-123/data", "dashboard"),
        ("ftp://happy-animal-123.convex.cloud", "https:// or http://"),
        ("https://user:pw@happy-animal-123.convex.cloud", "user name or password"),
        ("https://happy animal.convex.cloud", "spaces"),
        ("https://x.convex.cloud:99999", "not a valid URL"),
        ("https://", "no host"),
        ("", "empty"),
        ("   ", "empty"),
        (None, "missing"),
        (42, "must be a string"),
        (KEY, "access_key"),
        # Plain http that would send the key over the internet in clear text.
        ("http://happy-animal-123.convex.cloud", "Use https://happy-animal-123.convex.cloud."),
        ("HTTP://Happy-Animal-123.eu-west-1.Convex.Cloud/", "https://happy-animal-123.eu-west-1.convex.cloud"),
        ("http://convex.example.com:3210", "Use https://convex.example.com:3210"),
        ("http://8.8.8.8:3210", "public host"),
    ],
)
def test_deployment_url_mistakes_say_what_to_change(raw: object, must_say: str) -> None:
    with pytest.raises(ConvexConfigError) as info:
        normalize_deployment_url(raw)
    assert must_say in str(info.value)
    assert info.value.failure_type == "config_error"
    assert "01ab23cd45ef" not in str(info.value)


def test_convex_site_message_names_the_cloud_domain() -> None:
    with pytest.raises(ConvexConfigError) as info:
        normalize_deployment_url("https://happy-animal-123.convex.site/")
    assert ".convex.site" in info.value.explanation and ".convex.cloud" in info.value.explanation


@pytest.mark.parametrize(
    "key",
    [
        KEY,
        "dev:joyful-cat-456|0123456789abcdef0123456789abcdef",
        "preview:my-team:my-project|0123456789abcdef0123456789abcdef",
        "project:my-team:my-project|0123456789abcdef0123456789abcdef",
        "convex-self-hosted|0123456789abcdef0123456789abcdef0123456789abcdef",
        "my-instance|0123456789abcdef0123456789abcdef",
        "prod:happy-animal-123|eyJ2MiI6IjAxMjM0NTY3ODlhYmNkZWYifQ==",
    ],
)
def test_every_contract_key_shape_is_accepted(key: str) -> None:
    secret = normalize_access_key(f"  {key}\n")
    assert secret.reveal() == key


@pytest.mark.parametrize(
    ("raw", "must_say"),
    [
        (f"Convex {KEY}", "'Convex '"),
        (f"convex {KEY}", "'Convex '"),
        (f"Bearer {KEY}", "'Bearer '"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "JWT"),
        (f"CONVEX_DEPLOY_KEY={KEY}", "'CONVEX_DEPLOY_KEY='"),
        (f'"{KEY}"', "quotes"),
        ("https://happy-animal-123.convex.cloud", "looks like a URL"),
        ("prod:happy-animal-123| 01ab23cd45ef67890123", "spaces"),
        ("prod:happy-animal-123|01ab23cd\u00e945ef67890123", "non-ASCII"),
        ("", "empty"),
        ("  \n", "empty"),
        (None, "missing"),
        (1234, "must be a string"),
    ],
)
def test_access_key_mistakes_get_a_clear_message(raw: object, must_say: str) -> None:
    with pytest.raises(ConvexConfigError) as info:
        normalize_access_key(raw)
    text = str(info.value) + repr(info.value)
    assert must_say in text
    assert "01ab23cd45ef" not in text


def test_from_config_reads_every_field() -> None:
    settings = ConnectionSettings.from_config({
        "deployment_url": "happy-animal-123.convex.cloud/",
        "access_key": f" {KEY} ",
        "connect_timeout_seconds": 3,
        "read_timeout_seconds": 45.5,
    })
    assert settings.deployment_url == "https://happy-animal-123.convex.cloud"
    assert settings.access_key == Secret(KEY)
    assert (settings.connect_timeout_s, settings.read_timeout_s) == (3.0, 45.5)
    assert settings.host == "happy-animal-123.convex.cloud"


def test_from_config_defaults_timeouts() -> None:
    settings = ConnectionSettings.from_config({"deployment_url": "http://127.0.0.1:3210", "access_key": KEY})
    assert settings.connect_timeout_s == 10.0
    assert settings.read_timeout_s > 60.0  # above the server's 60 s of work per snapshot page


@pytest.mark.parametrize("bad", [0, -1, "10", True, float("nan"), float("inf")])
def test_from_config_refuses_bad_timeouts(bad: object) -> None:
    with pytest.raises(ConvexConfigError, match="read_timeout_seconds"):
        ConnectionSettings.from_config({"deployment_url": "http://127.0.0.1:3210", "access_key": KEY,
                                        "read_timeout_seconds": bad})


def test_settings_repr_hides_the_key() -> None:
    settings = ConnectionSettings.from_config({"deployment_url": "http://127.0.0.1:3210", "access_key": KEY})
    assert "01ab23cd45ef" not in repr(settings)
    assert "01ab23cd45ef" not in str(settings)
