"""Generated photo-like scenes for tone tests: a sky, a floor, grey cards and coloured objects,
with a chosen exposure (stops) and colour cast, so a test knows what "correct" looks like."""

from __future__ import annotations

import cv2
import numpy as np


def scene_linear(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """Linear-light RGB (float32, 0..1) of a well-exposed scene with neutral greys in it."""
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.float32)
    horizon = height // 2
    t = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None]
    img[:horizon] = (0.35 + 0.25 * t)[..., None] * np.array([0.75, 0.85, 1.0], np.float32)
    floor = np.linspace(0.12, 0.05, height - horizon, dtype=np.float32)[:, None, None]
    img[horizon:] = floor * np.array([1.0, 0.9, 0.75], np.float32)
    for i, level in enumerate((0.03, 0.18, 0.6)):  # black, mid-grey and white cards
        x = width // 8 + i * width // 5
        img[horizon + 10:horizon + 50, x:x + width // 8] = level
    for _ in range(4):  # coloured objects
        colour = rng.uniform(0.02, 0.5, 3).astype(np.float32)
        colour[rng.integers(3)] = rng.uniform(0.3, 0.7)
        cx, cy = int(rng.integers(width // 6, width - width // 6)), int(rng.integers(20, horizon))
        cv2.circle(img, (cx, cy), width // 14, colour.tolist(), -1)
    noise = rng.normal(0.0, 0.004, img.shape).astype(np.float32)
    return np.clip(img + noise, 0.0, 1.0)


def to_srgb8(linear: np.ndarray) -> np.ndarray:
    x = np.clip(linear, 0.0, 1.0)
    enc = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.clip(np.rint(enc * 255.0), 0, 255).astype(np.uint8)


def to_linear(srgb8: np.ndarray) -> np.ndarray:
    x = srgb8[..., :3].astype(np.float64) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def photo(stops: float = 0.0, cast: tuple[float, float, float] = (1.0, 1.0, 1.0),
          width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """The scene as an 8-bit sRGB photo, ``stops`` over/under and tinted by ``cast`` gains."""
    lin = scene_linear(width, height, seed) * np.float32(2.0**stops)
    return to_srgb8(lin * np.array(cast, np.float32))


def luminance(srgb8: np.ndarray) -> np.ndarray:
    """Linear luminance of 8-bit sRGB pixels."""
    return to_linear(srgb8) @ np.array([0.2126, 0.7152, 0.0722])
