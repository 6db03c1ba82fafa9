"""Dropbox as far as it can be tested here. Dropbox's cloud cannot be reached from this
machine, so ``support.dropbox_api.FakeDropbox`` stands in for it: a local HTTP server that
answers the real ``dropbox`` SDK's calls (made through the real ``dropboxdrivefs``) in
Dropbox's JSON shapes, checks the bearer token and answers 401 for an expired one. A batch
runs through every documented URL form; an expired token, a lost network (a real DNS failure,
nothing routed) and a missing folder are each one line. A stand-in fsspec filesystem (a local
folder registered under ``dropbox://``) checks the credential wiring without any HTTP."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import dropbox
import fsspec
import numpy as np
import pytest
from fsspec.implementations.local import LocalFileSystem
from PIL import Image
from typer.testing import CliRunner

from lampyris.cli.app import app
from lampyris.errors import (
    InvalidParameterError,
    StorageCredentialsError,
    StorageError,
    StorageUnavailableError,
)
from lampyris.storage.locations import Location, list_images
from lampyris.workflows.backends.inline import InlineBackend
from lampyris.workflows.batch import BatchRunner, BatchSpec
from lampyris.workflows.ledger import Ledger
from lampyris.workflows.steps import make_steps
from support.dropbox_api import FakeDropbox
from support.images import distinct_products

GOOD, EXPIRED = "sl.good-token", "sl.expired-token"
EXPIRED_LINE = ("Dropbox refused the token (expired): get a new DROPBOX_TOKEN, or set "
                "DROPBOX_REFRESH_TOKEN + DROPBOX_APP_KEY so it refreshes itself")


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


@pytest.mark.parametrize(("url", "root"), [
    ("dropbox://Apps/shop/input", "/Apps/shop/input"),
    ("dropbox://Apps/shop/input/", "/Apps/shop/input"),
    ("dropbox:///Apps/shop/input", "/Apps/shop/input"),
    ("dropbox:/Apps/shop/input", "/Apps/shop/input"),
    ("dropbox://", "/"),
])
def test_real_dropboxdrivefs_parses_the_url_and_takes_the_token(url: str, root: str):
    fs, opened = Location(url, {"token": "sl.abc"}).open()
    assert type(fs).__name__ == "DropboxDriveFileSystem"
    assert opened == root, "the SDK refuses a path without its leading slash"
    assert fs.dbx._oauth2_access_token == "sl.abc"


# -- the real SDK against the fake Dropbox API ---------------------------------------------------
def _forget_dropbox_instances() -> None:
    """fsspec keeps one filesystem per token: a test must not get one routed by another."""
    fsspec.get_filesystem_class("dropbox").clear_instance_cache()


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDropbox]:
    """The fake Dropbox API, with every SDK client this test builds routed to it."""
    for name in ("DROPBOX_REFRESH_TOKEN", "DROPBOX_APP_KEY", "DROPBOX_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DROPBOX_TOKEN", GOOD)
    with FakeDropbox(tmp_path / "dropbox", tokens={GOOD}, expired={EXPIRED},
                     refresh_tokens={"refresh-ok": "sl.refreshed"}) as fake:
        monkeypatch.setattr(dropbox.dropbox_client, "create_session",
                            lambda *args, **kwargs: fake.routed_session())
        _forget_dropbox_instances()
        yield fake
    _forget_dropbox_instances()


def put_photos(box: FakeDropbox, folder: str, count: int) -> None:
    place = box.root / folder
    place.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(distinct_products(count)):
        (place / f"sku{i}.jpg").write_bytes(data)
    (place / "notes.txt").write_text("not an image")


def cutout(source: str, sink: str, on_success: str = "keep") -> BatchSpec:
    return BatchSpec(source=Location(source), sink=Location(sink),
                     steps=tuple(make_steps([("cutout", {})])), on_success=on_success)


@pytest.mark.parametrize(("source", "sink", "inbox", "outbox"), [
    ("dropbox://Apps/shop/input", "dropbox://Apps/shop/output", "Apps/shop/input",
     "Apps/shop/output"),  # the form docs/batch.md shows
    ("dropbox://Apps/shop/input/", "dropbox://Apps/shop/output/", "Apps/shop/input",
     "Apps/shop/output"),
    ("dropbox:///Apps/shop/input", "dropbox:///Apps/shop/output", "Apps/shop/input",
     "Apps/shop/output"),
    ("dropbox:/Apps/shop/input", "dropbox:/Apps/shop/output", "Apps/shop/input",
     "Apps/shop/output"),
    ("dropbox://", "dropbox://processed", "", "processed"),  # the whole Dropbox in
    ("dropbox://Apps/shop/input", "dropbox://", "Apps/shop/input", ""),  # its root out
])
def test_a_cutout_batch_runs_through_every_dropbox_url_form(
    box: FakeDropbox, tmp_path: Path, source: str, sink: str, inbox: str, outbox: str
):
    put_photos(box, inbox, 3)
    spec = cutout(source, sink)
    with Ledger(tmp_path / "l.db") as ledger:
        summary = BatchRunner(spec, ledger, InlineBackend()).run()
        assert (summary.done, summary.failed) == (3, 0), summary.failures
        assert {i.output_url for i in ledger.items()} == {
            spec.sink.url_of(f"sku{i}.png") for i in range(3)}
    for i in range(3):
        rgba = np.asarray(Image.open(io.BytesIO((box.root / outbox / f"sku{i}.png")
                                                .read_bytes())))
        assert rgba[60, 80, 3] == 255 and rgba[0, 0, 3] == 0
    listed = [c.arg["path"] for c in box.calls if c.route == "files/list_folder"]
    assert (f"/{inbox}" if inbox else "") in listed  # besides the sink's probe
    assert "/" not in listed, "the API names the root \"\", not \"/\""
    assert "files/list_folder/continue" in box.routes(), "every page of the listing is read"


def test_processed_inputs_move_to_a_done_folder(box: FakeDropbox, tmp_path: Path):
    put_photos(box, "Apps/shop/input", 2)
    spec = cutout("dropbox://Apps/shop/input", "dropbox://Apps/shop/output",
                  on_success="move:dropbox://Apps/shop/done")
    with Ledger(tmp_path / "l.db") as ledger:
        assert BatchRunner(spec, ledger, InlineBackend()).run().done == 2
        again = BatchRunner(spec, ledger, InlineBackend()).run()
        assert (again.listed, again.done) == (0, 0), "processed inputs were moved away"
    assert set(box.walk()) == {
        "/Apps/shop/input/notes.txt", "/Apps/shop/done/sku0.jpg", "/Apps/shop/done/sku1.jpg",
        "/Apps/shop/output/sku0.png", "/Apps/shop/output/sku1.png"}


def test_an_expired_token_stops_the_batch_in_one_line_that_names_the_fix(
    box: FakeDropbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    put_photos(box, "Apps/shop/input", 1)
    monkeypatch.setenv("DROPBOX_TOKEN", EXPIRED)
    with Ledger(tmp_path / "l.db") as ledger, pytest.raises(StorageCredentialsError) as raised:
        BatchRunner(cutout("dropbox://Apps/shop/input", "dropbox://Apps/shop/output"),
                    ledger, InlineBackend()).run()
    assert str(raised.value) == EXPIRED_LINE

    result = CliRunner().invoke(app, ["batch", "dropbox://Apps/shop/input",
                                      str(tmp_path / "out"), "--ledger",
                                      str(tmp_path / "cli.ledger.db")])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [f"error: {EXPIRED_LINE}"]
    assert not (tmp_path / "out").exists()


def test_a_token_that_expires_mid_run_stops_the_run_in_one_line_and_fails_nothing(
    box: FakeDropbox, tmp_path: Path
):
    """Every other input would fail the same way: the run stops, the input it was reading
    stays pending (it is not at fault), and the next run, with a good token, does them all."""
    put_photos(box, "Apps/shop/input", 2)
    spec = cutout("dropbox://Apps/shop/input", "dropbox://Apps/shop/output")
    with Ledger(tmp_path / "l.db") as ledger:
        summary = BatchRunner(spec, ledger, InlineBackend(),
                              on_listed=lambda _: box.expire(GOOD)).run()
        assert (summary.done, summary.failed, summary.retries) == (0, 0, 0)
        assert summary.stopped == f"read: {EXPIRED_LINE}"
        assert [(item.status, item.error) for item in ledger.items()] == [
            ("pending", f"read: {EXPIRED_LINE}")]
        box.expired.discard(GOOD)  # a fresh token
        box.tokens.add(GOOD)
        again = BatchRunner(spec, ledger, InlineBackend()).run()
        assert (again.done, again.failed, again.stopped) == (2, 0, None)


# dropboxdrivefs gives its download session the client's access token as a Basic-auth
# password: None for a client that refreshes itself, which requests deprecates (harmless: a
# temporary link needs no auth)
@pytest.mark.filterwarnings("ignore:Non-string passwords:DeprecationWarning")
def test_a_refresh_token_renews_the_access_token_by_itself(
    box: FakeDropbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    put_photos(box, "Apps/shop/input", 1)
    monkeypatch.delenv("DROPBOX_TOKEN")
    monkeypatch.setenv("DROPBOX_REFRESH_TOKEN", "refresh-ok")
    monkeypatch.setenv("DROPBOX_APP_KEY", "app-key")
    with Ledger(tmp_path / "l.db") as ledger:
        summary = BatchRunner(cutout("dropbox://Apps/shop/input", "dropbox://Apps/shop/output"),
                              ledger, InlineBackend()).run()
        assert (summary.done, summary.failed) == (1, 0), [i.error for i in ledger.items()]
    assert box.calls[0].route == "oauth2/token"
    assert {c.token for c in box.calls if c.route != "oauth2/token"} == {"sl.refreshed"}


def test_a_missing_dropbox_folder_says_no_such_folder(box: FakeDropbox):
    put_photos(box, "Apps/shop/input", 1)
    with pytest.raises(StorageError) as raised:
        list(list_images(Location("dropbox://Apps/shop/inbox")))
    assert str(raised.value) == "dropbox://Apps/shop/inbox: no such folder"


def test_offline_dropbox_is_one_line_that_says_it_cannot_reach_dropbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DROPBOX_TOKEN", GOOD)
    try:  # offline is the point: where Dropbox resolves, aim at a name that never does
        socket.getaddrinfo("api.dropboxapi.com", 443)
        monkeypatch.setattr(dropbox.dropbox_client, "create_session",
                            lambda *args, **kwargs: _unresolvable_session())
    except OSError:
        pass  # the real SDK, unrouted: a real DNS failure
    _forget_dropbox_instances()
    with Ledger(tmp_path / "l.db") as ledger, pytest.raises(StorageUnavailableError) as raised:
        BatchRunner(cutout("dropbox://Apps/shop/input", "dropbox://Apps/shop/output"),
                    ledger, InlineBackend()).run()
    message = str(raised.value)
    assert message.startswith("cannot reach Dropbox (cannot resolve api.dropboxapi.")
    assert message.endswith("): check the network") and "\n" not in message
    _forget_dropbox_instances()


def _unresolvable_session() -> Any:
    import requests
    from requests.adapters import HTTPAdapter

    class Unresolvable(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            request.url = request.url.replace(".dropboxapi.com", ".dropboxapi.invalid", 1)
            return super().send(request, *args, **kwargs)

    session = requests.Session()
    session.mount("https://", Unresolvable())
    return session
