"""LocalObjectStore: atomic round trips, keys that cannot escape root, signed expiring URLs
(and ``url``, the absolute /files link the server hands out)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from lampyris.errors import InvalidParameterError, UnknownObjectError
from lampyris.storage import LocalObjectStore, ObjectStore

KEY = "results/urn:ff:jobs:1f2e3d/cutout.png"
URL_KEY = "results/urn:ff:jobs:1f2e3d/cut out+1.png"  # a space and a plus must survive quoting
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


def test_put_then_get_returns_bytes_and_content_type(store: LocalObjectStore) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # newlines in the data are fine
    store.put(KEY, data, "image/png")
    blob = store.get(KEY)
    assert (blob.data, blob.content_type) == (data, "image/png")


def test_put_replaces_atomically_and_leaves_no_temp_files(store: LocalObjectStore) -> None:
    store.put(KEY, b"one", "image/png")
    store.put(KEY, b"two", "image/jpeg")
    assert store.get(KEY).data == b"two"
    assert store.get(KEY).content_type == "image/jpeg"
    assert list((store.root / ".tmp").iterdir()) == []


def test_a_missing_key_is_unknown(store: LocalObjectStore) -> None:
    with pytest.raises(UnknownObjectError):
        store.get("results/nope/none.png")


def test_delete_removes_and_tolerates_missing(store: LocalObjectStore) -> None:
    store.put(KEY, b"x", "image/png")
    store.delete(KEY)
    store.delete(KEY)
    with pytest.raises(UnknownObjectError):
        store.get(KEY)


@pytest.mark.parametrize(
    "key",
    [
        "../outside.png",
        "results/../../outside.png",
        "results/./x.png",
        "/etc/passwd",
        "results\\..\\x.png",
        "results/x\x00.png",
        "results//x.png",
        "results/.tmp/x",
        "",
    ],
)
def test_keys_that_could_escape_root_are_refused(store: LocalObjectStore, key: str) -> None:
    for call in (
        lambda: store.put(key, b"x", "image/png"),
        lambda: store.get(key),
        lambda: store.delete(key),
        lambda: store.sign(key, 60),
    ):
        with pytest.raises(InvalidParameterError):
            call()
    assert not store.verify(key, 1_900_000_000, "00")


def test_a_symlink_inside_root_cannot_lead_outside(store: LocalObjectStore, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    store.root.mkdir()
    (store.root / "results").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidParameterError, match="leaves the store"):
        store.put("results/x.png", b"x", "image/png")


def test_a_multiline_content_type_is_refused(store: LocalObjectStore) -> None:
    with pytest.raises(InvalidParameterError):
        store.put(KEY, b"x", "image/png\nX-Evil: 1")


def test_signatures_verify_for_their_key_until_they_expire(
    store: LocalObjectStore, clock: Clock
) -> None:
    query = store.sign(KEY, 3600)
    params = dict(part.split("=", 1) for part in query.split("&"))
    assert set(params) == {"expires", "signature"}
    assert int(params["expires"]) == int(clock.now) + 3600
    assert len(params["signature"]) == 64
    expires, signature = params["expires"], params["signature"]

    assert store.verify(KEY, expires, signature)
    assert store.verify(KEY, int(expires), signature.upper())
    assert not store.verify(KEY, expires, signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    assert not store.verify("results/urn:ff:jobs:other/cutout.png", expires, signature)
    assert not store.verify(KEY, int(expires) + 1, signature)  # expiry is signed too
    assert not store.verify(KEY, "soon", signature)
    clock.now += 3601
    assert not store.verify(KEY, expires, signature)


def test_another_secret_does_not_verify(store: LocalObjectStore, tmp_path: Path) -> None:
    params = dict(part.split("=", 1) for part in store.sign(KEY, 60).split("&"))
    other = LocalObjectStore(store.root, b"another-secret")
    assert not other.verify(KEY, params["expires"], params["signature"])


def test_delete_older_than_removes_only_old_objects(store: LocalObjectStore) -> None:
    old_keys = ["results/urn:ff:jobs:old/a.png", "results/urn:ff:jobs:old/b.png", "uploads/u.png"]
    for key in [*old_keys, KEY]:
        store.put(key, b"x", "image/png")
    stale_temp = store.root / ".tmp" / "crashed-put"
    stale_temp.write_bytes(b"partial")
    long_ago = time.time() - 7200
    for path in [*(store.root / key for key in old_keys), stale_temp]:
        os.utime(path, (long_ago, long_ago))

    with_real_clock = LocalObjectStore(store.root, b"test-secret")
    assert with_real_clock.delete_older_than(3600) == 3
    assert with_real_clock.get(KEY).data == b"x"
    assert not stale_temp.exists()
    assert not (store.root / "results/urn:ff:jobs:old").exists()  # emptied: pruned
    assert (store.root / "results").is_dir()  # still holds the fresh object


def test_an_empty_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError):
        LocalObjectStore(tmp_path, b"")


def _parts(url: str) -> tuple[str, str, str, str]:
    """(prefix before /files/, key, expires, signature) as the /files route would see them."""
    split = urlsplit(url)
    head, _, quoted = url.partition("?")[0].partition("/files/")
    query = parse_qs(split.query, strict_parsing=True)
    return head, unquote(quoted), query["expires"][0], query["signature"][0]


def test_url_round_trips_through_verify(store: LocalObjectStore) -> None:
    head, key, expires, signature = _parts(store.url(URL_KEY, 600, BASE))
    assert (head, key) == (BASE, URL_KEY)
    assert store.verify(key, expires, signature)


def test_url_is_what_services_built(store: LocalObjectStore) -> None:
    assert store.url(URL_KEY, 600, BASE) == (
        f"{BASE}/files/results/urn%3Aff%3Ajobs%3A1f2e3d/cut%20out%2B1.png?"
        f"{store.sign(URL_KEY, 600)}"
    )
    assert store.url(URL_KEY, 600, BASE + "/") == store.url(URL_KEY, 600, BASE)


def test_url_expires_after_ttl(store: LocalObjectStore, clock: Clock) -> None:
    _, key, expires, signature = _parts(store.url(URL_KEY, 60, BASE))
    clock.now += 60
    assert store.verify(key, expires, signature)
    clock.now += 1
    assert not store.verify(key, expires, signature)


def test_url_signature_is_bound_to_the_key(store: LocalObjectStore) -> None:
    _, _, expires, signature = _parts(store.url(URL_KEY, 600, BASE))
    assert not store.verify("results/other.png", expires, signature)


def test_exists_and_protocol(store: LocalObjectStore) -> None:
    hosted: ObjectStore = store
    assert not hosted.exists(URL_KEY)
    hosted.put(URL_KEY, b"png", "image/png")
    assert hosted.exists(URL_KEY)
    hosted.delete(URL_KEY)
    assert not hosted.exists(URL_KEY)
