"""The review score: each feature on mattes drawn to show it, the score's direction, the fill
verdict, the contract's object shape, and the cost at the network's resolution."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from lampyris.imaging.confidence import (
    EMPTY_SCORE,
    REVIEW_THRESHOLD,
    edge_alignment,
    matte_features,
    review_fill,
    review_matte,
    score,
)

SIDE = 320


def disc_matte(radius: int = 80, centre: tuple[int, int] = (160, 160), blur: float = 1.0,
               side: int = SIDE) -> np.ndarray:
    """A crisp disc, as the network gives for a clean studio product (float [0, 1])."""
    m = np.zeros((side, side), np.float32)
    cv2.circle(m, centre, radius, 1.0, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(m, (0, 0), blur) if blur else m


def photo_of(matte: np.ndarray, size: int = 640) -> np.ndarray:
    """A photo whose subject is the matte's: red on light grey, so the outline is a real edge."""
    m = cv2.resize(matte, (size, size), interpolation=cv2.INTER_LINEAR)[..., None]
    grey = np.full((size, size, 3), 225, np.float32)
    red = np.array([200, 30, 30], np.float32)
    return np.clip(m * red + (1 - m) * grey, 0, 255).astype(np.uint8)


def alpha_of(matte: np.ndarray, size: int = 640) -> np.ndarray:
    big = cv2.resize(matte, (size, size), interpolation=cv2.INTER_LINEAR)
    return np.clip(big * 255 + 0.5, 0, 255).astype(np.uint8)


def review_of(matte: np.ndarray, mirrored: np.ndarray | None = None, **kw: float):  # type: ignore[no-untyped-def]
    return review_matte(matte, mirrored, alpha_of(matte), photo_of(matte), **kw)


def test_a_clean_disc_passes_without_reasons() -> None:
    review = review_of(disc_matte())
    f = review.features
    assert review.score > 0.7
    assert not review.flag
    assert review.reasons == []
    assert f["border_sides"] == 0
    assert f["pieces"] == 1
    assert f["holes"] == 0.0
    assert f["mirror_gap"] == 0.0
    assert f["area"] == pytest.approx(np.pi * 80**2 / SIDE**2, rel=0.03)
    assert f["undecided"] < 0.02
    assert f["edge_alignment"] > 1.0  # the outline sits on the photo's red/grey edge


def test_an_undecided_matte_across_the_frame_is_flagged_with_its_reasons() -> None:
    # A big, blurry subject cut off by the left, top and bottom edges of the frame.
    matte = disc_matte(radius=190, centre=(60, 160), blur=18)
    review = review_of(matte)
    assert review.flag
    assert review.score < REVIEW_THRESHOLD
    assert review.features["border_sides"] == 3
    assert review.features["undecided"] > 0.1
    assert any(r.startswith("undecided edge") for r in review.reasons)
    assert "subject touches 3 borders" in review.reasons


def test_the_score_falls_as_each_of_its_terms_grows() -> None:
    base = {"undecided_mass": 0.0, "border_sides": 0, "solidity": 0.8,
            "interior_undecided": 0.0, "area": 0.2}
    scores = [score({**base, "undecided_mass": m}) for m in (0.0, 0.01, 0.03, 0.06)]
    assert scores == sorted(scores, reverse=True)
    sides = [score({**base, "border_sides": n}) for n in range(5)]
    assert sides == sorted(sides, reverse=True)
    inside = [score({**base, "interior_undecided": m}) for m in (0.0, 0.01, 0.03, 0.06)]
    assert inside == sorted(inside, reverse=True)
    blobs = [score({**base, "solidity": s}) for s in (0.4, 0.7, 1.0)]
    assert blobs == sorted(blobs, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores + sides + inside + blobs)


def test_solidity_tells_a_plain_blob_from_an_outline() -> None:
    disc = disc_matte()
    assert matte_features(disc, None, alpha_of(disc), photo_of(disc))["solidity"] > 0.97
    # A plus sign: half of its convex hull (an octagon around the arms) is background.
    cross = np.zeros((SIDE, SIDE), np.float32)
    cross[60:260, 140:180] = 1.0
    cross[140:180, 60:260] = 1.0
    solidity = matte_features(cross, None, alpha_of(cross), photo_of(cross))["solidity"]
    assert solidity == pytest.approx((2 * 200 * 40 - 40 * 40) / (200**2 - 2 * 80**2), abs=0.03)


