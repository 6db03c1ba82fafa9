"""A job's task end to end in-process: fetch through a storage, run the op, deliver."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lampyris.errors import CorruptImageError, InvalidParameterError, StorageDeniedError
from lampyris.failure import Failure
from lampyris.jobs import Task, TaskFailure, WorkerEnv, execute
from lampyris.storage import LocalObjectStore, MemoryStorage, StorageRef, StorageSettings


def _jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
def env(tmp_path: Path) -> WorkerEnv:
    return WorkerEnv(storage=StorageSettings(), objects_dir=tmp_path / "objects",
                     objects_secret=b"k" * 32)


@pytest.fixture
def storage(disc) -> MemoryStorage:
    memory = MemoryStorage()
    memory.put("mem://in.jpg", _jpeg(disc.rgb), "image/jpeg")
    return memory


def test_task_json_round_trips():
    task = Task(op="cutout", input=StorageRef("https://a/b.jpg", "azure"),
                params={"mode": "mask"}, output=StorageRef("https://a/c.png", "dropbox"),
                media_type="image/png")
    assert Task.model_validate(task.model_dump(mode="json")) == task
    hosted = Task(op="cutout", input=StorageRef("https://a/b.jpg"), hosted_prefix="r/1/")
    assert Task.model_validate(hosted.model_dump(mode="json")) == hosted
    develop = Task(op="edit", input=StorageRef("https://a/b.jpg"), output=StorageRef("https://o"),
                   attachments={"presets": [StorageRef("https://a/p.xmp")]}, quality=75,
                   png_compression=9)
    assert Task.model_validate(develop.model_dump(mode="json")) == develop


def test_rows_written_before_encoder_options_still_load():
    old = {"op": "cutout", "input": {"href": "https://a/b.jpg", "storage": "external"},
           "params": {}, "output": None, "hosted_prefix": "r/", "media_type": None}
    task = Task.model_validate(old)
    assert (task.quality, task.png_compression, task.attachments) == (None, None, {})


def test_develop_task_flattens_rgba_for_jpeg_at_the_asked_quality(env: WorkerEnv, disc):
    rgba = np.dstack([disc.rgb, np.where(disc.mask, 255, 0).astype(np.uint8)])
    png = io.BytesIO()
    Image.fromarray(rgba).save(png, "PNG")
    storage = MemoryStorage()
    storage.put("mem://in.png", png.getvalue(), "image/png")
    sizes = []
    for quality in (95, 30):
        task = Task(op="edit", input=StorageRef("mem://in.png"), output=StorageRef("mem://o"),
                    media_type="image/jpeg", quality=quality)
        execute(task, env, storage)
        image = Image.open(io.BytesIO(storage.objects["mem://o"].data))
        assert image.mode == "RGB"
        assert np.median(np.asarray(image)[disc.exterior(12)]) >= 250, "transparency: white"
        sizes.append(len(storage.objects["mem://o"].data))
    assert sizes[1] < sizes[0]


def test_cutout_to_a_storage_reference(storage: MemoryStorage, env: WorkerEnv, disc):
    task = Task(op="cutout", input=StorageRef("mem://in.jpg"),
                output=StorageRef("mem://out.png"), media_type="image/png")
    result = execute(task, env, storage)
    written = storage.objects["mem://out.png"]
    assert written.content_type == "image/png"
    rgba = np.asarray(Image.open(io.BytesIO(written.data)))
    assert rgba.shape == (*disc.rgb.shape[:2], 4)
    assert (rgba[..., 3][disc.interior()] == 255).all()
    assert (rgba[..., 3][disc.exterior()] == 0).all()
    (output,) = result["outputs"]
    assert output == {"mediaType": "image/png", "width": 320, "height": 240,
                      "bytes": len(written.data), "key": None}
    assert set(result["metadata"]["timings"]) >= {"fetch", "decode", "ops", "encode", "deliver"}
    box = result["metadata"]["subject_box"]
    assert all(abs(a - b) <= 2 for a, b in zip(box, disc.box, strict=True))


def test_hosted_output_keeps_the_input_format_and_flattens_jpeg(
    storage: MemoryStorage, env: WorkerEnv, disc
):
    task = Task(op="cutout", input=StorageRef("mem://in.jpg"), hosted_prefix="results/j1/")
    result = execute(task, env, storage)
    (output,) = result["outputs"]
    assert output["mediaType"] == "image/jpeg" and output["key"] == "results/j1/output.jpg"
    blob = LocalObjectStore(env.objects_dir, env.objects_secret).get(output["key"])
    image = Image.open(io.BytesIO(blob.data))
    assert image.format == "JPEG" and image.mode == "RGB"
    pixels = np.asarray(image)
    assert pixels[disc.exterior(12)].min() > 235, "background flattened on white"


def test_mask_mode_writes_greyscale(storage: MemoryStorage, env: WorkerEnv, disc):
    task = Task(op="cutout", input=StorageRef("mem://in.jpg"), params={"mode": "mask",
                "mask_format": "binary"}, output=StorageRef("mem://m.png"),
                media_type="image/png")
    execute(task, env, storage)
    mask = np.asarray(Image.open(io.BytesIO(storage.objects["mem://m.png"].data)))
    assert mask.ndim == 2 and set(np.unique(mask)) == {0, 255}


@pytest.mark.parametrize(("href", "data", "stage", "error"), [
    ("mem://missing.jpg", None, "input", StorageDeniedError),
    ("mem://broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100, "image", CorruptImageError),
])
def test_failures_carry_their_stage(env: WorkerEnv, href: str, data: bytes | None,
                                    stage: str, error: type):
    storage = MemoryStorage()
    if data is not None:
        storage.put(href, data)
    with pytest.raises(TaskFailure) as caught:
        execute(Task(op="cutout", input=StorageRef(href), output=StorageRef("mem://o")),
                env, storage)
    assert caught.value.stage == stage and isinstance(caught.value.error, error)
    described = Failure.read(caught.value.describe())
    assert described.stage == stage and described.error_class() is error
    assert "mem://o" not in storage.objects, "nothing delivered for a failed job"


def test_unknown_media_type_is_refused(storage: MemoryStorage, env: WorkerEnv):
    task = Task(op="cutout", input=StorageRef("mem://in.jpg"), hosted_prefix="r/",
                media_type="image/gif")
    with pytest.raises(TaskFailure) as caught:
        execute(task, env, storage)
    assert isinstance(caught.value.error, InvalidParameterError)
    assert "image/png" in str(caught.value)
