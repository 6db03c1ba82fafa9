"""The ``diffusion`` fill engine: a diffusers inpainting pipeline paints the hole from a prompt.

Optional (``pip install 'lampyris[diffusion]'``): torch and diffusers are imported only when a
fill runs, so the base package never pays for them. The weights are the operator's: a local
diffusers directory (SD 1.5 / SDXL inpainting, FLUX Fill) named by ``LAMPYRIS_DIFFUSION_MODEL``;
hub ids resolve from the local Hugging Face cache unless downloads are allowed.

The model sees a square-ish crop around the mask, scaled so its long side is the pipeline's
working resolution; the result is scaled back, pasted in, and passed through the fidelity
guard, so pixels outside the caller's mask are returned exactly as they came.

Usage::

    config = DiffusionConfig(model="/models/sd-inpainting")
    rgb, info = diffusion_fill(pixels, mask, "a wooden bench", seed=7, config=config)
"""

from __future__ import annotations

import inspect
import threading
import time
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lampyris.errors import InvalidParameterError, ModelError
from lampyris.imaging.fill.guard import enforce

FEATHER = 3  # px of the hole's rim over which the fill fades into the original
_GROW = 4  # px the pipeline's mask is dilated by, so the fill reaches under the feather
_INSTALL_HINT = (
    "install the extra with `pip install 'lampyris[diffusion]'` and set "
    "LAMPYRIS_DIFFUSION_MODEL to a local diffusers inpainting directory"
)


class DiffusionConfig(BaseSettings):
    """``LAMPYRIS_DIFFUSION_*`` environment variables; construct one directly to override.

    ``resolution`` is the working long side (None: the pipeline's native size, 512 for SD 1.5,
    1024 for SDXL and FLUX). Hub ids load with ``local_files_only`` unless ``allow_download``.
    """

    model_config = SettingsConfigDict(env_prefix="LAMPYRIS_DIFFUSION_", extra="ignore", frozen=True)

    model: str | None = None
    device: str = "auto"
    steps: int = Field(default=30, ge=1)
    guidance: float = Field(default=7.5, ge=0)
    resolution: int | None = Field(default=None, ge=64)
    allow_download: bool = False
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"


def diffusion_config() -> DiffusionConfig:
    """The configuration the environment describes (read anew on every call)."""
    return DiffusionConfig()


class _Loaded:
    """One pipeline and the lock that serialises its calls (a scheduler keeps per-run state)."""

    def __init__(self, pipe: Any, device: str) -> None:
        self.pipe = pipe
        self.device = device
        self.lock = threading.Lock()


