"""Hostile requests against a live server: nothing on the server's disk is exposed through a
model name, no option can make an image past the pixel cap, no body is bigger than the
request limit, and a job row keeps the validated options, not the body as sent.

The server here has a model directory (``LAMPYRIS_MODEL_DIR``) holding ``house.onnx``, and a
pixel cap of 4 MP, so the limits are the server's settings and not constants.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from lampyris.models import REGISTRY, ModelStore
from lampyris.storage import Blob
from support.http_server import ScriptedServer, serve
from support.lampyris_server import LampyrisServer, running_server
from support.procs import remove_tree, short_tempdir

CAP = 4_000_000
LIMIT = 10 * 1024 * 1024  # the default LAMPYRIS_MAX_REQUEST_BYTES
LEAK = "LEAKED-SIDECAR-VALUE"


@pytest.fixture(scope="module")
def files(photo: bytes) -> Iterator[ScriptedServer]:
    state = ScriptedServer()
    state.objects["/photo.jpg"] = Blob(photo, "image/jpeg")
    yield from serve(state, None)


@pytest.fixture(scope="module")
def disk() -> Iterator[dict[str, Path]]:
    """The operator's model directory, and files elsewhere on the server's disk."""
    root = short_tempdir("lampyris-disk-")
    models, outside = root / "models", root / "outside"
    models.mkdir()
    outside.mkdir()
    u2netp = ModelStore().locate(REGISTRY["u2netp"])
    assert u2netp is not None
    shutil.copyfile(u2netp, models / "house.onnx")
    shutil.copyfile(u2netp, outside / "secret.onnx")
    (outside / "notes.txt").write_text("not a model\n")
    (outside / "sidecar.onnx").write_text("not a model either\n")
    (outside / "sidecar.onnx.json").write_text(json.dumps({"normalisation": LEAK}))
    try:
        yield {"models": models, "outside": outside}
    finally:
        remove_tree(root)


@pytest.fixture(scope="module")
def hostile(disk: dict[str, Path]) -> Iterator[LampyrisServer]:
    with running_server("lampyris-hostile-", workers=1, env={
        "LAMPYRIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8",
        "LAMPYRIS_MODEL_DIR": str(disk["models"]),
        "LAMPYRIS_IMAGING_MAX_PIXELS": str(CAP),
    }) as live:
        yield live


def _sensei(files: ScriptedServer, name: str, **lampyris: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input": {"href": files.url("/photo.jpg"), "storage": "external"},
        "output": {"href": files.url(f"/out/{name}.png"), "storage": "external"},
    }
    if lampyris:
        body["lampyris"] = lampyris
    return body


def _v2(files: ScriptedServer, **lampyris: Any) -> dict[str, Any]:
    return {"image": {"source": {"url": files.url("/photo.jpg")}}, "lampyris": lampyris}


def _message(route: str, answer: httpx.Response) -> str:
    """The one-line reason, after checking the family's error shape."""
    error = answer.json()
    if route.startswith("/sensei/"):
        assert error["type"] == "InputValidationError" and error["code"] == str(
            answer.status_code), error
        return str(error["title"])
    return str(error["message"])


def _still_serving(live: LampyrisServer, files: ScriptedServer) -> None:
    assert httpx.get(f"{live.url}/health", timeout=10).json()["status"] == "ok"
    answer = live.post("/sensei/cutout", _sensei(files, "after"))
    assert answer.status_code == 202, answer.text


# --- model names --------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/sensei/cutout", "/v2/remove-background"])
def test_a_server_path_as_model_gets_one_answer_whatever_the_file(
    hostile: LampyrisServer, files: ScriptedServer, disk: dict[str, Path], route: str
):
    assert hostile.proc is not None
    outside = disk["outside"]
    names = [
        str(outside / "secret.onnx"),  # an ONNX file that exists
        str(outside / "missing.onnx"),  # one that does not
        str(outside / "notes.txt"),  # a file that is not a model
        str(outside / "sidecar.onnx"),  # one whose .json sidecar was read and echoed
        "/proc/self/environ", f"/proc/{hostile.proc.pid}/cmdline", "/etc/passwd",
        "../outside/secret.onnx", str(disk["models"] / "house.onnx"), "missing.onnx",
    ]
    messages = set()
    for name in names:
        body = (_sensei(files, "path", model=name) if route.startswith("/sensei/")
                else _v2(files, model=name))
        answer = hostile.post(route, body)
        assert answer.status_code == 400, (name, answer.text)
        message = _message(route, answer)
        assert LEAK not in message and str(hostile.proc.pid) not in message.replace(name, "")
        messages.add(message.replace(repr(name), "<name>"))
    assert messages == {"invalid options: unknown model <name>: one of u2netp, u2net, house.onnx"}


