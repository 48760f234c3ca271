"""A WhatsApp requester's one-time link in a real browser: the URL on the "🔐 Buka hasil" CTA
button (as the fake Graph API received it) opens the page, Tampilkan shows the password
once, the requester is told on WhatsApp, and opening it again shows it is used."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.browser.conftest import LiveServer, serve
from tests.e2e.test_whatsapp_requester import BUDI, WhatsAppHarness, choices, graph, submit, wa
from tests.e2e.test_whatsapp_sop import hand_over

__all__ = ["graph", "wa"]  # the WhatsApp harness's fixtures

PASSWORD = "Spse-Baru2026!"


@pytest.fixture
async def live(wa: WhatsAppHarness) -> AsyncIterator[LiveServer]:
    """The WhatsApp harness's web app behind a real HTTP server (instead of the plain one)."""
    async with serve(wa.harness.web_app) as server:
        yield server


async def test_the_cta_link_reveals_the_password_once_in_the_browser(
    wa: WhatsAppHarness, live: LiveServer, context: BrowserContext, page: Page
) -> None:
    await submit(wa)
    link = await hand_over(wa, PASSWORD)
    assert link.payload["type"] == "cta_url"
    url = str(link.payload["action"]["parameters"]["url"])

    await page.goto(live.local(url))
    show = page.get_by_role("button", name="Tampilkan")
    await expect(show).to_be_visible()
    assert PASSWORD not in await page.content()
    await show.click()
    await expect(page.get_by_role("heading", name="Data login SPSE Anda")).to_be_visible()
    await expect(page.locator("#fields code.value")).to_have_text(PASSWORD)

    # Budi is told on WhatsApp that it was opened, and asked to confirm his login.
    await wa.harness.pipeline.sender.flush()
    await wa.settle()
    receipt = wa.graph.last_sent(BUDI)
    assert [title for _, title, _ in choices(receipt)] == ["✅ Sudah login", "🚨 Bukan saya"]

    # The same link opened again (another tap on the button): used, nothing to show.
    again = await context.new_page()
    await again.goto(live.local(url))
    await expect(again.locator("body")).to_contain_text("sudah dibuka")
    await expect(again.get_by_role("button", name="Tampilkan")).to_have_count(0)
    assert PASSWORD not in await again.content()
    await again.close()
