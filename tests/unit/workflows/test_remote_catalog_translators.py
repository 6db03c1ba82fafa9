"""The remote backend's catalog steps (``refine_mask``, ``product_crop``, ``rendition``,
``depth_blur``): each op call becomes the body of ``/v1/refine-mask`` or a
``/pie/psdService`` route, and a lampyris server reads it back into exactly the op call the
local chain makes (a rendition's size as its output's width); what no route carries, and
every catalog step against Adobe's cloud, is refused before any input is read. The same steps
run against a live server: tests/integration/batch/test_remote_catalog_steps.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest

from lampyris.api.firefly_wire import BinaryInput
from lampyris.api.photoshop_masking_wire import RefineMaskRequest, refine_mask_task
from lampyris.api.photoshop_pie_wire import (
    DepthBlurRequest,
    ProductCropRequest,
    RenditionRequest,
    depth_blur_task,
    product_crop_task,
    rendition_task,
)
from lampyris.client import Job, PhotoshopClient, StaticToken
from lampyris.errors import InvalidParameterError
from lampyris.imaging.decode import decode
from lampyris.imaging.encode import encode
from lampyris.jobs import Task
from lampyris.ops import CATALOG
from lampyris.storage import StorageRef
from lampyris.storage.locations import Location
from lampyris.workflows.backends.remote import (
    RemoteCall,
    check_chain,
    job_report,
    plan,
    result_pixels,
    rough_mask,
)
from lampyris.workflows.steps import execution, make_steps, mask_at_end

BASE = "https://service.test"


def _resolve(source_: BinaryInput, name: str) -> StorageRef:
    return StorageRef(f"uploads/{source_.uploadId}", "hosted")


def _client(sent: list[dict[str, Any]]) -> PhotoshopClient:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        href = f"{BASE}/pie/psdService/status/job-1"
        return httpx.Response(202, json={"jobId": "job-1", "statusUrl": href,
                                         "_links": {"self": {"href": href}}})

    return PhotoshopClient("id", token_provider=StaticToken("tok"), base_url=BASE,
                           transport=httpx.MockTransport(answer))


def _on_the_server(call: RemoteCall) -> Task:
    """The task a lampyris server makes of ``call``'s body (input and mask uploaded)."""
    sent: list[dict[str, Any]] = []
    options = dict(call.options)
    options.pop("background", None)  # put under the result here, not sent
    with _client(sent) as client:
        if call.route == "refine_mask":
            options.pop("invert_mask")
            client.refine_mask(image_upload_id="u-1", mask_upload_id="m-1", **options)
            return refine_mask_task(RefineMaskRequest.model_validate(sent[-1]), "j", _resolve)
        if call.route == "product_crop":
            client.product_crop(upload_id="u-1", outputs=[{"type": "image/png"}], **options)
            return product_crop_task(ProductCropRequest.model_validate(sent[-1]), "j",
                                     _resolve)
        if call.route == "rendition":
            client.create_renditions(upload_id="u-1", **options)
            return rendition_task(RenditionRequest.model_validate(sent[-1]), "j", _resolve)
        client.depth_blur(upload_id="u-1", outputs=[{"type": "image/png"}], **options)
        return depth_blur_task(DepthBlurRequest.model_validate(sent[-1]), "j", _resolve)


def _validated(op: str, params: dict[str, Any]) -> dict[str, Any]:
    return CATALOG[op].params.model_validate(params).model_dump()


CHAINS: list[list[tuple[str, dict[str, Any]]]] = [
    [("product_crop", {})],
    [("product_crop", {"unit": "percent", "width": 12, "height": 30})],
    [("cutout", {}), ("product_crop", {"unit": "Pixels", "width": 40, "height": 7,
                                       "background": "#ffffff"})],
    [("rendition", {"width": 80})],
    [("rendition", {"width": 300, "max_width": 120})],
    [("depth_blur", {})],
    [("depth_blur", {"blur_strength": 80, "focal_range": 30, "haze": 10, "temp": -20,
                     "tint": 5, "saturation": 12, "brightness": -8, "grain": 3,
                     "focal_distance": 40, "focal_selector": (0.25, 0.5)})],
    [("cutout", {}), ("refine_mask", {})],
    [("cutout", {}), ("refine_mask", {"decontaminate": True, "radius": 9,
                                      "invert_mask": True})],
]