def test_a_file_of_the_model_directory_is_served_by_name(
    hostile: LampyrisServer, files: ScriptedServer
):
    answer = hostile.post("/sensei/cutout", _sensei(files, "house", model="house.onnx"))
    assert answer.status_code == 202, answer.text
    status = hostile.wait(answer.json()["_links"]["self"]["href"])
    assert status["status"] == "succeeded", status
    assert status["metadata"]["model"] == "house.onnx"  # not where the directory is
    assert files.objects["/out/house.png"].data.startswith(b"\x89PNG")


# --- options ------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "words"), [
    ({"padding": "6000"}, "padding 6000 px makes an image of 12001x12001"),
    ({"padding": "1e9"}, "padding 1e+09 px makes an image"),
    ({"padding": "1e999"}, "padding must be a finite length"),
    ({"padding": "501%"}, "padding must be at most 500%"),
    ({"canvas": "2001x2000"}, "canvas 2001x2000 makes an image of 2001x2000 = 4,002,000 pixels"),
    ({"canvas": "16385x10"}, "canvas sides must be 1-16384 px"),
    ({"padding": "6" * 100}, "at most 32 characters"),
    ({"model": "u2netp" * 100}, "at most 255 characters"),
])
def test_options_beyond_their_bounds_are_400s(
    hostile: LampyrisServer, files: ScriptedServer, options: dict[str, str], words: str
):
    for route, body in (("/sensei/cutout", _sensei(files, "bounds", **options)),
                        ("/v2/remove-background", _v2(files, **options))):
        answer = hostile.post(route, body)
        assert answer.status_code == 400, answer.text
        assert words in _message(route, answer), answer.text
    if "padding 6000" in words:  # the limit is the server's cap, not a constant
        assert "the limit is 4,000,000 pixels" in _message(route, answer)


