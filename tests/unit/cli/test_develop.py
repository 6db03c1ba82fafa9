"""``lampyris auto-tone``, ``straighten`` and ``edit`` through the real command line (in this
process, one worker: ``--jobs 1``) on generated photos, judged by what the pixels measure."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner, Result

import lampyris.cli.develop as cli_develop
import lampyris.cli.file_commands as cli_files
from lampyris.cli.app import app
from lampyris.imaging.xmp import read_preset
from lampyris.workflows.look import read_look
from support.photos import luminance, photo

PRESET = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    crs:Saturation="-100" crs:Exposure2012="+0.50" crs:GrainAmount="20"/>
 </rdf:RDF>
</x:xmpmeta>
"""


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder and a console wide enough that messages are not wrapped."""
    monkeypatch.chdir(tmp_path)
    for name in ("LAMPYRIS_OUTPUT", "LAMPYRIS_JOBS"):
        monkeypatch.delenv(name, raising=False)
    console = Console(stderr=True, width=500, no_color=True)
    monkeypatch.setattr(cli_files, "console", console)
    monkeypatch.setattr(cli_develop, "console", console)
    return tmp_path


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args] + ["--jobs", "1"])


def flat(result: Result) -> str:
    return " ".join(result.output.split())


def save(rgb: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, quality=95)
    return path


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def key(rgb: np.ndarray) -> float:
    """Median lightness, sRGB-encoded (what auto tone aims at)."""
    y = float(np.median(luminance(rgb)))
    return 12.92 * y if y <= 0.0031308 else 1.055 * y ** (1 / 2.4) - 0.055


# -- auto-tone ------------------------------------------------------------------------------
def test_auto_tone_brightens_a_dark_image_keeps_its_format_and_writes_the_settings(
        workdir: Path) -> None:
    save(photo(-2.0), workdir / "in" / "dark.jpg")
    save(photo(-2.0), workdir / "in" / "dim.png")
    result = invoke("auto-tone", "in", "--output", "out", "--xmp")
    assert result.exit_code == 0, result.output
    assert "done 2 · skipped 0 · failed 0" in flat(result)
    assert sorted(p.name for p in (workdir / "out").iterdir()) == [
        "dark.jpg", "dark.xmp", "dim.png", "dim.xmp"]
    with Image.open(workdir / "out" / "dark.jpg") as jpeg:
        assert jpeg.format == "JPEG" and jpeg.size == (320, 240)
    before = luminance(pixels(workdir / "in" / "dim.png")).mean()
    after = luminance(pixels(workdir / "out" / "dim.png")).mean()
    assert after > 2 * before
    settings = read_preset((workdir / "out" / "dim.xmp").read_bytes()).settings
    assert settings["exposure"] > 0.5

    again = invoke("auto-tone", "in", "--output", "out")
    assert again.exit_code == 0 and "done 0 · skipped 2" in flat(again)
    save(photo(-2.0), workdir / "in" / "dim.jpg")  # dim.png's sidecar name, and with webp its
    clash = invoke("auto-tone", "in", "-o", "out", "--xmp", "--format", "webp")  # output name
    inputs = " and ".join(str((workdir / "in" / name).resolve()) for name in ("dim.jpg",
                                                                              "dim.png"))
    assert clash.exit_code == 2, clash.output
    assert (f"error: {inputs} would both be written to {(workdir / 'out' / 'dim.webp').resolve()}"
            ": use --naming keep-extension") in flat(clash)
    assert not list((workdir / "out").glob("*.webp"))
    sidecars = invoke("auto-tone", "in", "-o", "other", "--xmp")
    assert sidecars.exit_code == 2, sidecars.output
    assert (f"{inputs} would both be written to {(workdir / 'other' / 'dim.xmp').resolve()}"
            in flat(sidecars))
    assert not (workdir / "other").exists()
    named = invoke("auto-tone", "in", "-o", "other", "--xmp", "--naming", "keep-extension")
    assert named.exit_code == 0 and "done 3 · skipped 0 · failed 0" in flat(named)
    assert sorted(p.name for p in (workdir / "other").iterdir()) == [
        "dark.jpg.jpg", "dark.jpg.xmp", "dim.jpg.jpg", "dim.jpg.xmp", "dim.png.png",
        "dim.png.xmp"]


def test_auto_tone_refuses_two_inputs_of_one_stem_before_measuring_anything(
        workdir: Path) -> None:
    save(photo(-2.0), workdir / "in" / "0020.jpg")
    save(photo(1.0), workdir / "in" / "0020.png")
    refused = invoke("auto-tone", "in", "-o", "out", "--format", "png", "--consistent",
                     "--save-look", "look.json")
    assert refused.exit_code == 2, refused.output
    assert "0020.jpg and " in flat(refused) and "0020.png would both be written to " in flat(
        refused)
    assert "house look" not in flat(refused)
    assert not (workdir / "out").exists() and not (workdir / "look.json").exists()

    numbered = invoke("auto-tone", "in", "-o", "out", "--naming", "number", "--format", "png")
    assert numbered.exit_code == 0, numbered.output
    assert sorted(p.name for p in (workdir / "out").iterdir()) == ["0020-2.png", "0020.png"]
    dark = luminance(pixels(workdir / "in" / "0020.jpg")).mean()
    bright = luminance(pixels(workdir / "in" / "0020.png")).mean()
    assert luminance(pixels(workdir / "out" / "0020.png")).mean() > 2 * dark  # from 0020.jpg
    assert luminance(pixels(workdir / "out" / "0020-2.png")).mean() > 0.5 * bright



def test_mood_pushes_colour_where_the_product_default_keeps_it(workdir: Path) -> None:
    save(photo(0.0), workdir / "in" / "scene.png")
    default = invoke("auto-tone", "in", "-o", "product", "--xmp")
    mood = invoke("auto-tone", "in", "-o", "mood", "--xmp", "--mood")
    assert default.exit_code == 0 and mood.exit_code == 0, mood.output
    product = read_preset((workdir / "product" / "scene.xmp").read_bytes()).settings
    photo_look = read_preset((workdir / "mood" / "scene.xmp").read_bytes()).settings
    assert photo_look["vibrance"] >= 20 and photo_look["saturation"] >= 10
    assert product.get("vibrance", 0) < 10 and product.get("saturation", 0) <= 0

def test_consistent_brings_a_set_to_one_look(workdir: Path) -> None:
    """Copies of one scene exposed from -1.5 to +1 stop: toned one by one, their medians stay
    apart (auto keeps a bright image bright); toned toward the set's look, they meet."""
    stops = (-1.5, -0.75, 0.0, 0.5, 1.0)
    for s in stops:
        save(photo(s), workdir / "in" / f"{s:+.2f}.png")
    alone = invoke("auto-tone", "in", "-o", "alone")
    together = invoke("auto-tone", "in", "-o", "together", "--consistent",
                      "--save-look", "look.json")
    assert alone.exit_code == 0 and together.exit_code == 0, together.output
    assert "house look: key 0." in flat(together) and "(measured over 5 image(s))" in flat(
        together)

    def spread(folder: str) -> float:
        return float(np.std([key(pixels(p)) for p in sorted((workdir / folder).iterdir())]))

    assert spread("together") < 0.4 * spread("alone")
    # not closer: the brightest copy's coloured disc would clip at the set's key, and auto
    # stops short of clipping a saturated colour (issue 14)
    assert spread("together") < 0.03

    # next week: the saved look, measured over nothing, gives the same pictures
    look = read_look(workdir / "look.json")
    reused = invoke("auto-tone", "in", "-o", "reused", "--look-file", "look.json")
    assert reused.exit_code == 0 and f"key {look.key:.3f}" in flat(reused)
    for path in sorted((workdir / "together").iterdir()):
        assert (workdir / "reused" / path.name).read_bytes() == path.read_bytes()


