"""A fill whose fidelity guard does not hold is refused with the same reason by every entry
point: the ``fill`` command, a batch item and a server job, and nothing is delivered.

The guard cannot fail with the engines as they are (every one passes through ``enforce``), so
the tests break ``enforce`` in this process, the one thing mocked: the command runs fills in
this process, and the batch item and the server task are run here by their own functions."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from PIL import Image
from typer.testing import CliRunner

from lampyris.api.errors import describe_failure
from lampyris.cli.app import app
from lampyris.errors import FidelityError
from lampyris.jobs import Task, TaskFailure, WorkerEnv, execute
from lampyris.storage import MemoryStorage, StorageRef, StorageSettings
from lampyris.storage.locations import Location
from lampyris.workflows.item import WorkItem, process
from lampyris.workflows.steps import OutputSpec, make_steps
from support import fill_scenes

REASON = "the fidelity guard did not hold: 1 pixels outside the mask changed (by up to 99 levels)"


@pytest.fixture(autouse=True)
def leaky_enforce(monkeypatch: pytest.MonkeyPatch) -> None:
    fill_scenes.leak_one_pixel(monkeypatch)


def _cutout_png() -> bytes:
    """A red square on transparency: the fill draws the background around it."""
    rgba = np.zeros((120, 160, 4), np.uint8)
    rgba[30:90, 50:110] = (200, 30, 30, 255)
    out = io.BytesIO()
    Image.fromarray(rgba).save(out, "PNG")
    return out.getvalue()


def test_the_fill_command_refuses_it(tmp_path: Path) -> None:
    (tmp_path / "in.png").write_bytes(_cutout_png())
    result = CliRunner().invoke(app, ["fill", str(tmp_path / "in.png"), "-o",
                                      str(tmp_path / "out"), "--prompt", "white marble"])
    assert result.exit_code == 1
    assert REASON in " ".join(result.output.split())
    assert not (tmp_path / "out" / "in.png").exists()


def test_a_batch_item_fails_with_it() -> None:
    memfs = MemoryFileSystem()
    memfs.pipe_file("/in/a.png", _cutout_png())
    item = WorkItem(Location("memory://in"), "/in/a.png", Location("memory://out"),
                    "/out/a.png", tuple(make_steps([("fill", {"prompt": "oak table"})])),
                    OutputSpec())
    outcome = process(item)
    assert not outcome.ok and not outcome.retryable
    assert outcome.error is not None and REASON in outcome.error
    assert not memfs.exists("/out/a.png")


def test_a_server_job_fails_with_it(tmp_path: Path) -> None:
    storage = MemoryStorage()
    storage.put("mem://in.png", _cutout_png(), "image/png")
    env = WorkerEnv(storage=StorageSettings(), objects_dir=tmp_path / "objects",
                    objects_secret=b"k" * 32)
    task = Task(op="fill", input=StorageRef("mem://in.png"), params={"prompt": "linen"},
                output=StorageRef("mem://out.png"), media_type="image/png")
    with pytest.raises(TaskFailure) as caught:
        execute(task, env, storage)
    assert isinstance(caught.value.error, FidelityError)
    failure = describe_failure(caught.value.describe())
    assert REASON in failure.message and failure.status == 500
    assert "mem://out.png" not in storage.objects