def test_soft_regions_inside_count_and_a_soft_edge_does_not() -> None:
    # Fur: soft only along the outline. Confusion: a half-on patch far inside the subject.
    fur = disc_matte(radius=100, blur=2.5)
    patchy = disc_matte(radius=100)
    patchy[120:200, 120:200] = 0.5
    f_fur = matte_features(fur, None, alpha_of(fur), photo_of(fur))
    f_patchy = matte_features(patchy, None, alpha_of(patchy), photo_of(patchy))
    assert f_fur["undecided"] > 0.01  # the edge is soft ...
    assert f_fur["interior_undecided"] == pytest.approx(0.0, abs=5e-4)  # ... and only the edge
    # The patch's 80x80 is half-on (softness 1) and, at 0.5, still subject: no outline of its
    # own, all of it over 3 px from the disc's edge.
    assert f_patchy["interior_undecided"] == pytest.approx(80 * 80 / SIDE**2, rel=0.02)
    review = review_of(patchy)
    assert "unsure regions inside the subject" in review.reasons
    assert review.score < review_of(disc_matte(radius=100)).score


def test_mirror_gap_is_the_mean_disagreement_of_the_two_passes() -> None:
    first = disc_matte()
    mirrored = disc_matte(centre=(172, 160))  # the flipped pass put the subject 12 px over
    f = matte_features(first, mirrored, alpha_of(first), photo_of(first))
    assert f["mirror_gap"] == pytest.approx(float(np.abs(first - mirrored).mean()), abs=1e-4)
    assert f["mirror_gap"] > 0.03
    # Not in the score: a hint for the person looking at a flagged result, nowhere else.
    assert not any(r.startswith("mirror") for r in review_of(first, mirrored).reasons)
    flagged = review_of(first, mirrored, threshold=1.0)
    assert any(r.startswith("mirror pass disagrees") for r in flagged.reasons)


def test_pieces_and_holes_are_counted() -> None:
    two = np.maximum(disc_matte(50, (90, 160)), disc_matte(50, (230, 160)))
    assert matte_features(two, None, alpha_of(two), photo_of(two))["pieces"] == 2
    assert review_of(two).reasons == []  # two crisp discs: fine, and nothing said against them
    assert "2 large pieces" in review_of(two, threshold=1.0).reasons
    ring = np.clip(disc_matte(100) - disc_matte(50), 0, 1)
    holes = matte_features(ring, None, alpha_of(ring), photo_of(ring))["holes"]
    assert holes == pytest.approx(50**2 / 100**2, abs=0.03)


def test_an_outline_over_a_flat_photo_follows_no_edge() -> None:
    matte = disc_matte()
    flat = np.full((640, 640, 3), 128, np.uint8)
    assert edge_alignment(alpha_of(matte), flat) == pytest.approx(0.0, abs=0.05)
    assert edge_alignment(alpha_of(matte), photo_of(matte)) > 1.0
    assert edge_alignment(np.zeros((64, 64), np.uint8), flat[:64, :64]) == 0.0


def test_an_empty_matte_says_no_subject() -> None:
    empty = np.zeros((SIDE, SIDE), np.float32)
    review = review_of(empty)
    assert review.features["area"] == 0.0
    assert review.features["pieces"] == 0
    assert review.reasons[0] == "no subject found"
    assert review.flag and review.score == EMPTY_SCORE


def test_a_matte_soft_everywhere_is_not_surely_fine() -> None:
    # Undecided over most of the frame and nowhere above 0.5: no subject area, all doubt.
    haze = np.full((SIDE, SIDE), 0.4, np.float32)
    review = review_of(haze)
    assert review.features["undecided"] > 0.9
    assert review.flag
    assert review.reasons[0] == "no subject found"


def test_the_threshold_decides_the_flag() -> None:
    matte = disc_matte()
    assert review_of(matte, threshold=1.0).flag
    assert not review_of(matte, threshold=0.0).flag


def test_the_object_has_the_contract_shape_and_is_json() -> None:
    body = review_of(disc_matte(radius=190, centre=(60, 160), blur=18)).as_dict()
    assert set(body) == {"score", "flag", "threshold", "reasons", "features"}
    assert isinstance(body["flag"], bool)
    assert body["threshold"] == REVIEW_THRESHOLD
    assert 0.0 <= body["score"] <= 1.0
    assert json.loads(json.dumps(body)) == body


