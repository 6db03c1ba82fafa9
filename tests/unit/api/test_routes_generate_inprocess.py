"""Firefly's generate and generate-similar routes on the in-process server.

Unconfigured (no ``LAMPYRIS_DIFFUSION_TEXT_TO_IMAGE_MODEL``, or a path that is not there),
every route answers 501 ``not_implemented`` naming the setting, in the shape Adobe's Firefly
SDK spec gives. Configured with a tiny randomly initialised diffusers pipeline saved to disk
here (the real loading code, ``local_files_only``), the jobs run: one output per seed at the
size asked, JPEG by default and PNG by the ``lampyris.format`` extension, the same pixels
for the same seed, and answers that validate against Adobe's schemas.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from lampyris.api.uploads import UPLOADS
from lampyris.imaging.fill.text_to_image import SETTING
from support.adobe_schemas import Validator, schema_validator
from support.fill_scenes import png
from support.inprocess import InProcessServer


@pytest.fixture(scope="module")
def sdk_schema() -> Validator:
    return schema_validator("sdkjs-FFApiOpenApi3.json")


@pytest.fixture(scope="module")
def async_schema() -> Validator:
    return schema_validator("ffs-firefly-api-firefly-api.json")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("diffusers", reason="the diffusion extra (lampyris[diffusion]) is "
                                            "not installed; `make install` installs it")
    from support.tiny_diffusion import build_tiny_text_to_image_pipeline

    return build_tiny_text_to_image_pipeline(tmp_path_factory.mktemp("t2i") / "tiny-t2i")


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SETTING, raising=False)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> Iterator[Path]:
    monkeypatch.setenv(SETTING, str(tiny_model))
    monkeypatch.setenv("LAMPYRIS_DIFFUSION_STEPS", "2")
    yield tiny_model


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _outputs(inproc: InProcessServer, result: dict[str, Any]) -> list[Image.Image]:
    return [_image(inproc.download(o["image"]["url"])) for o in result["outputs"]]


SIMILAR = "/v3/images/generate-similar"


def _uploads(inproc: InProcessServer) -> int:
    with inproc.svc.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(UPLOADS)).scalar_one())


@pytest.mark.parametrize("path", ["/v3/images/generate", "/v3/images/generate-async"])
def test_generate_unconfigured_answers_501_naming_the_setting(
    inproc: InProcessServer, unconfigured: None, sdk_schema: Validator, path: str
) -> None:
    answer = inproc.post(path, {"prompt": "a red bicycle", "contentClass": "photo"})
    assert answer.status_code == 501, answer.text
    body = answer.json()
    sdk_schema("ApiError", body)
    assert body["error_code"] == "not_implemented"
    assert SETTING in body["message"] and "\n" not in body["message"]
    assert not any(str(op).startswith("generate") for op, _ in inproc.svc.store.counts()), \
        "no job was accepted"


@pytest.mark.parametrize("path", [SIMILAR, f"{SIMILAR}-async"])
def test_generate_similar_unconfigured_answers_501(
    inproc: InProcessServer, unconfigured: None, sdk_schema: Validator, path: str
) -> None:
    answer = inproc.post(path, {"image": {"source": {"url": "https://a.test/photo.jpg"}}})
    assert answer.status_code == 501, answer.text
    sdk_schema("ApiError", answer.json())
    assert SETTING in answer.json()["message"]


def test_unconfigured_the_501_comes_before_the_body_is_read(
    inproc: InProcessServer, unconfigured: None
) -> None:
    invalid = inproc.post("/v3/images/generate-async", {"contentClass": "painting"})
    assert invalid.status_code == 501, invalid.text
    files = {"request": (None, '{"image": {"source": {}}}', "application/json"),
             "files": ("ref.png", png(np.zeros((8, 8, 3), np.uint8)), "image/png")}
    stored = _uploads(inproc)
    multipart = inproc.http.post(f"{SIMILAR}-async", files=files, headers=inproc.headers())
    assert multipart.status_code == 501, multipart.text
    assert _uploads(inproc) == stored, "the multipart file was not kept"
    unauthenticated = inproc.http.post("/v3/images/generate", json={"prompt": "a cat"})
    assert unauthenticated.status_code in (401, 403), "authentication first"


def test_a_missing_model_directory_is_named(
    inproc: InProcessServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-model"
    monkeypatch.setenv(SETTING, str(missing))
    answer = inproc.post("/v3/images/generate", {"prompt": "a cat"})
    assert answer.status_code == 501
    assert str(missing) in answer.json()["message"]


@pytest.mark.parametrize("body, field", [
    ({}, "prompt"),
    ({"prompt": "a cat", "seeds": [1, 2], "numVariations": 3}, "body"),
    ({"prompt": "a cat", "contentClass": "painting"}, "contentClass"),
    ({"prompt": "a cat", "size": {"width": 0, "height": 64}}, "width"),
])
def test_invalid_bodies_answer_422(
    inproc: InProcessServer, configured: Path, body: dict[str, Any], field: str
) -> None:
    answer = inproc.post("/v3/images/generate-async", body)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["validation_errors"]
    assert answer.json()["error_code"] == "validation_error"
    assert any(field in error["loc"] for error in errors), errors


def test_generate_async_one_jpeg_per_seed_at_the_size_asked(
    inproc: InProcessServer, configured: Path, async_schema: Validator
) -> None:
    accepted = inproc.post("/v3/images/generate-async", {
        "prompt": "a lighthouse at dusk", "seeds": [3, 4], "contentClass": "art",
        "size": {"width": 96, "height": 64}})
    assert accepted.status_code == 202, accepted.text
    async_schema("AsyncAcceptResponseV3", accepted.json())
    done = inproc.wait(accepted.json()["statusUrl"])
    assert done["status"] == "succeeded", done
    async_schema("JobSucceededPayload", done)
    result = done["result"]
    assert result["size"] == {"width": 96, "height": 64}
    assert [o["seed"] for o in result["outputs"]] == [3, 4]
    assert all(o["lampyris"]["engine"] == "diffusion" for o in result["outputs"])
    first, second = _outputs(inproc, result)
    assert first.format == second.format == "JPEG"
    assert first.size == second.size == (96, 64)
    a, b = np.asarray(first, dtype=int), np.asarray(second, dtype=int)
    assert a.std() > 1, "a painted picture, not a blank canvas"
    assert np.abs(a - b).mean() > 1, "two seeds, two pictures"


def test_generate_sync_answers_the_sdk_shape_and_seeds_reproduce(
    inproc: InProcessServer, configured: Path, sdk_schema: Validator
) -> None:
    body = {"prompt": "a lighthouse", "seeds": [7], "size": {"width": 64, "height": 64},
            "contentClass": "photo", "lampyris": {"format": "png"}}
    answers = [inproc.post("/v3/images/generate", body) for _ in range(2)]
    assert all(a.status_code == 200 for a in answers), answers[0].text
    result = answers[0].json()
    sdk_schema("GenerateImagesResponse", result)
    assert result["contentClass"] == "photo"
    assert result["promptHasDeniedWords"] is False
    assert result["promptHasBlockedArtists"] is False
    (one,), (two,) = (_outputs(inproc, a.json()) for a in answers)
    assert one.format == "PNG" and one.size == (64, 64)
    assert np.array_equal(np.asarray(one), np.asarray(two)), "the same seed, the same pixels"


def test_generate_similar_from_an_upload(
    inproc: InProcessServer, configured: Path, sdk_schema: Validator
) -> None:
    photo = np.zeros((60, 80, 3), np.uint8)
    photo[:, :40] = (200, 40, 40)
    photo[:, 40:] = (40, 40, 200)
    upload = inproc.upload(png(photo))
    answer = inproc.post(SIMILAR, {"image": {"source": {"uploadId": upload}},
                                   "numVariations": 2, "size": {"width": 80, "height": 60},
                                   "lampyris": {"format": "png"}})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    sdk_schema("GenerateSimilarImagesResponse", result)
    assert "contentClass" not in result
    assert len({o["seed"] for o in result["outputs"]}) == 2, "numVariations: fresh seeds"
    outputs = _outputs(inproc, result)
    assert [o.size for o in outputs] == [(80, 60), (80, 60)]
    assert all(o.format == "PNG" for o in outputs)

    unknown = inproc.post(SIMILAR, {"image": {"source": {"uploadId": "nope"}}})
    assert unknown.status_code in (400, 422), unknown.text
    assert "nope" in unknown.json()["message"]


def test_generate_without_size_is_adobes_default(
    inproc: InProcessServer, configured: Path
) -> None:
    done = inproc.run("/v3/images/generate-async", {"prompt": "a field", "seeds": [1]})
    assert done["result"]["size"] == {"width": 2048, "height": 2048}


def test_generate_similar_takes_a_multipart_body(
    inproc: InProcessServer, configured: Path
) -> None:
    photo = np.zeros((48, 64, 3), np.uint8)
    photo[:, 32:] = 220
    files = {"request": (None, '{"image": {"source": {}}, "seeds": [9], '
                               '"size": {"width": 64, "height": 48}}', "application/json"),
             "files": ("ref.png", png(photo), "image/png")}
    accepted = inproc.http.post(f"{SIMILAR}-async", files=files, headers=inproc.headers())
    assert accepted.status_code == 202, accepted.text
    done = inproc.wait(accepted.json()["statusUrl"])
    assert done["status"] == "succeeded", done
    (out,) = _outputs(inproc, done["result"])
    assert out.format == "JPEG" and out.size == (64, 48)
