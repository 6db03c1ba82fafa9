"""Text-to-image and image variations on a diffusers pipeline from the operator's local weights.

Firefly's ``generateImages`` and ``generateSimilarImages`` need a model that paints a whole
picture, which the fill engines (studio, patch, inpainting) are not. The weights are the
operator's: a local diffusers directory (SD 1.5, SDXL …) named by
``LAMPYRIS_DIFFUSION_TEXT_TO_IMAGE_MODEL``, always loaded with ``local_files_only`` (nothing is
ever downloaded). Torch and diffusers come with the ``diffusion`` extra and are imported only
when a picture is painted; :func:`unavailable` answers, without importing them, why the
engine cannot run here, so a server refuses the request at once (501) instead of failing a job.

The model paints at its native resolution in the requested aspect ratio; the result is scaled
to the requested size. Variations start from the reference image (image-to-image on the same
weights, ``similarity`` of its structure kept).

Usage::

    config = TextToImageConfig(text_to_image_model="/models/sd15")
    rgb, info = generate_image("a red bicycle", (1024, 768), seed=7, config=config)
    rgb, info = similar_image(photo, (1024, 768), seed=7, config=config)
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydantic import Field

from lampyris.errors import InvalidParameterError, ModelError
from lampyris.imaging.fill.diffusion import (
    DiffusionConfig,
    _device,
    _dtype,
    _import_torch,
    _multiple,
    _native,
    _resize,
    _working_size,
)

SETTING = "LAMPYRIS_DIFFUSION_TEXT_TO_IMAGE_MODEL"
# How much of the reference's structure a variation keeps (1 - img2img strength). At 0.35 the
# variation keeps the composition and palette and repaints the detail; nothing was measured
# against Adobe's (which uses no reference strength on this route).
SIMILARITY = 0.35


class TextToImageConfig(DiffusionConfig):
    """``LAMPYRIS_DIFFUSION_TEXT_TO_IMAGE_MODEL`` (a local diffusers text-to-image directory);
    device, steps, guidance, resolution and dtype are the diffusion engine's settings."""

    text_to_image_model: str | None = None
    similarity: float = Field(default=SIMILARITY, ge=0.0, le=0.95)


def text_to_image_config() -> TextToImageConfig:
    """The configuration the environment describes (read anew on every call)."""
    return TextToImageConfig()


def unavailable(config: TextToImageConfig | None = None) -> str | None:
    """Why images cannot be generated here (one line naming what to set or install), or None.
    Imports neither torch nor diffusers."""
    config = config or text_to_image_config()
    if not config.text_to_image_model:
        return (f"image generation needs a text-to-image model: set {SETTING} to a local "
                "diffusers directory (SD 1.5, SDXL)")
    if not Path(config.text_to_image_model).expanduser().is_dir():
        return (f"{SETTING} names {config.text_to_image_model}, which is not a directory: "
                "point it at a local diffusers text-to-image directory")
    if any(importlib.util.find_spec(name) is None for name in ("torch", "diffusers")):
        return ("image generation needs torch and diffusers: install the extra with "
                "`pip install 'lampyris[diffusion]'`")
    return None


class _Loaded:
    """The text-to-image pipeline, its image-to-image sibling on the same weights (made on
    first use) and the lock that serialises their calls (a scheduler keeps per-run state)."""

    def __init__(self, pipe: Any, device: str) -> None:
        self.pipe = pipe
        self.device = device
        self.lock = threading.Lock()
        self._variations: Any = None

    def variations(self) -> Any:
        if self._variations is None:
            from diffusers import AutoPipelineForImage2Image

            try:
                self._variations = AutoPipelineForImage2Image.from_pipe(self.pipe)
            except ValueError as exc:
                raise ModelError(f"{type(self.pipe).__name__} has no image-to-image "
                                 f"counterpart for variations: {exc}") from exc
            self._variations.set_progress_bar_config(disable=True)
        return self._variations


