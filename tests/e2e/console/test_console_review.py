"""Review in a real browser: the job history (a failed job's reason in words), and a batch
report of a real ``lampyris cutout --ledger`` run, failed item first, rejected and re-run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from lampyris.api.client_webhooks import ClientWebhooks
from lampyris.jobs.database import make_engine
from support.browser import DESKTOP, PHONE, layout_problems
from support.lampyris_server import LampyrisServer

pytestmark = pytest.mark.slow
BLOB = re.compile(r"^blob:")  # thumbnails are fetched with the token, shown as object URLs


def test_history_lists_the_jobs_and_a_failed_job_shows_its_reason(
    page: Page, photos: dict[str, Path],
) -> None:
    page.get_by_label("Images").set_input_files([str(photos["photo0"]), str(photos["corrupt"])])
    page.locator("#run").click()
    failed = page.locator('.result[data-name="corrupt.jpg"]')
    expect(failed).to_have_attribute("data-state", "failed", timeout=60_000)
    expect(failed.get_by_role("alert")).to_have_text(
        "The image is damaged or truncated — export it again or pick another file.")
    expect(page.locator('.result[data-name="photo0.jpg"]')).to_have_attribute(
        "data-state", "succeeded", timeout=60_000)

    page.get_by_role("link", name="Review").click()
    jobs = page.locator("#jobs li.job")
    expect(jobs.first).to_be_visible()
    assert jobs.count() >= 2
    expect(page.locator("#jobs li.job.succeeded").first).to_be_visible()

    page.get_by_label("Filter by state").select_option("failed")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#jobs li.job:not(.failed)")).to_have_count(0)
    row = page.locator("#jobs li.job.failed").first
    expect(row.locator(".reason")).to_contain_text("damaged or truncated")
    row.get_by_role("button").press("Enter")
    detail = page.locator("#job-detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("Server said: image data is damaged or truncated")
    expect(detail.locator("pre")).to_contain_text('"mode"')


def test_a_jobs_detail_shows_its_review_and_its_webhook_deliveries(
    page: Page, photos: dict[str, Path], server: LampyrisServer,
) -> None:
    # The client's webhook points at a private address the server is not allowed to reach:
    # the delivery fails for good, and the console says why.
    assert server.client is not None
    engine = make_engine(server.database)
    hooks = ClientWebhooks(engine)
    hooks.set(server.client.client_id, url="http://127.0.0.1:9/hook?token=s3cret")
    try:
        page.get_by_label("Images").set_input_files([str(photos["photo2"])])
        page.locator("#run").click()
        expect(page.locator('.result[data-name="photo2.jpg"]')).to_have_attribute(
            "data-state", "succeeded", timeout=60_000)
    finally:
        hooks.set(server.client.client_id, clear_url=True)
        engine.dispose()

    page.get_by_role("link", name="Review").click()
    page.get_by_label("Filter by state").select_option("succeeded")
    page.get_by_role("button", name="Show").click()
    detail = page.locator("#job-detail")
    for _ in range(20):  # the delivery is tried once the job has ended: open it again
        page.locator("#jobs li.job.succeeded").first.get_by_role("button").click()
        expect(detail).to_be_visible()
        if detail.locator(".delivery.failed").count():
            break
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Show").click()
    expect(detail.get_by_role("heading", name="Review")).to_be_visible()
    expect(detail.locator(".review-ok, .review-flag")).to_contain_text(
        re.compile(r"score 0\.\d+"))
    expect(detail.get_by_role("heading", name="Webhooks")).to_be_visible()
    delivery = detail.locator(".delivery.failed")
    expect(delivery).to_contain_text("failed · job.succeeded → http://127.0.0.1:9/hook?…")
    expect(delivery).to_contain_text("last error:")
    expect(delivery).not_to_contain_text("s3cret")


def test_batch_report_puts_the_failed_item_first_and_items_can_be_rejected_and_rerun(
    page: Page, tmp_path: Path,
) -> None:
    page.get_by_role("link", name="Review").click()
    expect(page.get_by_label("Report", exact=True).locator("option")).to_have_count(1)
    page.get_by_role("button", name="Open").click()
    items = page.locator("#report-items li.item")
    expect(items).to_have_count(3)
    expect(items.first).to_have_attribute("data-state", "failed")
    expect(items.first.locator(".reason")).to_contain_text("failed")
    expect(items.first).to_contain_text("corrupt.jpg")
    second = items.nth(1)
    expect(second).to_have_attribute("data-state", "done")
    for img in second.locator("img").all():
        expect(img).to_have_attribute("src", BLOB)
        expect(img).to_have_js_property("complete", True)
        assert img.evaluate("(node) => node.naturalWidth") > 0
    for width, viewport in ((1280, DESKTOP), (390, PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)
        assert layout_problems(page) == [], width

    name = second.locator("h4").inner_text()
    second.get_by_role("button", name="Reject").click()
    marked = page.locator("#report-items li.item", has_text=name)
    expect(marked.get_by_role("button", name="Accept again")).to_have_attribute(
        "aria-pressed", "true")
    page.get_by_role("button", name="Open").click()  # read back from the server
    expect(page.locator("#report-items li.item", has_text=name).get_by_role(
        "button", name="Accept again")).to_be_visible()

    page.locator("#report-items li.item", has_text=name).get_by_role(
        "button", name="Re-run in Try").click()
    expect(page.locator("#try")).to_be_visible()
    expect(page.locator("#picked")).to_contain_text(name)
    page.get_by_label("Padding").fill("10%")
    page.locator("#run").click()
    expect(page.locator(".result").first).to_have_attribute("data-state", "succeeded",
                                                            timeout=60_000)
