"""Catalog layout: padding lengths, the subject box, trim, padding, canvas fitting and the
premultiplied resize that keeps edges free of dark fringes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lampyris.imaging.layout import (
    SUBJECT_THRESHOLD,
    Length,
    frame_edges,
    lay_out,
    place,
    resize_layer,
    subject_box,
)


def _layer(
    height: int, width: int, box: tuple[int, int, int, int], colour: tuple[int, int, int] = (
        200, 30, 30)
) -> np.ndarray:
    """Transparent RGBA with an opaque rectangle at (x0, y0, x1, y1), x1/y1 exclusive."""
    layer = np.zeros((height, width, 4), np.uint8)
    x0, y0, x1, y1 = box
    layer[y0:y1, x0:x1] = (*colour, 255)
    return layer


def _margins(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """Transparent margins (left, top, right, bottom) around the subject."""
    x0, y0, x1, y1 = subject_box(alpha, 0)
    return x0, y0, alpha.shape[1] - x1, alpha.shape[0] - y1


# --- Length -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24", Length(24.0)),
        ("24px", Length(24.0)),
        (" 24 PX ", Length(24.0)),
        ("12.5", Length(12.5)),
        ("5%", Length(5.0, percent=True)),
        ("2.5 %", Length(2.5, percent=True)),
        ("0", Length(0.0)),
        (7, Length(7.0)),
        (2.5, Length(2.5)),
    ],
)
def test_length_parse(text: str | float, expected: Length) -> None:
    assert Length.parse(text) == expected


@pytest.mark.parametrize("text", ["-1", "-24px", "-5%", "abc", "5em", "", "%"])
def test_length_parse_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError):
        Length.parse(text)


@pytest.mark.parametrize("value", [-1, -2.5])
def test_length_parse_rejects_negative_numbers(value: float) -> None:
    with pytest.raises(ValueError):
        Length.parse(value)


@pytest.mark.parametrize(
    ("length", "reference", "pixels"),
    [(Length(24.0), 1000, 24), (Length(5.0, True), 200, 10), (Length(10.0, True), 45, 4),
     (Length(2.6), 10, 3), (Length(0.0, True), 500, 0)],
)
def test_length_pixels(length: Length, reference: int, pixels: int) -> None:
    assert length.pixels(reference) == pixels


# --- subject box and trim -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "box", [(10, 20, 50, 45), (0, 0, 80, 60), (79, 59, 80, 60), (0, 30, 1, 31), (5, 0, 75, 60)]
)
def test_subject_box_of_a_drawn_box(box: tuple[int, int, int, int]) -> None:
    layer = _layer(60, 80, box)
    assert subject_box(layer[..., 3]) == box


def test_subject_box_ignores_faint_haze() -> None:
    alpha = np.full((60, 80), SUBJECT_THRESHOLD, np.uint8)  # haze at the threshold: not subject
    alpha[10:20, 30:40] = SUBJECT_THRESHOLD + 1
    assert subject_box(alpha) == (30, 10, 40, 20)


@pytest.mark.parametrize("shape", [(60, 80), (1, 1), (30, 5)])
def test_subject_box_of_an_empty_matte_is_the_whole_image(shape: tuple[int, int]) -> None:
    assert subject_box(np.zeros(shape, np.uint8)) == (0, 0, shape[1], shape[0])


@pytest.mark.parametrize("box", [(10, 20, 50, 70), (0, 0, 80, 90), (33, 41, 34, 42)])
def test_trim_crops_exactly_to_the_subject(box: tuple[int, int, int, int]) -> None:
    layer = _layer(90, 80, box)
    layer[0, 79] = (255, 255, 255, SUBJECT_THRESHOLD)  # haze outside the box: trimmed away
    out = lay_out(layer, trim=True).pixels
    x0, y0, x1, y1 = box
    np.testing.assert_array_equal(out, layer[y0:y1, x0:x1])


def test_trim_of_an_empty_layer_keeps_the_whole_image() -> None:
    layer = np.zeros((40, 50, 4), np.uint8)
    layer[..., :3] = 90
    np.testing.assert_array_equal(lay_out(layer, trim=True).pixels, layer)


def test_no_options_return_the_layer_itself() -> None:
    layer = _layer(40, 50, (10, 10, 20, 20))
    assert lay_out(layer).pixels is layer


# --- padding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trim", "padding", "pad"),
    [
        (True, Length(12.0), 12),
        (True, Length(10.0, percent=True), 6),  # 10% of the trimmed subject's long side (60)
        (False, Length(10.0, percent=True), 10),  # 10% of the untrimmed layer's long side (100)
        (True, Length(0.0), 0),
    ],
)
def test_padding_adds_transparent_margins(trim: bool, padding: Length, pad: int) -> None:
    layer = _layer(80, 100, (20, 10, 60, 70))  # subject 40x60
    out = lay_out(layer, trim=trim, padding=padding).pixels
    inner = layer[10:70, 20:60] if trim else layer
    h, w = inner.shape[:2]
    assert out.shape == (h + 2 * pad, w + 2 * pad, 4)
    np.testing.assert_array_equal(out[pad : pad + h, pad : pad + w], inner)
    border = np.ones(out.shape[:2], bool)
    border[pad : pad + h, pad : pad + w] = False
    assert np.all(out[border] == 0)


# --- canvas -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("canvas", "padding", "subject"),
    [
        ((400, 300), None, (40, 60)),  # tall subject: height limits
        ((400, 300), Length(20.0), (90, 30)),  # wide subject: width limits
        ((300, 400), Length(10.0, percent=True), (50, 50)),  # 10% of 300 = 30 px
        ((256, 256), Length(16.0), (7, 5)),  # a small subject is scaled up (when allowed)
        ((101, 77), Length(3.0), (64, 64)),  # odd canvas sides
    ],
)
def test_canvas_fits_and_centres_the_subject(
    canvas: tuple[int, int], padding: Length | None, subject: tuple[int, int]
) -> None:
    sw, sh = subject
    layer = _layer(sh + 37, sw + 51, (11, 29, 11 + sw, 29 + sh))
    out = lay_out(layer, padding=padding, canvas=canvas, max_upscale=64).pixels

    cw, ch = canvas
    assert out.shape == (ch, cw, 4)
    left, top, right, bottom = _margins(out[..., 3])
    assert abs(left - right) <= 1
    assert abs(top - bottom) <= 1
    pad = padding.pixels(min(cw, ch)) if padding else 0
    assert min(left, top, right, bottom) >= pad  # inside the padding
    assert min(left + right - 2 * pad, top + bottom - 2 * pad) <= 1  # and touching it
    nw, nh = cw - left - right, ch - top - bottom
    assert nw / nh == pytest.approx(sw / sh, rel=0.05)  # aspect ratio kept


def test_canvas_trims_before_fitting() -> None:
    layer = _layer(200, 200, (0, 0, 20, 20))  # subject in a corner of a big layer
    out = lay_out(layer, canvas=(100, 100), max_upscale=64).pixels
    assert np.all(out[..., 3] == 255)  # the subject alone fills the square canvas


def test_canvas_on_a_mask_layer() -> None:
    mask = np.zeros((90, 120), np.uint8)
    mask[30:60, 10:40] = 255
    out = lay_out(mask, padding=Length(10.0), canvas=(200, 100), max_upscale=64).pixels
    assert out.shape == (100, 200)
    assert out.dtype == np.uint8
    assert _margins(out) == (60, 10, 60, 10)
    assert np.all(out[15:85, 65:135] == 255)


def test_padding_on_a_mask_layer() -> None:
    mask = np.zeros((90, 120), np.uint8)
    mask[30:60, 10:40] = 200
    out = lay_out(mask, trim=True, padding=Length(5.0)).pixels
    assert out.shape == (40, 40)
    assert np.all(out[5:35, 5:35] == 200)
    assert out.sum() == 200 * 30 * 30


def test_canvas_with_an_empty_matte_fits_the_whole_image() -> None:
    layer = np.zeros((50, 100, 4), np.uint8)
    out = lay_out(layer, canvas=(200, 200)).pixels
    assert out.shape == (200, 200, 4)
    assert np.all(out == 0)


# --- resizing -----------------------------------------------------------------------------------


def _white_disc(side: int) -> np.ndarray:
    """A white anti-aliased disc on transparent *black* (0, 0, 0, 0) pixels."""
    alpha = np.zeros((side, side), np.uint8)
    cv2.circle(alpha, (side // 2, side // 2), side // 3, 255, -1, lineType=cv2.LINE_AA)
    layer = np.zeros((side, side, 4), np.uint8)
    layer[alpha > 0, :3] = 255
    layer[..., 3] = alpha
    return layer


@pytest.mark.parametrize("size", [(67, 67), (100, 100), (40, 40), (333, 333)])
def test_premultiplied_resize_has_no_dark_fringe(size: tuple[int, int]) -> None:
    layer = _white_disc(200)
    out = resize_layer(layer, size)
    assert out.shape == (size[1], size[0], 4)
    visible = out[..., 3] > 0
    assert visible.sum() > 0.2 * visible.size
    assert int(out[visible, :3].min()) >= 250  # no black bleeding into the edge
    # A plain resize of the straight colours does show the fringe: the test can tell.
    naive = cv2.resize(layer, size, interpolation=cv2.INTER_AREA)
    assert int(naive[naive[..., 3] > 0, :3].min()) < 200


@pytest.mark.parametrize("size", [(50, 50), (300, 300)])
def test_resize_keeps_coverage(size: tuple[int, int]) -> None:
    layer = _white_disc(200)
    out = resize_layer(layer, size)
    scale = size[0] * size[1] / 200**2
    coverage = out[..., 3].astype(np.float64).sum()
    assert coverage == pytest.approx(layer[..., 3].astype(np.float64).sum() * scale, rel=0.02)


def test_resize_to_the_same_size_is_a_no_op() -> None:
    layer = _white_disc(64)
    assert resize_layer(layer, (64, 64)) is layer


def test_place_pastes_on_a_transparent_canvas() -> None:
    layer = _layer(10, 20, (0, 0, 20, 10))
    out = place(layer, (50, 40), (7, 3))
    assert out.shape == (40, 50, 4)
    np.testing.assert_array_equal(out[3:13, 7:27], layer)
    assert out.sum() == layer.sum()


# --- the photo's frame and the upscale limit ----------------------------------------------------


def _cut_at_bottom() -> np.ndarray:
    """A plush-toy-like subject the photo's bottom edge cuts off: opaque along its bottom row."""
    layer = _layer(200, 300, (100, 60, 200, 200))
    layer[60:80, 100:120, 3] = 0  # a rounded-ish top, so only the bottom is a straight cut
    return layer


