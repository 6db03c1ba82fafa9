"""``lampyris fill``, ``expand`` and ``composite`` through the real command line on generated
pictures, judged by the pixels written: what must be kept is kept exactly, seeds repeat and
vary, and a mask that does not fit fails clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner, Result

import lampyris.cli.file_commands as cli_files
from lampyris.cli.app import app

W, H = 240, 180


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder and a console wide enough that messages are not wrapped."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAMPYRIS_OUTPUT", raising=False)
    console = Console(stderr=True, width=500, no_color=True)
    monkeypatch.setattr(cli_files, "console", console)
    return tmp_path


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def flat(result: Result) -> str:
    return " ".join(result.output.split())


def photo(seed: int = 0) -> np.ndarray:
    """A textured scene: a smooth gradient with noise and a dark bar, HxWx3."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    base = np.dstack([80 + xx * 0.5, 120 + yy * 0.4, 160 - xx * 0.2])
    rgb = np.clip(base + rng.normal(0, 12, (H, W, 3)), 0, 255).astype(np.uint8)
    rgb[40:60, 20:220] = (30, 30, 40)
    return rgb


def hole() -> np.ndarray:
    """White (fill) rectangle inside the picture, black (keep) elsewhere."""
    mask = np.zeros((H, W), np.uint8)
    mask[70:120, 90:160] = 255
    return mask


def cutout(product: np.ndarray, at: tuple[int, int]) -> np.ndarray:
    """An RGBA cutout: ``product`` (opaque) at ``at`` (x, y), transparent grey elsewhere."""
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[..., :3] = 128
    x, y = at
    ph, pw = product.shape[:2]
    rgba[y:y + ph, x:x + pw, :3] = product
    rgba[y:y + ph, x:x + pw, 3] = 255
    return rgba


def product(side: int = 60) -> np.ndarray:
    """A patterned square, so finding it again in an output proves it was not redrawn."""
    rng = np.random.default_rng(42)
    return rng.integers(0, 256, (side, side, 3), dtype=np.uint8)


