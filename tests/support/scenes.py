"""Generated scenes full of lines (horizon, room, product shot, brick wall, facade), tilted by
known angles: drawn upright on a canvas larger than the picture, turned, and cut back to the
picture's size, so no blank corner or image edge gives the tilt away, only the lines do. Used
by the straighten tests and ``bench/straighten_bench.py``."""

from __future__ import annotations

import math

import cv2
import numpy as np

SCENES = ("horizon", "room", "product", "bricks", "facade")
Colour = tuple[int, int, int]


def random_colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> Colour:
    r, g, b = (int(v) for v in rng.integers(low, high, 3))
    return r, g, b


def gradient(h: int, w: int, top: Colour, bottom: Colour) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    column = (1 - t) * np.array(top, np.float32) + t * np.array(bottom, np.float32)
    return np.repeat(column, w, axis=1).astype(np.uint8)


def _horizon(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    y = int(h * rng.uniform(0.35, 0.65))
    img[:y] = gradient(y, w, random_colour(rng, 60, 200), random_colour(rng, 150, 256))
    img[y:] = gradient(h - y, w, random_colour(rng, 0, 120), random_colour(rng, 20, 90))
    for _ in range(int(rng.integers(2, 6))):  # clouds
        centre = (int(rng.integers(0, w)), int(rng.integers(0, max(1, y - 20))))
        axes = (int(rng.integers(w // 20, w // 6)), int(rng.integers(h // 40, h // 15)))
        cv2.ellipse(img, centre, axes, 0, 0, 360, random_colour(rng, 200, 256), -1)
    img[:y] = cv2.GaussianBlur(img[:y], (0, 0), 6)
    for _ in range(int(rng.integers(10, 40))):  # waves: short, roughly level strokes
        x0, yy = int(rng.integers(0, w)), int(rng.integers(y + 5, h))
        length = int(rng.integers(w // 40, w // 10))
        tilt = math.radians(rng.uniform(-4, 4))
        x1, y1 = x0 + int(length * math.cos(tilt)), yy - int(length * math.sin(tilt))
        cv2.line(img, (x0, yy), (x1, y1), random_colour(rng, 100, 256), 1, cv2.LINE_AA)


def _room(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    img[:] = random_colour(rng, 120, 240)
    floor = int(h * rng.uniform(0.7, 0.85))
    img[floor:] = random_colour(rng, 40, 140)
    for _ in range(int(rng.integers(1, 3))):  # windows
        x0, y0 = int(rng.integers(0, w * 3 // 4)), int(rng.integers(h // 10, h // 3))
        ww, wh = int(rng.integers(w // 8, w // 4)), int(rng.integers(h // 6, h // 3))
        cv2.rectangle(img, (x0, y0), (x0 + ww, y0 + wh), random_colour(rng, 170, 256), -1)
        frame = random_colour(rng, 0, 100)
        cv2.rectangle(img, (x0, y0), (x0 + ww, y0 + wh), frame, int(rng.integers(3, 8)))
        cv2.line(img, (x0 + ww // 2, y0), (x0 + ww // 2, y0 + wh), frame, 3)
    for _ in range(int(rng.integers(1, 4))):  # shelves with things on them
        y0, x0 = int(rng.integers(h // 4, floor - 10)), int(rng.integers(0, w // 2))
        x1 = x0 + int(rng.integers(w // 5, w // 2))
        cv2.rectangle(img, (x0, y0), (x1, y0 + int(rng.integers(4, 10))), random_colour(rng), -1)
        for _ in range(int(rng.integers(0, 5))):
            bx, bw = int(rng.integers(x0, x1)), int(rng.integers(8, 30))
            bh = int(rng.integers(10, 50))
            cv2.rectangle(img, (bx, y0 - bh), (bx + bw, y0), random_colour(rng), -1)
    for _ in range(int(rng.integers(0, 3))):  # posts
        x0 = int(rng.integers(0, w))
        cv2.rectangle(img, (x0, 0), (x0 + int(rng.integers(6, 25)), floor), random_colour(rng), -1)


def _product(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    edge = int(h * rng.uniform(0.55, 0.75))
    img[:edge] = gradient(edge, w, random_colour(rng, 150, 256), random_colour(rng, 120, 230))
    img[edge:] = gradient(h - edge, w, random_colour(rng, 60, 180), random_colour(rng, 30, 150))
    for _ in range(int(rng.integers(1, 4))):  # bottles and boxes standing on the table
        bw, bh = int(rng.integers(w // 20, w // 8)), int(rng.integers(h // 6, h // 3))
        x0 = int(rng.integers(w // 6, w * 5 // 6 - bw))
        y0 = edge + int(rng.integers(5, 30)) - bh
        cv2.ellipse(img, (x0 + bw // 2, y0 + bh + 2), (bw, bw // 6), 0, 0, 360, (40, 40, 40), -1)
        colour = random_colour(rng)
        cv2.rectangle(img, (x0, y0), (x0 + bw, y0 + bh), colour, -1)
        if rng.random() < 0.5:  # a bottle's neck
            cv2.rectangle(img, (x0 + bw // 3, y0 - bh // 3), (x0 + 2 * bw // 3, y0), colour, -1)
        cv2.rectangle(img, (x0, y0 + bh // 3), (x0 + bw, y0 + bh // 2), random_colour(rng), -1)
    img[:] = cv2.GaussianBlur(img, (0, 0), 1.0)


def _bricks(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    img[:] = random_colour(rng, 150, 220)  # mortar
    bh = int(rng.integers(max(8, h // 30), max(12, h // 12)))
    bw = int(bh * rng.uniform(2.0, 3.2))
    base = np.array(random_colour(rng, 60, 200), np.int32)
    for row, y in enumerate(range(0, h, bh)):
        shift = (bw // 2) * (row % 2)
        for x in range(-shift, w, bw):
            tint = np.clip(base + rng.integers(-30, 30, 3), 0, 255)
            colour = (int(tint[0]), int(tint[1]), int(tint[2]))
            cv2.rectangle(img, (x + 2, y + 2), (x + bw - 2, y + bh - 2), colour, -1)


def _facade(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    img[:] = gradient(h, w, random_colour(rng, 100, 220), random_colour(rng, 150, 256))  # sky
    x0, x1 = int(w * rng.uniform(0.0, 0.2)), int(w * rng.uniform(0.8, 1.0))
    roof = int(h * rng.uniform(0.05, 0.3))
    cv2.rectangle(img, (x0, roof), (x1, h), random_colour(rng, 60, 200), -1)
    cols, rows = int(rng.integers(3, 8)), int(rng.integers(3, 7))
    cell_w, cell_h = (x1 - x0) / cols, (h - roof) / rows
    glass = random_colour(rng, 0, 120)
    for i in range(cols):
        for j in range(rows):
            wx, wy = int(x0 + (i + 0.25) * cell_w), int(roof + (j + 0.2) * cell_h)
            cv2.rectangle(img, (wx, wy), (wx + int(cell_w / 2), wy + int(cell_h / 2)), glass, -1)


DRAW = {"horizon": _horizon, "room": _room, "product": _product, "bricks": _bricks,
        "facade": _facade}


def _distract(img: np.ndarray, rng: np.random.Generator) -> None:
    """Lines that are tilted for real (rails, cables, shadows): 30° to 60° off the axes."""
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(0, 3))):
        angle = math.radians(rng.uniform(30, 60) * rng.choice([-1, 1]))
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        length = rng.uniform(0.2, 0.5) * max(h, w)
        end = (int(x0 + length * math.cos(angle)), int(y0 - length * math.sin(angle)))
        cv2.line(img, (x0, y0), end, random_colour(rng), int(rng.integers(2, 6)), cv2.LINE_AA)


def keystone(canvas: np.ndarray, spread: float) -> np.ndarray:
    """The canvas as a camera tilted up sees it: verticals converge upwards. The bottom is
    widened by ``spread`` of the width (not the top narrowed), so no blank comes in."""
    h, w = canvas.shape[:2]
    d = spread * w / 2
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, 0], [w, 0], [w + d, h], [-d, h]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(canvas, matrix, (w, h), flags=cv2.INTER_LINEAR)


def tilted_scene(
    kind: str,
    tilt: float,
    rng: np.random.Generator,
    size: tuple[int, int] = (480, 360),
    *,
    hard: bool = False,
) -> np.ndarray:
    """A ``kind`` scene of ``size`` (w, h), turned ``tilt`` degrees counter-clockwise.

    Drawn upright on a canvas big enough that the turned picture has no blank corner, then
    noised (sensor noise of a random strength, added after turning, as a camera would).
    ``hard`` also gives half the scenes a keystone (converging verticals, up to 20 % of the
    width), and all of them a slight blur and JPEG compression (quality 40 to 90).
    """
    w, h = size
    c, s = abs(math.cos(math.radians(tilt))), abs(math.sin(math.radians(tilt)))
    canvas_w, canvas_h = math.ceil(w * c + h * s) + 8, math.ceil(w * s + h * c) + 8
    canvas = np.zeros((canvas_h, canvas_w, 3), np.uint8)
    DRAW[kind](canvas, rng)
    _distract(canvas, rng)
    if hard and rng.random() < 0.5:
        canvas = keystone(canvas, rng.uniform(0.05, 0.2))
    matrix = cv2.getRotationMatrix2D(((canvas_w - 1) / 2, (canvas_h - 1) / 2), tilt, 1.0)
    matrix[0, 2] -= (canvas_w - w) / 2
    matrix[1, 2] -= (canvas_h - h) / 2
    img = cv2.warpAffine(canvas, matrix, (w, h), flags=cv2.INTER_LINEAR)
    noise = rng.normal(0.0, rng.uniform(1.0, 8.0), img.shape)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    if hard:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.5))
        quality = int(rng.integers(40, 91))
        img = cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], 1)
    return img


def random_cases(count: int, seed: int) -> list[tuple[str, float, int]]:
    """``count`` (scene, tilt, scene seed) triples, tilts uniform in [-10, 10] degrees."""
    rng = np.random.default_rng(seed)
    return [
        (SCENES[i % len(SCENES)], round(float(rng.uniform(-10, 10)), 2), int(rng.integers(1 << 31)))
        for i in range(count)
    ]
