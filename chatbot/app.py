"""Composition root: builds engine, store and services from settings; nothing at import time."""

from __future__ import annotations

import contextlib
import logging
import socket
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chatbot.conversations.context import Services
from chatbot.conversations.state import DialogStates
from chatbot.db.engine import create_engine, create_sessionmaker
from chatbot.db.migrate import is_current, upgrade
from chatbot.reports import MonthlyReports, Signer
from chatbot.services.archive import Archiver
from chatbot.services.credentials import CredentialVault, LinkLifetime
from chatbot.services.deadlines import DeadlineWatch, Supervisor
from chatbot.services.documents import DocumentStore
from chatbot.services.forms import AdminForms
from chatbot.services.outbox import Outbox
from chatbot.services.tickets import TicketService
from chatbot.settings import Settings
from chatbot.store import Store
from chatbot.store.redis_store import RedisStore
from chatbot.store.sql_store import SqlStore

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


async def create_app(settings: Settings, *, migrate: bool = True) -> App:
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade(engine)
    sessions = create_sessionmaker(engine)
    store: Store = (
        RedisStore(
            settings.redis_url,
            prefix=settings.redis_prefix,
            owner=settings.worker_name or f"{socket.gethostname()}:{settings.web_port}",
        )
        if settings.redis_url
        else SqlStore(sessions)
    )
    tickets = TicketService(sessions, settings.zone, policy=settings.sla_policy())
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    services = Services(
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
        services=services,
        outbox=Outbox(sessions),
        watch=DeadlineWatch(sessions, supervisor),
    )
