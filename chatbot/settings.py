"""Settings from the environment and `.env`, with one clear line for anything wrong."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chatbot.services.documents import UploadQuota
from chatbot.services.notices import NoticeKind
from chatbot.services.office_hours import (
    DEFAULT_WEEK,
    OfficeCalendar,
    parse_dates,
    parse_time,
    parse_week,
)
from chatbot.services.sla import DEFAULT_STANDARDS, SlaPolicy

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> timedelta:
    """Parse '90', '90s', '15m', '24h' or '2d' into a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError("use a number with s, m, h or d, e.g. 24h")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _within(value: object, low: timedelta, high: timedelta) -> timedelta:
    duration = parse_duration(value)
    if not low <= duration <= high:
        raise ValueError(f"must be between {_human(low)} and {_human(high)}")
    return duration


def _human(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line naming it."""


class Settings(BaseSettings):
    """Every setting of the bot; names are what operators put in `.env`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=False)

    telegram_bot_token: SecretStr | None = None
    telegram_admin_chat_id: int | None = None
    telegram_admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_secret: SecretStr | None = None
    # /metrics: served only with `Authorization: Bearer <METRICS_TOKEN>` when set, else only
    # to clients on this host.
    metrics_token: SecretStr | None = None
    # Seals the inbox and queued replies at rest. Unset: a secret made once in STORAGE_DIR
    # (enough for one host; hosts sharing a database must share this).
    seal_secret: SecretStr | None = None
    # The SEAL_SECRET before a rotation: rows it sealed still open (never used to seal).
    seal_secret_previous: SecretStr | None = None

    database_url: str = "sqlite+aiosqlite:///data/chatbot.db"
    redis_url: str = ""
    redis_prefix: str = Field(default="chatbot:", min_length=1, max_length=64)
    public_url: str = "http://localhost:8080"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    storage_dir: Path = Path("data/files")
    credential_link_ttl: timedelta = timedelta(hours=2)
    # A link that would expire outside office hours lives until this time (in TIMEZONE) of the
    # next office day instead, at most 4 days; empty: exactly CREDENTIAL_LINK_TTL.
    credential_link_until: str = "10:00"
    admin_form_ttl: timedelta = timedelta(minutes=15)
    confirm_reminder_every: timedelta = timedelta(hours=4)
    confirm_max_reminders: int = Field(default=2, ge=0, le=10)
    confirm_close_after: timedelta = timedelta(hours=24)
    webapp_binding: bool = False
    timezone: str = "Asia/Jakarta"
    max_upload_mb: int = Field(default=20, ge=1, le=20)
    # What one chat may upload into requests it has not sent (cancelled or replaced pages
    # count until retention deletes them, 31 days): files, and MB in all.
    upload_draft_quota_files: int = Field(default=40, ge=1, le=1000)
    upload_draft_quota_mb: int = Field(default=100, ge=1, le=10_000)
    log_level: str = "INFO"
    # text: readable lines for a terminal; json: one object per line for a log collector.
    log_format: Literal["text", "json"] = "text"
    # Chats handled at once by one worker; updates of one chat always run one at a time.
    worker_concurrency: int = Field(default=8, ge=1, le=64)
    # This worker's name, stable across its restarts (empty: host name and WEB_PORT); a
    # restarted worker takes back at once the locks its killed predecessor held.
    worker_name: str = Field(default="", max_length=100)
    # How long one Bot API call may take before it counts as a timeout (and is retried).
    telegram_timeout: timedelta = timedelta(seconds=15)

    # WhatsApp Business Cloud API (issue 12): on when the token and the phone number id are
    # set. The app secret keys X-Hub-Signature-256; the verify token answers the handshake.
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_number_id: str = ""
    whatsapp_waba_id: str = ""
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v23.0"
    # Notice kind -> approved template name ("incomplete=tiket_perlu_dilengkapi,..."), sent
    # when the requester's 24-hour window is closed; a kind without one is held until they
    # write again. The ticket number is each template's one body parameter.
    whatsapp_templates: str = ""
    whatsapp_template_language: str = "id"

    # The SOP's clock: office hours in TIMEZONE, minus national holidays, collective leave
    # and the operator's own days off; each admin step's time standard in office minutes.
    office_hours: str = DEFAULT_WEEK
    office_holidays: str = ""
    national_holidays: bool = True
    step_standards: Annotated[dict[int, int], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_STANDARDS)
    )
    # A late step is escalated to the supervisor once it has taken this many times its
    # standard (e.g. 2: a 5-minute step at 10 minutes).
    escalate_after: float = Field(default=2.0, ge=1.0, le=100.0)
    supervisor_chat_id: int | None = None
    # Step 4 waits on the requester: a reminder after this long, expiry after that.
    supplement_remind_after: timedelta = timedelta(days=2)
    supplement_expire_after: timedelta = timedelta(days=7)
    # Documents and personal data of archived tickets are deleted this long after closing.
    archive_retention: timedelta = timedelta(days=730)
    # Who signs the monthly report's "Mengetahui" block (the head of section); a blank one
    # prints as a dotted line to fill in by hand.
    report_signer_title: str = Field(default="", max_length=200)
    report_signer_name: str = Field(default="", max_length=200)
    report_signer_nip: str = ""

    @field_validator("telegram_admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return frozenset(int(p) for p in parts if p)
        return value

    @field_validator(
        "telegram_bot_token",
        "telegram_webhook_secret",
        "metrics_token",
        "seal_secret",
        "seal_secret_previous",
        "whatsapp_token",
        "whatsapp_app_secret",
        "whatsapp_verify_token",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("credential_link_ttl", mode="before")
    @classmethod
    def _link_ttl(cls, value: object) -> timedelta:
        return _within(value, timedelta(minutes=1), timedelta(hours=24))

    @field_validator("credential_link_until")
    @classmethod
    def _link_until(cls, value: str) -> str:
        if value.strip():
            parse_time(value)
        return value.strip()

    @field_validator("admin_form_ttl", mode="before")
    @classmethod
    def _form_ttl(cls, value: object) -> timedelta:
        return _within(value, timedelta(minutes=2), timedelta(hours=2))

    @field_validator("confirm_reminder_every", "confirm_close_after", mode="before")
    @classmethod
    def _confirm_durations(cls, value: object) -> timedelta:
        return _within(value, timedelta(minutes=1), timedelta(days=30))

    @field_validator("office_hours")
    @classmethod
    def _office_week(cls, value: str) -> str:
        parse_week(value)
        return value

    @field_validator("office_holidays")
    @classmethod
    def _office_days_off(cls, value: str) -> str:
        parse_dates(value)
        return value

    @field_validator("report_signer_nip")
    @classmethod
    def _signer_nip(cls, value: str) -> str:
        digits = re.sub(r"\s", "", value)
        if digits and not re.fullmatch(r"[0-9]{18}", digits):
            raise ValueError("a NIP is 18 digits (spaces allowed), or leave it empty")
        return digits

    @field_validator("step_standards", mode="before")
    @classmethod
    def _standards(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        standards = dict(DEFAULT_STANDARDS)
        for part in re.split(r"[,;]", value):
            if not part.strip():
                continue
            step, sep, minutes = part.partition("=")
            if not sep or not step.strip().isdigit() or not minutes.strip().isdigit():
                raise ValueError(f"cannot read {part.strip()!r}; write e.g. 2=5,5=10")
            if int(step) not in DEFAULT_STANDARDS:
                steps = ", ".join(str(s) for s in DEFAULT_STANDARDS)
                raise ValueError(f"step {int(step)} has no time standard (only {steps})")
            if not 1 <= int(minutes) <= 24 * 60:
                raise ValueError(f"step {int(step)}: minutes must be between 1 and 1440")
            standards[int(step)] = int(minutes)
        return standards

    @field_validator("supplement_remind_after", "supplement_expire_after", mode="before")
    @classmethod
    def _supplement_durations(cls, value: object) -> timedelta:
        return _within(value, timedelta(minutes=1), timedelta(days=90))

    @field_validator("archive_retention", mode="before")
    @classmethod
    def _retention(cls, value: object) -> timedelta:
        return _within(value, timedelta(days=1), timedelta(days=3650))

    @field_validator("telegram_admin_chat_id", "supervisor_chat_id", mode="before")
    @classmethod
    def _empty_chat_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("telegram_timeout", mode="before")
    @classmethod
    def _api_timeout(cls, value: object) -> timedelta:
        return _within(value, timedelta(seconds=1), timedelta(minutes=2))

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token: 1-256 of A-Z, a-z, 0-9, _ and -.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()
        ):
            raise ValueError("use 16 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9._~+/=-]{16,256}", value.get_secret_value()
        ):
            raise ValueError("use 16 to 256 characters of A-Z, a-z, 0-9 and . _ ~ + / = -")
        return value

    @field_validator("seal_secret", "seal_secret_previous")
    @classmethod
    def _seal_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError("use at least 16 characters, e.g. `openssl rand -hex 32`")
        return value

    @field_validator("whatsapp_phone_number_id", "whatsapp_waba_id")
    @classmethod
    def _graph_id(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"[0-9]{1,32}", value):
            raise ValueError("a Graph API id is digits only (from the WhatsApp Manager)")
        return value

    @field_validator("whatsapp_token")
    @classmethod
    def _whatsapp_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9._-]{16,1024}", value.get_secret_value()
        ):
            raise ValueError("paste the access token as given: 16 or more of A-Z, a-z, 0-9 . _ -")
        return value

    @field_validator("whatsapp_app_secret")
    @classmethod
    def _whatsapp_app_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{16,256}", value.get_secret_value()):
            raise ValueError("the app secret (App settings > Basic) is 16 or more of A-Z, a-z, 0-9")
        return value

    @field_validator("whatsapp_verify_token")
    @classmethod
    def _whatsapp_verify_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9._~-]{16,256}", value.get_secret_value()
        ):
            raise ValueError("use 16 to 256 characters of A-Z, a-z, 0-9 and . _ ~ -")
        return value

    @field_validator("whatsapp_api_url")
    @classmethod
    def _whatsapp_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (http:// only for a local test double)")
        return value.rstrip("/")

    @field_validator("whatsapp_api_version")
    @classmethod
    def _whatsapp_api_version(cls, value: str) -> str:
        if not re.fullmatch(r"v[0-9]{1,3}\.[0-9]{1,3}", value.strip()):
            raise ValueError("write the Graph API version as vNN.N, e.g. v23.0")
        return value.strip()

    @field_validator("whatsapp_templates")
    @classmethod
    def _whatsapp_templates(cls, value: str) -> str:
        parse_templates(value)
        return value.strip()

    @field_validator("whatsapp_template_language")
    @classmethod
    def _whatsapp_template_language(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", value.strip()):
            raise ValueError("a template language code, e.g. id or en_US")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("use postgresql+asyncpg://... or sqlite+aiosqlite:///path.db")
        return value

    @field_validator("public_url")
    @classmethod
    def _plain_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for local trials)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _telegram_needs_group(self) -> Settings:
        if self.telegram_bot_token is not None and self.telegram_admin_chat_id is None:
            raise ValueError("TELEGRAM_ADMIN_CHAT_ID is required when TELEGRAM_BOT_TOKEN is set")
        return self

    @model_validator(mode="after")
    def _webapp_needs_https(self) -> Settings:
        if self.webapp_binding and not self.public_url.startswith("https://"):
            raise ValueError("WEBAPP_BINDING needs an https:// PUBLIC_URL (Telegram's rule)")
        if self.webapp_binding and self.telegram_bot_token is None:
            raise ValueError("WEBAPP_BINDING needs TELEGRAM_BOT_TOKEN (it checks Telegram's data)")
        return self

    @model_validator(mode="after")
    def _real_links_need_https(self) -> Settings:
        """Links to real people carry passwords' keys: plain http only on this machine."""
        local = urlsplit(self.public_url).hostname in ("localhost", "127.0.0.1", "::1")
        plain = not self.public_url.startswith("https://")
        if self.telegram_bot_token is not None and plain and not local:
            raise ValueError("PUBLIC_URL must be https:// when the bot runs on Telegram")
        return self

    @model_validator(mode="after")
    def _whatsapp_complete(self) -> Settings:
        """Half a WhatsApp set-up would fail at the first message: refuse it at start-up."""
        token, number = self.whatsapp_token is not None, bool(self.whatsapp_phone_number_id)
        if token != number:
            raise ValueError(
                "WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID go together: set both or neither"
            )
        if not self.whatsapp_enabled:
            return self
        if self.whatsapp_app_secret is None or self.whatsapp_verify_token is None:
            raise ValueError(
                "WhatsApp needs WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN for its webhook"
            )
        local = urlsplit(self.public_url).hostname in ("localhost", "127.0.0.1", "::1")
        if not self.public_url.startswith("https://") and not local:
            raise ValueError("PUBLIC_URL must be https:// when the bot runs on WhatsApp")
        return self

    @model_validator(mode="after")
    def _expiry_after_reminder(self) -> Settings:
        if self.supplement_expire_after <= self.supplement_remind_after:
            raise ValueError("SUPPLEMENT_EXPIRE_AFTER must be longer than SUPPLEMENT_REMIND_AFTER")
        return self

    def calendar(self) -> OfficeCalendar:
        """The office's working days and hours (built on each call; cheap)."""
        return OfficeCalendar(
            self.zone,
            parse_week(self.office_hours),
            parse_dates(self.office_holidays),
            national_holidays=self.national_holidays,
        )

    @property
    def link_until(self) -> time | None:
        """CREDENTIAL_LINK_UNTIL as a time of day; None when off."""
        return parse_time(self.credential_link_until) if self.credential_link_until else None

    def sla_policy(self) -> SlaPolicy:
        """The time standards on the office clock, as configured."""
        standards = {int(step): minutes for step, minutes in self.step_standards.items()}
        return SlaPolicy(self.calendar(), standards, self.escalate_after)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def whatsapp_enabled(self) -> bool:
        """WhatsApp runs when its token and phone number id are set."""
        return self.whatsapp_token is not None and bool(self.whatsapp_phone_number_id)

    @property
    def whatsapp_template_names(self) -> dict[str, str]:
        """WHATSAPP_TEMPLATES as notice kind -> template name."""
        return parse_templates(self.whatsapp_templates)

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    def upload_quota(self) -> UploadQuota:
        return UploadQuota(self.upload_draft_quota_files, self.upload_draft_quota_mb * 1024 * 1024)


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one line per wrong setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "_".join(str(p) for p in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"setting {name}: {message}" if name else message)
        raise SettingsError("; ".join(lines)) from None


def parse_templates(value: str) -> dict[str, str]:
    """`kind=name,kind=name` into a mapping; a kind not a notice's, or a name Meta would not
    accept (lowercase, digits, underscores), is refused."""
    names: dict[str, str] = {}
    kinds = {str(kind) for kind in NoticeKind}
    for item in filter(None, (part.strip() for part in value.split(","))):
        kind, _, name = (piece.strip() for piece in item.partition("="))
        if kind not in kinds:
            raise ValueError(f"{kind!r} is not a notice kind (one of {', '.join(sorted(kinds))})")
        if not re.fullmatch(r"[a-z0-9_]{1,512}", name):
            raise ValueError(f"template name for {kind} must be lowercase letters, digits and _")
        names[kind] = name
    return names
