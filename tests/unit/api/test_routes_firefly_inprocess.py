"""Firefly's routes on the in-process server: uploads (``/v2/storage/image``), fill, expand and
object composite, synchronous and async, status and cancel, and Firefly's error shapes: unknown
and expired uploads, a wrong-size mask, invalid fields, a corrupt input, another client's job,
and a fill whose fidelity guard fails. Pixels are checked: outside the mask every output is
its input, within 45 dB PSNR for Firefly's JPEG and exactly for the ``lampyris.format: png``
extension.

More in process: test_firefly_wire_inprocess.py (object composite with ``image.mask``,
multipart bodies, the legacy v1 routes) and test_firefly_progress_inprocess.py (job progress,
the status ``Link`` header, the store's progress column).

Over a real process: tests/integration/server/test_firefly.py (Adobe's @adobe/firefly-apis
SDK, the seed request shape on real S3, the diffusion engine in worker processes) and
test_cancel_races.py (concurrent cancels on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import update

from lampyris.api.uploads import UPLOADS
from lampyris.jobs.record import now
from lampyris.storage import Blob
from support import fill_scenes
from support.adobe_schemas import schema_validator
from support.fill_scenes import decoded, is_jpeg, kept_psnr, png
from support.http_server import Reply, ScriptedServer, serve
from support.inprocess import URL, InProcessServer
from support.procs import wait_until

HOLE = fill_scenes.hole(1)  # rows, cols of the fill mask: a corner object
GUARD = ("the fidelity guard did not hold: 1 pixels outside the mask changed (by up to 99 "
         "levels); nothing was delivered")


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return fill_scenes.scene(1)


@pytest.fixture(scope="module")
def hole_mask() -> np.ndarray:
    return fill_scenes.hole_mask(1)


@pytest.fixture(scope="module")
def cutout() -> np.ndarray:
    return fill_scenes.cutout(1)


@pytest.fixture(scope="module")
def files(scene: np.ndarray, hole_mask: np.ndarray) -> Iterator[ScriptedServer]:
    state = ScriptedServer()
    state.objects["/photo.png"] = Blob(png(scene), "image/png")
    state.objects["/mask.png"] = Blob(png(hole_mask), "image/png")
    yield from serve(state, None)


@pytest.fixture(scope="module")
def uploads(inproc: InProcessServer, scene: np.ndarray, hole_mask: np.ndarray,
            cutout: np.ndarray) -> dict[str, str]:
    return {"photo": inproc.upload(png(scene)), "mask": inproc.upload(png(hole_mask)),
            "cutout": inproc.upload(png(cutout))}


@pytest.fixture(scope="module")
def small(inproc: InProcessServer) -> dict[str, Any]:
    """A 160x120 photo and its hole's mask, uploaded, and the photo's PNG: for the jobs whose
    pixels matter less than their fate (cancelled, refused by the guard)."""
    photo = np.full((120, 160, 3), 220, np.uint8)
    photo[40:80, 60:100] = (40, 90, 160)
    mask = np.zeros((120, 160), np.uint8)
    mask[30:90, 50:110] = 255
    encoded = png(photo)
    return {"png": encoded, "photo": inproc.upload(encoded), "mask": inproc.upload(png(mask))}


def _outside_equal(original: np.ndarray, output: np.ndarray, mask: np.ndarray) -> bool:
    return bool((original[mask == 0] == output[mask == 0]).all())


def _outputs(inproc: InProcessServer, result: dict[str, Any],
             kind: str = "jpeg") -> list[np.ndarray]:
    """The outputs' pixels, checked to be ``kind`` files (JPEG, or PNG by the extension)."""
    files = [inproc.download(o["image"]["url"]) for o in result["outputs"]]
    assert all(is_jpeg(f) == (kind == "jpeg") for f in files), kind
    assert all(o["image"]["url"].split("?")[0].endswith(".jpg" if kind == "jpeg" else ".png")
               for o in result["outputs"])
    return [decoded(f) for f in files]


PNG = {"lampyris": {"format": "png"}}  # exact pixels: the fidelity guard's extension


# --- uploads --------------------------------------------------------------------------------