# -- edit -----------------------------------------------------------------------------------
def _ratio(before: np.ndarray, after: np.ndarray) -> float:
    """Median linear-light gain over the pixels that were mid-tones (no clipping either way)."""
    y0, y1 = luminance(before), luminance(after)
    mid = (y0 > 0.02) & (y0 < 0.3)
    return float(np.median(y1[mid] / y0[mid]))


def test_edit_exposure_one_is_one_stop(workdir: Path) -> None:
    source = photo(-1.0)
    save(source, workdir / "in.png")
    result = invoke("edit", "in.png", "-o", "out", "--exposure", "1")
    assert result.exit_code == 0, result.output
    assert _ratio(source, pixels(workdir / "out" / "in.png")) == pytest.approx(2.0, abs=0.12)


def test_edit_applies_presets_under_the_given_settings(workdir: Path) -> None:
    source = photo(-1.0)
    save(source, workdir / "in.png")
    (workdir / "grey.xmp").write_text(PRESET)
    result = invoke("edit", "in.png", "-o", "preset", "--preset", "grey.xmp", "--xmp")
    assert result.exit_code == 0, result.output
    assert "preset grey.xmp: not rendered by lampyris: GrainAmount" in flat(result)
    out = pixels(workdir / "preset" / "in.png").astype(int)
    assert np.abs(out[..., 0] - out[..., 1]).max() <= 2  # saturation -100: grey
    assert _ratio(source, out.astype(np.uint8)) == pytest.approx(2**0.5, abs=0.1)
    assert read_preset((workdir / "preset" / "in.xmp").read_text()).settings == {
        "exposure": 0.5, "saturation": -100.0}

    over = invoke("edit", "in.png", "-o", "over", "--preset", "grey.xmp", "--exposure", "1")
    assert over.exit_code == 0, over.output
    assert _ratio(source, pixels(workdir / "over" / "in.png")) == pytest.approx(2.0, abs=0.12)


