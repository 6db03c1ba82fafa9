"""StorageSettings: defaults, the comma-separated env vars, and pickling for worker processes."""

from __future__ import annotations

import os
import pickle
from ipaddress import ip_network

import pytest
from pydantic import ValidationError

from lampyris.storage import StorageSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LAMPYRIS_"):
            monkeypatch.delenv(name)


def test_defaults_allow_nothing_private() -> None:
    settings = StorageSettings()
    assert settings.allow_private_urls == []
    assert settings.storage_max_bytes == 200 * 1024 * 1024
    assert settings.storage_timeout == 30
    assert (settings.storage_retries, settings.storage_backoff) == (3, 0.5)
    assert settings.allowed_schemes == ["http", "https"]
    assert settings.storage_transfer_deadline == 120
    assert (settings.storage_min_transfer_rate, settings.storage_min_rate_grace) == (16384, 10)


def test_transfer_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_STORAGE_TRANSFER_DEADLINE", "5")
    monkeypatch.setenv("LAMPYRIS_STORAGE_MIN_TRANSFER_RATE", "0")
    monkeypatch.setenv("LAMPYRIS_STORAGE_MIN_RATE_GRACE", "2.5")
    settings = StorageSettings()
    assert settings.storage_transfer_deadline == 5
    assert (settings.storage_min_transfer_rate, settings.storage_min_rate_grace) == (0, 2.5)


@pytest.mark.parametrize(("name", "value"), [
    ("LAMPYRIS_STORAGE_TRANSFER_DEADLINE", "0"),
    ("LAMPYRIS_STORAGE_MIN_TRANSFER_RATE", "-1"),
    ("LAMPYRIS_STORAGE_MIN_RATE_GRACE", "-1"),
])
def test_transfer_limits_must_make_sense(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        StorageSettings()


def test_private_networks_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_ALLOW_PRIVATE_URLS", " 127.0.0.0/8, 10.1.2.3/8,,::1,fc00::/7 ")
    assert StorageSettings().allow_private_urls == [
        ip_network("127.0.0.0/8"),
        ip_network("10.0.0.0/8"),  # host bits tolerated
        ip_network("::1/128"),  # a bare address is its own network
        ip_network("fc00::/7"),
    ]


def test_an_empty_variable_allows_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_ALLOW_PRIVATE_URLS", "")
    assert StorageSettings().allow_private_urls == []


def test_a_bad_network_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_ALLOW_PRIVATE_URLS", "127.0.0.0/8,localhost")
    with pytest.raises(ValidationError, match="'localhost' is not an IP network"):
        StorageSettings()


def test_limits_and_schemes_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_STORAGE_MAX_BYTES", "1048576")
    monkeypatch.setenv("LAMPYRIS_STORAGE_TIMEOUT", "2.5")
    monkeypatch.setenv("LAMPYRIS_STORAGE_RETRIES", "0")
    monkeypatch.setenv("LAMPYRIS_STORAGE_BACKOFF", "0.1")
    monkeypatch.setenv("LAMPYRIS_ALLOWED_SCHEMES", "HTTPS")
    settings = StorageSettings()
    assert settings.storage_max_bytes == 1048576
    assert settings.storage_timeout == 2.5
    assert (settings.storage_retries, settings.storage_backoff) == (0, 0.1)
    assert settings.allowed_schemes == ["https"]


def test_lists_can_also_be_passed_in_code() -> None:
    settings = StorageSettings(allow_private_urls=["127.0.0.1"], allowed_schemes=["https"])  # type: ignore[list-item]
    assert settings.allow_private_urls == [ip_network("127.0.0.1/32")]


def test_settings_survive_pickling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_ALLOW_PRIVATE_URLS", "127.0.0.0/8,::1/128")
    settings = StorageSettings(storage_retries=1)
    assert pickle.loads(pickle.dumps(settings)) == settings
