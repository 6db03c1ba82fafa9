"""The catalog steps (``product_crop``, ``rendition``, ``depth_blur``, ``refine_mask``) with
``--backend remote`` on a live lampyris server write the pixels the local backend writes, one
server job per step: ``/pie/psdService/productCrop``, ``renditionCreate`` and ``depthBlur``
with the input uploaded and the result hosted (lampyris' own extension of those routes), and
``/v1/refine-mask`` with the rough mask (the input's transparency) made here and uploaded.
The ledger keeps each step's job and report and, for a refined mask, the server's review.

Inputs come from a local folder and results go to one (real storage, no bucket needed): the
server allows no private URLs, so nothing it reads comes back to it by HTTP."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from support import s3
from support.ceph import CephS3
from support.images import distinct_products
from support.lampyris_server import LampyrisServer, running_server
from support.mask_scenes import rough_mask, wavy_subject

Chain = list[dict[str, dict[str, Any]]]

CASES: dict[str, tuple[str, Chain]] = {
    "product_crop": ("photos", [{"product_crop": {"unit": "percent", "width": 30,
                                                  "height": 10}}]),
    "cutout,product_crop": ("photos", [
        {"cutout": {"trim": True}},
        {"product_crop": {"unit": "pixels", "width": 60, "height": 20,
                          "background": "#ffffff"}}]),
    "rendition": ("photos", [{"rendition": {"width": 400, "max_width": 200}}]),
    "depth_blur": ("photos", [{"depth_blur": {"blur_strength": 70, "focal_range": 20,
                                              "haze": 10, "temp": 12, "saturation": -10,
                                              "grain": 5}}]),
    "refine_mask": ("rough", [{"refine_mask": {"radius": 6}}]),
    "refine_mask,rendition": ("rough", [{"refine_mask": {"decontaminate": True}},
                                        {"rendition": {"width": 120}}]),
    "refine_mask(mask),rendition": ("rough", [{"refine_mask": {"invert_mask": True}},
                                              {"rendition": {"width": 100}}]),
}


@pytest.fixture(scope="module")
def server() -> Iterator[LampyrisServer]:
    with running_server(prefix="lampyris-remote-catalog-") as live:
        yield live


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``photos``: three small product photos (JPEG); ``rough``: two rough cutouts (PNG: a
    photo whose alpha is a blocky, grown mask of its subject), what ``refine_mask`` refines."""
    photos = tmp_path_factory.mktemp("photos")
    for i, data in enumerate(distinct_products(3)):
        (photos / f"{i:02d}.jpg").write_bytes(data)
    rough = tmp_path_factory.mktemp("rough")
    for seed in (1, 2):
        rgb, alpha = wavy_subject(240, 180, seed=seed)
        mask = rough_mask(alpha, block=8, grow=3)
        Image.fromarray(np.dstack([rgb, mask])).save(rough / f"r{seed}.png")
    return {"photos": photos, "rough": rough}


