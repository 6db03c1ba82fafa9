"""LocalObjectStore.url: the absolute /files link the server hands out, checked by verify."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from lampyris.storage import LocalObjectStore, ObjectStore

KEY = "results/urn:ff:jobs:1f2e3d/cut out+1.png"  # a space and a plus must survive quoting
BASE = "https://lampyris.example/api"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects", b"test-secret", clock=clock)


def _parts(url: str) -> tuple[str, str, str, str]:
    """(prefix before /files/, key, expires, signature) as the /files route would see them."""
    split = urlsplit(url)
    head, _, quoted = url.partition("?")[0].partition("/files/")
    query = parse_qs(split.query, strict_parsing=True)
    return head, unquote(quoted), query["expires"][0], query["signature"][0]


def test_url_round_trips_through_verify(store: LocalObjectStore) -> None:
    head, key, expires, signature = _parts(store.url(KEY, 600, BASE))
    assert (head, key) == (BASE, KEY)
    assert store.verify(key, expires, signature)


def test_url_is_what_services_built(store: LocalObjectStore) -> None:
    assert store.url(KEY, 600, BASE) == (
        f"{BASE}/files/results/urn%3Aff%3Ajobs%3A1f2e3d/cut%20out%2B1.png?{store.sign(KEY, 600)}"
    )
    assert store.url(KEY, 600, BASE + "/") == store.url(KEY, 600, BASE)


def test_url_expires_after_ttl(store: LocalObjectStore, clock: Clock) -> None:
    _, key, expires, signature = _parts(store.url(KEY, 60, BASE))
    clock.now += 60
    assert store.verify(key, expires, signature)
    clock.now += 1
    assert not store.verify(key, expires, signature)


def test_url_signature_is_bound_to_the_key(store: LocalObjectStore) -> None:
    _, _, expires, signature = _parts(store.url(KEY, 600, BASE))
    assert not store.verify("results/other.png", expires, signature)


def test_exists_and_protocol(store: LocalObjectStore) -> None:
    hosted: ObjectStore = store
    assert not hosted.exists(KEY)
    hosted.put(KEY, b"png", "image/png")
    assert hosted.exists(KEY)
    hosted.delete(KEY)
    assert not hosted.exists(KEY)
