"""Where the ``studio`` engine's camera stands: chosen from the product's shape, as a
product photographer would, and given as the rows of the wall line and the true horizon.

Usage:
    camera_for((400, 300, 600, 900), (1000, 1000)).horizon  # a bottle: 0.78
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """Where the camera stands for one product: its height (in product heights above the
    surface) and, as rows 0..1 of the frame, the wall line and the true horizon."""

    height: float
    horizon: float
    eye: float


def camera_for(box: tuple[int, int, int, int], frame: tuple[int, int]) -> Camera:
    """The camera a product photographer would use for a product in ``box`` (x0, y0, x1, y1)
    of a ``frame`` (w, h): chosen from the product's shape.

    The rule: a tall, narrow product (a bottle, h/w = 3) is shot from low down, about 0.4 of
    its height; a cube from 0.8 of it; a wide, flat one (a shoe, h/w = 0.5, or a tray, 0.2)
    from above, 1.3 and 2.5 of its height (``height = 0.8 * (h/w) ** -0.7``, kept within
    0.35..3). The camera is level (a shift lens), so its true horizon crosses the frame at that
    height above the product's base. The wall stands twice as far from the camera as the
    product, so the wall line sits halfway from the base to the true horizon, kept between 0.2
    and 0.8 of the product's height: always behind it, never above its top or below its base.
    The surface's foreshortening follows from the same two rows (see ``studio._plane``).

    Usage:
        camera_for((400, 300, 600, 900), (1000, 1000)).horizon  # a bottle: 0.78
    """
    x0, y0, x1, y1 = box
    bw, bh = max(x1 - x0, 1), max(y1 - y0, 1)
    height = float(np.clip(0.8 * (bh / bw) ** -0.7, 0.35, 3.0))
    share = float(np.clip(height / 2, 0.2, 0.8))
    h = frame[1]
    return Camera(height, (y1 - share * bh) / h, (y1 - height * bh) / h)