@pytest.mark.parametrize(("args", "message"), [
    (["edit", "--exposure", "9"], "--exposure: Input should be less than or equal to 5"),
    (["edit", "--contrast", "101", "--sharpness", "-1"],
     "--contrast: Input should be less than or equal to 100; --sharpness: Input should be "
     "greater than or equal to 0"),
    (["edit", "--white-balance", "moonlight"], "--white-balance: 'moonlight' is not one of "
     "as-shot, auto, cloudy, custom, daylight, flash, fluorescent, shade, tungsten"),
    (["edit", "--preset", "missing.xmp"], "preset missing.xmp: No such file"),
    (["edit", "--preset", "bad.xmp"], "preset bad.xmp: not well-formed XML"),
    (["edit", "--preset", "look.lrtemplate"], "preset look.lrtemplate: only XMP presets"),
    (["auto-tone", "--consistent", "--look", "0.5"], "alternatives: give one"),
    (["auto-tone", "--save-look", "x.json"], "--save-look needs a look"),
    (["auto-tone", "--look", "0.99"], "--look: the key is a lightness between 0.05 and 0.95"),
    (["auto-tone", "--look-file", "bad.json"], "look file bad.json: not JSON"),
    (["auto-tone", "--strength", "2"], "Invalid value for '--strength'"),
    (["straighten", "--mode", "sideways"], "Invalid value for '--mode'"),
])
def test_bad_options_exit_2_before_any_image(workdir: Path, args: list[str],
                                             message: str) -> None:
    save(photo(), workdir / "in.png")
    (workdir / "bad.xmp").write_text("<x:xmpmeta><rdf:RDF>")
    (workdir / "look.lrtemplate").write_text("s = { title = 'old' }")
    (workdir / "bad.json").write_text("{key: 0.5")
    result = invoke(args[0], "in.png", "-o", "out", *args[1:])
    assert result.exit_code == 2, result.output
    assert message in flat(result)
    assert not (workdir / "out").exists()


# -- straighten -----------------------------------------------------------------------------
def tilted(angle: float, width: int = 400, height: int = 300) -> np.ndarray:
    """Windows over a dark horizon line, drawn level on a larger canvas, turned by ``angle``
    degrees (counter-clockwise) and cut back: only the lines show the tilt."""
    big_w, big_h = int(width * 1.5), int(height * 1.5)
    img = np.full((big_h, big_w, 3), 200, np.uint8)
    img[big_h // 2:] = (90, 80, 70)
    for x in range(0, big_w, big_w // 8):
        cv2.rectangle(img, (x + 10, big_h // 5), (x + big_w // 12, big_h // 2 - 30),
                      (40, 40, 60), -1)
    cv2.line(img, (0, big_h // 2), (big_w, big_h // 2), (0, 0, 0), 5)
    turn = cv2.getRotationMatrix2D((big_w / 2, big_h / 2), angle, 1.0)
    img = cv2.warpAffine(img, turn, (big_w, big_h), flags=cv2.INTER_CUBIC)
    y0, x0 = (big_h - height) // 2, (big_w - width) // 2
    return np.ascontiguousarray(img[y0:y0 + height, x0:x0 + width])


def horizon_slope(rgb: np.ndarray) -> float:
    """The black horizon line's slope (rows per column): a line fitted through its centre in
    the columns of the middle three quarters."""
    h, w = rgb.shape[:2]
    top = h // 2 - h // 6
    dark = rgb[top:h // 2 + h // 6].astype(int).sum(axis=2) < 80  # the line, not the windows
    columns = np.arange(w // 8, w - w // 8)
    columns = columns[dark[:, columns].any(axis=0)]
    rows = np.arange(dark.shape[0])[:, None]
    centres = (dark[:, columns] * rows).sum(axis=0) / dark[:, columns].sum(axis=0)
    assert len(columns) > w // 2
    return float(np.polyfit(columns, centres, 1)[0])


def test_straighten_levels_a_tilted_scene(workdir: Path) -> None:
    save(tilted(4.0), workdir / "in" / "street.jpg")
    assert horizon_slope(pixels(workdir / "in" / "street.jpg")) == pytest.approx(
        -math.tan(math.radians(4.0)), abs=0.01)
    cropped = invoke("straighten", "in", "-o", "level")
    whole = invoke("straighten", "in", "-o", "whole", "--mode", "level", "--no-crop")
    assert cropped.exit_code == 0 and whole.exit_code == 0, cropped.output + whole.output
    level, kept = pixels(workdir / "level" / "street.jpg"), pixels(workdir / "whole" / "street.jpg")
    assert abs(horizon_slope(level)) < 0.006 and abs(horizon_slope(kept)) < 0.006
    assert level.shape[0] < 300 and level.shape[1] < 400  # the empty corners cut away
    assert kept.shape[0] > 300 and kept.shape[1] > 400  # the whole picture, on white
    assert kept[2, 2].min() > 240

    edited = invoke("edit", "in", "-o", "edited", "--straighten", "level", "--auto-tone")
    assert edited.exit_code == 0, edited.output
    both = pixels(workdir / "edited" / "street.jpg")
    assert both.shape == level.shape and abs(horizon_slope(both)) < 0.006
