"""The studio fill engine: prompt words, determinism, product fidelity, shadow and light."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lampyris.errors import InputError
from lampyris.imaging.fill.studio import parse_prompt, render_backdrop, studio_fill

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


def test_unknown_words_are_ignored() -> None:
    spec = parse_prompt("a whimsical quantum flux capacitor")
    assert spec.understood == ()
    assert spec == parse_prompt("")


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