def run(source: Path | str, sink: Path, chain: Chain, server: LampyrisServer | None = None,
        storage: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    """``lampyris run`` on a workflow file: the chain, locally or on ``server``."""
    workflow: dict[str, Any] = {"source": str(source), "sink": str(sink), "steps": chain,
                                "settle": 0, "concurrency": 1}
    if storage is not None:
        workflow["storage_options"] = storage
    if server is not None:
        assert server.client is not None
        workflow.update(backend="remote", concurrency=2, remote={
            "url": server.url, "client_id": server.client.client_id,
            "client_secret": server.client.client_secret})
    path = sink.parent / f"{sink.name}.yaml"
    path.write_text(yaml.safe_dump(workflow))
    return subprocess.run([sys.executable, "-m", "lampyris.cli.app", "run", str(path)],
                          capture_output=True, text=True, timeout=300, check=False)


def pixels(path: Path) -> np.ndarray:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return np.asarray(image)


def ledger(sink: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each input's (details, review) as the ledger keeps them."""
    with sqlite3.connect(sink / ".lampyris" / "ledger.db") as db:
        return {Path(url).name: (json.loads(d or "{}"), json.loads(r) if r else None)
                for url, d, r in db.execute("SELECT input_url, details, review FROM items")}


@pytest.mark.parametrize("case", list(CASES))
def test_a_catalog_chain_on_the_server_gives_the_local_pixels(
    case: str, server: LampyrisServer, inputs: dict[str, Path], tmp_path: Path
) -> None:
    kind, chain = CASES[case]
    source = inputs[kind]
    remote = run(source, tmp_path / "remote", chain, server)
    assert remote.returncode == 0, remote.stderr[-3000:] + server.tail()
    local = run(source, tmp_path / "local", chain)
    assert local.returncode == 0, local.stderr[-3000:]

    names = sorted(f"{p.stem}.png" for p in source.iterdir())
    assert sorted(p.name for p in (tmp_path / "remote").glob("*.png")) == names
    for name in names:
        there, here = pixels(tmp_path / "remote" / name), pixels(tmp_path / "local" / name)
        assert there.shape == here.shape, (name, there.shape, here.shape)
        assert np.array_equal(there, here), f"{case}: {name}: remote and local pixels differ"

    steps = [next(iter(step)) for step in chain]
    if "refine_mask" in steps and not chain[0]["refine_mask"].get("decontaminate"):
        assert pixels(tmp_path / "remote" / names[0]).ndim == 2, "a mask: one channel"
    there_rows, here_rows = ledger(tmp_path / "remote"), ledger(tmp_path / "local")
    jobs = set()
    for name, (details, review) in there_rows.items():
        here_details, here_review = here_rows[name]
        recorded = details["steps"]
        assert list(recorded) == steps, (name, recorded)
        jobs |= {str(report["job"]) for report in recorded.values()}
        assert details["job"] == recorded[steps[-1]]["job"]
        assert (details["width"], details["height"]) == (here_details["width"],
                                                         here_details["height"])
        for step in steps:  # what the server's op reported is what the local one did
            for key in ("subject_box", "crop_box", "blur_sigma", "radius", "bounding_box"):
                if key in here_details["steps"][step]:
                    assert recorded[step][key] == here_details["steps"][step][key], (step, key)
        # the server's review (a refined mask's, a cutout's), recorded as the local one
        assert (review is None) == (here_review is None) == (
            not {"cutout", "refine_mask"} & set(steps)), (name, review, here_review)
        if review is not None and here_review is not None:
            assert abs(review["score"] - here_review["score"]) < 0.01, (review, here_review)
            assert review["reasons"] == here_review["reasons"]
            assert all("review" not in report for report in recorded.values())  # the column
    assert len(jobs) == len(names) * len(steps), "one job per step and input"

    again = run(source, tmp_path / "remote", chain, server)
    assert again.returncode == 0 and f"skipped {len(names)}" in again.stderr, again.stderr


def test_an_opaque_input_to_refine_mask_fails_with_the_local_reason(
    server: LampyrisServer, inputs: dict[str, Path], tmp_path: Path
) -> None:
    """The rough mask is the input's transparency, made here: an opaque photo has none, and
    fails before any job, with the local step's words; the batch goes on."""
    source = tmp_path / "in"
    source.mkdir()
    (source / "photo.jpg").write_bytes((inputs["photos"] / "00.jpg").read_bytes())
    (source / "rough.png").write_bytes((inputs["rough"] / "r1.png").read_bytes())
    done = run(source, tmp_path / "out", [{"refine_mask": {}}], server)
    assert done.returncode == 1, done.stderr[-3000:]
    assert (tmp_path / "out" / "rough.png").exists()
    summary = json.loads((tmp_path / "out" / ".lampyris" / "summary.json").read_text())
    (failure,) = summary["failures"]
    assert Path(failure["input"]).name == "photo.jpg"
    assert failure["reason"].startswith("refine_mask: refine-mask needs a mask"), failure


def test_a_catalog_step_against_adobes_cloud_is_refused_before_anything_runs(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """Adobe's psdService routes write only to a pre-signed PUT URL: refused in one line, with
    what to do, before any input is read (no ``--server``: nothing is contacted)."""
    refused = subprocess.run(
        [sys.executable, "-m", "lampyris.cli.app", "batch", str(inputs["photos"]),
         str(tmp_path / "out"), "--steps", "cutout,product_crop", "--backend", "remote",
         "--client-id", "id", "--client-secret", "secret"],
        capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2, refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, refused.stderr
    assert "product_crop step on Adobe's cloud" in lines[0] and "--server" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_failed_psdservice_job_fails_its_input_with_the_servers_reason(
    server: LampyrisServer, inputs: dict[str, Path], tmp_path: Path
) -> None:
    """A truncated photo is uploaded (its header is a JPEG's) and the product crop job fails:
    the input fails with the reason from the job's ``errors``, one line; the batch goes on."""
    source = tmp_path / "in"
    source.mkdir()
    good = (inputs["photos"] / "00.jpg").read_bytes()
    (source / "good.jpg").write_bytes(good)
    (source / "cut.jpg").write_bytes(good[: len(good) // 3])
    done = run(source, tmp_path / "out", [{"product_crop": {}}], server)
    assert done.returncode == 1, done.stderr[-3000:]
    assert (tmp_path / "out" / "good.png").exists()
    summary = json.loads((tmp_path / "out" / ".lampyris" / "summary.json").read_text())
    (failure,) = summary["failures"]
    assert Path(failure["input"]).name == "cut.jpg"
    reason = failure["reason"]
    assert reason.startswith("product_crop: service: ") and "\n" not in reason, reason
    assert "truncated" in reason or "corrupt" in reason, reason


def test_from_a_bucket_the_server_reads_the_signed_input_itself(
    ceph_s3: CephS3, s3_bucket: str, inputs: dict[str, Path], tmp_path: Path
) -> None:
    """A source that signs URLs (Ceph's S3) hands the first job a pre-signed GET as its
    ``href`` (``storage: external``) instead of an upload; the server (allowed to reach
    loopback here) fetches it, and the pixels are still the local ones."""
    client = s3.client_for(ceph_s3)
    for path in sorted(inputs["rough"].iterdir()):
        s3.put_object(client, s3_bucket, f"in/{path.name}", path.read_bytes())
    chain: Chain = [{"depth_blur": {"blur_strength": 60}}, {"refine_mask": {"radius": 5}}]
    storage = {"s3": {"endpoint_url": ceph_s3.endpoint_url, "key": ceph_s3.access_key,
                      "secret": ceph_s3.secret_key}}
    with running_server(prefix="lampyris-remote-catalog-s3-",
                        env={"LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8"}) as live:
        remote = run(f"s3://{s3_bucket}/in/", tmp_path / "remote", chain, live, storage)
        assert remote.returncode == 0, remote.stderr[-3000:] + live.tail()
    local = run(inputs["rough"], tmp_path / "local", chain)
    assert local.returncode == 0, local.stderr[-3000:]
    for name in ("r1.png", "r2.png"):
        there, here = pixels(tmp_path / "remote" / name), pixels(tmp_path / "local" / name)
        assert there.shape == here.shape and np.array_equal(there, here), name
    rows = ledger(tmp_path / "remote")
    assert all(list(details["steps"]) == ["depth_blur", "refine_mask"] and review is not None
               for details, review in rows.values()), rows