def test_uploads_and_what_they_refuse(inproc: InProcessServer, scene: np.ndarray):
    answer = inproc.http.post("/v2/storage/image", content=png(scene),
                              headers={**inproc.headers(), "Content-Type": "image/png"})
    assert answer.status_code == 200
    (image,) = answer.json()["images"]
    assert list(answer.json()) == ["images"] and len(image["id"]) == 36
    for data, kind, status, code in ((b"not an image", "image/png", 400, "bad_request"),
                                     (b"GIF89a", "image/gif", 415, "invalid_content_type"),
                                     (b"", "image/png", 400, "empty_input_body")):
        answer = inproc.http.post("/v2/storage/image", content=data,
                                  headers={**inproc.headers(), "Content-Type": kind})
        assert (answer.status_code, answer.json()["error_code"]) == (status, code)
        assert set(answer.json()) == {"error_code", "message"}
    anonymous = inproc.http.post("/v2/storage/image", content=png(scene),
                                 headers={"Content-Type": "image/png"})
    assert anonymous.status_code == 403 and anonymous.json()["error_code"] == "403000"


# --- synchronous calls (the SDK's) ----------------------------------------------------------


def test_sync_fill_two_seeds(inproc: InProcessServer, uploads: dict[str, str],
                             scene: np.ndarray, hole_mask: np.ndarray):
    """Firefly's JPEG by default: the kept region within 45 dB of the input; the SDK's
    synchronous fill has no ``size``, so the input's size stays."""
    answer = inproc.post("/v3/images/fill", {
        "prompt": "white marble counter", "numVariations": 2, "seeds": [11, 12],
        "image": {"source": {"uploadId": uploads["photo"]},
                  "mask": {"uploadId": uploads["mask"]}}})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["size"] == {"width": 320, "height": 240}
    assert [o["seed"] for o in result["outputs"]] == [11, 12]
    filled = _outputs(inproc, result)
    for out, meta in zip(filled, result["outputs"], strict=True):
        assert out.shape == scene.shape
        assert kept_psnr(scene, out, hole_mask) >= 45
        assert meta["image"]["url"].startswith(f"{URL}/files/results/urn%3Aff%3Ajobs%3A")
        review = meta["lampyris"].pop("review")  # the fill's confidence (issue 20)
        assert review["flag"] is False and review["features"]["guard_held"] is True
        assert meta["lampyris"] == {"engine": "patch", "fidelity": {  # a hole in a picture
            "held": True, "changedOutside": 0, "maxDifferenceOutside": 0}}
        # The blue box is gone: the hole now looks like the grey around it.
        box = (out[HOLE].astype(int) - (40, 90, 160)) ** 2
        assert (box.sum(axis=2) < 40**2).mean() < 0.01 and abs(out[HOLE].mean() - 233) < 10
    assert not np.array_equal(filled[0], filled[1]), "two seeds, two variations"


def test_png_extension_gives_the_exact_pixels(inproc: InProcessServer, uploads: dict[str, str],
                                              scene: np.ndarray, hole_mask: np.ndarray):
    answer = inproc.post("/v3/images/fill", {
        "prompt": "white marble counter", "seeds": [11], **PNG,
        "image": {"source": {"uploadId": uploads["photo"]},
                  "mask": {"uploadId": uploads["mask"]}}})
    assert answer.status_code == 200, answer.text
    (out,) = _outputs(inproc, answer.json(), "png")
    assert _outside_equal(scene, out, hole_mask)
    (jpeg,) = _outputs(inproc, inproc.post("/v3/images/fill", {
        "prompt": "white marble counter", "seeds": [11],
        "image": {"source": {"uploadId": uploads["photo"]},
                  "mask": {"uploadId": uploads["mask"]}}}).json())
    assert 45 <= kept_psnr(out, jpeg, np.zeros_like(hole_mask)) < float("inf")


def test_sync_expand_and_composite(inproc: InProcessServer, uploads: dict[str, str],
                                   scene: np.ndarray):
    expand = inproc.post("/v3/images/expand", {
        "image": {"source": {"uploadId": uploads["photo"]}},
        "size": {"width": 400, "height": 300}, "seeds": [5], **PNG,
        "placement": {"alignment": {"horizontal": "left", "vertical": "top"}}})
    assert expand.status_code == 200, expand.text
    assert expand.json()["size"] == {"width": 400, "height": 300}
    (expanded,) = _outputs(inproc, expand.json(), "png")
    assert expanded.shape == (300, 400, 3)
    assert np.array_equal(expanded[:240, :320], scene)  # placed top-left, untouched
    assert expanded[240:, 320:].std() > 0  # generated, not left empty

    composite = inproc.post("/v3/images/generate-object-composite", {
        "prompt": "warm oak table, golden hour", "image": {"source": {"uploadId":
                                                                      uploads["cutout"]}},
        "size": {"width": 400, "height": 400}, "contentClass": "photo", "seeds": [3], **PNG})
    assert composite.status_code == 200, composite.text
    body = composite.json()
    assert body["size"] == {"width": 400, "height": 400}
    assert (body["contentClass"], body["promptHasDeniedWords"],
            body["promptHasBlockedArtists"]) == ("photo", False, False)
    (placed,) = body["outputs"]
    assert placed["lampyris"]["engine"] == "studio"
    assert placed["lampyris"]["fidelity"]["held"] is True
    (scene_out,) = _outputs(inproc, body, "png")
    assert scene_out.shape == (400, 400, 3)
    red = (scene_out[..., 0] == 190) & (scene_out[..., 1] == 40) & (scene_out[..., 2] == 40)
    assert red.sum() > 0.9 * np.pi * 65**2 * 0.5  # the product, scaled, colours exact


