"""What a person sees when things go wrong: a wrong secret, a token that expires while the
page is open, and the server restarting under it — always words, never a blank page."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from support.browser import DESKTOP, sign_in, watch_errors
from support.lampyris_server import LampyrisServer, running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = watch_errors(page)
    yield page
    context.close()
    assert not errors, errors


def test_a_wrong_secret_is_said_in_words(fresh_page: Page, server: LampyrisServer) -> None:
    sign_in(fresh_page, server, secret="not-the-secret")
    alert = fresh_page.locator("#signin-error")
    expect(alert).to_have_text("The client ID or secret is wrong — check both and sign in again.")
    expect(fresh_page.get_by_label("Client ID")).to_be_visible()
    expect(fresh_page.locator("#try")).to_be_hidden()


def test_an_expired_token_asks_to_sign_in_again(fresh_page: Page) -> None:
    with running_server("lampyris-console-ttl-", workers=1,
                        env={"LAMPYRIS_TOKEN_TTL": "2"}) as short:
        sign_in(fresh_page, short)
        expect(fresh_page.locator("#try")).to_be_visible()
        time.sleep(2.5)
        fresh_page.get_by_role("link", name="Operate").click()
        expect(fresh_page.locator("#signin-error")).to_have_text(
            "Your session expired — sign in again.")
        expect(fresh_page.get_by_label("Client secret")).to_be_visible()
        sign_in(fresh_page, short)  # and it works again
        expect(fresh_page.locator("#signin-error")).to_be_hidden()


def test_a_server_restart_shows_reconnecting_then_recovers(
    fresh_page: Page, server: LampyrisServer,
) -> None:
    sign_in(fresh_page, server)
    fresh_page.get_by_role("link", name="Operate").click()
    stats = fresh_page.locator("#server-stats")
    expect(stats).to_contain_text("Workers")
    server.stop()
    try:
        fresh_page.get_by_role("button", name="Refresh").click()
        banner = fresh_page.locator("#banner")
        expect(banner).to_have_text("Reconnecting to the server — it may be restarting…")
        expect(stats).to_contain_text("Workers")  # the last answer stays on the page
    finally:
        server.start()  # the same port and data dir: the token still holds
    expect(banner).to_be_hidden(timeout=20_000)
    expect(fresh_page.locator("#operate-error")).to_be_hidden()
    expect(stats).to_contain_text("Succeeded (last hour)")


def test_a_file_of_another_kind_is_refused_in_words(page: Page) -> None:
    page.get_by_label("Images").set_input_files(
        {"name": "logo.gif", "mimeType": "image/gif", "buffer": b"GIF89a\x01\x00\x01\x00"})
    page.locator("#run").click()
    card = page.locator('.result[data-name="logo.gif"]')
    expect(card).to_have_attribute("data-state", "failed", timeout=30_000)
    expect(card.get_by_role("alert")).to_have_text(
        "That kind of file is not supported — use a JPEG, PNG, WebP or TIFF image.")


WORDS = [  # (status, code, message) → the sentence the page shows
    (401, "401013", "Oauth token is not valid", "Your session expired — sign in again."),
    (403, "403003", "Api Key is invalid",
     "The API key was refused — sign in again with a client ID this server knows."),
    (413, "input_too_large", "the image is larger than 10 bytes",
     "The image is too large for this server — use a smaller file or ask the operator to "
     "raise the limit."),
    (422, "validation_error", "prompt: String should have at least 1 character",
     "A setting is not valid (prompt: String should have at least 1 character) — fix it and "
     "run again."),
    (400, "bad_request", "not a readable image: the image header is damaged",
     "The image is damaged or truncated — export it again or pick another file."),
    (429, "rate_limited", "slow down", "Too many requests — wait a moment, then try again."),
    (500, "internal_error", "boom", "The server failed on this request — try again; if it "
     "keeps failing, check the server log."),
]


def test_every_error_code_has_words(page: Page) -> None:
    """The page's own table (words.js), loaded as the page loads it."""
    said = page.evaluate("""async (cases) => {
      const { describe } = await import("/console/assets/words.js");
      return cases.map(([status, code, message]) => describe(status, code, message));
    }""", [case[:3] for case in WORDS])
    assert said == [case[3] for case in WORDS]
