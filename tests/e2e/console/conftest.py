"""The console's browser tests: one headless Chromium, a real ``lampyris serve`` with a batch
report to review, small photos (one of them truncated) and a signed-in page per test."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from support.batch_ledger import lampyris
from support.browser import DESKTOP, chromium, sign_in, watch_errors
from support.images import distinct_products
from support.lampyris_server import LampyrisServer, running_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module, not per session: while Playwright's sync API runs, its event loop counts as
    # running on this thread, and later tests calling asyncio.run() would fail.
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three product photos and a truncated JPEG (a header that reads, data that does not)."""
    folder = tmp_path_factory.mktemp("console-photos")
    found = {}
    for n, data in enumerate(distinct_products(3)):
        found[f"photo{n}"] = folder / f"photo{n}.jpg"
        found[f"photo{n}"].write_bytes(data)
    found["corrupt"] = folder / "corrupt.jpg"
    whole = distinct_products(1)[0]
    found["corrupt"].write_bytes(whole[: len(whole) // 3])
    return found


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, Path]) -> Path:
    """A folder holding a real ``lampyris cutout --ledger`` run over two photos and a
    corrupt file (which fails)."""
    root = tmp_path_factory.mktemp("console-reports")
    source = root / "shoot"
    source.mkdir()
    for name in ("photo0", "photo1", "corrupt"):
        (source / photos[name].name).write_bytes(photos[name].read_bytes())
    done = subprocess.run(
        lampyris("cutout", str(source), "--output", str(root / "out"), "--ledger",
                 str(root / "shoot.ledger.db"), "--report", str(root / "shoot-report.html")),
        capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 1, done.stdout + done.stderr  # 1: some file failed
    return root


@pytest.fixture(scope="session")
def server(reports: Path) -> Iterator[LampyrisServer]:
    with running_server("lampyris-console-", workers=1,
                        env={"LAMPYRIS_CONSOLE_REPORTS": str(reports)}) as live:
        yield live


@pytest.fixture
def page(browser: Browser, server: LampyrisServer) -> Iterator[Page]:
    """A fresh signed-in page at 1280 px; fails the test on a script error or CSP refusal."""
    context = browser.new_context(viewport=DESKTOP)
    opened = context.new_page()
    errors = watch_errors(opened)
    sign_in(opened, server)
    opened.locator("#try:not([hidden])").wait_for()
    yield opened
    context.close()
    assert not errors, errors
