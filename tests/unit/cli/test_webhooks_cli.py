"""``lampyris clients add --webhook``, ``lampyris clients webhook`` and ``lampyris webhooks
verify | log`` through the command line, on a data dir of their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lampyris.api.client_webhooks import ClientWebhooks
from lampyris.cli.app import app
from lampyris.client.webhooks import signature_header
from lampyris.jobs import JobRecord, SqlJobStore
from lampyris.jobs.database import sqlite_url


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LAMPYRIS_ALLOW_PRIVATE_URLS", "LAMPYRIS_WEBHOOK_SECRET", "LAMPYRIS_DATA_DIR",
                 "LAMPYRIS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def flat(result: Result) -> str:
    return " ".join(result.output.split())


def test_a_client_with_a_webhook_and_a_rotated_secret(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch):
    data = str(tmp_path)
    refused = invoke("clients", "add", "pim", "--data-dir", data, "--webhook",
                     "http://10.0.0.7/hooks")
    assert refused.exit_code == 2 and "LAMPYRIS_ALLOW_PRIVATE_URLS" in flat(refused)
    monkeypatch.setenv("LAMPYRIS_ALLOW_PRIVATE_URLS", "10.0.0.0/8")
    added = invoke("clients", "add", "pim", "--data-dir", data, "--webhook",
                   "http://10.0.0.7/hooks", "--json")
    assert added.exit_code == 0, added.output
    client = json.loads(added.output)
    assert client["webhook"] == "http://10.0.0.7/hooks"
    assert client["webhook_secret"].startswith("whsec_")
    store = SqlJobStore(sqlite_url(tmp_path))
    hooks = ClientWebhooks(store.engine)
    assert hooks.secret(client["client_id"]) == client["webhook_secret"]

    listed = json.loads(invoke("clients", "list", "--data-dir", data, "--json").output)
    assert [c["webhook"] for c in listed] == ["http://10.0.0.7/hooks"]
    rotated = invoke("clients", "webhook", "pim", "--data-dir", data, "--rotate", "--no-url")
    assert rotated.exit_code == 0, rotated.output
    hook = hooks.get(client["client_id"])
    assert hook is not None and hook.url is None and hook.secret != client["webhook_secret"]
    assert hook.secret in flat(rotated)
    quiet = invoke("clients", "webhook", "pim", "--data-dir", data, "--url", "http://10.0.0.8/")
    assert quiet.exit_code == 0 and hook.secret not in flat(quiet), "shown once only"
    assert invoke("clients", "webhook", "nobody", "--data-dir", data).exit_code == 1
    assert invoke("clients", "remove", "pim", "--data-dir", data).exit_code == 0
    assert hooks.get(client["client_id"]) is None
    store.engine.dispose()


def test_verify_says_yes_or_why_not(tmp_path: Path):
    body = tmp_path / "body.json"
    body.write_bytes(b'{"id":"evt_1","type":"job.failed"}')
    header = signature_header("s3cret", body.read_bytes())
    good = invoke("webhooks", "verify", str(body), "--signature", header, "--secret", "s3cret")
    assert good.exit_code == 0 and json.loads(good.output)["type"] == "job.failed"
    bad = invoke("webhooks", "verify", str(body), "-s", header, "--secret", "other")
    assert bad.exit_code == 1 and "does not match" in flat(bad)
    missing = invoke("webhooks", "verify", str(tmp_path / "nope"), "-s", header, "--secret", "x")
    assert missing.exit_code == 2 and "cannot read" in flat(missing)


def test_log_shows_each_delivery(tmp_path: Path):
    store = SqlJobStore(sqlite_url(tmp_path))
    job = store.add(JobRecord(owner="c", kind="v2", op="cutout", task={}),
                    ["https://pim.example.com/hooks?token=secret"], "http://x")
    store.engine.dispose()
    shown = invoke("webhooks", "log", "--data-dir", str(tmp_path), "--json")
    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.output)
    assert (row["job_id"], row["state"], row["attempts"]) == (job.id, "waiting", [])
    table = invoke("webhooks", "log", "--data-dir", str(tmp_path), "--state", "waiting")
    assert "https://pim.example.com/…" in table.output and "token" not in table.output
    assert invoke("webhooks", "log", "--data-dir", str(tmp_path), "--state", "x").exit_code == 2