@pytest.mark.parametrize(
    ("held", "share", "expected", "flag"),
    [(True, 0.1, 0.94, False), (True, 0.7, 0.58, False), (True, 0.95, 0.43, True),
     (False, 0.1, 0.0, True)],
)
def test_a_fill_is_judged_by_its_guard_and_generated_share(
    held: bool, share: float, expected: float, flag: bool
) -> None:
    review = review_fill(held, share)
    assert review.score == pytest.approx(expected)
    assert review.flag is flag
    assert review.features == {"guard_held": held, "generated_share": share}
    assert ("fidelity guard did not hold" in review.reasons) is not held
    assert any(r.startswith("generated") for r in review.reasons) is (share > 0.5)


def test_features_cost_milliseconds_at_the_network_resolution() -> None:
    """The target is 10 ms at 320x320 with a 1024 px working copy (about 5 ms measured on an
    idle core); the bound here leaves room for a shared, loaded test machine."""
    matte = disc_matte(radius=120, blur=3)
    rgb = photo_of(matte, 1024)
    alpha = alpha_of(matte, 1024)
    matte_features(matte, matte, alpha, rgb)  # warm-up
    times = []
    for _ in range(5):
        start = time.perf_counter()
        matte_features(matte, matte, alpha, rgb)
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.05


# --- the ops that report it -----------------------------------------------------------------


@pytest.fixture(scope="module")
def product() -> np.ndarray:
    """A 96x128 photo and its cutout: a disc of subject in a textured frame."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:96, :128]
    img = np.stack([xx * 2, yy * 2, (xx + yy) % 256], axis=-1).astype(np.uint8)
    img = np.clip(img + rng.integers(0, 9, img.shape), 0, 255).astype(np.uint8)
    alpha = np.where((yy - 48) ** 2 + (xx - 64) ** 2 < 30**2, 255, 0).astype(np.uint8)
    return np.dstack([img, alpha])


def test_a_fill_reports_its_guard_and_generated_share(product: np.ndarray) -> None:
    from lampyris.ops import run

    hole = np.zeros((96, 128), np.uint8)
    hole[30:60, 40:90] = 255
    small = run("fill", product[..., :3], {"engine": "patch"}, mask=hole).metadata["review"]
    assert small["features"] == {"guard_held": True,
                                 "generated_share": round(30 * 50 / (96 * 128), 4)}
    assert small["flag"] is False and small["reasons"] == []
    # A new background behind a cutout: everything but the disc was generated.
    background = run("fill", product, {"engine": "studio"}).metadata["review"]
    share = background["features"]["generated_share"]
    assert share == pytest.approx(1 - np.pi * 30**2 / (96 * 128), abs=0.01)
    assert background["score"] == pytest.approx(1 - 0.6 * share, abs=1e-3)
    assert background["reasons"] == [f"generated {share:.0%} of the image".replace("%", " %")]
    strict = run("fill", product, {"engine": "studio", "review_threshold": 0.9})
    assert strict.metadata["review"]["flag"] is True


@pytest.mark.parametrize("op", ["expand", "object_composite", "fill_masked_areas"])
def test_every_generative_op_reports_a_review(product: np.ndarray, op: str) -> None:
    from lampyris.ops import run

    if op == "fill_masked_areas":
        hole = np.zeros((96, 128), np.uint8)
        hole[10:20, 10:30] = 255
        result = run(op, product[..., :3], {}, mask=hole, mask_2=hole[::-1].copy())
        expected = 2 * 10 * 20 / (96 * 128)
    else:
        params = {"engine": "studio", "size": (192, 144)} if op == "expand" else \
            {"engine": "studio", "prompt": "marble"}
        result = run(op, product, params)
        expected = None
    review = result.metadata["review"]
    assert set(review) == {"score", "flag", "threshold", "reasons", "features"}
    assert review["features"]["guard_held"] is True
    share = review["features"]["generated_share"]
    if expected is not None:
        assert share == pytest.approx(expected, abs=1e-4)
    assert 0.0 < share < 1.0
    assert review["score"] == pytest.approx(1 - 0.6 * share, abs=1e-3)


def test_a_refined_mask_is_reviewed() -> None:
    from lampyris.ops import run
    from support.mask_scenes import rough_mask, wavy_subject

    photo, alpha = wavy_subject()
    review = run("refine_mask", photo, {}, mask=rough_mask(alpha)).metadata["review"]
    assert set(review) == {"score", "flag", "threshold", "reasons", "features"}
    assert review["features"]["mirror_gap"] == 0.0
    assert review["features"]["pieces"] >= 1
    assert review["features"]["edge_alignment"] > 0.5  # the refined edge is the photo's
    assert 0.0 <= review["score"] <= 1.0
