"""The studio fill engine: prompt words (used or reported), determinism, product fidelity,
shadow and light, the camera placed for the product, and marble that reads as marble."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from lampyris.errors import InputError
from lampyris.imaging.fill.camera import camera_for
from lampyris.imaging.fill.prompt import parse_prompt
from lampyris.imaging.fill.studio import render_backdrop, studio_fill

W, H = 240, 200


def red_disc(w: int = W, h: int = H) -> np.ndarray:
    """A red disc standing low in the frame, with a soft antialiased rim, on transparent."""
    rgba = np.zeros((h, w, 4), np.uint8)
    cv2.circle(rgba, (w // 2, h - 60), 40, (200, 30, 30, 255), -1, lineType=cv2.LINE_AA)
    return rgba


def grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32).mean(axis=2)


def detail(rgb: np.ndarray) -> float:
    """Standard deviation of the high-pass: texture, not the light gradient."""
    g = grey(rgb)
    return float((g - cv2.GaussianBlur(g, (0, 0), 4)).std())


@pytest.mark.parametrize(
    ("prompt", "material", "kind", "words"),
    [
        ("white marble counter", "marble", "surface", {"white", "marble", "counter"}),
        ("Oak table, golden hour", "wood", "surface", {"oak", "table", "golden hour"}),
        ("black velvet, low key", "velvet", "sweep", {"black", "velvet", "low key"}),
        ("pastel pink seamless", "paper", "sweep", {"pastel pink", "seamless"}),
        ("a #1d3557 studio backdrop", "paper", "sweep", {"#1d3557", "studio", "backdrop"}),
    ],
)
def test_prompt_words_understood(prompt: str, material: str, kind: str, words: set[str]) -> None:
    spec = parse_prompt(prompt)
    assert spec.material == material
    assert spec.set == kind
    assert set(spec.understood) == words


def test_prompt_colours_and_light() -> None:
    spec = parse_prompt("#1d3557 sweep, warm dramatic light")
    assert spec.colour == (0x1D, 0x35, 0x57)
    assert set(spec.light_words) == {"warm", "dramatic"}
    assert spec.lighting.tint[0] > spec.lighting.tint[2]  # warm: more red than blue
    assert parse_prompt("dark sage").colour < parse_prompt("sage").colour
    assert parse_prompt("glossy marble").reflection
    assert not parse_prompt("marble").reflection


def test_unknown_words_draw_nothing_and_are_reported() -> None:
    spec = parse_prompt("a whimsical quantum flux capacitor")
    assert spec.understood == ()
    assert spec.unused_words == ("whimsical", "quantum", "flux", "capacitor")  # not "a"
    assert replace(spec, unused_words=()) == parse_prompt("")


# -- every prompt word used or reported -------------------------------------------------------
MIXED = "white marble counter, sandy beach, palm trees, window light"


def test_words_not_drawn_are_reported_in_prompt_order() -> None:
    """Marble is the first material, so the beach's sand is not drawn either."""
    spec = parse_prompt(MIXED)
    assert spec.unused_words == ("sandy", "beach", "palm", "trees")
    assert spec.understood == ("white", "marble", "counter", "window light")
    _, info = studio_fill(red_disc(), MIXED, seed=0)
    assert info["unused_words"] == ["sandy", "beach", "palm", "trees"]


@pytest.mark.parametrize("prompt", [
    "white marble counter, soft morning light", "dark oak table, golden hour lighting",
    "sage green linen with window light", "a sandy beach", "#1d3557 studio backdrop",
    "black and white marble, glossy", "grey concrete floor, natural light, cool",
])
def test_known_words_report_none(prompt: str) -> None:
    assert parse_prompt(prompt).unused_words == ()
    _, info = studio_fill(red_disc(), prompt, seed=0)
    assert info["unused_words"] == []


@pytest.mark.parametrize(("prompt", "unused"), [
    ("pink and white linen", ("white",)),  # linen has no second tone to take it
    ("walnut table, oak", ("oak",)),  # a second wood's colour goes unused
    ("white counter, seamless sweep", ("counter",)),  # the last set word wins
    ("navy dark oak table", ("dark",)),  # the explicit colour wins over the shade
])
def test_overridden_words_are_reported(prompt: str, unused: tuple[str, ...]) -> None:
    assert parse_prompt(prompt).unused_words == unused


