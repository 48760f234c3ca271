"""A one-time link does not die in the night: one that would expire outside office hours
lives until CREDENTIAL_LINK_UNTIL on the next office day (at most 4 days), and says so."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from chatbot.db.models import CredentialLink, KeyValueEntry, utcnow
from chatbot.services.credentials import STORE_GRACE, CredentialVault, LinkLifetime
from chatbot.services.office_hours import OfficeCalendar
from chatbot.settings import Settings, SettingsError, load_settings
from chatbot.store import Store
from chatbot.store.redis_store import RedisStore
from tests.e2e import conftest as e2e
from tests.e2e.harness import ADMIN, GROUP, REQUESTER, Harness, bot_settings
from tests.fakes.bot_api import FakeBotApi

fake = e2e.fake  # the fake Bot API of the end-to-end tests

JAKARTA = ZoneInfo("Asia/Jakarta")
TWO_HOURS = timedelta(hours=2)
TEN = time(10, 0)


def wib(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


@pytest.fixture
def calendar() -> OfficeCalendar:
    """Mon-Thu 07.30-16.00, Fri 07.30-16.30, no national holidays (fixed dates below)."""
    return OfficeCalendar(JAKARTA, national_holidays=False)


THURSDAY, FRIDAY, MONDAY = date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30)


@pytest.mark.parametrize(
    ("handed_over", "expires"),
    [
        # Ends within office hours: exactly the TTL.
        (wib(THURSDAY, 13, 0), wib(THURSDAY, 15, 0)),
        (wib(MONDAY, 6, 0), wib(MONDAY, 8, 0)),
        # 15.30 would die at 17.30, after closing: the next morning instead.
        (wib(THURSDAY, 15, 30), wib(FRIDAY, 10, 0)),
        (wib(THURSDAY, 22, 0), wib(FRIDAY, 10, 0)),
        # Friday afternoon and the weekend: Monday morning.
        (wib(FRIDAY, 15, 30), wib(MONDAY, 10, 0)),
        (wib(date(2026, 11, 28), 9, 0), wib(MONDAY, 10, 0)),
        # Before opening on an office day: that morning.
        (wib(MONDAY, 5, 0), wib(MONDAY, 10, 0)),
    ],
)
def test_a_link_that_would_die_outside_office_hours_lives_until_the_next_office_morning(
    calendar: OfficeCalendar, handed_over: datetime, expires: datetime
) -> None:
    lifetime = LinkLifetime(TWO_HOURS, calendar, TEN)

    assert lifetime.expires(handed_over) == expires
    assert LinkLifetime(TWO_HOURS, calendar, None).expires(handed_over) == handed_over + TWO_HOURS


def test_a_long_closure_is_capped_at_four_days() -> None:
    leave = [date(2026, 11, 27) + timedelta(days=n) for n in range(10)]  # Fri and 9 days after
    calendar = OfficeCalendar(JAKARTA, extra_holidays=leave, national_holidays=False)
    handed_over = wib(THURSDAY, 15, 30)

    assert LinkLifetime(TWO_HOURS, calendar, TEN).expires(handed_over) == handed_over + timedelta(
        days=4
    )


def test_credential_link_until_is_read_and_checked() -> None:
    assert load_settings(_env_file=None).link_until == TEN  # on by default
    assert load_settings(_env_file=None, credential_link_until="09.30").link_until == time(9, 30)
    assert load_settings(_env_file=None, credential_link_until="").link_until is None
    with pytest.raises(SettingsError, match="CREDENTIAL_LINK_UNTIL"):
        load_settings(_env_file=None, credential_link_until="pagi")
    with pytest.raises(SettingsError, match="CREDENTIAL_LINK_UNTIL"):
        load_settings(_env_file=None, credential_link_until="25:00")


def closed_today_and_tomorrow(settings: Settings) -> dict[str, object]:
    """An office open every day but closed today and tomorrow: a link handed over now would
    die on a closed day, so it must live until 10.00 the day after tomorrow."""
    today = utcnow().astimezone(settings.zone).date()
    return {
        "credential_link_until": "10:00",
        "office_hours": "mon-sun 07:30-16:00",
        "office_holidays": f"{today}, {today + timedelta(days=1)}",
        "national_holidays": False,
    }


async def store_expiry(store: Store, hashed: str) -> datetime:
    """When the store drops a link's ciphertext."""
    if isinstance(store, RedisStore):
        milliseconds = await store._redis.pttl(store._k(f"cred:{hashed}"))
        return utcnow() + timedelta(milliseconds=milliseconds)
    async with store._sessions() as session:  # type: ignore[attr-defined]
        entry = await session.get(KeyValueEntry, f"cred:{hashed}")
        assert entry is not None and entry.expires_at is not None
        return entry.expires_at


async def test_the_store_keeps_the_ciphertext_as_long_as_the_link_lives(
    settings: Settings, store: Store
) -> None:
    configured = settings.model_copy(update=closed_today_and_tomorrow(settings))
    lifetime = LinkLifetime(TWO_HOURS, configured.calendar(), configured.link_until)
    vault = CredentialVault(store, settings.public_url, TWO_HOURS, lifetime)

    issued = await vault.issue(ticket_number="2611-0001", secret={"password": "Rahasia2026x"})

    day_after_tomorrow = utcnow().astimezone(settings.zone).date() + timedelta(days=2)
    assert issued.expires_at == wib(day_after_tomorrow, 10)
    kept_until = await store_expiry(store, issued.link_hash)
    # Past the link's expiry by the grace (the database decides), give or take the test's run.
    assert issued.expires_at < kept_until <= issued.expires_at + STORE_GRACE + timedelta(seconds=1)
    assert kept_until > issued.expires_at + STORE_GRACE - timedelta(minutes=1)


@pytest.fixture
async def evening_bot(
    fake: FakeBotApi, settings: Settings, engine: object
) -> AsyncIterator[Harness]:
    harness = Harness(fake, bot_settings(settings, fake, **closed_today_and_tomorrow(settings)))
    await harness.start()
    yield harness
    await harness.stop()


async def test_the_result_message_names_the_day_and_hour_the_link_lives_until(
    evening_bot: Harness,
) -> None:
    bot = evening_bot
    await bot.submit_request()
    await bot.approve_to_valid()
    await bot.press(ADMIN, "Kirim hasil", chat=GROUP, message=bot.card())
    await bot.say(ADMIN, "Spse2026-Baru!")

    day = utcnow().astimezone(bot.settings.zone).date() + timedelta(days=2)
    months = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]
    weekdays = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
    deadline = (
        f"{weekdays[day.weekday()]}, {day.day} {months[day.month - 1]} {day.year} pukul 10.00 WIB"
    )
    link_message = next(m for m in bot.texts(REQUESTER) if "/s/" in m)
    assert f"berlaku sampai {deadline}" in link_message
    assert f"berlaku sampai {deadline}" in bot.last(ADMIN).content
    assert re.search(
        rf"berlaku s\.d\. {day.day} {months[day.month - 1]} 10\.00", bot.card().content
    )
    async with bot.app.sessions() as session:
        link = (await session.execute(select(CredentialLink))).scalar_one()
    assert link.expires_at == wib(day, 10)