def test_nan_and_infinity_are_400s(hostile: LampyrisServer, files: ScriptedServer):
    for raw in ('{"lampyris": {"shadow_opacity": NaN}}', '{"colorDecontamination": Infinity}'):
        body = json.loads(raw) | {"image": {"source": {"url": files.url("/photo.jpg")}}}
        text = json.dumps(body)  # json writes NaN and Infinity back as they came
        answer = httpx.post(f"{hostile.url}/v2/remove-background", content=text,
                            headers={**hostile.headers(), "Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error_code"] == "validation_error"


def test_percent_padding_past_the_cap_fails_the_job_before_allocating(
    hostile: LampyrisServer, files: ScriptedServer
):
    """500 % of the 320 px disc is a 3520 px square: past the 4 MP cap, which only the
    subject's size can tell, so the job fails (400, invalid_input) instead of making it."""
    answer = hostile.post("/v2/remove-background",
                          _v2(files, padding="500%") | {"trim": True})
    assert answer.status_code == 202, answer.text
    status = hostile.wait(answer.json()["statusUrl"])
    assert status["status"] == "failed", status
    assert status["error_code"] == "invalid_input"
    assert "padding 500% makes an image of" in status["message"]
    assert "the limit is 4,000,000 pixels" in status["message"]
    _still_serving(hostile, files)


# --- bodies -------------------------------------------------------------------------------


def _junk_body(size: int) -> bytes:
    return b'{"junk": "' + b"x" * size + b'"}'


@pytest.mark.parametrize(("route", "shape"), [
    ("/sensei/cutout", {"type": "InputValidationError", "code": "413",
                        "error_code": "request_too_large"}),
    ("/v2/remove-background", {"error_code": "request_too_large"}),
    ("/lrService/edit", {"type": "error", "code": "request_too_large"}),
    ("/v3/images/fill-async", {"error_code": "request_too_large"}),
])
def test_a_20_mb_body_gets_413_and_the_server_keeps_serving(
    hostile: LampyrisServer, files: ScriptedServer, route: str, shape: dict[str, str]
):
    headers = {**hostile.headers(), "Content-Type": "application/json"}
    declared = httpx.post(f"{hostile.url}{route}", content=_junk_body(20 << 20),
                          headers=headers, timeout=60)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the bytes are counted as they come
        yield b'{"junk": "'
        for _ in range(20):
            yield b"x" * (1 << 20)
        yield b'"}'

    streamed = httpx.post(f"{hostile.url}{route}", content=chunks(), headers=headers,
                          timeout=60)
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text[:500]
        error = answer.json()
        assert shape.items() <= error.items(), error
        assert f"the request body is larger than {LIMIT:,} bytes" in json.dumps(error)
    _still_serving(hostile, files)


def test_a_body_just_under_the_limit_is_read(hostile: LampyrisServer, files: ScriptedServer):
    body = json.dumps(_sensei(files, "under") | {"junk": "x" * (LIMIT - 4096)})
    answer = httpx.post(f"{hostile.url}/sensei/cutout", content=body, timeout=60,
                        headers={**hostile.headers(), "Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text


def test_an_upload_keeps_its_own_larger_limit(hostile: LampyrisServer):
    noise = np.random.default_rng(13).integers(0, 256, (1800, 2000, 3), np.uint8)
    png = io.BytesIO()
    Image.fromarray(noise).save(png, "PNG", compress_level=0)
    assert png.tell() > LIMIT
    answer = httpx.post(f"{hostile.url}/v2/storage/image", content=png.getvalue(), timeout=60,
                        headers={**hostile.headers(), "Content-Type": "image/png"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["images"][0]["id"]


# --- what a job row keeps -----------------------------------------------------------------


def _row(live: LampyrisServer, job_id: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    with sqlite3.connect(live.data_dir / "lampyris.db") as db:
        size, task, request = db.execute(
            "SELECT length(task) + length(request), task, request FROM jobs WHERE id = ?",
            (job_id,)).fetchone()
    return size, json.loads(task), json.loads(request)


def test_a_job_row_keeps_the_validated_options_only(
    hostile: LampyrisServer, files: ScriptedServer
):
    junk = "x" * (2 << 20)
    body = _sensei(files, "extras", padding=" 6 % ", junk=junk) | {
        "options": {"optimize": "batch", "junk": junk}, "junk": junk,
    }
    body["input"]["junk"] = junk
    for _ in range(3):
        answer = hostile.post("/sensei/cutout", body)
        assert answer.status_code == 202, answer.text[:500]
        size, task, request = _row(hostile, answer.json()["_links"]["self"]["href"].rsplit(
            "/", 1)[-1])
        assert size < 4096, size
        assert task["params"] == {"mode": "cutout", "padding": "6%"}
        assert "junk" not in json.dumps(request)
        assert request["options"] == {"optimize": "batch"}


@pytest.mark.parametrize(("route", "body", "status"), [
    ("/sensei/cutout", {"options": {"optimize": "x" * 100_000}}, 400),
    ("/v3/images/fill-async", {"promptBiasingLocaleCode": "x" * 100_000}, 422),
    ("/v3/images/generate-object-composite-async",
     {"prompt": "a table", "style": {"presets": ["x" * 100_000]}}, 422),
    ("/v3/images/generate-object-composite-async",
     {"prompt": "a table", "style": {"presets": ["art"] * 1000}}, 422),
    ("/v3/images/expand-async", {"placement": {"inset": {"left": 10**12}}}, 422),
    ("/v2/edit", {"outputs": [{"destination": {"creativeCloudPath": "x" * 100_000},
                               "mediaType": "image/png"}]}, 400),
])
def test_huge_strings_and_lists_in_known_fields_are_refused(
    hostile: LampyrisServer, files: ScriptedServer, route: str, body: dict[str, Any],
    status: int
):
    image = {"source": {"url": files.url("/photo.jpg")}}
    base: dict[str, Any] = {"image": image}
    if route.startswith("/sensei/"):
        base = _sensei(files, "huge")
    elif "fill" in route:
        base["mask"] = {"source": {"url": files.url("/photo.jpg")}}
    elif route == "/v2/edit":
        base["outputs"] = [{"destination": {}, "mediaType": "image/png"}]
    answer = hostile.post(route, base | body)
    assert answer.status_code == status, answer.text[:500]
    assert len(answer.content) < 4096  # the value is not echoed back