@pytest.mark.parametrize(("box", "edges"), [
    ((100, 60, 200, 200), ("bottom",)),
    ((0, 50, 120, 150), ("left",)),
    ((180, 0, 300, 90), ("top", "right")),
    ((50, 40, 250, 160), ()),
    ((0, 0, 300, 200), ("left", "top", "right", "bottom")),
])
def test_frame_edges_are_the_sides_the_photo_cuts_the_subject_off(
        box: tuple[int, int, int, int], edges: tuple[str, ...]) -> None:
    assert frame_edges(_layer(200, 300, box)[..., 3]) == edges


def test_a_tip_or_haze_on_the_border_is_not_a_cut() -> None:
    layer = _layer(200, 300, (100, 40, 200, 150))
    layer[150:200, 148:150, 3] = 255  # a 2 px tail reaching the bottom edge
    layer[150:200, 20:280, 3] = np.maximum(layer[150:200, 20:280, 3], 60)  # faint matte haze
    assert frame_edges(layer[..., 3]) == ()


def test_a_subject_cut_at_the_bottom_stays_on_the_canvas_bottom() -> None:
    laid = lay_out(_cut_at_bottom(), padding=Length(10.0, True), canvas=(300, 300),
                   max_upscale=4)
    left, top, right, bottom = _margins(laid.pixels[..., 3])
    assert laid.edges == ("bottom",)
    assert bottom == 0  # the cut is on the canvas edge, no padding under it
    assert np.all(laid.pixels[-1, left + 25 : 300 - right - 5, 3] == 255)  # a straight cut
    assert top == 30 and min(left, right) >= 30  # padding on the free sides, height-limited
    assert abs(left - right) <= 1  # centred across


