"""Composition root: builds engine, store, services and the pipeline with its channels from
settings; nothing at import time. The runner, the console and the tests all build here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.routing import BaseRoute

from chatbot.channels.pacing import TELEGRAM_LIMITS, WHATSAPP_LIMITS, PaceLimits
from chatbot.conversations.context import Services
from chatbot.conversations.messages import Messenger
from chatbot.conversations.messengers import Messengers
from chatbot.conversations.state import DialogStates
from chatbot.db.engine import create_engine, create_sessionmaker
from chatbot.db.migrate import is_current, upgrade
from chatbot.db.models import utcnow
from chatbot.pipeline import ChannelAdapter, Pipeline
from chatbot.reports import MonthlyReports, Signer
from chatbot.services.archive import Archiver
from chatbot.services.credentials import CredentialVault, LinkLifetime
from chatbot.services.deadlines import DeadlineWatch, Supervisor
from chatbot.services.documents import DocumentStore
from chatbot.services.forms import AdminForms
from chatbot.services.outbox import Outbox
from chatbot.services.sealing import Sealer, existing_secret, stored_secret
from chatbot.services.tickets import TicketService
from chatbot.settings import Settings
from chatbot.store import Store
from chatbot.store.redis_store import RedisStore
from chatbot.store.sql_store import SqlStore

if TYPE_CHECKING:
    from chatbot.channels.console import ConsoleSession
    from chatbot.channels.telegram import TelegramChannel

log = logging.getLogger(__name__)


REDIS_NOT_PERSISTENT = (
    "Redis keeps no data across a restart (save and appendonly are off): a restart loses "
    "every one-time link not yet opened, and the dialogs in progress. Set appendonly yes "
    "(docs/operations.md)."
)


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    store: Store
    services: Services
    outbox: Outbox
    watch: DeadlineWatch
    sealer: Sealer  # the inbox's and the queued replies' seal

    async def ready(self) -> bool:
        """The database answers at the newest migration, and Redis answers when used."""
        try:
            if isinstance(self.store, RedisStore) and not await self.store.ping():
                return False
            return await is_current(self.engine)
        except Exception as error:  # any failure means not ready
            log.warning("not ready: %s", type(error).__name__)
            return False

    async def warnings(self) -> list[str]:
        """What the operator should fix though the bot works: Redis without persistence."""
        if not isinstance(self.store, RedisStore):
            return []  # the embedded store is the database: it survives restarts
        try:
            persistent = await self.store.persistence()
        except Exception as error:  # Redis away: ready() says so
            log.debug("persistence check failed: %s", type(error).__name__)
            return []
        return [REDIS_NOT_PERSISTENT] if persistent is False else []

    async def warn_at_start(self) -> None:
        """Log at WARNING what `warnings` finds, once, when the bot starts."""
        for warning in await self.warnings():
            log.warning(warning)
        if isinstance(self.store, RedisStore):
            with contextlib.suppress(Exception):
                if await self.store.persistence() is None:
                    log.info(
                        "Redis does not say whether it keeps its data (CONFIG disabled); "
                        "make sure it does, or a restart loses the unopened one-time links"
                    )

    async def close(self) -> None:
        await self.store.close()
        await self.engine.dispose()


def report_signer(settings: Settings) -> Signer:
    """The monthly report's "Mengetahui" block as configured (REPORT_SIGNER_*)."""
    return Signer(
        title=settings.report_signer_title,
        name=settings.report_signer_name,
        nip=settings.report_signer_nip,
    )


def inbox_sealer(settings: Settings) -> Sealer:
    """SEAL_SECRET, else the secret kept in STORAGE_DIR. What sealed before still opens: the
    previous SEAL_SECRET, the stored secret once SEAL_SECRET is set, and the bot token, from
    which the key came before this version (rows waiting across the upgrade)."""
    configured = settings.seal_secret
    previous = settings.seal_secret_previous
    token = settings.telegram_bot_token
    if configured is not None:
        current = configured.get_secret_value()
        stored = existing_secret(settings.storage_dir)
    else:
        current, stored = stored_secret(settings.storage_dir), None
    earlier = [
        secret
        for secret in (
            previous.get_secret_value() if previous else None,
            stored,
            token.get_secret_value() if token else None,
        )
        if secret is not None and secret != current
    ]
    return Sealer.from_secret(current, "inbox", earlier=tuple(earlier))


