"""ONNX Runtime sessions: provider choice, the per-process cache, input preparation and
prediction, with the real u2netp and with a tiny hand-built model whose output is known."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from lampyris.errors import ModelChecksumError, ModelError
from lampyris.models import (
    REGISTRY,
    MattingSession,
    ModelSpec,
    ModelStore,
    SessionOptions,
    get_session,
    resolve_spec,
)
from lampyris.models.onnx_engine import choose_providers
from lampyris.models.sources import LocalFile
from lampyris.models.spec import NORMALISATIONS

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

# --- providers ----------------------------------------------------------------------------------


def test_auto_ends_with_cpu_and_keeps_only_available_providers() -> None:
    chosen = choose_providers(["auto"])
    assert chosen[-1] == CPU
    assert set(chosen) <= set(ort.get_available_providers())
    assert len(chosen) == len(set(chosen))


@pytest.mark.parametrize(
    ("available", "wanted", "expected"),
    [
        ([CUDA, CPU], ["auto"], [CUDA, CPU]),
        ([CPU, CUDA, "AzureExecutionProvider"], ["auto"], [CUDA, CPU]),  # Azure is not auto
        ([CPU], ["auto"], [CPU]),
        ([CUDA, CPU], ["NoSuchExecutionProvider"], [CPU]),  # unknown: dropped
        ([CPU], [CUDA], [CPU]),  # not in this build: dropped
        ([CUDA, CPU], [CPU, "auto"], [CPU, CUDA]),  # order kept, no duplicates
        ([CUDA, CPU], [CUDA, "auto", CUDA], [CUDA, CPU]),
        ([CUDA, CPU], [], [CPU]),
    ],
)
def test_choose_providers(
    monkeypatch: pytest.MonkeyPatch, available: list[str], wanted: list[str], expected: list[str]
) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: available)
    assert choose_providers(wanted) == expected


def test_session_options_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMPYRIS_MODELS_PROVIDERS", '["auto"]')
    monkeypatch.setenv("LAMPYRIS_MODELS_INTRA_OP_THREADS", "2")
    assert SessionOptions.from_settings() == SessionOptions(("auto",), 2, 1)


# --- the session cache --------------------------------------------------------------------------


def test_get_session_returns_the_same_session(u2netp: MattingSession) -> None:
    spec = resolve_spec("u2netp")
    first = get_session(spec)
    assert get_session(spec) is first
    assert get_session(spec, SessionOptions.from_settings()) is first
    assert first is u2netp
    assert first.spec is REGISTRY["u2netp"]
    assert first.providers[-1] == (CPU if first.choice.runtime == "onnxruntime" else "OpenVINO CPU")


def test_get_session_keys_on_the_options(tiny_onnx: Callable[..., Path]) -> None:
    spec = resolve_spec(str(tiny_onnx("keyed.onnx")))
    one = get_session(spec, SessionOptions(intra_op_threads=1))
    assert get_session(spec, SessionOptions(intra_op_threads=1)) is one
    assert get_session(spec, SessionOptions(intra_op_threads=2)) is not one


# --- u2netp -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def disc_predictions(u2netp: MattingSession, disc: Any) -> dict[bool, np.ndarray]:
    """u2netp's matte of the standard disc, with and without the flip (inference is slow)."""
    modes = {True: "always", False: "never"}
    return {flip: u2netp.predict(disc.rgb, mirror=mode) for flip, mode in modes.items()}