@pytest.mark.parametrize("chain", CHAINS, ids=lambda c: ",".join(n for n, _ in c))
def test_a_lampyris_server_reads_back_the_local_op_calls(
    chain: list[tuple[str, dict[str, Any]]]
) -> None:
    steps = make_steps(chain)
    calls, local = plan(steps), execution(steps)
    assert [c.step for c in calls] == [c.step for c in local]
    remote, call = calls[-1], local[-1]
    task = _on_the_server(remote)
    assert task.op == call.op and task.input == StorageRef("uploads/u-1", "hosted")
    wanted = _validated(call.op, call.params)
    params = dict(task.params)
    if call.op == "rendition":  # Photoshop's renditions: the size is the output's
        (target,) = task.targets
        params = {"width": target.width, "max_width": target.max_width}
        assert target.output is None and task.hosted_prefix == "results/j/"
    server = _validated(call.op, params)
    if call.op == "product_crop":  # the background: under the result, here
        background = wanted.pop("background")
        assert remote.options.get("background") == (None if background is None
                                                     else tuple(background))
        assert server.pop("background") is None
        (target,) = task.targets
        assert target.output is None and target.media_type == "image/png"
    if call.op == "refine_mask":  # the mask is made (and inverted) here
        assert remote.options["invert_mask"] == wanted.pop("invert_mask")
        assert server.pop("invert_mask") is False
        assert task.images == {"mask": StorageRef("uploads/m-1", "hosted")}
    assert server == wanted


def test_every_catalog_step_is_refused_against_adobe_in_one_line() -> None:
    for name in ("product_crop", "rendition", "depth_blur", "refine_mask"):
        chain = [("cutout", {}), (name, {})]
        steps = make_steps(chain)
        check_chain(steps, Location("/data/in"), adobe=False)  # a lampyris server runs it
        with pytest.raises(InvalidParameterError) as refused:
            check_chain(steps, Location("s3://shop/in/"), adobe=True)
        said = str(refused.value)
        assert f"the {name} step on Adobe's cloud" in said and "\n" not in said
        assert "--server" in said and "--backend local" in said


@pytest.mark.parametrize(("step", "params", "name"), [
    ("product_crop", {"model": "isnet-general-use"}, "model"),
    ("depth_blur", {"mirror_pass": "never"}, "mirror_pass"),
])
def test_a_matte_setting_no_route_carries_is_refused(step: str, params: dict[str, Any],
                                                     name: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"{step} step with {name}=") as refused:
        plan(make_steps([(step, params)]))
    assert "\n" not in str(refused.value) and "--backend local" in str(refused.value)


def test_the_rough_mask_is_the_images_opacity() -> None:
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 3] = np.arange(20, dtype=np.uint8).reshape(4, 5) * 13
    plane = decode(rough_mask(rgba)).pixels
    assert np.array_equal(plane if plane.ndim == 2 else plane[..., 0], rgba[..., 3])
    inverted = decode(rough_mask(rgba, invert=True)).pixels
    assert np.array_equal(inverted if inverted.ndim == 2 else inverted[..., 0],
                          255 - rgba[..., 3])
    with pytest.raises(InvalidParameterError, match="image with transparency"):
        rough_mask(np.full((4, 5, 4), 255, np.uint8))


def test_catalog_jobs_reports_use_the_local_names() -> None:
    review = {"score": 0.9, "flag": False, "threshold": 0.5, "reasons": []}
    pie = Job.from_body({"jobId": "p", "outputs": [{
        "input": "u-1", "status": "succeeded",
        "_links": {"renditions": [{"href": "https://x/o.png", "type": "image/png"}]},
        "lampyris": {"subject_box": [1, 2, 30, 40], "crop_box": [0, 0, 31, 42],
                     "notices": ["n"], "outputs": [{"width": 31, "height": 42,
                                                    "mediaType": "image/png"}]}}]})
    assert job_report("product_crop", pie) == {
        "job": "p", "width": 31, "height": 42, "subject_box": [1, 2, 30, 40],
        "crop_box": [0, 0, 31, 42], "notices": ["n"]}
    masking = Job.from_body({"jobId": "m", "status": "succeeded", "mask": {
        "destination": {"url": "https://x/m.png"}, "mediaType": "image/png",
        "boundingBox": {"x": 1, "y": 2, "width": 3, "height": 4},
        "lampyris": {"width": 10, "height": 8, "radius": 4, "review": review}}})
    assert job_report("refine_mask", masking) == {
        "job": "m", "width": 10, "height": 8, "radius": 4, "review": review,
        "bounding_box": {"x": 1, "y": 2, "width": 3, "height": 4}}


@pytest.mark.parametrize(("chain", "mask"), [
    ([("refine_mask", {})], True),
    ([("refine_mask", {}), ("rendition", {"width": 50})], True),
    ([("refine_mask", {"decontaminate": True})], False),
    ([("cutout", {"mode": "mask"}), ("rendition", {})], True),
    ([("cutout", {}), ("refine_mask", {"decontaminate": True}), ("depth_blur", {})], False),
    ([("cutout", {})], False),
])
def test_a_mask_result_comes_back_one_channel(chain: list[tuple[str, dict[str, Any]]],
                                              mask: bool) -> None:
    assert (mask_at_end(make_steps(chain)) is not None) is mask
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    png = encode(np.dstack([grey] * 3), "png")  # a job that read the mask as colour
    got = result_pixels(png, mask=mask)
    assert got.shape == ((3, 4) if mask else (3, 4, 3))
    assert np.array_equal(got if mask else got[..., 0], grey)
