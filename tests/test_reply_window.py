"""When a reply window counts as closing (the link is not handed over into it), and the
inbound time a use case sees while an update is handled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chatbot.services.reply_window import (
    CLOSING,
    inbound,
    inbound_time,
    window_closing,
    window_open_until,
)

DAY = timedelta(hours=24)
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_a_window_with_an_hour_or_more_left_is_open() -> None:
    assert timedelta(hours=1) == CLOSING
    assert not window_closing(NOW - DAY + CLOSING, DAY, NOW)
    assert not window_closing(NOW - timedelta(minutes=5), DAY, NOW)


def test_a_window_with_less_than_an_hour_left_or_closed_or_never_opened_is_closing() -> None:
    assert window_closing(NOW - DAY + CLOSING - timedelta(seconds=1), DAY, NOW)
    assert window_closing(NOW - DAY - timedelta(minutes=1), DAY, NOW)
    assert window_closing(None, DAY, NOW)


def test_the_window_is_open_until_a_day_after_the_last_message() -> None:
    assert window_open_until(NOW, DAY) == NOW + DAY
    assert window_open_until(None, DAY) is None


def test_the_inbound_time_is_known_only_while_its_update_is_handled() -> None:
    assert inbound_time() is None
    with inbound(NOW):
        assert inbound_time() == NOW
        with inbound(None):  # a channel without a window inside
            assert inbound_time() is None
        assert inbound_time() == NOW
    assert inbound_time() is None