_PIPELINES: dict[tuple[str, str, str], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def diffusion_fill(
    pixels: np.ndarray,
    mask: np.ndarray,
    prompt: str,
    *,
    negative_prompt: str = "",
    seed: int = 0,
    config: DiffusionConfig | None = None,
) -> tuple[np.ndarray, dict[str, object]]:
    """``pixels`` (HxWx3 uint8 RGB) with the non-zero area of ``mask`` (HxW) painted from
    ``prompt``, and what ran. Deterministic per ``seed`` on a given device (latents come from a
    CPU generator); pixels outside the mask are returned unchanged."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise InvalidParameterError("pixels must be an HxWx3 uint8 RGB array")
    if mask.shape != pixels.shape[:2]:
        raise InvalidParameterError(
            f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
            f"{pixels.shape[1]}x{pixels.shape[0]}"
        )
    config = config or diffusion_config()
    started = time.perf_counter()
    torch = _import_torch()
    loaded = _pipeline(config, torch)
    info: dict[str, object] = {
        "engine": "diffusion",
        "model": config.model,
        "device": loaded.device,
        "steps": config.steps,
        "seed": seed,
        "pipeline": type(loaded.pipe).__name__,
    }
    hole = mask.astype(bool)
    if not hole.any():
        return pixels.copy(), {**info, "seconds": round(time.perf_counter() - started, 3)}

    y0, y1, x0, x1 = _crop_box(hole)
    crop = pixels[y0:y1, x0:x1]
    grown = cv2.dilate(
        hole[y0:y1, x0:x1].astype(np.uint8) * 255, np.ones((3, 3), np.uint8), iterations=_GROW
    )
    width, height = _working_size(
        x1 - x0, y1 - y0, config.resolution or _native(loaded.pipe), _multiple(loaded.pipe)
    )
    kwargs: dict[str, Any] = {
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "image": Image.fromarray(_resize(crop, width, height)),
        "mask_image": Image.fromarray(
            cv2.resize(grown, (width, height), interpolation=cv2.INTER_NEAREST)
        ),
        "num_inference_steps": config.steps,
        "guidance_scale": config.guidance,
        "generator": torch.Generator(device="cpu").manual_seed(seed),
        "height": height,
        "width": width,
        "output_type": "np",
    }
    accepted = inspect.signature(type(loaded.pipe).__call__).parameters
    if not negative_prompt or "negative_prompt" not in accepted:  # FLUX Fill takes none
        kwargs.pop("negative_prompt")
    with loaded.lock:
        try:
            result = loaded.pipe(**kwargs)
        except (RuntimeError, ValueError) as exc:  # out of memory, a shape the model rejects
            raise ModelError(f"the diffusion pipeline failed: {exc}") from exc
    painted = np.clip(np.rint(np.asarray(result.images[0]) * 255.0), 0, 255).astype(np.uint8)

    filled = pixels.copy()
    filled[y0:y1, x0:x1] = _resize(painted, x1 - x0, y1 - y0)
    out = enforce(pixels, filled, mask, feather=FEATHER)
    flagged = getattr(result, "nsfw_content_detected", None)
    if flagged is not None:
        info["nsfw"] = bool(any(flagged))
    info["seconds"] = round(time.perf_counter() - started, 3)
    return out, info


def _import_torch() -> Any:
    try:
        import diffusers  # noqa: F401  (checked here so the error names the extra)
        import torch
    except ImportError as exc:
        raise ModelError(
            f"the diffusion engine needs torch and diffusers: {_INSTALL_HINT}"
        ) from exc
    return torch


def _pipeline(config: DiffusionConfig, torch: Any) -> _Loaded:
    """The cached pipeline for (model, device, dtype), loaded on first use."""
    if not config.model:
        raise ModelError(f"no diffusion model is configured: {_INSTALL_HINT}")
    device = _device(config.device, torch)
    dtype = _dtype(config.dtype, device, torch)
    key = (config.model, device, str(dtype))
    with _LOAD_LOCK:
        if key not in _PIPELINES:
            pipe = _load(config, dtype)
            try:
                pipe = pipe.to(device)
            except (RuntimeError, ValueError, AssertionError) as exc:
                raise ModelError(f"cannot move the diffusion model to {device!r}: {exc}") from exc
            pipe.set_progress_bar_config(disable=True)
            _PIPELINES[key] = _Loaded(pipe, device)
        return _PIPELINES[key]


def _load(config: DiffusionConfig, dtype: Any) -> Any:
    from diffusers import AutoPipelineForInpainting, DiffusionPipeline

    model = str(config.model)
    local = Path(model).expanduser()
    if local.exists():
        model = str(local)
    elif model.startswith((".", "/", "~")) or local.is_absolute():
        raise ModelError(
            f"diffusion model directory {model} does not exist: set LAMPYRIS_DIFFUSION_MODEL "
            "to a local diffusers inpainting directory"
        )
    options = {"dtype": dtype, "local_files_only": not config.allow_download}
    try:
        try:
            return AutoPipelineForInpainting.from_pretrained(model, **options)
        except ValueError as exc:
            if "AutoPipeline can't find" not in str(exc):
                raise
            # FLUX Fill and other fill-only pipelines have no text-to-image sibling to map from.
            pipe = DiffusionPipeline.from_pretrained(model, **options)
    except Exception as exc:  # diffusers raises OSError, ValueError, hub errors …
        where = "" if config.allow_download else " offline (LAMPYRIS_DIFFUSION_ALLOW_DOWNLOAD=1)"
        raise ModelError(f"cannot load diffusion model {model}{where}: {exc}") from exc
    if "mask_image" not in inspect.signature(type(pipe).__call__).parameters:
        raise ModelError(f"{model} is a {type(pipe).__name__}, not an inpainting pipeline")
    return pipe


def _device(name: str, torch: Any) -> str:
    if name != "auto":
        return name
    if torch.cuda.is_available():  # not exercised by the tests: no GPU in CI
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _dtype(name: str, device: str, torch: Any) -> Any:
    if name == "auto":
        name = "float16" if device.startswith("cuda") else "float32"
    return getattr(torch, name)


def _native(pipe: Any) -> int:
    """The pipeline's training resolution: latent sample size times the VAE's scale."""
    unet = getattr(pipe, "unet", None)
    size: Any = getattr(getattr(unet, "config", None), "sample_size", None)
    if not isinstance(size, int):  # FLUX has no UNet; some configs give a (h, w) pair
        size = getattr(pipe, "default_sample_size", 64)
    return int(size) * int(getattr(pipe, "vae_scale_factor", 8))


def _multiple(pipe: Any) -> int:
    """Sides must divide by twice the VAE's scale (FLUX packs 2x2 latents); 8 at least."""
    return max(8, 2 * int(getattr(pipe, "vae_scale_factor", 8)))


def _crop_box(hole: np.ndarray) -> tuple[int, int, int, int]:
    """A square-ish box around the hole with half its size again as context on every side."""
    rows, cols = np.nonzero(hole.any(axis=1))[0], np.nonzero(hole.any(axis=0))[0]
    height, width = hole.shape
    side = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    side = min(max(2 * side, 64), max(height, width))
    return (*_span(rows[0], rows[-1] + 1, side, height), *_span(cols[0], cols[-1] + 1, side, width))


def _span(lo: int, hi: int, side: int, limit: int) -> tuple[int, int]:
    """[lo, hi) widened to ``side`` around its centre, shifted to stay inside [0, limit)."""
    side = min(max(side, hi - lo), limit)
    start = min(max(0, (lo + hi - side) // 2), limit - side)
    return int(start), int(start + side)


def _working_size(width: int, height: int, resolution: int, multiple: int) -> tuple[int, int]:
    scale = resolution / max(width, height)
    return (
        max(multiple, round(width * scale / multiple) * multiple),
        max(multiple, round(height * scale / multiple) * multiple),
    )


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    shrinking = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=interpolation)