@pytest.mark.parametrize("flip", [True, False])
def test_u2netp_predicts_the_disc(
    u2netp: MattingSession,
    disc: Any,
    disc_predictions: dict[bool, np.ndarray],
    iou_of: Callable[..., float],
    flip: bool,
) -> None:
    pred = disc_predictions[flip]
    w, h = u2netp.spec.input_size
    assert pred.shape == (h, w)
    assert pred.dtype == np.float32
    assert float(pred.min()) >= 0.0
    assert float(pred.max()) <= 1.0
    truth = cv2.resize(disc.mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    assert iou_of(pred > 0.5, truth) > 0.95
    assert float(pred[~truth].mean()) < 0.05
    assert float(pred[truth].mean()) > 0.95


def test_flip_averages_a_mirrored_run(
    u2netp: MattingSession, disc: Any, disc_predictions: dict[bool, np.ndarray]
) -> None:
    mirrored = u2netp.predict(np.ascontiguousarray(disc.rgb[:, ::-1]), mirror="never")[:, ::-1]
    expected = (disc_predictions[False] + mirrored) / 2
    np.testing.assert_allclose(disc_predictions[True], expected, atol=1e-5)
    assert not np.array_equal(disc_predictions[True], disc_predictions[False])


@pytest.mark.parametrize("shape", ["disc", "rounded"])
@pytest.mark.parametrize("gradient", [False, True])
def test_u2netp_segments_generated_subjects(
    u2netp: MattingSession,
    make_subject: Callable[..., Any],
    iou_of: Callable[..., float],
    shape: str,
    gradient: bool,
) -> None:
    subject = make_subject(320, 480, shape=shape, gradient=gradient)
    pred = u2netp.predict(subject.rgb, mirror="never")
    pred = cv2.resize(pred, (480, 320), interpolation=cv2.INTER_LINEAR)
    assert iou_of(pred > 0.5, subject.mask) > 0.9


@pytest.mark.parametrize("shape", [(240, 320), (500, 200), (320, 320), (100, 80)])
def test_prepare_makes_a_normalised_nchw_batch(
    u2netp: MattingSession, shape: tuple[int, int]
) -> None:
    rgb = np.zeros((*shape, 3), np.uint8)
    rgb[..., 0] = 255
    batch = u2netp.prepare(rgb)
    assert batch.shape == (1, 3, 320, 320)
    assert batch.dtype == np.float32
    assert batch.flags.c_contiguous
    mean, std = np.array(REGISTRY["u2netp"].normalisation.mean), np.array(
        REGISTRY["u2netp"].normalisation.std)
    expected = (np.array([1.0, 0.0, 0.0]) - mean) / std  # "max" scaling: divided by 255 here
    np.testing.assert_allclose(batch[0, :, 160, 160], expected, rtol=1e-5)


# --- a tiny model with a known output -----------------------------------------------------------


def _tiny_session(
    path: Path, tmp_path: Path, *, normalisation: str = "half", size: tuple[int, int] = (64, 48),
    output: str = "probability", min_max: bool = False
) -> MattingSession:
    spec = ModelSpec(
        name="tiny", input_size=size, normalisation=NORMALISATIONS[normalisation],
        sources=(LocalFile(path),), output=output, min_max=min_max,  # type: ignore[arg-type]
    )
    return MattingSession(spec, ModelStore(tmp_path), SessionOptions())


def _mean_of_normalised(rgb: np.ndarray, normalisation: str) -> np.ndarray:
    norm = NORMALISATIONS[normalisation]
    x = rgb.astype(np.float64)
    x /= max(x.max(), 1.0) if norm.scaling == "max" else 255.0
    return ((x - np.array(norm.mean)) / np.array(norm.std)).mean(axis=2)


@pytest.mark.parametrize(
    ("normalisation", "colour"),
    [("half", (200, 100, 50)), ("imagenet", (200, 100, 50)), ("u2net", (120, 60, 30)),
     ("u2net", (0, 0, 0))],
)
def test_normalisation_reaches_the_network(
    tiny_onnx: Callable[..., Path], tmp_path: Path, normalisation: str, colour: tuple[int, ...]
) -> None:
    session = _tiny_session(tiny_onnx(), tmp_path, normalisation=normalisation)
    rgb = np.empty((48, 64, 3), np.uint8)
    rgb[:] = colour
    pred = session.predict(rgb, mirror="never")
    expected = np.clip(_mean_of_normalised(rgb, normalisation), 0.0, 1.0)
    np.testing.assert_allclose(pred, expected, atol=1e-5)


@pytest.mark.parametrize(("size", "image"), [((64, 48), (48, 64)), ((32, 96), (200, 100))])
def test_prediction_has_the_network_size_height_by_width(
    tiny_onnx: Callable[..., Path], tmp_path: Path, size: tuple[int, int], image: tuple[int, int]
) -> None:
    path = tiny_onnx(height="h", width="w")  # dynamic: any input size runs
    session = _tiny_session(path, tmp_path, size=size, min_max=True)
    rng = np.random.default_rng(1)
    pred = session.predict(rng.integers(0, 256, (*image, 3), dtype=np.uint8))
    assert pred.shape == (size[1], size[0])


def test_logits_go_through_a_sigmoid(tiny_onnx: Callable[..., Path], tmp_path: Path) -> None:
    session = _tiny_session(tiny_onnx(), tmp_path, output="logits")
    xx = np.linspace(0, 255, 64, dtype=np.float32)
    rgb = np.repeat(np.repeat(xx[None, :, None], 48, axis=0), 3, axis=2).astype(np.uint8)
    pred = session.predict(rgb, mirror="never")
    expected = 1.0 / (1.0 + np.exp(-_mean_of_normalised(rgb, "half")))
    np.testing.assert_allclose(pred, expected, atol=1e-5)
    assert 0.3 < float(pred.min()) < float(pred.max()) < 0.7


def test_min_max_stretches_to_the_full_range(
    tiny_onnx: Callable[..., Path], tmp_path: Path
) -> None:
    session = _tiny_session(tiny_onnx(), tmp_path, min_max=True)
    rng = np.random.default_rng(5)
    rgb = rng.integers(60, 180, (48, 64, 3), dtype=np.uint8)
    pred = session.predict(rgb, mirror="never")
    assert float(pred.min()) == 0.0
    assert float(pred.max()) == pytest.approx(1.0, abs=1e-6)
    raw = _mean_of_normalised(rgb, "half")
    np.testing.assert_allclose(pred, (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-4)
    flat = session.predict(np.full((48, 64, 3), 128, np.uint8), mirror="never")
    assert np.all(flat == 0.0)  # no contrast at all: nothing is subject


def test_flip_is_mirrored_back(tiny_onnx: Callable[..., Path], tmp_path: Path) -> None:
    """The tiny model is mirror-symmetric, so a correct flip-and-average changes nothing."""
    session = _tiny_session(tiny_onnx(), tmp_path)
    xx = np.linspace(0, 255, 64, dtype=np.float32)
    rgb = np.repeat(np.repeat(xx[None, :, None], 48, axis=0), 3, axis=2).astype(np.uint8)
    np.testing.assert_allclose(
        session.predict(rgb, mirror="always"), session.predict(rgb, mirror="never"), atol=1e-6
    )


# --- loading errors -----------------------------------------------------------------------------


def test_a_broken_file_is_a_model_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"definitely not protobuf")
    spec = ModelSpec(name="broken", input_size=(8, 8), sources=(LocalFile(path),))
    with pytest.raises(ModelError, match="could not load model 'broken'"):
        MattingSession(spec, ModelStore(tmp_path), SessionOptions())


def test_a_tampered_file_is_refused_before_loading(
    tmp_path: Path, u2netp_copy: Path, tamper: Callable[..., None]
) -> None:
    tamper(u2netp_copy)
    spec = ModelSpec(name="u2netp", input_size=(320, 320), sha256=REGISTRY["u2netp"].sha256,
                     sources=(LocalFile(u2netp_copy),))
    with pytest.raises(ModelChecksumError):
        get_session(spec, SessionOptions(), ModelStore(tmp_path))


def test_auto_mirror_pass_runs_only_when_unsure(
    tiny_onnx: Callable[..., Path], tmp_path: Path
) -> None:
    """``auto`` equals ``never`` on a decided matte and ``always`` on an undecided one."""
    from lampyris.models.session import unsure_fraction

    session = _tiny_session(tiny_onnx(), tmp_path, normalisation="imagenet")
    ramp = np.linspace(0, 255, 64, dtype=np.float32)
    undecided = np.repeat(np.repeat(ramp[None, :, None], 48, axis=0), 3, axis=2)
    undecided[:, :32] = undecided[:, :32] * 0.2  # asymmetric: the mirror pass changes it
    undecided = undecided.astype(np.uint8)
    assert unsure_fraction(session.predict(undecided, mirror="never")) > 0.05
    np.testing.assert_array_equal(
        session.predict(undecided, mirror="auto"), session.predict(undecided, mirror="always")
    )
    decided = np.zeros((48, 64, 3), np.uint8)
    decided[:, 20:] = 255
    assert unsure_fraction(session.predict(decided, mirror="never")) <= 0.05
    np.testing.assert_array_equal(
        session.predict(decided, mirror="auto"), session.predict(decided, mirror="never")
    )
