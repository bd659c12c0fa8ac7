"""The embeddable widget in headless Chromium, on a page that embeds it with one script tag,
against casedesk under uvicorn: a visitor chats, the agent's reply appears live, and a reload
resumes the same case from the token the widget kept."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casedesk.context import Context
from casedesk.db.tables import Attachment, Case, Message
from tests.chat.browser import launch

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def count(ctx: Context, model: type) -> int:
    with ctx.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_visitor_chats_through_the_widget(ctx: Context, server: str, staff) -> None:
    with playwright.sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{server}/static/chat/demo.html")
        page.click(".cd-launcher")  # Playwright's CSS selectors reach into the shadow root
        page.fill(".cd-intro input[name=name]", "Ann Smith")
        page.fill(".cd-intro input[name=email]", "not-an-address")
        page.click(".cd-intro .cd-send")
        assert "valid e-mail" in page.inner_text(".cd-intro .cd-error")
        page.fill(".cd-intro input[name=email]", "ann@example.com")
        page.click(".cd-intro .cd-send")

        page.fill(".cd-composer textarea", "Hello, is anyone there?")
        page.press(".cd-composer textarea", "Enter")
        page.wait_for_selector(".cd-mine[data-id]")  # acknowledged: stored
        assert page.locator(".cd-pending").count() == 0
        wait_for(lambda: count(ctx, Case) == 1)
        # The ticket ID arrives in its own frame just after the acknowledgement.
        expect(page.locator(".cd-case")).to_have_text("CASE-000001")

        reply = staff.post("/api/v1/cases/CASE-000001/messages", json={"body": "Yes! Amy here."})
        assert reply.status_code == 201
        page.wait_for_selector(".cd-theirs >> text=Yes! Amy here.")
        assert page.inner_text(".cd-theirs .cd-author") == "Amy"

        page.fill(".cd-composer textarea", "x" * 501)  # the server's limit holds the input
        assert len(page.input_value(".cd-composer textarea")) == 500
        page.fill(".cd-composer textarea", "")

        page.reload()  # the widget reopens and resumes the same case with its token
        page.wait_for_selector(".cd-theirs >> text=Yes! Amy here.")
        assert page.locator(".cd-mine >> text=Hello, is anyone there?").count() == 1
        page.fill(".cd-composer textarea", "Thanks!")
        page.press(".cd-composer textarea", "Enter")
        wait_for(lambda: count(ctx, Message) == 3)
        browser.close()
    assert count(ctx, Case) == 1


def test_a_visitor_sends_a_file_and_downloads_it_again(ctx: Context, server: str) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with playwright.sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(accept_downloads=True)
        page.set_default_timeout(10_000)
        page.goto(f"{server}/static/chat/demo.html")
        page.click(".cd-launcher")
        page.fill(".cd-intro input[name=name]", "Ann Smith")
        page.fill(".cd-intro input[name=email]", "ann@example.com")
        page.click(".cd-intro .cd-send")
        page.fill(".cd-composer textarea", "The voucher page shows an error")
        page.press(".cd-composer textarea", "Enter")
        page.wait_for_selector(".cd-mine[data-id]")

        page.set_input_files(
            ".cd-attach input[type=file]",
            files=[{"name": "voucher.png", "mimeType": "image/png", "buffer": picture}],
        )
        button = page.wait_for_selector(".cd-mine .cd-file >> text=voucher.png")
        wait_for(lambda: count(ctx, Attachment) == 1)
        assert button is not None
        with page.expect_download() as caught:
            button.click()
        saved = caught.value
        assert saved.suggested_filename == "voucher.png"
        assert Path(saved.path()).read_bytes() == picture
        browser.close()