def build_store(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Store:
    """Redis when REDIS_URL is set, else the embedded store in the database."""
    if not settings.redis_url:
        return SqlStore(sessions)
    return RedisStore(
        settings.redis_url,
        prefix=settings.redis_prefix,
        owner=settings.worker_name or f"{socket.gethostname()}:{settings.web_port}",
    )


def build_services(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], store: Store
) -> Services:
    """What the dialogs, the pipeline and the web app use."""
    tickets = TicketService(sessions, settings.zone, policy=settings.sla_policy())
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    return Services(
        tickets=tickets,
        files=DocumentStore(settings.storage_dir, settings.max_upload_bytes),
        vault=CredentialVault(
            store,
            settings.public_url,
            settings.credential_link_ttl,
            LinkLifetime(settings.credential_link_ttl, settings.calendar(), settings.link_until),
        ),
        archiver=Archiver(
            tickets, settings.storage_dir, settings.zone, sessions=sessions, locks=store
        ),
        store=store,
        dialogs=DialogStates(store),
        zone=settings.zone,
        forms=AdminForms(store, settings.public_url, settings.admin_form_ttl),
        https_links=settings.public_url.startswith("https://"),
        web_app=settings.webapp_binding,
        supplement_expire_after=settings.supplement_expire_after,
        upload_quota=settings.upload_quota(),
        reports=MonthlyReports(
            sessions,
            settings.zone,
            tickets.policy,
            settings.storage_dir / "reports",
            report_signer(settings),
        ),
    )


async def create_app(settings: Settings, *, migrate: bool = True) -> App:
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade(engine)
    sessions = create_sessionmaker(engine)
    store = build_store(settings, sessions)
    supervisor = (
        Supervisor("telegram", str(settings.supervisor_chat_id))
        if settings.supervisor_chat_id is not None
        else None
    )
    return App(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        services=build_services(settings, sessions, store),
        outbox=Outbox(sessions),
        watch=DeadlineWatch(sessions, supervisor),
        sealer=inbox_sealer(settings),
    )


def connect(
    app: App,
    adapters: Sequence[ChannelAdapter],
    messengers: Messengers,
    sender_messengers: Messengers,
) -> Pipeline:
    """The one pipeline carrying these channels' updates."""
    return Pipeline.build(
        settings=app.settings,
        services=app.services,
        sessions=app.sessions,
        outbox=app.outbox,
        watch=app.watch,
        sealer=app.sealer,
        adapters={adapter.channel: adapter for adapter in adapters},
        messengers=messengers,
        sender_messengers=sender_messengers,
    )


@dataclass
class TelegramBot:
    """The Telegram channel (requesters and the admin group) on the pipeline, with any other
    requesters' channels (adapter, messenger) on the same pipeline."""

    channel: TelegramChannel
    pipeline: Pipeline
    requesters: Sequence[tuple[ChannelAdapter, Messenger]] = ()

    async def start(self) -> None:
        await self.channel.start()

    async def stop(self) -> None:
        """After the pipeline's tasks ended: let a kicked flush end, then close the clients."""
        await self.pipeline.sender.idle()
        await self.channel.stop()
        for _, messenger in self.requesters:
            close = getattr(messenger, "close", None)
            if callable(close):
                await close()


def telegram_bot(
    app: App,
    *,
    limits: PaceLimits = TELEGRAM_LIMITS,
    clock: Callable[[], datetime] = utcnow,
    requesters: Sequence[tuple[ChannelAdapter, Messenger]] = (),
) -> TelegramBot:
    """Telegram for the admins (and its requesters), plus any other requesters' channels:
    `requesters` pairs each adapter with its messenger; every channel shares one pipeline.
    The sender uses a messenger's `deferring()` variant when it has one (it must not wait
    for one chat's pace while others' messages are due)."""
    from chatbot.channels.telegram import CHANNEL, TelegramChannel
    from chatbot.services.chats import ChatMigrations

    channel = TelegramChannel(
        app.settings, app.store, ChatMigrations(app.sessions), limits=limits, clock=clock
    )

    def admin_chat() -> str:
        return channel.admin.id

    names = [CHANNEL, *(adapter.channel for adapter, _ in requesters)]
    if len(set(names)) != len(names):
        raise ValueError(f"two channels share a name: {names}")
    others = {adapter.channel: messenger for adapter, messenger in requesters}
    deferring = {name: _deferring(messenger) for name, messenger in others.items()}
    pipeline = connect(
        app,
        [channel, *(adapter for adapter, _ in requesters)],
        Messengers({CHANNEL: channel.messenger, **others}, CHANNEL, admin_chat),
        Messengers({CHANNEL: channel.messenger.deferring(), **deferring}, CHANNEL, admin_chat),
    )
    channel.connect(pipeline.ingress.receive)
    return TelegramBot(channel, pipeline, tuple(requesters))


