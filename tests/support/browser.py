"""A real headless Chromium (Debian's ``chromium`` package) driven by Playwright, for the
console's end-to-end tests, plus the page checks they share.

Playwright's own browser download (``playwright install``) is never used: the tests launch the
system binary that ``scripts/install-test-services.sh`` installs with apt.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from support.lampyris_server import LampyrisServer

CHROMIUM = Path("/usr/lib/chromium/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
        "--disable-dev-shm-usage"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def _tmpdir(path: str) -> Iterator[None]:
    """``TMPDIR`` set to ``path`` in this process's environment for the block."""
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = path
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before


@contextmanager
def chromium() -> Iterator[Browser]:
    """One headless Chromium for a test module; closed afterwards, also on failure.

    Playwright's driver and Chromium start under a short TMPDIR: Chromium keeps its profile
    and a unix socket there and aborts when the path passes the socket's 108-byte limit,
    which a deep TMPDIR (CI's 150-byte one, some users') does. The rest of the test keeps the
    TMPDIR it had."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/install-test-services.sh "
                           "(it installs Debian's chromium)")
    short = tempfile.mkdtemp(prefix="lampyris-chromium-", dir="/tmp")
    try:
        with _tmpdir(short):
            playwright = sync_playwright().start()
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
            playwright.stop()
    finally:
        shutil.rmtree(short, ignore_errors=True)


def sign_in(page: Page, server: LampyrisServer, secret: str | None = None) -> None:
    """Open the console and sign in through its form, with the keyboard (Enter submits)."""
    assert server.client is not None
    page.goto(f"{server.url}/console")
    page.get_by_label("Client ID").fill(server.client.client_id)
    page.get_by_label("Client secret").fill(secret or server.client.client_secret)
    page.get_by_label("Client secret").press("Enter")


def watch_errors(page: Page) -> list[str]:
    """Collect the page's uncaught script errors and CSP refusals (any is a bug)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text else None)
    return errors


def layout_problems(page: Page) -> list[str]:
    """Horizontal scroll, and visible controls whose boxes overlap (more than 1 px each way)."""
    found: list[str] = page.evaluate("""() => {
      const problems = [];
      const doc = document.documentElement;
      if (doc.scrollWidth > window.innerWidth) {
        problems.push(`scrollWidth ${doc.scrollWidth} > innerWidth ${window.innerWidth}`);
      }
      const controls = [...document.querySelectorAll("button, input, select, textarea, a[href]")]
        .filter((n) => n.checkVisibility() && n.getBoundingClientRect().width > 0);
      const boxes = controls.map((n) => [n, n.getBoundingClientRect()]);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const [a, ra] = boxes[i], [b, rb] = boxes[j];
          const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
          const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
          if (w > 1 && h > 1) {
            problems.push(`${a.outerHTML.slice(0, 80)} overlaps ${b.outerHTML.slice(0, 80)}`);
          }
        }
      }
      return problems;
    }""")
    return found


def image_rgba(page: Page, selector: str) -> np.ndarray:
    """An ``<img>``'s pixels as the page decoded them (drawn on a canvas), H×W×4."""
    data: dict[str, Any] = page.evaluate("""async (selector) => {
      const img = document.querySelector(selector);
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      return {width: canvas.width, height: canvas.height, rgba: Array.from(rgba)};
    }""", selector)
    return np.array(data["rgba"], dtype=np.uint8).reshape(data["height"], data["width"], 4)


def png_pixels(png: bytes) -> np.ndarray:
    """A screenshot or image file as an RGBA array."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
