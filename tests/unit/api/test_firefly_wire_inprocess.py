"""Firefly's wire, round 2, on the in-process server: object composite honouring ``image.mask``
(where Adobe's Firefly SDK puts the mask), multipart bodies (a ``request`` part and image
parts), and the legacy ``/v1/images/fill`` and ``/v1/images/expand`` as aliases of today's
engines. Pixels are checked: the product the mask keeps is the one composited; multipart
inputs come out exact under the PNG extension; v1 outputs keep their input's pixels.

The v3 routes' other behaviour: test_routes_firefly_inprocess.py."""

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from lampyris.api.errors import ApiError
from lampyris.api.uploads import UPLOADS
from support import fill_scenes
from support.adobe_schemas import schema_validator
from support.fill_scenes import decoded, is_jpeg, kept_psnr, png
from support.inprocess import InProcessServer

RED, BLUE = (190, 40, 40), (40, 90, 160)
PNG = {"lampyris": {"format": "png"}}


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return fill_scenes.scene(1)


@pytest.fixture(scope="module")
def hole_mask() -> np.ndarray:
    return fill_scenes.hole_mask(1)


def _share(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 0) -> float:
    """The share of ``pixels`` within ``tolerance`` levels of ``colour`` on every channel."""
    near = np.abs(pixels[..., :3].astype(int) - colour).max(axis=2) <= tolerance
    return float(near.mean())


def _only(inproc: InProcessServer, result: dict[str, Any]) -> tuple[bytes, np.ndarray]:
    (output,) = result["outputs"]
    data = inproc.download(output["image"]["url"])
    return data, decoded(data)


# --- object composite: the mask in image.mask -----------------------------------------------


def test_composite_takes_the_product_from_image_mask(inproc: InProcessServer,
                                                     scene: np.ndarray):
    """An opaque photo of a red disc and a blue box; the mask keeps (black) only the box. The
    composite shows the box and no disc, whether the mask comes as ``image.mask`` (the SDK's
    place) or at the top level, and the same seed gives the same picture either way."""
    keep_box = np.full(scene.shape[:2], 255, np.uint8)
    keep_box[160:200, 35:85] = 0
    photo, mask = inproc.upload(png(scene)), inproc.upload(png(keep_box))
    common = {"prompt": "plain grey studio sweep", "seeds": [4], **PNG,
              "size": {"width": 256, "height": 256}}
    sdk = inproc.post("/v3/images/generate-object-composite", {
        **common, "image": {"source": {"uploadId": photo}, "mask": {"uploadId": mask}}})
    assert sdk.status_code == 200, sdk.text
    schema_validator("sdkjs-FFApiOpenApi3.json")("GenerateObjectCompositeResponse", sdk.json())
    _, placed = _only(inproc, sdk.json())
    assert placed.shape == (256, 256, 3)
    assert _share(placed, BLUE) > 0.3, "the box the mask kept, scaled onto the canvas"
    assert _share(placed, RED, tolerance=30) == 0, "the disc the mask hid is gone"

    top_level = inproc.run("/v3/images/generate-object-composite-async", {
        **common, "image": {"source": {"uploadId": photo}},
        "mask": {"source": {"uploadId": mask}}})
    assert top_level["status"] == "succeeded", top_level
    assert np.array_equal(_only(inproc, top_level["result"])[1], placed)

    unknown = "00000000-0000-4000-8000-000000000000"
    refused = inproc.post("/v3/images/generate-object-composite", {
        **common, "image": {"source": {"uploadId": photo}, "mask": {"uploadId": unknown}}})
    assert refused.status_code == 400
    assert refused.json()["validation_errors"][0]["loc"] == ["body", "image", "mask",
                                                             "uploadId"]


# --- multipart bodies -----------------------------------------------------------------------


def _multipart(inproc: InProcessServer, route: str, request: Any,
               files: list[tuple[str, tuple[str, bytes, str]]]) -> Any:
    text = request if isinstance(request, str) else json.dumps(request)
    return inproc.http.post(route, data={"request": text} if text else {}, files=files,
                            headers=inproc.headers())