def test_a_subject_cut_on_the_left_stays_flush_left() -> None:
    layer = _layer(200, 300, (0, 50, 120, 150))
    laid = lay_out(layer, padding=Length(20.0), canvas=(400, 400), max_upscale=4)
    left, top, right, bottom = _margins(laid.pixels[..., 3])
    assert (left, right) == (0, 20)
    assert abs(top - bottom) <= 1


def test_padding_without_a_canvas_skips_the_cut_sides() -> None:
    laid = lay_out(_cut_at_bottom(), trim=True, padding=Length(12.0))
    assert laid.pixels.shape == (140 + 12, 100 + 24, 4)
    assert _margins(laid.pixels[..., 3])[1:] == (12, 12, 0)


def test_a_small_subject_is_not_enlarged_past_the_limit_and_says_so() -> None:
    layer = _layer(300, 300, (100, 100, 196, 204))  # ~100 px, like the butterfly
    kept = lay_out(layer, padding=Length(6.0, True), canvas=(1200, 1200))
    assert kept.scale == 1.0 and kept.wanted == pytest.approx(1056 / 104, rel=0.01)
    assert subject_box(kept.pixels[..., 3]) == (552, 548, 648, 652)  # 1:1, centred
    assert kept.upscale_limited
    assert kept.notice() is not None and "96x104 px" in kept.notice()  # type: ignore[operator]
    twice = lay_out(layer, padding=Length(6.0, True), canvas=(1200, 1200), max_upscale=2)
    x0, y0, x1, y1 = subject_box(twice.pixels[..., 3])
    assert (x1 - x0, y1 - y0) == (192, 208) and twice.scale == 2
    roomy = lay_out(layer, canvas=(80, 80))  # shrinking is always allowed
    assert roomy.scale < 1 and not roomy.upscale_limited and roomy.notice() is None
