"""Request bodies and result checks that a route's in-process test and its live-server twin
(which proves the same on real S3 or Azure storage) share, so the two cannot drift apart."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from support.images import dark_scene, mean_luminance


def lr_ref(href: str, storage: str = "external") -> dict[str, str]:
    """A Lightroom input: ``{href, storage}``."""
    return {"href": href, "storage": storage}


def lr_outputs(href: str, kind: str = "image/jpeg", **extra: Any) -> list[dict[str, Any]]:
    """Lightroom's ``outputs``: one, to ``href``."""
    return [{"href": href, "storage": "external", "type": kind, **extra}]


def auto_tone_edit(source_url: str, put_url: str) -> dict[str, Any]:
    """``/v2/edit``: auto tone with an explicit exposure and edge masking on top, to a PUT."""
    return {
        "image": {"source": {"url": source_url}},
        "edits": {"autoTone": True, "light": {"exposure": 2.0}, "sharpen": {"edgeMasking": 40}},
        "outputs": [{"destination": {"url": put_url}, "mediaType": "image/jpeg",
                     "quality": "high"}],
    }


def check_auto_tone_edit(done: dict[str, Any], put_url: str, edited: bytes) -> None:
    """``auto_tone_edit``'s job: explicit settings win over auto tone's, which chose the
    rest, and the dark scene came out more than twice as bright."""
    assert done["status"] == "succeeded", done
    (output,) = done["result"]["outputs"]
    assert output["destination"] == {"url": put_url} and output["mediaType"] == "image/jpeg"
    settings = output["lampyris"]["settings"]
    assert settings["exposure"] == 2.0, "explicit settings override auto tone's"
    assert settings["sharpen_edge_masking"] == 40
    assert settings["whites"] != 0, "auto tone chose the rest"
    assert mean_luminance(edited) > 2 * mean_luminance(dark_scene())


def check_catalog_canvas(status: dict[str, Any], png: bytes) -> None:
    """A cutout on an 800x800 white canvas with 60 px padding, from a subject too small to
    fill it: kept at 1x, and the job's metadata says so."""
    assert status["status"] == "succeeded", status
    (notice,) = status["metadata"]["notices"]
    assert "kept at 1x" in notice and status["metadata"]["scale"] == 1.0
    image = Image.open(io.BytesIO(png))
    assert image.mode == "RGB" and image.size == (800, 800)
    pixels = np.asarray(image).astype(int)
    assert (pixels[5, 5] == 255).all(), "white canvas"
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 80)
    rows, cols = np.flatnonzero(red.any(1)), np.flatnonzero(red.any(0))
    assert rows[0] >= 60 and cols[0] >= 60 and rows[-1] <= 740, "subject inside the padding"
