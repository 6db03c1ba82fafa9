"""The cutout op: parameter validation, every output mode, layout options, and the catalog.

The matte comes from the real bundled u2netp. Most tests pass ``session=`` a thin memo over
that one session (same image in, same matte out), so the op's own steps run for every case
while each distinct image is inferred only once.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from lampyris import ops
from lampyris.errors import InvalidParameterError, ModelNotFoundError
from lampyris.imaging.decode import decode
from lampyris.imaging.layout import Length, subject_box
from lampyris.models import MattingSession
from lampyris.models.session import MattePasses
from lampyris.ops.base import OpResult
from lampyris.ops.cutout import CutoutParams, cutout, parse_canvas, parse_colour

RED = (200, 30, 30)


class MemoSession:
    """The real u2netp session, remembering its matte per distinct input image."""

    def __init__(self, session: MattingSession) -> None:
        self.session = session
        self.spec = session.spec
        self.calls = 0
        self._memo: dict[tuple[tuple[int, ...], bytes], MattePasses] = {}

    def passes(self, rgb: np.ndarray, *, mirror: str = "auto") -> MattePasses:
        key = (rgb.shape, np.ascontiguousarray(rgb).tobytes() + mirror.encode())
        if key not in self._memo:
            self.calls += 1
            self._memo[key] = self.session.passes(rgb, mirror=mirror)  # type: ignore[arg-type]
        found = self._memo[key]
        return MattePasses(found.first.copy(),
                           None if found.mirrored is None else found.mirrored.copy())

    def predict(self, rgb: np.ndarray, *, mirror: str = "auto") -> np.ndarray:
        return self.passes(rgb, mirror=mirror).matte


@pytest.fixture(scope="module")
def session(u2netp: MattingSession) -> MemoSession:
    return MemoSession(u2netp)


@pytest.fixture(scope="module")
def run(session: MemoSession, disc: Any) -> Callable[..., OpResult]:
    """cutout() of the standard disc (or ``image``) with keyword params."""

    def _run(image: np.ndarray | None = None, **params: Any) -> OpResult:
        return cutout(disc.rgb if image is None else image, CutoutParams(**params),
                      session=session)  # type: ignore[arg-type]

    return _run


@pytest.fixture(scope="module")
def default(run: Callable[..., OpResult]) -> OpResult:
    return run()


# --- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("white", (255, 255, 255, 1.0)),
        ("Black", (0, 0, 0, 1.0)),
        ("#00ff00", (0, 255, 0, 1.0)),
        ("#ff000080", (255, 0, 0, 128 / 255)),
        ("#f008", (255, 0, 0, 136 / 255)),
        ("255,0,0,0.5", (255, 0, 0, 0.5)),
        (" 10, 20 ,30 ", (10, 20, 30, 1.0)),
        ("12.4,0,255,1", (12, 0, 255, 1.0)),
        ("rgb(1,2,3)", (1, 2, 3, 1.0)),
        ({"red": 255, "green": 128, "blue": 0, "alpha": 0.25}, (255, 128, 0, 0.25)),
        ({"red": 1, "green": 2, "blue": 3, "alpha": 1, "extra": "ignored"}, (1, 2, 3, 1.0)),
        ((1, 2, 3), (1, 2, 3, 1.0)),
        ([4, 5, 6, 0], (4, 5, 6, 0.0)),
    ],
)
def test_background_colour_formats(value: Any, expected: tuple[int, int, int, float]) -> None:
    background = CutoutParams(background=value).background
    assert background is not None
    assert background[:3] == expected[:3]
    assert all(isinstance(c, int) for c in background[:3])
    assert background[3] == pytest.approx(expected[3])
    assert parse_colour(value) == background


@pytest.mark.parametrize(
    "value",
    [
        "notacolour",
        "#ff00f",
        "255,0",
        "255,0,0,0.5,1",
        "300,0,0",
        "-1,0,0",
        "0,0,0,2",
        "0,0,0,-0.1",
        "a,b,c",
        {"red": 1, "green": 2, "blue": 3},
        {"r": 1, "g": 2, "b": 3, "a": 1},
        (1, 2),
        "",
    ],
)
def test_bad_background_colours_are_validation_errors(value: Any) -> None:
    with pytest.raises(ValidationError, match="background"):
        CutoutParams(background=value)


@pytest.mark.parametrize("field", ["background", "canvas"])
def test_a_number_is_a_validation_error(field: str) -> None:
    with pytest.raises(ValidationError):
        CutoutParams(**{field: 5})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("800x600", (800, 600)), ("800X600", (800, 600)), ("1x16384", (1, 16384)),
     ((640, 480), (640, 480)), ([300, 200], (300, 200)), (("12", "34"), (12, 34))],
)
def test_canvas_formats(value: Any, expected: tuple[int, int]) -> None:
    assert CutoutParams(canvas=value).canvas == expected
    assert parse_canvas(value) == expected


@pytest.mark.parametrize(
    "value",
    ["800", "800x", "x600", "800x600x3", "0x600", "800x0", "16385x10", "-5x10", "axb", "800*600",
     (800,), (0, 10), (1, 2, 3)],
)
def test_bad_canvases_are_validation_errors(value: Any) -> None:
    with pytest.raises(ValidationError, match="canvas"):
        CutoutParams(canvas=value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("24", Length(24.0)), ("24px", Length(24.0)), ("5%", Length(5.0, True)), (12, Length(12.0)),
     (None, None)],
)
def test_padding_formats(value: Any, expected: Length | None) -> None:
    assert CutoutParams(padding=value).padding == expected


@pytest.mark.parametrize("length", [Length(3.0, True), Length(24.0)])
def test_padding_accepts_a_length(length: Length) -> None:
    assert CutoutParams(padding=length).padding == length


@pytest.mark.parametrize("value", ["-5", "-5%", "abc", "5em"])
def test_bad_paddings_are_validation_errors(value: Any) -> None:
    with pytest.raises(ValidationError, match="padding"):
        CutoutParams(padding=value)


@pytest.mark.parametrize("value", [-5, -0.5, "nan", "inf"])
def test_negative_or_nan_padding_is_a_validation_error(value: Any) -> None:
    with pytest.raises(ValidationError):
        CutoutParams(padding=value)


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0, 1])
def test_decontaminate_in_range(value: float) -> None:
    assert CutoutParams(decontaminate=value).decontaminate == value


@pytest.mark.parametrize(
    ("field", "value"),
    [("decontaminate", -0.1), ("decontaminate", 1.5), ("shadow_opacity", 1.01),
     ("shadow_opacity", -1), ("mode", "matte"), ("mask_format", "hard"), ("trim", "maybe")],
)
def test_out_of_range_options_are_validation_errors(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=field):
        CutoutParams(**{field: value})


@pytest.mark.parametrize("field", ["colour", "format", "output_format", "Background"])
def test_unknown_fields_are_forbidden(field: str) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted") as info:
        CutoutParams(**{field: "x"})
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_defaults_and_immutability() -> None:
    params = CutoutParams()
    assert params.model_dump() == {
        "model": "u2netp", "mirror_pass": "auto", "mode": "cutout", "mask_format": "soft",
        "decontaminate": None, "holes": "auto",
        "background": None, "trim": False, "padding": None, "canvas": None, "max_upscale": 1.0,
        "shadow": False, "shadow_opacity": 0.45, "review_threshold": 0.5,
    }
    with pytest.raises(ValidationError, match="frozen"):
        params.trim = True  # type: ignore[misc]


# --- output modes -------------------------------------------------------------------------------


def test_default_is_an_rgba_cutout(
    default: OpResult, disc: Any, iou_of: Callable[..., float]
) -> None:
    out = default.pixels
    assert out.shape == (240, 320, 4)
    assert out.dtype == np.uint8
    alpha = out[..., 3]
    assert iou_of(alpha > 127, disc.mask) > 0.97
    assert np.all(alpha[disc.interior()] == 255)
    assert np.all(alpha[disc.exterior()] == 0)
    visible = alpha > 0
    np.testing.assert_array_equal(out[..., :3][visible], disc.rgb[visible])  # colours untouched
    assert not out[~visible].any()  # fully transparent pixels are (0, 0, 0, 0)


def test_mask_mode_is_the_cutouts_alpha(run: Callable[..., OpResult], default: OpResult) -> None:
    mask = run(mode="mask").pixels
    assert mask.shape == (240, 320)
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, default.pixels[..., 3])
    assert ((mask > 0) & (mask < 255)).sum() > 100  # soft: a real anti-aliased edge


@pytest.mark.parametrize("mode", ["mask", "cutout"])
def test_binary_mask_format(
    run: Callable[..., OpResult], disc: Any, iou_of: Callable[..., float], mode: str
) -> None:
    out = run(mode=mode, mask_format="binary").pixels
    alpha = out if mode == "mask" else out[..., 3]
    assert set(np.unique(alpha).tolist()) == {0, 255}
    assert iou_of(alpha == 255, disc.mask) > 0.97


@pytest.mark.parametrize(
    ("background", "colour"),
    [("white", (255, 255, 255)), ("#0000ff", (0, 0, 255)), ("0,128,0", (0, 128, 0)),
     ({"red": 10, "green": 20, "blue": 30, "alpha": 1.0}, (10, 20, 30))],
)
def test_opaque_background_gives_rgb(
    run: Callable[..., OpResult], disc: Any, background: Any, colour: tuple[int, int, int]
) -> None:
    out = run(background=background, decontaminate=0).pixels
    assert out.shape == (240, 320, 3)
    assert np.all(out[disc.exterior()] == colour)
    assert np.all(out[disc.interior()] == RED)
    # The edge blends the new background with the input's own pixels (red or light grey).
    edge = ~disc.exterior(2) & ~disc.interior(2)
    inputs = np.array([colour, RED, disc.rgb[0, 0]])
    lo, hi = inputs.min(axis=0), inputs.max(axis=0)
    assert np.all((out[edge] >= lo) & (out[edge] <= hi))
    assert len(np.unique(out[edge], axis=0)) > 20


def test_translucent_background_gives_rgba(run: Callable[..., OpResult], disc: Any) -> None:
    out = run(background="#0000ff80").pixels
    assert out.shape == (240, 320, 4)
    assert np.all(out[disc.exterior()] == (0, 0, 255, 128))
    assert np.all(out[disc.interior()] == (*RED, 255))


@pytest.mark.parametrize(
    ("canvas", "padding"),
    [("400x300", "10%"), ("300x400", "20"), ("256x256", None), ("500x200", "5px")],
)
def test_trim_canvas_padding_and_shadow(
    run: Callable[..., OpResult], canvas: str, padding: str | None
) -> None:
    cw, ch = (int(v) for v in canvas.split("x"))
    fit = {"trim": True, "canvas": canvas, "padding": padding, "max_upscale": 4}
    plain = run(**fit).pixels
    shadowed = run(**fit, shadow=True).pixels
    on_white = run(**fit, shadow=True, background="white")

    assert plain.shape == shadowed.shape == (ch, cw, 4)
    assert on_white.pixels.shape == (ch, cw, 3)

    pad = CutoutParams(padding=padding).padding
    pad_px = pad.pixels(min(cw, ch)) if pad else 0
    x0, y0, x1, y1 = subject_box(plain[..., 3])
    left, top, right, bottom = x0, y0, cw - x1, ch - y1
    assert abs(left - right) <= 1
    assert abs(top - bottom) <= 1
    assert min(left, top, right, bottom) >= pad_px
    assert min(left + right, top + bottom) - 2 * pad_px <= 2  # scaled to fill the room

    opaque = plain[..., 3] == 255
    np.testing.assert_array_equal(shadowed[opaque], plain[opaque])
    below = shadowed[y1 : y1 + 3, (x0 + x1) // 2 - 5 : (x0 + x1) // 2 + 5]
    assert np.all(below[..., 3] > 0) and np.all(below[..., :3] < 20)
    assert np.all(plain[y1 : y1 + 3, :, 3] == 0)  # no shadow without asking
    assert np.all(shadowed[: max(0, y0 - (y1 - y0) // 4), :, 3] == 0)  # none far above
    grey = on_white.pixels[y1 : y1 + 3, (x0 + x1) // 2]
    assert np.all(grey < 250) and np.all(grey > 60)  # a visible grey shadow on white


def test_trim_alone_crops_to_the_subject(run: Callable[..., OpResult], default: OpResult) -> None:
    out = run(trim=True).pixels
    x0, y0, x1, y1 = default.metadata["subject_box"]
    np.testing.assert_array_equal(out, default.pixels[y0:y1, x0:x1])


def test_padding_without_canvas(run: Callable[..., OpResult], default: OpResult) -> None:
    out = run(trim=True, padding="10").pixels
    x0, y0, x1, y1 = default.metadata["subject_box"]
    assert out.shape == (y1 - y0 + 20, x1 - x0 + 20, 4)
    np.testing.assert_array_equal(out[10:-10, 10:-10], default.pixels[y0:y1, x0:x1])


def test_mask_mode_with_canvas(run: Callable[..., OpResult]) -> None:
    out = run(mode="mask", canvas="200x100", padding="10").pixels
    assert out.shape == (100, 200)
    x0, y0, x1, y1 = subject_box(out)
    assert (y0, 100 - y1) == (10, 10)
    assert abs(x0 - (200 - x1)) <= 1


def test_rgba_input_keeps_its_transparency(
    run: Callable[..., OpResult], disc: Any, default: OpResult
) -> None:
    rgba = np.dstack([disc.rgb, np.full(disc.mask.shape, 255, np.uint8)])
    rgba[:, :160, 3] = 0  # the left half was already cut away
    rgba[:100, 160:, 3] = 128  # the top right was half transparent
    out = run(rgba).pixels
    assert out.shape == (240, 320, 4)
    assert np.all(out[:, :160, 3] == 0)
    inside = disc.interior()
    right = inside.copy()
    right[:100, :] = False
    right[:, :160] = False
    assert np.all(out[right, 3] == 255)
    top = inside.copy()
    top[100:, :] = False
    top[:, :160] = False
    assert np.all(np.abs(out[top, 3].astype(int) - 128) <= 1)

    opaque = rgba.copy()
    opaque[..., 3] = 255
    np.testing.assert_array_equal(run(opaque).pixels, default.pixels)  # opaque: as RGB


def test_decontaminate_removes_the_background_spill(
    run: Callable[..., OpResult], make_subject: Callable[..., Any]
) -> None:
    colour = np.array([200, 30, 200])
    subject = make_subject(colour=tuple(colour), background=(30, 200, 30))
    plain = run(subject.rgb).pixels
    clean = run(subject.rgb, decontaminate=1.0)
    alpha = clean.pixels[..., 3]
    np.testing.assert_array_equal(alpha, plain[..., 3])  # only colours change
    edge = (alpha > 25) & (alpha < 230)
    assert edge.sum() > 100

    def spill(rgb: np.ndarray) -> float:
        return float(np.abs(rgb[edge, :3].astype(int) - colour).mean())

    assert spill(clean.pixels) < 0.6 * spill(plain)
    assert float(clean.pixels[edge, 1].mean()) < float(plain[edge, 1].mean()) - 30  # less green
    opaque = alpha == 255
    np.testing.assert_array_equal(clean.pixels[opaque], plain[opaque])
    assert "decontaminate" in clean.metadata["timings"]


def test_decoded_image_input(run: Callable[..., OpResult], disc: Any, default: OpResult) -> None:
    buf = io.BytesIO()
    Image.fromarray(disc.rgb).save(buf, "PNG")
    out = run(decode(buf.getvalue()))
    np.testing.assert_array_equal(out.pixels, default.pixels)


@pytest.mark.parametrize(
    "image",
    [np.zeros((20, 30), np.uint8), np.zeros((20, 30, 2), np.uint8),
     np.zeros((20, 30, 5), np.uint8), np.zeros((20, 30, 3), np.float32),
     np.zeros((20, 30, 3), np.uint16)],
    ids=["grey", "two-channels", "five-channels", "float", "uint16"],
)
def test_bad_images_are_refused(run: Callable[..., OpResult], image: np.ndarray) -> None:
    with pytest.raises(InvalidParameterError, match="HxWx3 or HxWx4 uint8"):
        run(image)


def test_unknown_model_name(disc: Any) -> None:
    with pytest.raises(ModelNotFoundError, match="unknown model 'nope'"):
        cutout(disc.rgb, CutoutParams(model="nope"))


# --- metadata and the catalog -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "steps"),
    [
        ({}, {"matte", "layout"}),
        ({"mode": "mask"}, {"matte", "layout"}),
        ({"decontaminate": 0.5, "shadow": True, "background": "white"},
         {"matte", "decontaminate", "layout", "shadow", "background"}),
    ],
)
def test_metadata(
    run: Callable[..., OpResult], disc: Any, params: dict[str, Any], steps: set[str]
) -> None:
    meta = run(**params).metadata
    assert meta["model"] == "u2netp"
    assert set(meta["timings"]) == steps
    assert all(isinstance(t, float) and t >= 0 for t in meta["timings"].values())
    box = meta["subject_box"]
    assert len(box) == 4
    assert all(isinstance(v, int) for v in box)
    np.testing.assert_allclose(box, disc.box, atol=2)


def test_ops_run_equals_cutout(disc: Any, default: OpResult) -> None:
    result = ops.run("cutout", disc.rgb)  # the real process-wide session, no memo
    np.testing.assert_array_equal(result.pixels, default.pixels)
    assert result.metadata["subject_box"] == default.metadata["subject_box"]


@pytest.mark.parametrize(
    "params",
    [{"mode": "mask", "mask_format": "binary"},
     {"background": "white", "trim": True, "padding": "5%"},
     {"canvas": "120x90", "shadow": True}],
)
def test_ops_run_validates_params_and_passes_the_session(
    session: MemoSession, disc: Any, params: dict[str, Any]
) -> None:
    via_catalog = ops.run("cutout", disc.rgb, params, session=session)
    direct = cutout(disc.rgb, CutoutParams(**params), session=session)  # type: ignore[arg-type]
    np.testing.assert_array_equal(via_catalog.pixels, direct.pixels)


def test_ops_run_rejects_bad_params(disc: Any) -> None:
    with pytest.raises(ValidationError):
        ops.run("cutout", disc.rgb, {"background": "not a colour"})


@pytest.mark.parametrize("name", ["remove-background", "Cutout", ""])
def test_unknown_op(disc: Any, name: str) -> None:
    with pytest.raises(InvalidParameterError, match=r"unknown op .*: one of cutout"):
        ops.run(name, disc.rgb)


def test_catalog_entry() -> None:
    op = ops.CATALOG["cutout"]
    assert op.name == "cutout"
    assert op.params is CutoutParams
    assert op.run is cutout


def test_the_memo_session_ran_each_image_once(session: MemoSession) -> None:
    """Guard for the fixture itself: identical inputs really share one inference."""
    before = session.calls
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    first = cutout(image, session=session)  # type: ignore[arg-type]
    second = cutout(image, session=session)  # type: ignore[arg-type]
    assert session.calls == before + 1
    np.testing.assert_array_equal(first.pixels, second.pixels)


# --- review score (issue 20) --------------------------------------------------------------------


class CountingSession:
    """The memo session, counting how the op asks for the matte: the review must come from the
    passes the matte was made of, never from another inference."""

    def __init__(self, inner: MemoSession) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.passes_calls = 0
        self.mirrors: list[bool] = []

    def passes(self, rgb: np.ndarray, *, mirror: str = "auto") -> MattePasses:
        self.passes_calls += 1
        found = self.inner.passes(rgb, mirror=mirror)
        self.mirrors.append(found.mirrored is not None)
        return found

    def predict(self, rgb: np.ndarray, *, mirror: str = "auto") -> np.ndarray:
        raise AssertionError("the cutout op asks for the passes, once")


def test_every_cutout_reports_a_review(default: OpResult) -> None:
    from lampyris.imaging.confidence import REVIEW_THRESHOLD

    review = default.metadata["review"]
    assert set(review) == {"score", "flag", "threshold", "reasons", "features"}
    assert review["threshold"] == REVIEW_THRESHOLD
    # The standard disc is a clean studio subject: it needs no human.
    assert review["score"] > 0.7
    assert review["flag"] is False
    assert review["reasons"] == []
    assert review["features"]["border_sides"] == 0
    assert review["features"]["pieces"] == 1


def test_the_review_reads_the_passes_the_matte_came_from(session: MemoSession, disc: Any) -> None:
    counting = CountingSession(session)
    one = cutout(disc.rgb, CutoutParams(mirror_pass="never"), session=counting)  # type: ignore[arg-type]
    both = cutout(disc.rgb, CutoutParams(mirror_pass="always"),
                  session=counting)  # type: ignore[arg-type]
    assert counting.passes_calls == 2
    assert counting.mirrors == [False, True]
    assert one.metadata["review"]["features"]["mirror_gap"] == 0.0
    # u2netp is not mirror-symmetric: the two passes differ a little even on a disc.
    assert 0.0 < both.metadata["review"]["features"]["mirror_gap"] < 0.03


def test_a_subject_cut_by_the_frame_scores_lower(run: Callable[..., OpResult], disc: Any,
                                                 default: OpResult) -> None:
    h, w = disc.rgb.shape[:2]
    cut = np.ascontiguousarray(disc.rgb[h // 3:, : w // 2])  # the disc runs off two sides
    review = run(cut).metadata["review"]
    assert review["features"]["border_sides"] >= 1
    assert review["score"] < default.metadata["review"]["score"]
    assert any("border" in reason for reason in review["reasons"])


def test_review_threshold_sets_the_flag(run: Callable[..., OpResult]) -> None:
    strict = run(review_threshold=1.0).metadata["review"]
    assert strict["flag"] is True
    assert strict["threshold"] == 1.0
    assert run(review_threshold=0.0).metadata["review"]["flag"] is False
    with pytest.raises(ValidationError):
        CutoutParams(review_threshold=1.5)


def test_mask_mode_reports_the_same_review(run: Callable[..., OpResult],
                                           default: OpResult) -> None:
    assert run(mode="mask").metadata["review"] == default.metadata["review"]
