"""``lampyris batch --backend remote`` runs the whole chain on a live lampyris server, one job
per step (Photoshop v2 remove-background, Firefly fill, v2 edit for the develop steps), from a
local folder (uploaded with ``/v2/storage/image``), and writes the same pixels the local
backend writes. The server here allows no private URLs: nothing it reads comes back to it by
HTTP (every input and intermediate is an upload)."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from support.images import clutter, distinct_products
from support.lampyris_server import LampyrisServer, running_server

CHAIN = ["--steps", "cutout,fill,auto_tone", "--prompt", "white marble counter", "--seed", "5"]


@pytest.fixture(scope="module")
def server() -> Iterator[LampyrisServer]:
    with running_server(prefix="lampyris-remote-chain-") as live:
        yield live


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small product photos in a local folder."""
    folder = tmp_path_factory.mktemp("photos")
    for i, data in enumerate(distinct_products(3)):
        (folder / f"{i:02d}.jpg").write_bytes(data)
    return folder


def batch(source: Path, sink: Path, *options: str, server: LampyrisServer | None = None
          ) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lampyris.cli.app", "batch", str(source), str(sink),
               "--settle", "0", *options]
    if server is not None:
        assert server.client is not None
        command += ["--backend", "remote", "--server", server.url, "--jobs", "2",
                    "--client-id", server.client.client_id,
                    "--client-secret", server.client.client_secret]
    else:
        command += ["--jobs", "1"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def pixels(path: Path) -> np.ndarray:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return np.asarray(image)


def details(sink: Path) -> dict[str, dict[str, object]]:
    with sqlite3.connect(sink / ".lampyris" / "ledger.db") as db:
        return {Path(url).name: json.loads(d or "{}")
                for url, d in db.execute("SELECT input_url, details FROM items")}


def test_the_remote_chain_gives_the_local_pixels(
    server: LampyrisServer, photos: Path, tmp_path: Path
) -> None:
    remote = batch(photos, tmp_path / "remote", *CHAIN, server=server)
    assert remote.returncode == 0, remote.stderr[-3000:] + server.tail()
    local = batch(photos, tmp_path / "local", *CHAIN)
    assert local.returncode == 0, local.stderr[-3000:]

    names = [f"{i:02d}.png" for i in range(3)]
    assert sorted(p.name for p in (tmp_path / "remote").glob("*.png")) == names
    for name in names:
        there, here = pixels(tmp_path / "remote" / name), pixels(tmp_path / "local" / name)
        assert there.shape == here.shape == (120, 160, 3), "opaque: the fill drew a backdrop"
        assert np.array_equal(there, here), f"{name}: remote and local pixels differ"

    recorded = details(tmp_path / "remote")
    jobs = set()
    for name, item in recorded.items():
        steps = item["steps"]
        assert isinstance(steps, dict) and list(steps) == ["cutout", "fill", "auto_tone"], name
        jobs |= {str(report["job"]) for report in steps.values()}
        assert steps["fill"]["fidelity"]["held"] is True
        assert steps["fill"]["engine"] == "studio"
        assert (item["width"], item["height"]) == (160, 160 * 3 // 4)
        assert item["job"] == steps["auto_tone"]["job"]
        assert item["thumb_before"] and item["thumb_after"]
    assert len(jobs) == 9, "one job per step and input"

    again = batch(photos, tmp_path / "remote", *CHAIN, server=server)
    assert again.returncode == 0 and "skipped 3" in again.stderr


def test_a_jpeg_after_tone_then_fill_matches_too(
    server: LampyrisServer, photos: Path, tmp_path: Path
) -> None:
    """The other order (the cutout toned alone, on its transparency, then filled), a tone
    strength only the ``lampyris`` extension carries, a trim, and a JPEG output."""
    chain = ["--steps", "cutout,auto_tone,fill", "--tone-strength", "0.6", "--trim",
             "--prompt", "linen", "--format", "jpeg", "--quality", "88"]
    remote = batch(photos, tmp_path / "remote", *chain, server=server)
    assert remote.returncode == 0, remote.stderr[-3000:] + server.tail()
    local = batch(photos, tmp_path / "local", *chain)
    assert local.returncode == 0, local.stderr[-3000:]
    for i in range(3):
        there = pixels(tmp_path / "remote" / f"{i:02d}.jpg")
        here = pixels(tmp_path / "local" / f"{i:02d}.jpg")
        assert there.shape == here.shape and there.shape[0] < 120, "trimmed"
        # the last result comes back losslessly and is encoded here as the local one is
        assert np.abs(there.astype(int) - here).max() == 0


def test_a_corrupt_input_fails_with_the_services_reason_and_the_batch_goes_on(
    server: LampyrisServer, photos: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    good = (photos / "00.jpg").read_bytes()
    (source / "good.jpg").write_bytes(good)
    (source / "cut.jpg").write_bytes(good[: len(good) // 3])  # a header, half the data
    (source / "junk.jpg").write_bytes(b"this is not an image at all")
    done = batch(source, tmp_path / "out", *CHAIN, server=server)
    assert done.returncode == 1, done.stderr[-3000:]
    assert (tmp_path / "out" / "good.png").exists()
    assert not (tmp_path / "out" / "cut.png").exists()
    summary = json.loads((tmp_path / "out" / ".lampyris" / "summary.json").read_text())
    reasons = {Path(f["input"]).name: f["reason"] for f in summary["failures"]}
    assert set(reasons) == {"cut.jpg", "junk.jpg"}, summary
    for name, reason in reasons.items():
        assert reason.startswith("cutout: service: "), (name, reason)
        assert "\n" not in reason
    assert "truncated" in reasons["cut.jpg"] or "corrupt" in reasons["cut.jpg"], reasons
    assert "not a readable image" in reasons["junk.jpg"], reasons


def test_a_chain_the_remote_backend_cannot_reproduce_is_refused(
    photos: Path, tmp_path: Path
) -> None:
    """A cutout on white that auto tone follows is finished after the tone (the ``finish``
    op), which no route does: refused before anything is read, in one line. Nothing is
    contacted, so any server address will do."""
    refused = subprocess.run(
        [sys.executable, "-m", "lampyris.cli.app", "batch", str(photos), str(tmp_path / "out"),
         "--steps", "cutout,auto_tone", "--background", "white", "--backend", "remote",
         "--server", "http://127.0.0.1:9", "--client-id", "id", "--client-secret", "secret"],
        capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2, refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot run this chain" in lines[0], refused.stderr
    assert "--backend local" in lines[0]
    assert not (tmp_path / "out").exists()

    adobe = subprocess.run(
        [sys.executable, "-m", "lampyris.cli.app", "batch", str(photos), str(tmp_path / "out"),
         "--backend", "remote", "--client-id", "id", "--client-secret", "secret"],
        capture_output=True, text=True, timeout=120, check=False)
    assert adobe.returncode == 2 and "must sign URLs" in adobe.stderr, adobe.stderr


def reviews(sink: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(sink / ".lampyris" / "ledger.db") as db:
        return {Path(url).name: json.loads(r) for url, r in
                db.execute("SELECT input_url, review FROM items WHERE review IS NOT NULL")}


def test_the_servers_review_is_recorded_routed_and_shown_as_the_local_one(
    server: LampyrisServer, photos: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "bottle.jpg").write_bytes((photos / "00.jpg").read_bytes())
    clutter(source / "sub" / "shelf.png")
    local = batch(source, tmp_path / "local")
    assert local.returncode == 0, local.stderr[-3000:]
    here = reviews(tmp_path / "local")
    assert set(here) == {"bottle.jpg", "shelf.png"}
    hard, easy = here["shelf.png"]["score"], here["bottle.jpg"]["score"]
    assert hard < easy, here
    threshold = f"{(hard + easy) / 2:.4f}"  # exactly the clutter is flagged, whatever the model

    out, check = tmp_path / "remote", tmp_path / "check"
    remote = batch(source, out, "--review-threshold", threshold, "--on-review", f"move:{check}",
                   server=server)
    assert remote.returncode == 0, remote.stderr[-3000:] + server.tail()
    assert f"1 to review (score < {float(threshold):g}, 1 moved)" in remote.stderr, remote.stderr
    (said,) = [line for line in remote.stderr.splitlines() if line.startswith("  ? ")]
    assert said.startswith(f"  ? {source / 'sub' / 'shelf.png'}: score 0.")
    assert said.endswith(f" → {check / 'sub' / 'shelf.png'}")
    assert [p.relative_to(out).as_posix() for p in out.glob("**/*.png")] == ["bottle.png"]
    assert [p.relative_to(check).as_posix() for p in check.glob("**/*.png")] == [
        "sub/shelf.png"]
    assert pixels(check / "sub" / "shelf.png").shape == (320, 400, 4)

    there = reviews(out)  # the server's score, the run's threshold deciding the flag
    for name in ("bottle.jpg", "shelf.png"):
        assert abs(there[name]["score"] - here[name]["score"]) < 0.01, name
        assert there[name]["reasons"] == here[name]["reasons"], name
        assert there[name]["threshold"] == float(threshold)
    assert (there["shelf.png"]["flag"], there["bottle.jpg"]["flag"]) == (True, False)
    recorded = details(out)
    assert recorded["shelf.png"]["routed_to"] == str(check / "sub" / "shelf.png")
    steps = recorded["shelf.png"]["steps"]
    assert isinstance(steps, dict) and "review" not in steps["cutout"]  # one copy: the column

    summary = json.loads((out / ".lampyris" / "summary.json").read_text())
    assert summary["review"] == {"threshold": float(threshold), "this_run": 1, "moved": 1,
                                 "ledger": 1}
    assert [Path(i["input"]).name for i in summary["items"]] == ["shelf.png", "bottle.jpg"]
    report = (out / ".lampyris" / "report.html").read_text()
    assert "To review (1)" in report and "sub/shelf.png" in report

    # batch status, piped at 40 columns: counts, and the flagged result on one whole line
    env = {**os.environ, "COLUMNS": "40"}
    status = subprocess.run([sys.executable, "-m", "lampyris.cli.app", "batch", "status",
                             str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert status.returncode == 0, status.stderr
    assert f"{out}: done 2 · failed 0 · pending 0 · scored 2 · 1 to review" in status.stdout
    (line,) = [line for line in status.stdout.splitlines() if line.startswith("  ? ")]
    assert line.startswith(f"  ? sub/shelf.png: score {there['shelf.png']['score']:.2f}")
    assert line.endswith(f" → {check / 'sub' / 'shelf.png'}"), status.stdout
    as_json = subprocess.run([sys.executable, "-m", "lampyris.cli.app", "batch", "status",
                              str(out), "--json"], capture_output=True, text=True, env=env,
                             timeout=120)
    (dest,) = json.loads(as_json.stdout)["destinations"]
    assert (dest["scored"], dest["to_review"]) == (2, 1)
    assert [(r["rel"], r["output"]) for r in dest["review"]] == [
        ("sub/shelf.png", str(check / "sub" / "shelf.png"))]