def test_multipart_bodies_name_their_files_or_take_them_in_order(
        inproc: InProcessServer, scene: np.ndarray, hole_mask: np.ndarray):
    photo, mask = png(scene), png(hole_mask)
    named = _multipart(inproc, "/v3/images/fill-async", {
        "prompt": "grey counter", "seeds": [2], "size": {"width": 320, "height": 240}, **PNG,
        "image": {"source": {"uploadId": "photo.png"}},
        "mask": {"source": {"uploadId": "mask.png"}}},
        # in the "wrong" order: the names decide
        [("files", ("mask.png", mask, "image/png")), ("files", ("photo.png", photo, "image/png"))])
    assert named.status_code == 202, named.text
    schema_validator("ffs-firefly-api-firefly-api.json")("AsyncAcceptResponseV3", named.json())
    status = inproc.wait(named.json()["statusUrl"])
    assert status["status"] == "succeeded", status
    data, out = _only(inproc, status["result"])
    assert not is_jpeg(data) and out.shape == scene.shape
    assert bool((out[hole_mask == 0] == scene[hole_mask == 0]).all())
    assert _share(out[fill_scenes.hole(1)], BLUE, tolerance=40) < 0.01, "the box was filled"

    # Empty sources take the files in order (image, then mask), sent as files[]; the sync
    # route takes multipart too, and a JPEG comes out by default.
    ordered = _multipart(inproc, "/v3/images/fill", {
        "prompt": "grey counter", "seeds": [2], "image": {"source": {}},
        "mask": {"source": {}}},
        [("files[]", ("a", photo, "image/png")), ("files[]", ("b", mask, "image/png"))])
    assert ordered.status_code == 200, ordered.text
    data, jpeg = _only(inproc, ordered.json())
    assert is_jpeg(data) and ordered.json()["size"] == {"width": 320, "height": 240}
    assert kept_psnr(out, jpeg, np.zeros_like(hole_mask)) >= 45, "the same fill, as JPEG"

    composite = _multipart(inproc, "/v3/images/generate-object-composite-async", {
        "prompt": "oak table", "image": {"source": {}}, **PNG,
        "size": {"width": 200, "height": 200}},
        [("files", ("cutout.png", png(fill_scenes.cutout(1)), "image/png"))])
    assert composite.status_code == 202, composite.text
    assert inproc.wait(composite.json()["statusUrl"])["status"] == "succeeded"


def test_multipart_bodies_refused(inproc: InProcessServer, scene: np.ndarray):
    photo = [("files", ("photo.png", png(scene), "image/png"))]
    cases = (
        ("", 400, "bad_request", "needs a 'request' part"),
        ("{not json", 400, "bad_request", "not valid JSON"),
        ("[1, 2]", 400, "bad_request", "must be a JSON object"),
    )
    for request, status, code, words in cases:
        answer = _multipart(inproc, "/v3/images/expand-async", request, photo)
        assert (answer.status_code, answer.json()["error_code"]) == (status, code), answer.text
        assert words in answer.json()["message"]
    not_image = _multipart(inproc, "/v3/images/expand-async", {"image": {"source": {}}},
                           [("files", ("x.png", b"not an image", "image/png"))])
    assert (not_image.status_code, not_image.json()["error_code"]) == (400, "bad_request")
    invalid = _multipart(inproc, "/v3/images/expand-async",
                         {"image": {"source": {}}, "numVariations": 9}, photo)
    assert invalid.status_code == 422
    assert ["body", "numVariations"] in [e["loc"] for e in invalid.json()["validation_errors"]]
    empty = inproc.http.post("/v3/images/expand-async", content=b"",
                             headers={**inproc.headers(), "Content-Type": "application/json"})
    assert (empty.status_code, empty.json()["error_code"]) == (400, "empty_input_body")
    anonymous = inproc.http.post("/v3/images/expand-async", data={"request": "{}"},
                                 files=photo)
    assert anonymous.status_code == 403, "no file is stored for a stranger"


def _uploads(inproc: InProcessServer) -> int:
    with inproc.svc.uploads.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(UPLOADS)).scalar_one())


def test_multipart_files_are_stored_only_for_a_valid_body_that_becomes_a_job(
        inproc: InProcessServer, scene: np.ndarray, monkeypatch: pytest.MonkeyPatch):
    photo = ("files", ("photo.png", png(scene), "image/png"))
    before = _uploads(inproc)
    odd = _multipart(inproc, "/v3/images/expand-async",
                     {"image": {"source": {"uploadId": ["photo.png"]}}}, [photo])
    assert odd.status_code == 422, odd.text  # a list is not an upload id (not a 500)
    invalid = _multipart(inproc, "/v3/images/expand-async",
                         {"image": {"source": {}}, "numVariations": 9}, [photo])
    assert invalid.status_code == 422
    assert _uploads(inproc) == before, "a refused body leaves no upload behind"

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ApiError(503, "unavailable", "the job store is down")

    monkeypatch.setattr(inproc.svc.store, "add", refuse)
    refused = _multipart(inproc, "/v3/images/expand-async", {"image": {"source": {}}}, [photo])
    assert refused.status_code == 503, refused.text
    assert _uploads(inproc) == before, "no job: its uploads are deleted again"
    monkeypatch.undo()
    extra = ("files", ("spare.png", png(scene), "image/png"))
    accepted = _multipart(inproc, "/v3/images/expand-async", {"image": {"source": {}}},
                          [photo, extra])
    assert accepted.status_code == 202, accepted.text
    assert _uploads(inproc) == before + 1, "only the file a source uses is stored"


