"""Try in a real browser: three photos cut out (the page's decoded result has the API's own
alpha), a fill from a prompt, the before/after slider, and layout at 1280 and 390 px."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from support.browser import PHONE, image_rgba, layout_problems, png_pixels
from support.lampyris_server import LampyrisServer

pytestmark = pytest.mark.slow
SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "console.png"


def run_on(page: Page, files: list[Path], op: str = "cutout") -> None:
    page.get_by_label("Images").set_input_files([str(f) for f in files])
    page.get_by_label("Operation", exact=True).select_option(op)
    page.locator("#run").click()
    expect(page.locator(".result[data-state=running]")).to_have_count(0, timeout=60_000)


def api_cutout(server: LampyrisServer, photo: bytes) -> np.ndarray:
    """The alpha of the API's own cutout of ``photo`` (same body the page sends)."""
    headers = server.headers()
    stored = httpx.post(f"{server.url}/v2/storage/image", content=photo,
                        headers={**headers, "content-type": "image/jpeg"}, timeout=30)
    body = {"image": {"source": {"uploadId": stored.json()["images"][0]["id"]}},
            "mode": "cutout", "trim": False, "output": {"mediaType": "image/png"}}
    status = server.wait(server.post("/v2/remove-background", body).json()["statusUrl"])
    png = httpx.get(status["result"]["outputs"][0]["destination"]["url"], timeout=30).content
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[:, :, 3]


def test_three_cutouts_match_the_api_and_lay_out_at_1280_and_390(
    page: Page, server: LampyrisServer, photos: dict[str, Path], tmp_path: Path,
) -> None:
    run_on(page, [photos["photo0"], photos["photo1"], photos["photo2"]])
    cards = page.locator(".result[data-state=succeeded]")
    expect(cards).to_have_count(3)
    expect(page.locator(".result a.download")).to_have_count(3)

    card = page.locator(".result", has_text="photo0.jpg")
    alpha = image_rgba(page, '.result[data-name="photo0.jpg"] img.after')[:, :, 3]
    expected = api_cutout(server, photos["photo0"].read_bytes())
    assert alpha.shape == expected.shape == (120, 160)
    assert 0.15 < (alpha > 127).mean() < 0.7  # a subject, not an empty or full matte
    assert np.abs(alpha.astype(int) - expected).max() <= 1
    assert card.locator("a.download").get_attribute("download") == "photo0-cutout.png"

    wide = page.screenshot(path=str(tmp_path / "try-1280.png"), full_page=True)
    assert png_pixels(wide).shape[1] == 1280
    assert layout_problems(page) == []
    if os.environ.get("LAMPYRIS_UPDATE_SCREENSHOT") == "1":
        save_small(page.screenshot(), SCREENSHOT)
    page.set_viewport_size(PHONE)
    narrow = page.screenshot(path=str(tmp_path / "try-390.png"), full_page=True)
    assert png_pixels(narrow).shape[1] == 390
    assert layout_problems(page) == []
    for op in ("expand", "edit"):  # the other option panels
        page.get_by_label("Operation", exact=True).select_option(op)
        assert layout_problems(page) == [], op
    page.screenshot(path=str(tmp_path / "edit-390.png"), full_page=True)
    for section in ("review", "operate"):
        page.get_by_role("link", name=section.capitalize()).click()
        expect(page.locator(f"#{section}")).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(tmp_path / f"{section}-390.png"), full_page=True)
        assert layout_problems(page) == [], section


def save_small(png: bytes, path: Path) -> None:
    """The README's screenshot: 1280 px wide, 64 colours, so it stays a small PNG."""
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(64)
    image.save(path, optimize=True)
    assert path.stat().st_size <= 150_000, path.stat().st_size