def test_sync_fill_with_an_unknown_upload(inproc: InProcessServer, uploads: dict[str, str]):
    unknown = "00000000-0000-4000-8000-000000000000"
    answer = inproc.post("/v3/images/fill", {"image": {
        "source": {"uploadId": uploads["photo"]}, "mask": {"uploadId": unknown}}})
    assert answer.status_code == 400
    assert answer.json() == {
        "error_code": "validation_error",
        "message": f"image.mask.uploadId: unknown upload id {unknown!r}",
        "validation_errors": [{"loc": ["body", "image", "mask", "uploadId"],
                               "msg": f"unknown upload id {unknown!r}", "type": "value_error"}]}


# --- async jobs -----------------------------------------------------------------------------


def test_async_fill_with_the_seed_request_shape(inproc: InProcessServer, files: ScriptedServer,
                                                scene: np.ndarray, hole_mask: np.ndarray):
    accepted = inproc.post("/v3/images/fill-async", {
        "prompt": "string", "image": {"source": {"url": files.url("/photo.png")}},
        "mask": {"source": {"url": files.url("/mask.png")}}})
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert set(job) == {"jobId", "statusUrl", "cancelUrl"}
    assert job["jobId"].startswith("urn:ff:jobs:")
    assert job["statusUrl"] == f"{URL}/v3/status/{job['jobId']}"
    assert job["cancelUrl"] == f"{URL}/v3/cancel/{job['jobId']}"
    assert accepted.headers["link"] == (f'<{job["statusUrl"]}>; rel="status", '
                                        f'<{job["cancelUrl"]}>; rel="cancel"')

    status = inproc.wait(job["statusUrl"])
    assert status["status"] == "succeeded", status
    assert status["jobId"] == job["jobId"]
    (output,) = status["result"]["outputs"]
    assert isinstance(output["seed"], int)
    # No size: the input's (a product is never stretched to Firefly's square default), the
    # kept region the input's pixels but for the JPEG.
    assert status["result"]["size"] == {"width": 320, "height": 240}
    (out,) = _outputs(inproc, status["result"])
    assert out.shape == (240, 320, 3)
    near_hole = cv2.dilate(hole_mask, np.ones((5, 5), np.uint8))
    assert kept_psnr(scene, out, near_hole) >= 45
    box = (cv2.resize(out, (320, 240), interpolation=cv2.INTER_AREA)[HOLE].astype(int)
           - (40, 90, 160)) ** 2
    assert (box.sum(axis=2) < 40**2).mean() < 0.01, "the blue box was filled"

    # The status also answers to the bare id after the URN prefix.
    bare = job["jobId"].rsplit(":", 1)[-1]
    again = inproc.get(f"/v3/status/{bare}")
    assert again.status_code == 200 and again.json()["jobId"] == job["jobId"]


def test_async_expand_and_composite_seeds_reproduce(inproc: InProcessServer,
                                                    uploads: dict[str, str], scene: np.ndarray):
    outputs: list[dict[str, Any]] = []

    def run(route: str, body: dict[str, Any]) -> list[np.ndarray]:
        status = inproc.run(f"/v3/images/{route}", body)
        assert status["status"] == "succeeded", status
        outputs[:] = status["result"]["outputs"]
        return _outputs(inproc, status["result"], "png" if "lampyris" in body else "jpeg")

    composite = {"prompt": "pastel pink studio sweep, palm trees",
                 "image": {"source": {"uploadId": uploads["cutout"]}},
                 "size": {"width": 256, "height": 256}, "seeds": [1, 2]}
    first, second = run("generate-object-composite-async", composite)
    # the studio engine says which prompt words it drew and which it could not
    assert [o["lampyris"]["understood"] for o in outputs] == [
        ["pastel pink", "studio", "sweep"]] * 2
    assert [o["lampyris"]["unusedWords"] for o in outputs] == [["palm", "trees"]] * 2
    (again,) = run("generate-object-composite-async", {**composite, "seeds": [1]})
    assert np.array_equal(first, again), "the same seed gives the same picture"
    assert not np.array_equal(first, second), "another seed, another backdrop"

    expand = {"image": {"source": {"uploadId": uploads["photo"]}},
              "size": {"width": "400", "height": "300"},
              "placement": {"inset": {"left": 50, "top": 30}}, "numVariations": 1, **PNG}
    (wide,) = run("expand-async", expand)
    assert "unusedWords" not in outputs[0]["lampyris"]  # patch reads no prompt
    assert wide.shape == (300, 400, 3)
    assert np.array_equal(wide[30:270, 50:370], scene)