def test_reported_words_do_not_change_the_render_and_used_ones_do() -> None:
    """The report is honest: dropping the unused words gives the same pixels; dropping a used
    phrase ("window light") does not."""
    size = (160, 120)
    full = render_backdrop(parse_prompt(MIXED), size, seed=3)
    kept = " ".join(w for w in MIXED.replace(",", " ").split()
                    if w not in {"sandy", "beach", "palm", "trees"})
    assert np.array_equal(render_backdrop(parse_prompt(kept), size, seed=3), full)
    unlit = render_backdrop(parse_prompt("white marble counter"), size, seed=3)
    assert np.abs(unlit.astype(int) - full.astype(int)).mean() > 1.0


# -- the camera follows the product's shape ---------------------------------------------------
FRAME_W, FRAME_H = 300, 260
BASE = 210


def standing(w: int, h: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """An opaque ``w`` x ``h`` product standing on row ``BASE``, centred, and its box."""
    rgba = np.zeros((FRAME_H, FRAME_W, 4), np.uint8)
    x0, y0 = (FRAME_W - w) // 2, BASE - h
    rgba[y0:BASE, x0 : x0 + w] = (40, 90, 160, 255)
    return rgba, (x0, y0, x0 + w, BASE)


def wall_line(rgb: np.ndarray) -> int:
    """The row where the plain wall meets the surface, found in the pixels: the sharpest
    step of the row means at the left edge, away from the product and its cast shadow."""
    rows = grey(rgb[:, :30]).mean(axis=1)
    return int(np.argmax(np.abs(np.diff(rows)))) + 1


def test_horizon_follows_the_product_shape() -> None:
    """A bottle is shot from low down, a tray from above: with the same base, their wall lines
    sit at different rows, each behind the product (between its base and its top), and lower
    on the bottle as a share of its height."""
    shares = {}
    rows = {}
    for name, (w, h) in {"bottle": (40, 170), "tray": (220, 60)}.items():
        layer, (_, y0, _, y1) = standing(w, h)
        out, info = studio_fill(layer, "white counter", seed=0)
        rows[name] = wall_line(out)
        assert y0 < rows[name] < y1, (name, rows[name], y0, y1)
        assert abs(rows[name] - info["camera"]["horizon_row"]) <= 2  # type: ignore[index]
        shares[name] = (y1 - rows[name]) / (y1 - y0)
    assert abs(rows["bottle"] - rows["tray"]) > 10
    assert shares["bottle"] < 0.35 < 0.65 < shares["tray"]


def test_camera_rises_as_products_flatten() -> None:
    """Lower for a tall product, higher for a flat one; its true horizon always above the wall
    line (the surface recedes towards it), the wall line always inside the product's box."""
    heights = []
    for w, h in [(60, 300), (150, 150), (300, 150), (400, 60)]:
        box = (100, 500 - h, 100 + w, 500)
        cam = camera_for(box, (800, 600))
        assert box[1] < cam.horizon * 600 < box[3]
        assert cam.eye < cam.horizon
        heights.append(cam.height)
    assert heights == sorted(heights) and heights[0] < 0.5 and heights[-1] > 2


# -- materials that read as what they are -----------------------------------------------------
def vein_statistics(rgb: np.ndarray) -> tuple[float, float, float, int]:
    """(share of vein pixels, their 99th-percentile half-width px, the share of vein pixels in
    components spanning a quarter of the frame, closed loops): vein pixels are those 6 levels
    darker than the stone's local tone; a loop is stone enclosed by veins, over 30 px."""
    g = grey(rgb)
    vein = (cv2.GaussianBlur(g, (0, 0), 15) - g) > 6
    width = cv2.distanceTransform(vein.astype(np.uint8), cv2.DIST_L2, 3)
    _, _, parts, _ = cv2.connectedComponentsWithStats(vein.astype(np.uint8), connectivity=8)
    span = np.hypot(parts[1:, 2], parts[1:, 3])
    long_share = parts[1:, 4][span >= 0.25 * g.shape[1]].sum() / max(int(vein.sum()), 1)
    _, _, holes, _ = cv2.connectedComponentsWithStats((~vein).astype(np.uint8), connectivity=4)
    h, w = g.shape
    inner = ((holes[1:, 0] > 0) & (holes[1:, 1] > 0) & (holes[1:, 0] + holes[1:, 2] < w)
             & (holes[1:, 1] + holes[1:, 3] < h) & (holes[1:, 4] > 30))
    return float(vein.mean()), float(np.percentile(width[vein], 99)), float(long_share), int(
        inner.sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_marble_has_thin_long_veins_not_contour_rings(seed: int) -> None:
    """Real veining: a small share of dark pixels, in hairlines (not bands), most of them in
    veins that cross a good part of the slab, and no closed rings (iso-lines of noise draw
    rings; plain noise draws no long veins). Measured on the old engine: 5.5-6.9 % vein
    pixels, half-width 3.7-4.6 px, 8-21 rings; on thresholded noise: no long veins."""
    rgb = render_backdrop(parse_prompt("white marble"), (600, 600), seed=seed)
    share, half_width, long_share, loops = vein_statistics(rgb)
    assert 0.005 < share < 0.04
    assert half_width <= 3.0
    assert long_share >= 0.35
    assert loops <= 2


def test_same_seed_same_pixels_other_seed_differs() -> None:
    layer = red_disc()
    a, _ = studio_fill(layer, "white marble counter", seed=4)
    b, _ = studio_fill(layer, "white marble counter", seed=4)
    c, _ = studio_fill(layer, "white marble counter", seed=5)
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 1.0


@pytest.mark.parametrize("prompt", ["white marble counter, glossy", "black velvet, low key",
                                    "oak table, golden hour, reflection", "#ffffff sweep"])
def test_opaque_product_pixels_unchanged(prompt: str) -> None:
    layer = red_disc()
    out, _ = studio_fill(layer, prompt, seed=1)
    opaque = layer[..., 3] == 255
    assert opaque.sum() > 1000
    assert np.array_equal(out[opaque], layer[..., :3][opaque])


def test_shadow_darkens_below_the_product() -> None:
    layer = red_disc()
    plain = render_backdrop(parse_prompt("grey seamless"), (W, H), seed=2)
    out, _ = studio_fill(layer, "grey seamless", seed=2)
    base = H - 60 + 40  # the disc's lowest row
    below = slice(base + 1, base + 6), slice(W // 2 - 15, W // 2 + 15)
    far = slice(base + 1, base + 6), slice(5, 35)
    darkening_below = grey(plain[below]).mean() - grey(out[below]).mean()
    darkening_far = grey(plain[far]).mean() - grey(out[far]).mean()
    assert darkening_below > 8
    assert darkening_far < 1


def test_white_marble_is_light_and_textured() -> None:
    marble = render_backdrop(parse_prompt("white marble counter"), (400, 400), seed=0)
    flat = render_backdrop(parse_prompt("white counter"), (400, 400), seed=0)
    floor = marble[260:]  # the counter, below the horizon
    assert grey(floor).mean() > 170
    assert detail(floor) > 2 * detail(flat[260:]) and detail(floor) > 1.0


def test_black_velvet_low_key_is_dark() -> None:
    rgb = render_backdrop(parse_prompt("black velvet, low key"), (300, 200), seed=0)
    assert grey(rgb).mean() < 40


def test_reflection_only_when_asked() -> None:
    layer = red_disc()
    base = H - 60 + 40
    region = slice(base + 2, base + 14), slice(W // 2 - 20, W // 2 + 20)

    def redness(rgb: np.ndarray) -> float:
        patch = rgb[region].astype(np.float32)
        return float((patch[..., 0] - patch[..., 2]).mean())

    dull, _ = studio_fill(layer, "grey counter", seed=3)
    shiny, info = studio_fill(layer, "grey counter, glossy", seed=3)
    assert info["reflection"] is True
    assert redness(shiny) > redness(dull) + 10
    assert abs(redness(dull)) < 5


@pytest.mark.parametrize("size", [(320, 240), (200, 300), (160, 160)])
def test_sizes_honoured(size: tuple[int, int]) -> None:
    w, h = size
    assert render_backdrop(parse_prompt("oak table"), size, seed=0).shape == (h, w, 3)
    layer = red_disc()
    out, info = studio_fill(layer, "oak table", seed=0, size=size)
    assert out.shape == (h, w, 3)
    # the product is trimmed and stood bottom-centre, its opaque pixels intact
    assert info["seed"] == 0
    opaque = int((layer[..., 3] == 255).sum())
    ys, xs = np.nonzero((out == (200, 30, 30)).all(axis=2))
    assert len(xs) >= opaque
    assert abs(xs.mean() - (w - 1) / 2) <= 1.5
    assert h * 0.7 < ys.max() < h


def test_layer_at_own_size_and_metadata() -> None:
    out, info = studio_fill(red_disc(), "sage green studio, spotlight", seed=7)
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
    assert info["engine"] == "studio" and info["procedural"] is True
    assert info["understood"] == ["sage green", "studio", "spotlight"]
    assert info["material"] == "paper" and info["seed"] == 7


def test_rejects_what_it_cannot_use() -> None:
    with pytest.raises(InputError):
        studio_fill(np.zeros((10, 10, 3), np.uint8), "white")
    with pytest.raises(InputError):
        studio_fill(red_disc(), "white", size=(40, 40))
