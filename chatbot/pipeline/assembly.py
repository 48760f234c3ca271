"""The durable path every channel's updates take, assembled once:

    adapter -> Ingress (seal, inbox) -> InboxWorker -> Handling (adapter.interpret, Router,
    replies + handled mark in one commit) -> outbox -> OutboxSender -> Messengers

A channel only brings its adapter (pipeline/ports.py) and its messenger.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.conversations.context import Services
from chatbot.conversations.messengers import Messengers
from chatbot.conversations.router import Router
from chatbot.pipeline.handling import Handling
from chatbot.pipeline.ingress import Ingress
from chatbot.pipeline.periodic import Periodic
from chatbot.pipeline.ports import ChannelAdapter
from chatbot.pipeline.sender import OutboxSender
from chatbot.pipeline.worker import InboxWorker
from chatbot.services.deadlines import DeadlineWatch
from chatbot.services.inbox import Inbox
from chatbot.services.outbox import Outbox
from chatbot.services.sealing import Sealer
from chatbot.settings import Settings


@dataclass
class Pipeline:
    inbox: Inbox
    ingress: Ingress
    worker: InboxWorker
    handling: Handling
    sender: OutboxSender
    jobs: Periodic
    messengers: Messengers

    @property
    def router(self) -> Router:
        return self.handling.router

    @classmethod
    def build(
        cls,
        *,
        settings: Settings,
        services: Services,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        watch: DeadlineWatch,
        sealer: Sealer,
        adapters: Mapping[str, ChannelAdapter],
        messengers: Messengers,
        sender_messengers: Messengers,
    ) -> Pipeline:
        """`messengers` wait for the platform's pace (dialogs, the web form);
        `sender_messengers` raise Throttled instead, so the sender moves on to other chats."""
        inbox = Inbox(sessions)
        sender = OutboxSender(services, outbox, sender_messengers, sealer)
        handling = Handling(
            sessions,
            sealer,
            Router(services, messengers),
            adapters,
            messengers,
            sender.kick,
            unreachable=services.tickets.mark_unreachable,
        )
        worker = InboxWorker(
            inbox,
            services.store,
            handling.handle,
            concurrency=settings.worker_concurrency,
            gave_up=handling.gave_up,
            channels=frozenset(adapters),
        )
        ingress = Ingress(inbox, sealer, adapters, worker.wake)
        jobs = Periodic(settings, services, sessions, inbox, outbox, watch)
        return cls(inbox, ingress, worker, handling, sender, jobs, messengers)

    def start(
        self, stop: asyncio.Event, *, after_deadlines: Callable[[], None] | None = None
    ) -> list[asyncio.Task[None]]:
        """The worker and the periodic jobs, until `stop`: they finish what they hold."""
        worker = asyncio.create_task(self.worker.run(stop), name="inbox")
        return [worker, *self.jobs.start(stop, self.sender.flush, after_deadlines=after_deadlines)]

    async def drain(self) -> None:
        """After the tasks ended: send what the outbox holds, and let a kicked flush end."""
        with contextlib.suppress(Exception):
            await self.sender.flush()
        await self.sender.idle()
