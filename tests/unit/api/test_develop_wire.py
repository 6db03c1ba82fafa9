"""Lightroom's and Photoshop v2's develop bodies turned into tasks: names, scales and refusals."""

from __future__ import annotations

import pytest

from lampyris.api.errors import ApiError
from lampyris.api.lightroom_wire import EditRequest, XmpRequest, edit_task, request_record, xmp_task
from lampyris.api.photoshop_edit_wire import V2EditRequest, hosted_validity, v2_edit_task
from lampyris.api.wire_common import jpeg_quality
from lampyris.ops.develop import EditParams

REF = {"href": "https://a/in.jpg", "storage": "external"}
OUT = {"href": "https://a/out.jpg", "storage": "azure", "type": "image/jpeg"}
PRESET = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
          '22-rdf-syntax-ns#"><rdf:Description xmlns:crs="http://ns.adobe.com/camera-raw-'
          'settings/1.0/" crs:Exposure2012="+1.00"/></rdf:RDF></x:xmpmeta>')


def test_lightroom_edit_options_map_to_tone_settings():
    body = EditRequest.model_validate({
        "inputs": {"source": REF}, "outputs": [{**OUT, "quality": 8}],
        "options": {"Exposure": -1.5, "VignetteAmount": -30, "NoiseReduction": 20,
                    "SharpenEdgeMasking": 4, "WhiteBalance": "Tungsten", "Brightness": 9},
    })
    task = edit_task(body)
    assert task.params["settings"] == {
        "exposure": -1.5, "vignette": -30, "noise_reduction": 20,
        "sharpen_edge_masking": 40.0, "white_balance": "Tungsten"}
    EditParams.model_validate(task.params)
    assert (task.output.storage, task.media_type, task.quality) == ("azure", "image/jpeg", 75)


def test_jpeg_quality_follows_photoshops_scale():
    assert [jpeg_quality(q) for q in (1, 6, 8, 10, 12)] == [40, 65, 75, 85, 95]


def test_inline_xmp_is_checked_and_not_stored_twice():
    body = XmpRequest.model_validate({"inputs": {"source": REF}, "outputs": [OUT],
                                      "options": {"xmp": PRESET, "orientation": 3}})
    assert request_record(body)["options"] == {"orientation": 3}
    bad = body.model_copy(update={"options": body.options.model_copy(update={"xmp": "<a>"})})
    with pytest.raises(ApiError, match=r"options\.xmp"):
        xmp_task(bad)


def test_v2_edits_map_to_one_edit_task():
    body = V2EditRequest.model_validate({
        "image": {"source": {"url": "https://a/in.jpg"}},
        "edits": {"autoTone": True, "autoStraighten": {"enabled": True, "uprightMode": "level"},
                  "light": {"exposure": 0.3}, "color": {"whiteBalance": "Auto"},
                  "effects": {"vignette": -10}, "sharpen": {"edgeMasking": 70, "radius": 1.2},
                  "noiseReduction": {"luminance": 15}, "sharpness": 60,
                  "presets": [{"url": "https://a/p1.xmp"}],
                  "xmp": {"source": {"url": "https://a/own.xmp"}, "orientation": "right_top"}},
        "outputs": [{"destination": {"url": "https://a/out", "storageType": "dropbox"},
                     "mediaType": "image/png", "compression": "high"}],
    })
    task = v2_edit_task(body, "job-1")
    assert task.params == {
        "settings": {"exposure": 0.3, "white_balance": "Auto", "vignette": -10,
                     "sharpen_edge_masking": 70, "sharpen_radius": 1.2, "noise_reduction": 15,
                     "sharpness": 60},
        "auto_tone": True, "straighten": {"upright_mode": "level", "constrain_crop": True},
        "orientation": 6,
    }
    EditParams.model_validate(task.params)
    assert [r.href for r in task.attachments["presets"]] == ["https://a/own.xmp",
                                                             "https://a/p1.xmp"]
    assert (task.output.storage, task.hosted_prefix, task.png_compression) == ("dropbox", None, 7)


def test_v2_hosted_output_and_its_validity():
    raw = {"image": {"source": {"url": "https://a/in.jpg"}},
           "outputs": [{"destination": {"validityPeriod": 600}, "mediaType": "image/jpeg",
                        "quality": "photoshop_max"}]}
    task = v2_edit_task(V2EditRequest.model_validate(raw), "job-1")
    assert (task.output, task.hosted_prefix, task.quality) == (None, "results/job-1/", 95)
    assert hosted_validity(raw) == 600
    assert hosted_validity({"image": {}, "mode": "cutout"}) is None


def test_v2_sources_must_be_urls():
    body = V2EditRequest.model_validate({
        "image": {"source": {"creativeCloudPath": "me/in.jpg"}},
        "outputs": [{"destination": {}, "mediaType": "image/png"}]})
    with pytest.raises(ApiError, match=r"image\.source: only url sources"):
        v2_edit_task(body, "job-1")


def test_v2_presets_and_xmp_share_the_limit_of_ten():
    body = V2EditRequest.model_validate({
        "image": {"source": {"url": "https://a/in.jpg"}},
        "edits": {"presets": [{"url": f"https://a/{i}.xmp"} for i in range(10)],
                  "xmp": {"source": {"url": "https://a/own.xmp"}}},
        "outputs": [{"destination": {}, "mediaType": "image/png"}]})
    with pytest.raises(ApiError, match="at most 10 presets"):
        v2_edit_task(body, "job-1")
