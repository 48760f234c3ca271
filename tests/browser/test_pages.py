"""What the requester and the admin see in a real browser: the one-time link page (reveal,
copy, used up, incomplete, mangled, expired) and the admin's hand-over form end to end."""

from __future__ import annotations

import re
import string
from datetime import timedelta

from playwright.async_api import Page, expect
from sqlalchemy import update

from chatbot.db.models import CredentialLink, utcnow
from chatbot.services.credentials import link_hash
from tests.browser.conftest import LiveServer
from tests.e2e.harness import ADMIN, GROUP, REQUESTER, Harness

PASSWORD = "Spse-Baru2026!"
SYMBOLS = "!@#$%*-_+=?"


def _link(bot: Harness) -> tuple[str, str, str]:
    """The requester's newest one-time link: (whole url with its #key, link id, key)."""
    url, link_id, key = bot.link_in(REQUESTER)
    return f"{url}#{key}", link_id, key


async def _link_sent(bot: Harness, password: str = PASSWORD) -> tuple[str, str, str]:
    """Through the SOP to step 8 by chat, the admin typing the password."""
    await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.say(ADMIN, password)
    assert "dikirim ke pemohon" in bot.last(ADMIN).content
    return _link(bot)


def _form_url(bot: Harness) -> str:
    """The url of the admin's newest "Buka formulir hasil" button in the private chat."""
    for message in reversed(bot.fake.chat_messages(ADMIN)):
        for row in message.inline_keyboard:
            for button in row:
                if "Buka formulir hasil" in button["text"] and "url" in button:
                    return str(button["url"])
    raise AssertionError(f"no form button in the admin's chat: {bot.texts(ADMIN)}")


async def _reveal(page: Page, password: str) -> None:
    """Press Tampilkan on an opened link page and see the password."""
    await page.get_by_role("button", name="Tampilkan").click()
    await expect(page.get_by_role("heading", name="Data login SPSE Anda")).to_be_visible()
    await expect(page.locator("#fields code.value")).to_have_text(password)


async def test_requester_reveals_the_password_once_and_can_copy_it(
    bot: Harness, live: LiveServer, page: Page
) -> None:
    url, _link_id, _key = await _link_sent(bot)

    await page.goto(live.local(url))
    show = page.get_by_role("button", name="Tampilkan")
    await expect(show).to_be_visible()
    await expect(page.locator("body")).not_to_contain_text(PASSWORD)
    assert PASSWORD not in await page.content()

    await show.click()
    await expect(page.locator("#fields code.value")).to_have_text(PASSWORD)
    await expect(page.locator("#fields dt")).to_have_text("Password baru")
    await expect(show).to_be_hidden()
    # The key is of no more use: it is taken out of the address bar.
    await expect(page).to_have_url(re.compile(r"/s/[A-Za-z0-9_-]{22}$"))

    copy = page.get_by_role("button", name="Salin Password baru")
    await expect(copy).to_have_text("Salin")
    await copy.click()
    await expect(copy).to_have_text("Tersalin")
    assert await page.evaluate("navigator.clipboard.readText()") == PASSWORD

    await page.reload()
    await expect(page.locator("body")).to_contain_text("sudah dibuka")
    await expect(page.get_by_role("button", name="Tampilkan")).to_have_count(0)
    assert PASSWORD not in await page.content()


async def test_link_without_its_key_says_it_is_incomplete_and_burns_nothing(
    bot: Harness, live: LiveServer, page: Page
) -> None:
    url, _link_id, _key = await _link_sent(bot)
    without_key = live.local(url).split("#", 1)[0]

    await page.goto(without_key)
    await expect(page.get_by_role("alert")).to_contain_text("Link tidak lengkap")
    await expect(page.get_by_role("button", name="Tampilkan")).to_be_hidden()

    # The whole link pasted into the same tab (only the #fragment changes, no reload) works:
    # nothing was used up.
    await page.goto(live.local(url))
    await _reveal(page, PASSWORD)


async def test_link_whose_hash_sign_became_percent_23_is_repaired(
    bot: Harness, live: LiveServer, page: Page
) -> None:
    url, link_id, key = await _link_sent(bot)
    mangled = live.local(url).replace("#", "%23")
    assert "#" not in mangled and f"{link_id}%23{key}" in mangled

    await page.goto(mangled)
    await expect(page).to_have_url(live.local(url))  # "#" put back, the key in the fragment
    await _reveal(page, PASSWORD)


async def test_expired_link_says_so_and_offers_no_button(
    bot: Harness, live: LiveServer, page: Page
) -> None:
    url, link_id, _key = await _link_sent(bot)
    async with bot.app.sessions.begin() as session:
        await session.execute(
            update(CredentialLink)
            .where(CredentialLink.link_hash == link_hash(link_id))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )

    response = await page.goto(live.local(url))
    assert response is not None and response.status == 410
    await expect(page.locator("body")).to_contain_text("kedaluwarsa")
    await expect(page.get_by_role("button", name="Tampilkan")).to_have_count(0)
    assert PASSWORD not in await page.content()


async def test_admin_form_generates_and_hands_over_a_strong_password(
    bot: Harness, live: LiveServer, page: Page
) -> None:
    number = await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    form_url = live.local(_form_url(bot))

    await page.goto(form_url)
    await expect(page.get_by_role("heading", name=f"Hasil tiket {number}")).to_be_visible()
    password_input = page.get_by_label("Password baru")
    await expect(password_input).to_have_value("")
    await page.get_by_role("button", name="Buat password").click()
    await expect(password_input).to_have_value(re.compile(r"^\S{14}$"))
    generated = await password_input.input_value()
    assert len(generated) == 14
    assert any(c in string.ascii_uppercase for c in generated)
    assert any(c in string.ascii_lowercase for c in generated)
    assert any(c in string.digits for c in generated)
    assert any(c in SYMBOLS for c in generated)

    await page.get_by_role("button", name="Kirim ke pemohon").click()
    await expect(page.get_by_role("heading", name="Terkirim")).to_be_visible()
    await expect(page.locator("#done-text")).to_contain_text("dikirim ke pemohon")
    await expect(page.locator("#form")).to_be_hidden()
    await bot.settle()
    await bot.pipeline.sender.flush()

    # The admin's chat says it is done; the password never went through any chat.
    assert "dikirim ke pemohon" in bot.last(ADMIN).content
    assert all(
        generated not in text for chat in (ADMIN, REQUESTER, GROUP) for text in bot.texts(chat)
    )
    assert "Link: terkirim" in bot.card().content

    url, _link_id, _key = _link(bot)
    reveal = await page.context.new_page()
    await reveal.goto(live.local(url))
    await _reveal(reveal, generated)
    await reveal.close()

    await page.goto(form_url)
    await expect(page.get_by_role("heading", name="Formulir tidak bisa dipakai")).to_be_visible()
    await expect(page.locator("body")).to_contain_text("sudah dipakai atau kedaluwarsa")
    await expect(page.get_by_role("button", name="Kirim ke pemohon")).to_have_count(0)