# --- the legacy v1 routes -------------------------------------------------------------------


def test_v1_fill_and_expand(inproc: InProcessServer, scene: np.ndarray,
                            hole_mask: np.ndarray, monkeypatch: pytest.MonkeyPatch):
    # v1's sizes are 1024 px and up: the studio engine keeps three such fills to seconds
    # (the content-aware one took 40 s); the wire is what is tested here
    monkeypatch.setattr(inproc.svc.config.server, "fill_engine", "studio")
    photo, mask = inproc.upload(png(scene)), inproc.upload(png(hole_mask))
    fill = inproc.http.post("/v1/images/fill", json={
        "prompt": "grey counter", "n": 2, "size": {"width": 1024, "height": 1024},
        "image": {"id": photo}, "mask": {"id": mask}},
        headers={**inproc.headers(), "x-accept-mimetype": "image/png"})
    assert fill.status_code == 200, fill.text
    v1 = schema_validator("firefly-api-docs-openapi.json")
    body = fill.json()
    v1("ImageGenerativeResponse", body)
    assert body["size"] == {"width": 1024, "height": 1024} and body["prompt"] == "grey counter"
    assert (body["promptHasDeniedWords"], body["promptHasBlockedArtist"]) == (False, False)
    assert len(body["images"]) == 2 and len({i["image"]["id"] for i in body["images"]}) == 2
    wide = cv2.resize(scene, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    near_hole = cv2.dilate(cv2.resize(hole_mask, (1024, 1024),
                                      interpolation=cv2.INTER_NEAREST), np.ones((17, 17)))
    for image in body["images"]:
        assert isinstance(image["seed"], int)
        data = inproc.download(image["image"]["presignedUrl"])
        out = decoded(data)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and out.shape == (1024, 1024, 3)
        # the input resized to v1's size, exact away from the filled hole
        assert bool((out[near_hole == 0] == wide[near_hole == 0]).all())

    expand = inproc.post("/v1/images/expand", {"image": {"id": photo}, "seeds": [3]})
    assert expand.status_code == 200, expand.text
    v1("ImageGenerativeResponse", expand.json())
    (image,) = expand.json()["images"]
    assert expand.json()["size"] == {"width": 1024, "height": 1024} and image["seed"] == 3
    data = inproc.download(image["image"]["presignedUrl"])
    out = decoded(data)
    assert is_jpeg(data) and out.shape == (1024, 1024, 3)
    centre = out[392:632, 352:672]  # placed in the middle, as v3's expand does
    assert kept_psnr(scene, centre, np.zeros(scene.shape[:2])) >= 45
    assert out[:300].std() > 0, "the new area is generated"


def test_v1_errors_are_v1s(inproc: InProcessServer, scene: np.ndarray):
    v1 = schema_validator("firefly-api-docs-openapi.json")
    photo = inproc.upload(png(scene))
    unknown = "00000000-0000-4000-8000-000000000000"
    cases = (
        ({"image": {"id": photo}, "mask": {"id": unknown},
          "size": {"width": 1024, "height": 1024}}, {}, "mask.id: unknown upload id"),
        ({"image": {"id": unknown}}, {}, "image.id: unknown upload id"),
        ({"image": {"id": photo}, "mask": {"id": photo},
          "size": {"width": 512, "height": 1024}}, {}, "size.width"),
        ({"image": {"id": photo}, "n": 2, "seeds": [1]}, {}, "n must equal"),
        ({"image": {"id": photo}}, {"x-accept-mimetype": "image/gif"}, "x-accept-mimetype"),
    )
    for route, (body, headers, words) in zip(("fill", "expand", "fill", "expand", "expand"),
                                             cases, strict=True):
        answer = inproc.http.post(f"/v1/images/{route}", json=body,
                                  headers={**inproc.headers(), **headers})
        assert answer.status_code == 400, answer.text
        assert set(answer.json()) == {"error_code", "message"}
        v1("ErrorBody", answer.json())
        assert answer.json()["error_code"] == "validation_error"
        assert words in answer.json()["message"], answer.json()
