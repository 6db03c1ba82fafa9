"""Dropbox as far as it can be tested here. Dropbox's cloud cannot be reached from this
machine, so a stand-in fsspec filesystem (a local folder registered under ``dropbox://``)
takes its place for listing and I/O; URL parsing and credential wiring use the real
``dropboxdrivefs`` and ``dropbox`` packages, which make no request until they are used."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import dropbox
import fsspec
import numpy as np
import pytest
from fsspec.implementations.local import LocalFileSystem
from PIL import Image

from lampyris.errors import InvalidParameterError
from lampyris.workflows.backends.inline import InlineBackend
from lampyris.workflows.batch import BatchRunner, BatchSpec
from lampyris.workflows.ledger import Ledger
from lampyris.workflows.locations import Location
from lampyris.workflows.steps import make_steps
from support.images import distinct_products


class StandInDropbox(LocalFileSystem):
    """Stands in for Dropbox (mocked: its cloud is unreachable here): ``dropbox://a/b`` is
    ``root/a/b`` on disk, and the credentials each instance was given are recorded."""

    protocol = "dropbox"
    root: ClassVar[Path] = Path("/nonexistent")
    credentials: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, token: str | None = None, client: Any = None, **kwargs: Any) -> None:
        StandInDropbox.credentials.append({"token": token, "client": client})
        super().__init__(auto_mkdir=True)

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        if text.startswith("dropbox://"):
            text = text[len("dropbox://"):]
        if text.startswith(str(cls.root)):
            return text
        return str(cls.root / text.lstrip("/"))


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[type[StandInDropbox]]:
    StandInDropbox.root = tmp_path / "dropbox"
    StandInDropbox.credentials = []
    StandInDropbox.clear_instance_cache()
    real = fsspec.get_filesystem_class("dropbox")
    fsspec.register_implementation("dropbox", StandInDropbox, clobber=True)
    try:
        yield StandInDropbox
    finally:
        fsspec.register_implementation("dropbox", real, clobber=True)


def test_input_to_output_through_the_stand_in(
    stand_in: type[StandInDropbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DROPBOX_TOKEN", "sl.test-token")
    inbox = stand_in.root / "Apps" / "shop" / "input"
    inbox.mkdir(parents=True)
    for i, data in enumerate(distinct_products(5)):
        (inbox / f"sku{i}.jpg").write_bytes(data)
    (inbox / "notes.txt").write_text("not an image")
    spec = BatchSpec(source=Location("dropbox://Apps/shop/input"),
                     sink=Location("dropbox://Apps/shop/output"),
                     steps=tuple(make_steps([("cutout", {})])),
                     on_success="move:dropbox://Apps/shop/done")
    with Ledger(tmp_path / "l.db") as ledger:
        summary = BatchRunner(spec, ledger, InlineBackend()).run()
        assert (summary.done, summary.failed) == (5, 0)
        assert {i.output_url for i in ledger.items()} == {
            f"dropbox://Apps/shop/output/sku{i}.png" for i in range(5)}
        again = BatchRunner(spec, ledger, InlineBackend()).run()
        assert (again.listed, again.done) == (0, 0), "processed inputs were moved away"
    outputs = sorted((stand_in.root / "Apps" / "shop" / "output").iterdir())
    assert [p.name for p in outputs] == [f"sku{i}.png" for i in range(5)]
    for path in outputs:
        rgba = np.asarray(Image.open(io.BytesIO(path.read_bytes())))
        assert rgba[60, 80, 3] == 255 and rgba[0, 0, 3] == 0
    assert sorted(p.name for p in (stand_in.root / "Apps/shop/done").iterdir()) == [
        f"sku{i}.jpg" for i in range(5)]
    assert sorted(p.name for p in inbox.iterdir()) == ["notes.txt"]
    assert stand_in.credentials and all(c["token"] == "sl.test-token"
                                        for c in stand_in.credentials)


def test_refresh_token_wiring_builds_a_self_refreshing_client(
    stand_in: type[StandInDropbox], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("DROPBOX_TOKEN", raising=False)
    monkeypatch.setenv("DROPBOX_REFRESH_TOKEN", "refresh-123")
    monkeypatch.setenv("DROPBOX_APP_KEY", "app-key")
    monkeypatch.setenv("DROPBOX_APP_SECRET", "app-secret")
    Location("dropbox://Apps/x").open()
    (credentials,) = stand_in.credentials
    client = credentials["client"]
    assert isinstance(client, dropbox.Dropbox)
    assert client._oauth2_refresh_token == "refresh-123" and client._app_key == "app-key"


def test_missing_credentials_are_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    for name in ("DROPBOX_TOKEN", "DROPBOX_REFRESH_TOKEN", "DROPBOX_APP_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InvalidParameterError, match="DROPBOX_TOKEN"):
        Location("dropbox://Apps/x").open()


def test_real_dropboxdrivefs_parses_the_url_and_takes_the_token():
    fs, root = Location("dropbox://Apps/shop/input/", {"token": "sl.abc"}).open()
    assert type(fs).__name__ == "DropboxDriveFileSystem"
    assert root == "Apps/shop/input"
    assert fs.dbx._oauth2_access_token == "sl.abc"