def whatsapp_requesters(
    app: App,
    *,
    limits: PaceLimits = WHATSAPP_LIMITS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[tuple[ChannelAdapter, Messenger]]:
    """WhatsApp's requesters (adapter, messenger) when WHATSAPP_* is configured, else none.
    `transport`: where pywa's calls go (tests: the fake Graph API); by default Meta's host,
    or WHATSAPP_API_URL."""
    settings = app.settings
    token = settings.whatsapp_token
    if not settings.whatsapp_enabled or token is None:
        return []
    from chatbot.channels.pacing import Pacer
    from chatbot.channels.whatsapp import CHANNEL, WhatsAppChannel
    from chatbot.channels.whatsapp.messenger import WhatsAppMessenger, whatsapp_client

    client = whatsapp_client(
        phone_id=settings.whatsapp_phone_number_id,
        token=token.get_secret_value(),
        api_version=settings.whatsapp_api_version,
        api_url=settings.whatsapp_api_url,
        transport=transport,
    )
    pacer = Pacer(app.store, CHANNEL, limits)
    messenger = WhatsAppMessenger(
        client,
        pacer,
        max_download=settings.max_upload_bytes,
        templates=settings.whatsapp_template_names,
        language=settings.whatsapp_template_language,
    )
    from chatbot.channels.whatsapp.adapter import RequesterMoves
    from chatbot.services.chats import ChatMigrations

    moves = RequesterMoves(
        ChatMigrations(app.sessions), app.services.tickets, DialogStates(app.store)
    )
    channel = WhatsAppChannel(
        settings.whatsapp_phone_number_id,
        moves=moves,
        seen=messenger.mark_read,
        inbound=pacer.count_inbound,
    )
    return [(channel, messenger)]


def whatsapp_webhooks(app: App, bot: TelegramBot) -> list[BaseRoute]:
    """The `/whatsapp/webhook` route of the bot's WhatsApp channel, its arrivals stored
    through the bot's pipeline; none when WhatsApp is not configured."""
    from chatbot.channels.whatsapp import WhatsAppChannel, split_body
    from chatbot.web.whatsapp_webhook import whatsapp_webhook_route

    secret, verify = app.settings.whatsapp_app_secret, app.settings.whatsapp_verify_token
    routes: list[BaseRoute] = []
    for adapter, _ in bot.requesters:
        if isinstance(adapter, WhatsAppChannel) and secret is not None and verify is not None:
            adapter.connect(bot.pipeline.ingress.receive)
            routes.append(
                whatsapp_webhook_route(
                    adapter.receive,
                    split_body,
                    app_secret=secret.get_secret_value(),
                    verify_token=verify.get_secret_value(),
                )
            )
    return routes


TEMPLATE_CHECK_TIMEOUT = 5.0  # start-up never waits longer for Meta


async def warn_about_templates(
    app: App,
    requesters: Sequence[tuple[ChannelAdapter, Messenger]],
    *,
    timeout: float = TEMPLATE_CHECK_TIMEOUT,
) -> None:
    """At start-up, WHATSAPP_TEMPLATES against Meta's approved templates: one WARNING line
    per problem (as `chatbot whatsapp templates` prints them). Never stops the start: Meta
    unreachable, slow or refusing is one warning and the bot goes on."""
    from chatbot.channels.whatsapp.messenger import WhatsAppMessenger
    from chatbot.channels.whatsapp.templates import warnings

    waba_id = app.settings.whatsapp_waba_id
    for _, messenger in requesters:
        if not isinstance(messenger, WhatsAppMessenger):
            continue
        if not waba_id:
            log.warning("WHATSAPP_WABA_ID is not set: the WhatsApp templates are not checked")
            return
        try:
            result = await asyncio.wait_for(messenger.check_templates(waba_id), timeout)
        except Exception as error:  # Meta away, slow or refusing: the bot starts anyway
            reason = "timed out" if isinstance(error, TimeoutError) else _reason(error)
            log.warning(
                "WhatsApp templates not checked: Meta could not be asked (%s); run "
                "`chatbot whatsapp templates` later",
                reason,
            )
            return
        for line in warnings(result):
            log.warning(line)


def _reason(error: Exception) -> str:
    """Meta's refusal (code and message) or the network failure's name; never a body."""
    code, message = getattr(error, "code", None), getattr(error, "message", None)
    if code is not None:
        return f"({code}) {message or type(error).__name__}"
    return type(error).__name__


@dataclass
class ConsoleBot:
    """The console channel (requesters and admins alike, in one terminal) on the pipeline."""

    session: ConsoleSession
    pipeline: Pipeline


def console_bot(app: App) -> ConsoleBot:
    """The console on its own pipeline: "console" is both the requesters' and the admins'
    channel, its group the admin group; "console-wa" a requester rendered as on WhatsApp. A
    typed line goes through the inbox, the worker and the outbox like a Telegram update;
    `session.feed` returns once all that was printed, so the pipeline's worker must be
    running (run_console starts it with the periodic jobs)."""
    from chatbot.channels.console import CHANNEL, WA_CHANNEL, ConsoleSession

    session = ConsoleSession(received=app.settings.storage_dir / "console-received")
    messenger = session.messenger
    messengers = Messengers(
        {CHANNEL: messenger, WA_CHANNEL: session.wa_messenger},
        CHANNEL,
        lambda: messenger.admin_chat_id,
    )
    pipeline = connect(app, [session.adapter, session.wa_adapter], messengers, messengers)

    async def settle() -> None:
        await pipeline.worker.settled()
        await pipeline.sender.idle()

    session.connect(pipeline.ingress.receive, settle, pipeline.sender.flush)
    return ConsoleBot(session, pipeline)


def _deferring(messenger: Messenger) -> Messenger:
    """The variant that raises Throttled instead of waiting for the pace, if it has one."""
    variant = getattr(messenger, "deferring", None)
    return variant() if callable(variant) else messenger
