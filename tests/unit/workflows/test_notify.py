"""``lampyris batch --notify URL``: the batch process itself POSTs a signed
``batch.finished`` event to a real receiver on 127.0.0.1 after the pass, retrying a 5xx, and
keeps every attempt beside the run's summary; a URL the guard refuses, or no secret, stops the
run before anything is processed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lampyris.cli.app import app
from lampyris.client import verify_webhook
from support.http_server import Reply, ScriptedServer, serve

SECRET = "whsec_batch"


@pytest.fixture
def receiver() -> Iterator[ScriptedServer]:
    yield from serve(ScriptedServer(), None)


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("LAMPYRIS_LEDGER", "LAMPYRIS_JOBS", "LAMPYRIS_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAMPYRIS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LAMPYRIS_ALLOW_PRIVATE_URLS", "127.0.0.0/8")
    monkeypatch.setenv("LAMPYRIS_WEBHOOK_BACKOFF", "0.01")
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_a_run_notifies_its_url(workdir: Path, receiver: ScriptedServer,
                                image: Callable[..., bytes]):
    (workdir / "in").mkdir()
    (workdir / "in" / "a.png").write_bytes(image(0))
    receiver.script("/done", Reply(502), Reply(200))
    result = invoke("batch", "in", "out", "--jobs", "1", "--notify", receiver.url("/done"),
                    "--notify-secret", SECRET)
    assert result.exit_code == 0, result.output
    hits = [r for r in receiver.requests if r.path == "/done"]
    assert len(hits) == 2
    event = verify_webhook(SECRET, hits[1].body, hits[1].headers["x-lampyris-signature"])
    assert hits[0].headers["x-lampyris-event-id"] == hits[1].headers["x-lampyris-event-id"] \
        == event["id"]
    assert event["type"] == "batch.finished"
    batch = event["batch"]
    assert (batch["state"], batch["done"], batch["failed"], batch["listed"]) == (
        "succeeded", 1, 0, 1)
    assert batch["source"].endswith("in") and Path(batch["report"]).is_file()
    record = json.loads(Path(batch["summary"]).with_suffix(".notify.json").read_text())
    assert record["delivered"] is True and record["event_id"] == event["id"]
    assert [a["status"] for a in record["attempts"]] == [502, None]


@pytest.mark.parametrize(("args", "words"), [
    (["--notify", "http://10.1.1.1/x", "--notify-secret", SECRET], "LAMPYRIS_ALLOW_PRIVATE_URLS"),
    (["--notify", "http://127.0.0.1:9/x"], "--notify needs a signing secret"),
])
def test_a_notify_that_could_not_work_stops_the_run_first(workdir: Path, args: list[str],
                                                          words: str,
                                                          image: Callable[..., bytes]):
    (workdir / "in").mkdir()
    (workdir / "in" / "a.png").write_bytes(image(0))
    result = invoke("batch", "in", "out", "--jobs", "1", *args)
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split())
    assert not (workdir / "out" / "a.png").exists()
