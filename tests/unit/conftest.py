"""Fixtures shared by the unit tests: generated subjects and the one real u2netp session.

The bundled u2netp model segments a saturated disc or rounded rectangle on a light background
almost perfectly (IoU ~1.0 at 240x320), so its output can be checked against the drawn shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from lampyris.models import MattingSession, get_session, resolve_spec

SUBJECT_RED = (200, 30, 30)
BACKGROUND_GREY = (240, 240, 240)


@dataclass(frozen=True)
class Subject:
    """A generated test image and the exact shape drawn on it."""

    rgb: np.ndarray  # HxWx3 uint8
    mask: np.ndarray  # HxW bool: the drawn subject

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the drawn subject, x1/y1 exclusive."""
        rows = np.flatnonzero(self.mask.any(axis=1))
        cols = np.flatnonzero(self.mask.any(axis=0))
        return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1

    def interior(self, margin: int = 6) -> np.ndarray:
        """Subject pixels at least ``margin`` px inside its edge."""
        kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
        return cv2.erode(self.mask.astype(np.uint8), kernel).astype(bool)

    def exterior(self, margin: int = 6) -> np.ndarray:
        """Background pixels at least ``margin`` px outside the subject's edge."""
        kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
        return ~cv2.dilate(self.mask.astype(np.uint8), kernel).astype(bool)


def draw_subject(
    height: int = 240,
    width: int = 320,
    *,
    shape: str = "disc",
    colour: tuple[int, int, int] = SUBJECT_RED,
    background: tuple[int, int, int] = BACKGROUND_GREY,
    gradient: bool = False,
    centre: tuple[int, int] | None = None,
    size: float = 0.3,
) -> Subject:
    """A flat-coloured disc or rounded rectangle on a light flat (or vertical-gradient) ground.

    ``size`` is the disc's radius (or the rectangle's half height) as a fraction of the
    shorter side.
    """
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[:] = background
    if gradient:  # light at the top, a little darker at the bottom
        shade = np.linspace(0, 30, height, dtype=np.float32)[:, None, None]
        rgb[:] = np.clip(rgb.astype(np.float32) - shade, 0, 255).astype(np.uint8)
    cx, cy = centre or (width // 2, height // 2)
    r = round(min(height, width) * size)
    mask = np.zeros((height, width), np.uint8)
    if shape == "disc":
        cv2.circle(mask, (cx, cy), r, 1, -1)
    elif shape == "rounded":
        corner = r // 3
        hw, hh = round(r * 1.3), r
        cv2.rectangle(mask, (cx - hw + corner, cy - hh), (cx + hw - corner, cy + hh), 1, -1)
        cv2.rectangle(mask, (cx - hw, cy - hh + corner), (cx + hw, cy + hh - corner), 1, -1)
        for x in (cx - hw + corner, cx + hw - corner):
            for y in (cy - hh + corner, cy + hh - corner):
                cv2.circle(mask, (x, y), corner, 1, -1)
    else:
        raise ValueError(shape)
    rgb[mask > 0] = colour
    return Subject(rgb, mask > 0)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks."""
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture(scope="session")
def make_subject() -> Callable[..., Subject]:
    """``draw_subject`` as a fixture, for test modules (no package to import it from)."""
    return draw_subject


@pytest.fixture(scope="session")
def iou_of() -> Callable[[np.ndarray, np.ndarray], float]:
    return iou


@pytest.fixture(scope="session")
def disc() -> Subject:
    """The standard subject: a red disc on light grey, 240x320."""
    return draw_subject()


@pytest.fixture(scope="session")
def u2netp() -> MattingSession:
    """The process-wide u2netp session (the real bundled model), loaded once per test run."""
    return get_session(resolve_spec("u2netp"))
