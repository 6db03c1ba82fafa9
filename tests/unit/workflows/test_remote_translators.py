"""The remote backend's translators: a chain's op calls (``steps.execution``) become the
bodies of Photoshop v2 remove-background and edit and Firefly fill, and a lampyris server reads
them back into exactly the op calls the local chain makes; what no route can do is refused
before any input is read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from lampyris.api.errors import ApiError
from lampyris.api.firefly_wire import BinaryInput, FillRequest, fill_task
from lampyris.api.photoshop_edit_wire import SETTINGS, V2EditRequest, v2_edit_task
from lampyris.api.photoshop_wire import RemoveBackgroundRequest, v2_task
from lampyris.client import FireflyClient, Job, PhotoshopClient, StaticToken, source
from lampyris.errors import InvalidParameterError
from lampyris.imaging.decode import decode
from lampyris.ops import CATALOG
from lampyris.storage import StorageRef
from lampyris.storage.locations import Location
from lampyris.workflows.backends.remote import (
    FINISH_REFUSED,
    V2_SETTINGS,
    RemoteCall,
    check_chain,
    fill_mask,
    job_report,
    own_thresholds,
    plan,
    upload_type,
)
from lampyris.workflows.steps import Step, execution, make_steps

BASE = "https://service.test"
LOOK = {"key": 0.46, "cast": (0.05, -0.02)}


@pytest.fixture
def sent() -> Iterator[list[dict[str, Any]]]:
    """The JSON bodies the clients below post (each answered as an accepted v2 job)."""
    bodies: list[dict[str, Any]] = []
    yield bodies


def _clients(sent: list[dict[str, Any]]) -> tuple[PhotoshopClient, FireflyClient]:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(202, json={"jobId": "job-1", "statusUrl": f"{BASE}/status/job-1"})

    options: dict[str, Any] = {"token_provider": StaticToken("tok"), "base_url": BASE,
                               "transport": httpx.MockTransport(answer)}
    return PhotoshopClient("id", **options), FireflyClient("id", **options)


def _resolve(source_: BinaryInput, name: str) -> StorageRef:
    return StorageRef(f"uploads/{source_.uploadId}", "hosted")


def _on_the_server(call: RemoteCall, sent: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """What a lampyris server makes of ``call``: the body the client sends, read by the
    route's wire model into a task (op and parameters, validated by the op's model)."""
    photoshop, firefly = _clients(sent)
    with photoshop, firefly:
        if call.route == "cutout":
            photoshop.remove_background(upload_id="u-1", **call.options)
            task = v2_task(RemoveBackgroundRequest.model_validate(sent[-1]), "j", _resolve)
        elif call.route == "edit":
            photoshop.edit(upload_id="u-1", validity_period=3600, **call.options)
            task = v2_edit_task(V2EditRequest.model_validate(sent[-1]), "j", _resolve)
        else:
            firefly.fill(source(upload_id="u-1"), source(upload_id="m-1"), **call.options)
            task = fill_task(FillRequest.model_validate(sent[-1]), _resolve, "j", "patch")
            assert task.seeds is not None and len(task.seeds) == 1
            task = task.model_copy(update={"params": {**task.params, "seed": task.seeds[0]}})
    assert task.input == StorageRef("uploads/u-1", "hosted")
    return task.op, _validated(task.op, task.params)


def _validated(op: str, params: dict[str, Any]) -> dict[str, Any]:
    return CATALOG[op].params.model_validate(params).model_dump()


CHAINS: list[list[tuple[str, dict[str, Any]]]] = [
    [("cutout", {}), ("fill", {"prompt": "white marble", "seed": 3}), ("auto_tone", {})],
    [("cutout", {"trim": True, "canvas": [400, 300], "padding": "6%", "holes": "all",
                 "model": "u2netp", "max_upscale": 2.0}),
     ("auto_tone", {"strength": 0.7, "look": LOOK, "mood": True}),
     ("fill", {"prompt": "linen", "engine": "studio", "negative_prompt": "people"})],
    [("cutout", {"background": "#102030", "shadow": True, "shadow_opacity": 0.3})],
    [("cutout", {"decontaminate": 0.4}),
     ("straighten", {"upright_mode": "level", "constrain_crop": False})],
    [("cutout", {"mode": "mask", "mask_format": "binary"})],
    [("straighten", {}),
     ("edit", {"settings": {"exposure": 0.4, "temperature": 12, "tint": -3, "clarity": 20,
                            "white_balance": "Cloudy", "sharpness": 40, "sharpen_radius": 1.4,
                            "noise_reduction": 10, "color_noise_reduction": 30},
               "auto_tone": True, "look": LOOK, "straighten": {"upright_mode": "vertical"},
               "orientation": 6,
               "presets": ['<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://'
                           'www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:crs='
                           '"http://ns.adobe.com/camera-raw-settings/1.0/" crs:Contrast2012='
                           '"+12"/></rdf:RDF></x:xmpmeta>']})],
]


@pytest.mark.parametrize("chain", CHAINS, ids=lambda c: ",".join(n for n, _ in c))
def test_a_lampyris_server_reads_back_the_local_op_calls(
    chain: list[tuple[str, dict[str, Any]]], sent: list[dict[str, Any]]
) -> None:
    steps = make_steps(chain)
    calls = plan(steps)
    local = execution(steps)
    assert [c.step for c in calls] == [c.step for c in local]
    for remote, call in zip(calls, local, strict=True):
        op, params = _on_the_server(remote, sent)
        local_op, local_params = call.op, call.params
        if local_op == "auto_straighten":  # the op is develop(EditParams(straighten=…))
            local_op, local_params = "edit", {"straighten": local_params}
        assert op == local_op
        wanted = _validated(local_op, local_params)
        if op == "cutout" and call.params.get("mode", "cutout") == "cutout":
            # the server is told the amount the local op would decide for itself
            assert params.pop("decontaminate") == remote.options["color_decontamination"]
            wanted.pop("decontaminate")
        assert params == wanted


def test_a_cutout_a_fill_follows_is_decontaminated_as_if_composited() -> None:
    alone, filled = (plan(make_steps(chain)) for chain in (
        [("cutout", {})], [("cutout", {}), ("auto_tone", {}), ("fill", {})]))
    assert alone[0].options["color_decontamination"] == 0.0
    assert filled[0].options["color_decontamination"] == 1.0
    assert [c.route for c in filled] == ["cutout", "edit", "fill"]


def test_intermediates_are_lossless() -> None:
    calls = plan(make_steps([("cutout", {}), ("auto_tone", {}), ("fill", {})]))
    assert [c.options.get("media_type") for c in calls] == ["image/png", "image/png", None]


@pytest.mark.parametrize("cutout", [{"background": "white"}, {"shadow": True}])
def test_a_cutout_finished_after_develop_steps_is_refused(cutout: dict[str, Any]) -> None:
    steps = make_steps([("cutout", cutout), ("auto_tone", {})])
    with pytest.raises(InvalidParameterError) as refused:
        plan(steps)
    assert str(refused.value) == FINISH_REFUSED
    assert "\n" not in FINISH_REFUSED and "--backend local" in FINISH_REFUSED
    plan(make_steps([("cutout", cutout)]))  # the cutout finishes itself when nothing follows


def test_adobe_needs_a_source_that_signs_urls_for_photoshop() -> None:
    steps = make_steps([("cutout", {}), ("fill", {})])
    with pytest.raises(InvalidParameterError, match=r"must sign URLs .* not file://"):
        check_chain(steps, Location("/data/in"), adobe=True)
    check_chain(steps, Location("s3://shop/in/"), adobe=True)
    check_chain(steps, Location("/data/in"), adobe=False)  # a lampyris server takes uploads


def test_every_tone_setting_has_a_v2_field_or_an_extension() -> None:
    server = {field: group_name for group_name, field in SETTINGS.items()}
    server["sharpness"] = (None, "sharpness")
    assert server == V2_SETTINGS


def test_the_fill_mask_is_the_transparent_area() -> None:
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 3] = np.arange(20, dtype=np.uint8).reshape(4, 5) * 13
    mask = decode(fill_mask(rgba)).pixels
    plane = mask if mask.ndim == 2 else mask[..., 0]
    assert np.array_equal(plane, 255 - rgba[..., 3])
    with pytest.raises(InvalidParameterError, match="image with transparency"):
        fill_mask(np.full((4, 5, 4), 255, np.uint8))


@pytest.mark.parametrize(("data", "name", "kind"), [
    (b"\xff\xd8\xff\xe0rest", "a.png", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\nrest", "a", "image/png"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "a", "image/webp"),
    (b"II*\x00rest", "a", "image/tiff"),
    (b"garbage", "bad.JPG", "image/jpeg"),  # the service says what is wrong with it
    (b"GIF89a", "a.gif", None),
])
def test_uploads_are_sent_as_their_kind(data: bytes, name: str, kind: str | None) -> None:
    assert upload_type(data, name) == kind


def test_a_fill_jobs_report_uses_the_local_names() -> None:
    job = Job.from_body({"jobId": "urn:ff:jobs:1", "status": "succeeded", "result": {
        "size": {"width": 160, "height": 120},
        "outputs": [{"seed": 3, "image": {"url": "https://x/o.png"}, "lampyris": {
            "engine": "studio", "understood": ["marble"], "unusedWords": ["palm"],
            "fidelity": {"held": True, "changedOutside": 0, "maxDifferenceOutside": 0}}}]}})
    assert job_report("fill", job) == {
        "job": "urn:ff:jobs:1", "width": 160, "height": 120, "engine": "studio",
        "understood": ["marble"], "unused_words": ["palm"],
        "fidelity": {"held": True, "changed_outside": 0, "max_difference_outside": 0}}


def test_every_jobs_review_is_kept_under_its_step() -> None:
    review = {"score": 0.0, "flag": True, "threshold": 0.5,
              "reasons": ["fidelity guard did not hold"], "features": {"guard_held": False}}
    fill = Job.from_body({"jobId": "f", "status": "succeeded", "result": {"outputs": [
        {"seed": 1, "image": {"url": "https://x/o.png"},
         "lampyris": {"engine": "patch", "review": review}}]}})
    assert job_report("fill", fill)["review"] == review
    cutout = Job.from_body({"jobId": "c", "status": "succeeded", "result": {"outputs": [
        {"destination": {"url": "https://x/o.png"}, "lampyris": {"review": review}}]}})
    assert job_report("cutout", cutout)["review"] == review
    adobe = Job.from_body({"jobId": "a", "status": "succeeded", "result": {"outputs": [
        {"destination": {"url": "https://x/o.png"}}]}})
    assert "review" not in job_report("cutout", adobe)  # Adobe's service scores nothing


def test_a_v2_jobs_report_keeps_the_servers_extension() -> None:
    job = Job.from_body({"jobId": "j", "status": "succeeded", "result": {"outputs": [
        {"destination": {"url": "https://x/o.png"}, "mediaType": "image/png", "width": 10,
         "height": 8, "lampyris": {"settings": {"exposure": 0.2}, "mediaType": "image/png"}}]}})
    assert job_report("edit", job) == {"job": "j", "width": 10, "height": 8,
                                       "settings": {"exposure": 0.2}}


def _edit_body(**extra: Any) -> V2EditRequest:
    return V2EditRequest.model_validate({
        "image": {"source": {"uploadId": "u-1"}},
        "outputs": [{"destination": {"validityPeriod": 600}, "mediaType": "image/png"}],
        **extra})


@pytest.mark.parametrize(("extra", "refusal"), [
    ({"edits": {"autoTone": True, "light": {"exposure": 1}},
      "lampyris": {"autoTone": {"strength": 0.5}}}, "runs Lightroom's Auto alone"),
    ({"edits": {"autoTone": True}, "lampyris": {"autoTone": {}, "tint": 4}},
     "runs Lightroom's Auto alone"),
    ({"edits": {"presets": [{"url": "https://a.test/p.xmp"}]},
      "lampyris": {"presets": ["<x/>"]}}, "by url .* or inline, not both"),
    ({"lampyris": {"presets": ["not xmp"]}}, r"lampyris\.presets\.0"),
])
def test_the_v2_edit_extension_refuses_what_it_cannot_mean(
    extra: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(ApiError, match=refusal) as refused:
        v2_edit_task(_edit_body(**extra), "j", _resolve)
    assert refused.value.status == 400


def test_an_upload_id_needs_a_route_that_resolves_uploads() -> None:
    with pytest.raises(ApiError, match=r"image\.source"):
        v2_edit_task(_edit_body(), "j")
    body = RemoveBackgroundRequest.model_validate({"image": {"source": {"uploadId": "u-1"}}})
    with pytest.raises(ApiError, match=r"image\.source: give a url"):
        v2_task(body, "j")
    assert v2_task(body, "j", _resolve).input == StorageRef("uploads/u-1", "hosted")
    for both in ({"url": "https://a.test/in.jpg", "uploadId": "u-1"}, {}):
        with pytest.raises(ValueError, match="exactly one of url and uploadId"):
            RemoveBackgroundRequest.model_validate({"image": {"source": both}})


def test_a_steps_own_review_threshold_decides_its_flag_as_locally() -> None:
    """The server judged 0.7 against its default 0.5; the step asked for 0.8, as the local op
    would have used."""
    reports = {"cutout": {"review": {"score": 0.7, "flag": False, "threshold": 0.5}},
               "fill": {"review": {"score": 0.7, "flag": False, "threshold": 0.5}}}
    own_thresholds(reports, [Step("cutout", {"review_threshold": 0.8}), Step("fill", {})])
    assert reports["cutout"]["review"] == {"score": 0.7, "flag": True, "threshold": 0.8}
    assert reports["fill"]["review"] == {"score": 0.7, "flag": False, "threshold": 0.5}
    own_thresholds({}, [Step("cutout", {"review_threshold": 0.8})])  # no report: nothing