def save(pixels: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def read(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


# -- fill -----------------------------------------------------------------------------------
def test_fill_changes_only_the_masked_area_and_says_which_engine(workdir: Path) -> None:
    original = photo()
    save(original, workdir / "in" / "room.png")
    save(hole(), workdir / "mask.png")
    result = invoke("fill", "in/room.png", "--mask", "mask.png", "--output", "out")
    assert result.exit_code == 0, result.output
    text = flat(result)
    assert f"✓ {workdir / 'out' / 'room.png'}: engine patch · fidelity guard held" in text
    assert "done 1 · skipped 0 · failed 0" in text
    filled = read(workdir / "out" / "room.png")
    assert filled.shape == original.shape
    outside = hole() == 0
    assert np.array_equal(filled[outside], original[outside])
    inside = ~outside
    assert not np.array_equal(filled[inside], original[inside])
    # the hole cut the dark bar's neighbourhood: it is filled with the picture's own colours
    assert abs(float(filled[inside].mean()) - float(original[outside].mean())) < 40


def test_variations_are_named_by_seed_and_differ(workdir: Path) -> None:
    original = photo()
    save(original, workdir / "in" / "room.png")
    save(photo(1), workdir / "in" / "sub" / "hall.png")
    save(hole(), workdir / "mask.png")
    result = invoke("fill", "in", "--mask", "mask.png", "--output", "out", "--variations", "3",
                    "--seed", "5", "--prompt", "white marble")
    assert result.exit_code == 0, result.output
    assert "done 6 · skipped 0 · failed 0" in flat(result)
    names = sorted(str(p.relative_to(workdir / "out")) for p in (workdir / "out").rglob("*.png"))
    assert names == ["room-5.png", "room-6.png", "room-7.png",
                     "sub/hall-5.png", "sub/hall-6.png", "sub/hall-7.png"]
    outputs = [read(workdir / "out" / f"room-{seed}.png") for seed in (5, 6, 7)]
    outside = hole() == 0
    for out in outputs:
        assert np.array_equal(out[outside], original[outside])
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.array_equal(outputs[i], outputs[j]), "each seed draws its own fill"


def test_the_same_seed_gives_the_same_image(workdir: Path) -> None:
    save(photo(), workdir / "room.png")
    save(hole(), workdir / "mask.png")
    for folder in ("one", "two"):
        result = invoke("fill", "room.png", "--mask", "mask.png", "--output", folder,
                        "--seed", "11")
        assert result.exit_code == 0, result.output
    assert (workdir / "one" / "room.png").read_bytes() == (workdir / "two" / "room.png"
                                                          ).read_bytes()


def test_a_mask_of_another_size_fails_that_input_clearly(workdir: Path) -> None:
    save(photo(), workdir / "room.png")
    save(np.full((50, 70), 255, np.uint8), workdir / "mask.png")
    result = invoke("fill", "room.png", "--mask", "mask.png", "--output", "out")
    assert result.exit_code == 1, result.output
    text = flat(result)
    assert "done 0 · skipped 0 · failed 1" in text
    assert (f"✗ {workdir / 'room.png'}: the mask is 70x50 but the image is {W}x{H}: "
            "one --mask applies to every input, so they must be the same size") in text
    assert not (workdir / "out" / "room.png").exists()


def test_an_unreadable_mask_is_a_usage_error(workdir: Path) -> None:
    save(photo(), workdir / "room.png")
    result = invoke("fill", "room.png", "--mask", "missing.png", "--output", "out")
    assert result.exit_code == 2, result.output
    assert "--mask missing.png:" in flat(result)


def test_a_cutout_needs_no_mask_its_background_is_filled(workdir: Path) -> None:
    item = product()
    save(cutout(item, (90, 60)), workdir / "shoe.png")
    result = invoke("fill", "shoe.png", "--prompt", "white marble", "--output", "out")
    assert result.exit_code == 0, result.output
    assert "engine studio · fidelity guard held" in flat(result)
    out = read(workdir / "out" / "shoe.png")
    assert out.shape == (H, W, 3), "the filled picture is opaque RGB"
    assert np.array_equal(out[60:120, 90:150], item)
    background = np.ones((H, W), bool)
    background[55:125, 85:155] = False  # the product and the shadow around it
    assert out[background].mean() > 180, "a light marble backdrop, not the hidden grey"


@pytest.mark.parametrize(("command", "prompt", "line"), [
    (["fill"], "white marble, palm trees", "prompt words not used: palm, trees"),
    (["expand", "--size", "300x240"], "oak table, fern", "prompt words not used: fern"),
    (["composite"], "pastel pink linen, beach umbrella",
     "prompt words not used: beach, umbrella"),  # linen came first: no sand either
])
def test_prompt_words_the_studio_did_not_draw_are_named_once_per_input(
    workdir: Path, command: list[str], prompt: str, line: str
) -> None:
    save(cutout(product(), (90, 60)), workdir / "shoe.png")
    result = invoke(command[0], "shoe.png", *command[1:], "--prompt", prompt, "--output", "out",
                    "--variations", "2")
    assert result.exit_code == 0, result.output
    text = flat(result)
    assert "engine studio · fidelity guard held" in text
    assert text.count(line) == 1, text  # two seeds, one line: the words are the same
    known = invoke(command[0], "shoe.png", *command[1:], "--prompt", "white marble counter",
                   "--output", "known")
    assert known.exit_code == 0, known.output
    assert "prompt words not used" not in flat(known)


def test_an_opaque_picture_without_a_mask_fails(workdir: Path) -> None:
    save(photo(), workdir / "room.png")
    result = invoke("fill", "room.png", "--output", "out")
    assert result.exit_code == 1
    assert "fill needs a mask (white = fill), or an image with transparency" in flat(result)


def test_an_existing_output_is_skipped_unless_overwrite(workdir: Path) -> None:
    save(photo(), workdir / "room.png")
    save(hole(), workdir / "mask.png")
    assert invoke("fill", "room.png", "--mask", "mask.png", "-o", "out").exit_code == 0
    again = invoke("fill", "room.png", "--mask", "mask.png", "-o", "out")
    assert again.exit_code == 0 and "done 0 · skipped 1 · failed 0" in flat(again)
    forced = invoke("fill", "room.png", "--mask", "mask.png", "-o", "out", "--overwrite")
    assert forced.exit_code == 0 and "done 1 · skipped 0 · failed 0" in flat(forced)


@pytest.mark.parametrize("command", [["fill", "--mask", "mask.png"], ["expand"],
                                     ["composite", "--prompt", "linen"]])
def test_two_inputs_of_one_stem_are_refused_before_anything_runs(workdir: Path,
                                                                 command: list[str]) -> None:
    save(photo(), workdir / "in" / "0020.jpg")
    save(photo(1), workdir / "in" / "0020.png")
    save(hole(), workdir / "mask.png")
    result = invoke(command[0], "in", "--output", "out", *command[1:])
    assert result.exit_code == 2, result.output
    names = [str((workdir / "in" / n).resolve()) for n in ("0020.jpg", "0020.png")]
    assert (f"error: {names[0]} and {names[1]} would both be written to "
            f"{(workdir / 'out' / '0020.png').resolve()}: use --naming") in flat(result)
    assert "done" not in flat(result)
    assert not (workdir / "out").exists()


def test_numbered_outputs_are_each_drawn_from_their_own_input(workdir: Path) -> None:
    jpeg, png = photo(), photo(1)
    save(jpeg, workdir / "in" / "0020.jpg")
    save(png, workdir / "in" / "0020.png")
    save(hole(), workdir / "mask.png")
    result = invoke("fill", "in", "--mask", "mask.png", "--output", "out", "--naming", "number",
                    "--variations", "2")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (workdir / "out").iterdir()) == [
        "0020-0.png", "0020-1.png", "0020-2-0.png", "0020-2-1.png"]
    outside = hole() == 0
    for name, original in (("0020-0.png", read(workdir / "in" / "0020.jpg")),
                           ("0020-2-1.png", png)):
        assert np.array_equal(read(workdir / "out" / name)[outside], original[outside])
    assert not np.array_equal(jpeg[outside], png[outside])


# -- expand ---------------------------------------------------------------------------------
def test_expand_writes_the_size_asked_with_the_picture_where_it_was_placed(
        workdir: Path) -> None:
    original = photo()
    save(original, workdir / "room.png")
    result = invoke("expand", "room.png", "--size", "300x240", "--left", "10", "--top", "20",
                    "--align-x", "left", "--align-y", "top", "--output", "out")
    assert result.exit_code == 0, result.output
    assert "engine patch · fidelity guard held" in flat(result)
    out = read(workdir / "out" / "room.png")
    assert out.shape == (240, 300, 3)
    assert np.array_equal(out[20:20 + H, 10:10 + W], original)
    # the new area is generated from the picture, not left black
    assert out[:20].mean() > 40 and out[:, 10 + W:].mean() > 40


def test_expand_refuses_a_size_that_is_not_wxh(workdir: Path) -> None:
    save(photo(), workdir / "room.png")
    result = invoke("expand", "room.png", "--size", "wide", "--output", "out")
    assert result.exit_code == 2
    assert "--size: Value error, canvas must be WIDTHxHEIGHT, not 'wide'" in flat(result)


# -- composite ------------------------------------------------------------------------------
def test_composite_keeps_the_product_pixels_where_it_stands(workdir: Path) -> None:
    item = product()
    save(cutout(item, (20, 30)), workdir / "shoe.png")
    result = invoke("composite", "shoe.png", "--prompt", "pastel pink linen", "--bottom", "10",
                    "--output", "out", "--variations", "2")
    assert result.exit_code == 0, result.output
    assert "engine studio · fidelity guard held" in flat(result)
    first, second = read(workdir / "out" / "shoe-0.png"), read(workdir / "out" / "shoe-1.png")
    assert first.shape == (H, W, 3)
    # a lone inset, and the product fits: not scaled, centred across, 10 px off the bottom
    x, y = (W - 60) // 2, H - 10 - 60
    assert np.array_equal(first[y:y + 60, x:x + 60], item)
    found = cv2.matchTemplate(first, item, cv2.TM_SQDIFF)
    assert found.min() == 0 and tuple(np.argwhere(found == 0)[0]) == (y, x)
    assert np.array_equal(second[y:y + 60, x:x + 60], item)
    assert not np.array_equal(first, second)


def test_composite_needs_a_prompt(workdir: Path) -> None:
    save(cutout(product(), (20, 30)), workdir / "shoe.png")
    result = invoke("composite", "shoe.png", "--output", "out")
    assert result.exit_code == 2
    assert "--prompt" in flat(result)
    assert not (workdir / "out").exists()


# -- review ---------------------------------------------------------------------------------
def test_a_fill_is_scored_and_a_stricter_threshold_moves_it_for_review(workdir: Path) -> None:
    original = photo()
    save(original, workdir / "in" / "room.png")
    save(hole(), workdir / "mask.png")
    result = invoke("fill", "in", "--mask", "mask.png", "--output", "out", "--summary",
                    "run.json", "--review-threshold", "0.99", "--on-review", "move:check")
    assert result.exit_code == 0, result.output  # a result to check is no failure
    text = flat(result)
    assert f"✓ {workdir / 'check' / 'room.png'}: engine patch · fidelity guard held" in text
    assert "1 to review (score < 0.99, 1 moved)" in text
    # 50×70 of 240×180 generated: 1 - 0.6 × 8.1 % (imaging.confidence.review_fill)
    assert (f"? {workdir / 'in' / 'room.png'}: score 0.95 → {workdir / 'check' / 'room.png'}"
            in text)
    assert not (workdir / "out" / "room.png").exists()
    moved = read(workdir / "check" / "room.png")
    assert np.array_equal(moved[hole() == 0], original[hole() == 0])
    data = json.loads((workdir / "run.json").read_text())
    assert data["review"] == {"threshold": 0.99, "this_run": 1, "moved": 1, "ledger": 1}
    (item,) = data["items"]
    assert item["review"]["features"] == {"guard_held": True, "generated_share": 0.081}
    assert item["output"] == str(workdir / "check" / "room.png")


def test_expand_and_composite_are_flagged_for_how_much_they_generated(workdir: Path) -> None:
    save(photo(), workdir / "room.png")
    expanded = invoke("expand", "room.png", "--output", "wide", "--review-threshold", "0.8")
    assert expanded.exit_code == 0, expanded.output
    assert "1 to review (score < 0.8)" in flat(expanded)  # each side × 1.414: half generated
    assert f"? {workdir / 'room.png'}: score 0.70: generated 50 % of the image" in flat(expanded)
    assert (workdir / "wide" / "room.png").exists()  # keep: where the rest go

    save(cutout(product(), (20, 30)), workdir / "shoe.png")
    scene = invoke("composite", "shoe.png", "--prompt", "pink linen", "--bottom", "10",
                   "--output", "out", "--on-review", "move:check")
    assert scene.exit_code == 0, scene.output
    text = flat(scene)  # the default threshold: 92 % of the frame is new
    assert "1 to review (score < 0.5, 1 moved)" in text
    assert f"? {workdir / 'shoe.png'}: score 0.45: generated 92 % of the image → " in text
    assert (workdir / "check" / "shoe.png").exists() and not (workdir / "out").exists()


@pytest.mark.parametrize("command", [
    ["fill", "room.png", "--mask", "mask.png"], ["expand", "room.png"],
    ["composite", "room.png", "--prompt", "linen"]])
def test_a_bad_on_review_is_a_usage_error(workdir: Path, command: list[str]) -> None:
    save(photo(), workdir / "room.png")
    save(hole(), workdir / "mask.png")
    result = invoke(*command, "--output", "out", "--on-review", "elsewhere")
    assert result.exit_code == 2
    assert "--on-review is keep or move:URL, not 'elsewhere'" in flat(result)
    assert not (workdir / "out").exists()


def test_the_review_lines_are_whole_on_a_pipe_at_40_columns(workdir: Path) -> None:
    save(cutout(product(), (20, 30)), workdir / "a rather long folder name" / "shoe.png")
    command = [sys.executable, "-m", "lampyris.cli.app", "composite",
               "a rather long folder name", "--prompt", "linen", "--bottom", "10", "--output",
               "out", "--on-review", "move:check"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "40"}, check=False)
    assert done.returncode == 0, done.stderr
    flagged = [line for line in done.stderr.splitlines() if line.startswith("  ? ")]
    assert flagged == [f"  ? {workdir / 'a rather long folder name' / 'shoe.png'}: score 0.45: "
                       f"generated 92 % of the image → {workdir / 'check' / 'shoe.png'}"]
    assert any(line.startswith("done 1 · skipped 0 · failed 0 · 1 to review (score < 0.5, "
                               "1 moved) in ") for line in done.stderr.splitlines())