_PIPELINES: dict[tuple[str, str, str], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def generate_image(
    prompt: str,
    size: tuple[int, int],
    *,
    negative_prompt: str = "",
    seed: int = 0,
    config: TextToImageConfig | None = None,
) -> tuple[np.ndarray, dict[str, object]]:
    """An HxWx3 uint8 RGB picture of ``prompt`` at ``size`` (width, height), and what ran.
    Deterministic per ``seed`` on a given device (latents come from a CPU generator)."""
    if not prompt.strip():
        raise InvalidParameterError("image generation needs a prompt")
    started = time.perf_counter()
    torch = _import_torch()
    config = config or text_to_image_config()
    loaded = _pipeline(config, torch)
    width, height = _working(size, config, loaded.pipe)
    kwargs: dict[str, Any] = {
        "prompt": prompt, "num_inference_steps": config.steps,
        "guidance_scale": config.guidance, "height": height, "width": width,
        "generator": torch.Generator(device="cpu").manual_seed(seed), "output_type": "np",
    }
    if negative_prompt:
        kwargs["negative_prompt"] = negative_prompt
    result = _call(loaded, loaded.pipe, kwargs)
    return _finish(result, size, loaded, config, seed, started)


def similar_image(
    reference: np.ndarray,
    size: tuple[int, int],
    *,
    prompt: str = "",
    seed: int = 0,
    config: TextToImageConfig | None = None,
) -> tuple[np.ndarray, dict[str, object]]:
    """A variation of ``reference`` (HxWx3 uint8 RGB) at ``size``: image-to-image on the
    text-to-image weights, keeping ``config.similarity`` of its structure."""
    if reference.ndim != 3 or reference.shape[2] != 3 or reference.dtype != np.uint8:
        raise InvalidParameterError("the reference must be an HxWx3 uint8 RGB image")
    started = time.perf_counter()
    torch = _import_torch()
    config = config or text_to_image_config()
    loaded = _pipeline(config, torch)
    width, height = _working(size, config, loaded.pipe)
    kwargs: dict[str, Any] = {
        "prompt": prompt, "image": Image.fromarray(_resize(reference, width, height)),
        "strength": 1.0 - config.similarity, "num_inference_steps": config.steps,
        "guidance_scale": config.guidance,
        "generator": torch.Generator(device="cpu").manual_seed(seed), "output_type": "np",
    }
    with loaded.lock:
        pipe = loaded.variations()
    result = _call(loaded, pipe, kwargs)
    rgb, info = _finish(result, size, loaded, config, seed, started)
    return rgb, {**info, "similarity": config.similarity}


def _working(size: tuple[int, int], config: TextToImageConfig, pipe: Any) -> tuple[int, int]:
    width, height = size
    if width < 1 or height < 1:
        raise InvalidParameterError(f"the size must be positive, not {width}x{height}")
    return _working_size(width, height, config.resolution or _native(pipe), _multiple(pipe))


def _call(loaded: _Loaded, pipe: Any, kwargs: dict[str, Any]) -> Any:
    with loaded.lock:
        try:
            return pipe(**kwargs)
        except (RuntimeError, ValueError) as exc:  # out of memory, a shape the model rejects
            raise ModelError(f"the text-to-image pipeline failed: {exc}") from exc


def _finish(result: Any, size: tuple[int, int], loaded: _Loaded, config: TextToImageConfig,
            seed: int, started: float) -> tuple[np.ndarray, dict[str, object]]:
    painted = np.clip(np.rint(np.asarray(result.images[0]) * 255.0), 0, 255).astype(np.uint8)
    info: dict[str, object] = {
        "engine": "diffusion", "model": config.text_to_image_model, "device": loaded.device,
        "steps": config.steps, "seed": seed, "pipeline": type(loaded.pipe).__name__,
        "working_size": [int(painted.shape[1]), int(painted.shape[0])],
    }
    flagged = getattr(result, "nsfw_content_detected", None)
    if flagged is not None:
        info["nsfw"] = bool(any(flagged))
    info["seconds"] = round(time.perf_counter() - started, 3)
    return np.ascontiguousarray(_resize(painted, *size)), info


def _pipeline(config: TextToImageConfig, torch: Any) -> _Loaded:
    """The cached pipeline for (model, device, dtype), loaded on first use."""
    reason = unavailable(config)
    if reason is not None:
        raise ModelError(reason)
    model = str(Path(str(config.text_to_image_model)).expanduser())
    device = _device(config.device, torch)
    dtype = _dtype(config.dtype, device, torch)
    key = (model, device, str(dtype))
    with _LOAD_LOCK:
        if key not in _PIPELINES:
            pipe = _load(model, dtype)
            try:
                pipe = pipe.to(device)
            except (RuntimeError, ValueError, AssertionError) as exc:
                raise ModelError(f"cannot move the text-to-image model to {device!r}: "
                                 f"{exc}") from exc
            pipe.set_progress_bar_config(disable=True)
            _PIPELINES[key] = _Loaded(pipe, device)
        return _PIPELINES[key]


def _load(model: str, dtype: Any) -> Any:
    from diffusers import AutoPipelineForText2Image

    kind = _class_name(Path(model))
    if "Inpaint" in kind or "Fill" in kind:  # the auto pipeline would map it to text-to-image
        raise ModelError(f"{model} is an inpainting pipeline ({kind}): {SETTING} needs a "
                         "text-to-image one (the inpainting model is LAMPYRIS_DIFFUSION_MODEL)")
    try:
        return AutoPipelineForText2Image.from_pretrained(model, dtype=dtype,
                                                         local_files_only=True)
    except Exception as exc:  # diffusers raises OSError, ValueError, hub errors …
        raise ModelError(f"cannot load the text-to-image model {model} ({SETTING}): "
                         f"{exc}") from exc


def _class_name(folder: Path) -> str:
    """The pipeline class ``model_index.json`` names ('' when it cannot be read)."""
    try:
        index = json.loads((folder / "model_index.json").read_text())
    except (OSError, ValueError):
        return ""
    name = index.get("_class_name") if isinstance(index, dict) else None
    return name if isinstance(name, str) else ""