def test_cancel_a_pending_and_a_running_job(inproc: InProcessServer, files: ScriptedServer,
                                            small: dict[str, Any]):
    """The one inline worker waits on a slow image URL, so the next job is still pending when
    it is cancelled: it ends cancelled and never runs, and a second cancel is refused. The
    running one, cancelled, ends cancelled too and leaves no output behind."""
    files.script("/slow.png", Reply(body=small["png"], delay=1.5))
    files.script("/fast.png", Reply(body=small["png"]))

    def fill(path: str) -> dict[str, Any]:
        accepted = inproc.post("/v3/images/fill-async", {
            "image": {"source": {"url": files.url(path)}},
            "mask": {"source": {"uploadId": small["mask"]}}})
        assert accepted.status_code == 202, accepted.text
        return dict(accepted.json())

    busy = fill("/slow.png")
    wait_until(lambda: files.hits("/slow.png") >= 1, timeout=30, what="the worker fetching")
    waiting, last = fill("/fast.png"), fill("/fast.png")
    put = inproc.put(waiting["cancelUrl"])
    assert (put.status_code, put.json()) == (200, {"jobId": waiting["jobId"],
                                                   "status": "cancelled"})
    status = inproc.wait(waiting["statusUrl"])
    assert status == {"jobId": waiting["jobId"], "status": "cancelled",
                      "error_code": "cancelled", "message": "The job was cancelled."}
    twice = inproc.put(waiting["cancelUrl"])
    assert (twice.status_code, twice.json()["error_code"]) == (409, "job_already_canceled")

    running = inproc.put(busy["cancelUrl"])
    assert (running.status_code, running.json()) == (200, {"jobId": busy["jobId"],
                                                           "status": "cancel_pending"})
    assert inproc.wait(busy["statusUrl"])["status"] == "cancelled"
    finished = inproc.wait(last["statusUrl"])
    assert finished["status"] == "succeeded"
    done = inproc.put(last["cancelUrl"])
    assert (done.status_code, done.json()["error_code"]) == (409, "job_completed")
    assert files.hits("/fast.png") == 1, "the cancelled job never fetched its input"
    dropped = inproc.data_dir / "objects" / "results" / busy["jobId"]
    assert not dropped.is_dir() or not list(dropped.iterdir()), "a cancelled job's output"

    unknown = inproc.put("/v3/cancel/urn:ff:jobs:nope")
    assert unknown.status_code == 404
    assert unknown.json() == {"error_code": "unknown_job_id", "message": "The job id is unknown."}


# --- refused and failed ---------------------------------------------------------------------


def test_expired_upload_and_wrong_size_mask_get_firefly_errors(inproc: InProcessServer,
                                                               scene: np.ndarray):
    photo = inproc.upload(png(scene))
    small_mask = inproc.upload(png(np.full((100, 100), 255, np.uint8)))
    before = inproc.svc.store.counts()
    wrong = inproc.post("/v3/images/fill-async", {
        "image": {"source": {"uploadId": photo}}, "mask": {"source": {"uploadId": small_mask}}})
    assert wrong.status_code == 400
    body = wrong.json()
    assert body["error_code"] == "validation_error"
    assert "100x100" in body["message"] and "320x240" in body["message"]
    assert body["validation_errors"][0]["loc"] == ["body", "mask", "source"]

    # Seven days later: the upload's expiry is moved into the past in the server's database.
    with inproc.svc.store.engine.begin() as conn:
        conn.execute(update(UPLOADS).where(UPLOADS.c.id == photo).values(expires=now()))
    for route in ("/v3/images/fill-async", "/v3/images/fill"):
        expired = inproc.post(route, {"image": {"source": {"uploadId": photo},
                                                "mask": {"uploadId": small_mask}}})
        assert expired.status_code == 400, expired.text
        assert expired.json()["error_code"] == "validation_error"
        assert "expired" in expired.json()["message"]
        assert expired.json()["validation_errors"][0]["loc"] == ["body", "image", "source",
                                                                  "uploadId"]
    assert inproc.svc.store.counts() == before, "no job for a refused request"


