"""The one door for every Incoming: duplicate guard, per-chat lock, then the right dialog."""

from __future__ import annotations

import logging
from datetime import timedelta

from chatbot.conversations import admin, requester
from chatbot.conversations import texts as t
from chatbot.conversations.context import Context
from chatbot.conversations.messages import Incoming, Reply, Response
from chatbot.services.identity import InvalidInput
from chatbot.services.tickets import TicketError

log = logging.getLogger(__name__)

SEEN_TTL = timedelta(days=2)
CHAT_LOCK = timedelta(seconds=60)


class Router:
    def __init__(self, context: Context) -> None:
        self._ctx = context

    async def handle(self, inc: Incoming) -> Response:
        """Process one Incoming exactly once and answer it.

        The update is marked seen only after it was handled, so a failure leaves it to be
        tried again; the chat lock makes a redelivery wait rather than run alongside.
        """
        store = self._ctx.services.store
        seen = f"seen:{inc.channel}:{inc.update_id}"
        async with store.lock(f"chat:{inc.channel}:{inc.chat_id}", CHAT_LOCK):
            if await store.get(seen) is not None:
                log.info("duplicate update %s skipped", inc.update_id)
                return Response()
            try:
                response = await self._dispatch(inc)
            except (TicketError, InvalidInput) as refused:
                response = Response(replies=[Reply(f"⚠️ {t.e(refused)}")])
            await store.set(seen, b"1", SEEN_TTL)
            return response

    async def _dispatch(self, inc: Incoming) -> Response:
        ctx = self._ctx
        if inc.button is not None and inc.button.startswith("a|"):
            return await admin.handle_tap(ctx, inc)
        if inc.in_group:
            return await admin.handle_group_message(ctx, inc)
        dialogs = ctx.services.dialogs
        state = await dialogs.load(inc.channel, inc.chat_id)
        if state.flow == "admin_result":
            state, response = await admin.handle_result_entry(ctx, state, inc)
        else:
            state, response = await requester.handle(ctx, state, inc)
        await dialogs.save(inc.channel, inc.chat_id, state)
        return response
