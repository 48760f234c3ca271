"""The seal on waiting updates and replies: its key is the deployment's, not a bot token's."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from chatbot.app import inbox_sealer
from chatbot.services.sealing import SEAL_FILE, Sealer, Unreadable, stored_secret
from chatbot.settings import Settings

UPDATE = b'{"update_id":1,"message":{"text":"password: Rahasia#2026"}}'


def _with(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


def test_rotating_the_bot_token_leaves_waiting_updates_readable(settings: Settings) -> None:
    before = _with(settings, telegram_bot_token=SecretStr("111:old-token"))
    after = _with(settings, telegram_bot_token=SecretStr("111:new-token"))
    sealed = inbox_sealer(before).seal(UPDATE, "telegram:1")
    assert inbox_sealer(after).open(sealed, "telegram:1") == UPDATE


def test_seal_secret_is_shared_by_workers_on_other_hosts(
    settings: Settings, tmp_path: Path
) -> None:
    secret = SecretStr("a-shared-secret-of-enough-length")
    one = _with(settings, seal_secret=secret, storage_dir=tmp_path / "host-a")
    two = _with(settings, seal_secret=secret, storage_dir=tmp_path / "host-b")
    assert inbox_sealer(two).open(inbox_sealer(one).seal(UPDATE, "c"), "c") == UPDATE
    assert not (tmp_path / "host-a" / SEAL_FILE).exists()  # nothing written when configured


def test_without_seal_secret_one_host_keeps_its_own_secret_private(settings: Settings) -> None:
    sealed = inbox_sealer(settings).seal(UPDATE, "c")
    path = settings.storage_dir / SEAL_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert inbox_sealer(settings).open(sealed, "c") == UPDATE  # a restart reads it back
    other = _with(settings, storage_dir=settings.storage_dir / "elsewhere")
    with pytest.raises(Unreadable):
        inbox_sealer(other).open(sealed, "c")


def test_rows_sealed_with_the_token_before_the_upgrade_still_open(settings: Settings) -> None:
    token = "111:the-token"
    old = Sealer.from_secret(token, "inbox").seal(UPDATE, "telegram:1")
    upgraded = _with(
        settings,
        telegram_bot_token=SecretStr(token),
        seal_secret=SecretStr("a-new-secret-of-enough-length"),
    )
    sealer = inbox_sealer(upgraded)
    assert sealer.open(old, "telegram:1") == UPDATE
    # ...but new rows are never sealed with the token's key any more.
    with pytest.raises(Unreadable):
        Sealer.from_secret(token, "inbox").open(sealer.seal(UPDATE, "telegram:1"), "telegram:1")


def test_a_sealed_row_moved_to_another_update_does_not_open(settings: Settings) -> None:
    sealer = inbox_sealer(settings)
    with pytest.raises(Unreadable):
        sealer.open(sealer.seal(UPDATE, "telegram:1"), "telegram:2")


def test_a_short_seal_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEAL_SECRET", "too-short")
    with pytest.raises(ValidationError, match="at least 16"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_setting_seal_secret_later_still_opens_what_the_stored_secret_sealed(
    settings: Settings,
) -> None:
    sealed = inbox_sealer(settings).seal(UPDATE, "c")  # before SEAL_SECRET: the stored secret
    later = _with(settings, seal_secret=SecretStr("configured-later-of-enough-length"))
    assert inbox_sealer(later).open(sealed, "c") == UPDATE


def test_a_rotated_seal_secret_opens_what_the_previous_one_sealed(settings: Settings) -> None:
    old = SecretStr("the-secret-before-rotation")
    sealed = inbox_sealer(_with(settings, seal_secret=old)).seal(UPDATE, "c")
    rotated = _with(
        settings, seal_secret=SecretStr("the-secret-after-rotation"), seal_secret_previous=old
    )
    assert inbox_sealer(rotated).open(sealed, "c") == UPDATE
    with pytest.raises(Unreadable):  # without the previous one it does not
        inbox_sealer(_with(rotated, seal_secret_previous=None)).open(sealed, "c")


def test_processes_starting_together_agree_on_one_stored_secret(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = set(pool.map(lambda _: stored_secret(tmp_path), range(32)))
    assert len(made) == 1
    assert [p.name for p in tmp_path.iterdir()] == [SEAL_FILE]  # no temporary file left


def test_an_empty_stored_secret_is_refused_not_used(tmp_path: Path) -> None:
    (tmp_path / SEAL_FILE).write_text("")  # e.g. a crash of an older version mid-write
    with pytest.raises(RuntimeError, match="SEAL_SECRET"):
        stored_secret(tmp_path)