def test_another_clients_upload_and_job_are_unknown(inproc: InProcessServer):
    small = inproc.upload(png(np.full((48, 64, 3), 200, np.uint8)))
    body = {"image": {"source": {"uploadId": small}}, "size": {"width": 80, "height": 60}}
    other = inproc.add_client("other")
    borrowed = inproc.post("/v3/images/expand-async", body, other)
    assert borrowed.status_code == 400
    assert "unknown upload id" in borrowed.json()["message"]
    mine = inproc.submit("/v3/images/expand-async", body)
    for answer in (inproc.get(mine, other), inproc.put(mine.replace("/status/", "/cancel/"),
                                                       other)):
        assert answer.status_code == 404
        assert answer.json() == {"error_code": "unknown_job_id",
                                 "message": "The job id is unknown."}
    assert inproc.wait(mine)["status"] == "succeeded"


def test_validation_errors_name_the_field(inproc: InProcessServer):
    answer = inproc.post("/v3/images/generate-object-composite-async", {
        "prompt": "oak", "image": {"source": {"url": "https://example.com/a.png"}},
        "contentClass": "painting", "seeds": [1, 2], "numVariations": 3})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error_code"] == "validation_error"
    assert ["body", "contentClass"] in [e["loc"] for e in body["validation_errors"]]
    both = inproc.post("/v3/images/fill-async", {
        "image": {"source": {"url": "https://example.com/a.png", "uploadId": "x"}},
        "mask": {"source": {"url": "https://example.com/m.png"}}})
    assert both.status_code == 422
    assert "exactly one of url and uploadId" in both.json()["message"]
    for route in ("/v3/images/fill-async", "/v3/images/fill"):  # Adobe's schema requires it
        missing = inproc.post(route, {"image": {"source": {"uploadId": "x"}}})
        assert (missing.status_code, missing.json()) == (422, {
            "error_code": "validation_error",
            "message": "mask: field required: a fill needs a mask (mask.source or "
                       "image.mask), white where to fill",
            "validation_errors": [{"loc": ["body", "mask"], "msg": "field required",
                                   "type": "value_error.missing"}]})
        schema_validator("ffs-firefly-api-firefly-api.json")("ValidationErrorResponse",
                                                             missing.json())
    many = inproc.post("/v3/images/fill-async", {"image": {"source": {"uploadId": "x"}},
                                                 "numVariations": 9})
    assert many.status_code == 422
    assert ["body", "numVariations"] in [e["loc"] for e in many.json()["validation_errors"]]


def test_a_corrupt_input_fails_the_job(inproc: InProcessServer, files: ScriptedServer,
                                       uploads: dict[str, str]):
    files.script("/corrupt.png", Reply(body=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                                       headers={"Content-Type": "image/png"}))
    status = inproc.run("/v3/images/fill-async", {
        "image": {"source": {"url": files.url("/corrupt.png")}},
        "mask": {"source": {"uploadId": uploads["mask"]}}})
    assert status["status"] == "failed"
    assert set(status) == {"jobId", "status", "error_code", "message"}
    assert status["error_code"] in ("validation_error", "unsupported_media_type"), status
    sync = inproc.post("/v3/images/fill", {"image": {
        "source": {"url": files.url("/corrupt.png")}, "mask": {"uploadId": uploads["mask"]}}})
    assert sync.status_code in (400, 415)
    assert sync.json() == {"error_code": status["error_code"], "message": status["message"]}


@pytest.fixture
def leaky_enforce(monkeypatch: pytest.MonkeyPatch) -> None:
    """The executor's thread runs in this process, so it sees the leak."""
    fill_scenes.leak_one_pixel(monkeypatch)


@pytest.mark.usefixtures("leaky_enforce")
def test_a_fill_whose_guard_fails_is_answered_failed(inproc: InProcessServer,
                                                      small: dict[str, Any]):
    body = {"prompt": "linen", "image": {"source": {"uploadId": small["photo"]},
                                         "mask": {"uploadId": small["mask"]}}}
    status_url = inproc.submit("/v3/images/fill-async", body)
    status = inproc.wait(status_url)
    job_id = status_url.rsplit("/", 1)[-1]
    assert status == {"jobId": job_id, "status": "failed", "error_code": "runtime_error",
                      "message": GUARD}
    results = inproc.data_dir / "objects" / "results" / job_id
    assert not results.is_dir() or not list(results.iterdir()), "nothing delivered"

    sync = inproc.post("/v3/images/fill", body)
    assert (sync.status_code, sync.json()) == (500, {"error_code": "runtime_error",
                                                     "message": GUARD})
