"""The review object (issue 20) in the status bodies: ``lampyris.review`` beside what Adobe's
clients read, on the in-process server with real jobs (fetch, the op with its score,
delivery): remove-background v1 and v2, and Firefly's fill per seed. The score itself:
tests/unit/imaging/test_confidence.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from support.fill_scenes import png
from support.http_server import ScriptedServer
from support.inprocess import InProcessServer


def assert_review(review: Any) -> None:
    """The contract's object: a score in [0, 1], its flag decided by the threshold, reasons."""
    assert isinstance(review, dict), review
    assert 0.0 <= review["score"] <= 1.0
    assert 0.0 <= review["threshold"] <= 1.0
    assert review["flag"] is (review["score"] < review["threshold"])
    assert isinstance(review["reasons"], list)
    assert all(isinstance(reason, str) and reason for reason in review["reasons"])
    assert isinstance(review["features"], dict)


def test_sensei_status_carries_the_review(inproc: InProcessServer, source: ScriptedServer):
    status = inproc.run("/sensei/cutout", {
        "input": {"href": source.url("/photo.jpg"), "storage": "external"},
        "output": {"href": source.url("/out/reviewed.png"), "storage": "external"}})
    assert status["status"] == "succeeded", status
    review = status["lampyris"]["review"]
    assert_review(review)
    assert review == status["metadata"]["review"]
    assert review["flag"] is False, "a red disc on a grey sweep needs no look"


def test_v2_status_carries_the_review_on_every_output(inproc: InProcessServer,
                                                      source: ScriptedServer):
    for mode in ("cutout", "mask"):
        status = inproc.run("/v2/remove-background", {
            "image": {"source": {"url": source.url("/photo.jpg")}}, "mode": mode})
        assert status["status"] == "succeeded", status
        (output,) = status["result"]["outputs"]
        assert_review(output["lampyris"]["review"])
        assert output["lampyris"]["review"]["flag"] is False
        assert "subject_box" in output["lampyris"]  # beside what it carried before


def test_firefly_fill_outputs_carry_their_review(inproc: InProcessServer):
    photo = np.full((120, 160, 3), 220, np.uint8)
    photo[40:80, 60:100] = (40, 90, 160)
    mask = np.zeros((120, 160), np.uint8)
    mask[30:90, 50:110] = 255
    answer = inproc.post("/v3/images/fill", {
        "prompt": "grey wall", "numVariations": 2, "seeds": [3, 4],
        "image": {"source": {"uploadId": inproc.upload(png(photo))},
                  "mask": {"uploadId": inproc.upload(png(mask))}}})
    assert answer.status_code == 200, answer.text
    outputs = answer.json()["outputs"]
    assert [o["seed"] for o in outputs] == [3, 4]
    for output in outputs:
        review = output["lampyris"]["review"]
        assert_review(review)
        assert review["features"]["guard_held"] is True
        assert review["features"]["generated_share"] == pytest.approx(60 * 60 / (120 * 160),
                                                                      abs=0.02)