def test_slider_moves_the_cut_with_the_keyboard(
    page: Page, photos: dict[str, Path],
) -> None:
    run_on(page, [photos["photo1"]])
    stage = page.locator(".result .stage").first
    slider = page.get_by_label("Before / after: photo1.jpg")
    expect(slider).to_have_value("50")
    for img in stage.locator("img").all():
        expect(img).to_have_js_property("complete", True)
    half = png_pixels(stage.screenshot()).astype(int)
    slider.focus()
    for _ in range(40):
        slider.press("ArrowLeft")
    expect(slider).to_have_value("10")
    moved = png_pixels(stage.screenshot()).astype(int)
    width = half.shape[1]
    # per column, the share of its pixels that changed: the checkerboard now shows between
    # the two cuts (where the photo's plain ground was), nothing moved right of both
    changed = (np.abs(moved - half).sum(axis=2) > 24).mean(axis=0)
    assert (changed[int(width * 0.12):int(width * 0.48)] > 0.2).all()
    assert (changed[int(width * 0.52):] < 0.02).all()


def test_fill_with_a_prompt(page: Page, photos: dict[str, Path]) -> None:
    page.get_by_label("Images").set_input_files(str(photos["photo2"]))
    page.get_by_label("Operation", exact=True).select_option("fill")
    page.get_by_label("Prompt").fill("on a wooden table, soft light")
    page.get_by_label("Engine").select_option("studio")
    page.locator("#run").click()
    card = page.locator(".result").first
    expect(card).to_have_attribute("data-state", "succeeded", timeout=60_000)
    filled = image_rgba(page, ".result img.after").astype(int)
    photo = image_rgba(page, ".result img.before").astype(int)
    assert filled.shape == photo.shape == (120, 160, 4)
    assert (filled[:, :, 3] == 255).all()
    change = np.abs(filled[:, :, :3] - photo[:, :, :3]).mean(axis=2)
    assert change[:15, :20].mean() > 8  # the studio backdrop replaced the plain ground
    assert change[50:70, 70:90].mean() < 8  # the subject kept


def test_edit_sliders_brighten_the_photo(page: Page, photos: dict[str, Path]) -> None:
    page.get_by_label("Images").set_input_files(str(photos["photo0"]))
    page.get_by_label("Operation", exact=True).select_option("edit")
    exposure = page.get_by_label("Exposure")
    exposure.focus()
    for _ in range(10):
        exposure.press("ArrowRight")
    expect(exposure).to_have_value("1")
    page.locator("#run").press("Enter")
    card = page.locator(".result").first
    expect(card).to_have_attribute("data-state", "succeeded", timeout=60_000)
    edited = image_rgba(page, ".result img.after").astype(float)
    photo = image_rgba(page, ".result img.before").astype(float)
    assert edited.shape == photo.shape
    assert edited[:, :, :3].mean() > photo[:, :, :3].mean() + 3  # +1 EV: brighter


def test_images_dropped_on_the_page_run_and_other_files_are_left_out(
    page: Page, photos: dict[str, Path],
) -> None:
    """A real drop event (a DataTransfer holding a JPEG and a text file) on the drop zone."""
    jpeg = base64.b64encode(photos["photo0"].read_bytes()).decode()
    page.evaluate("""([jpeg]) => {
        const bytes = Uint8Array.from(atob(jpeg), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], "dropped.jpg", { type: "image/jpeg" }));
        data.items.add(new File(["shipping notes"], "notes.txt", { type: "text/plain" }));
        const zone = document.getElementById("drop");
        zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true,
                                                       cancelable: true }));
        zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true,
                                                   cancelable: true }));
    }""", [jpeg])
    expect(page.locator("#drop")).not_to_have_class(re.compile(r"\bover\b"))
    page.locator("#run").click()
    card = page.locator('.result[data-name="dropped.jpg"]')
    expect(card).to_have_attribute("data-state", "succeeded", timeout=60_000)
    expect(page.locator(".result")).to_have_count(1)  # the text file was not sent
    cut = image_rgba(page, '.result[data-name="dropped.jpg"] img.after')
    assert cut.shape == (120, 160, 4) and cut[:, :, 3].min() < 20 and cut[:, :, 3].max() > 235
