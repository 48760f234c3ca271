"""The one door for every Incoming: the right dialog, and a refusal turned into a message.

Ordering, locking and deduplication happen before (the inbox and its worker); what is left
here is the replay guard for dialog state, which lives outside the database transaction
that records an update handled.
"""

from __future__ import annotations

import logging

from chatbot.conversations import card_taps, group_replies, requester, result_handover
from chatbot.conversations import texts as t
from chatbot.conversations.context import Context, Services
from chatbot.conversations.messages import (
    Incoming,
    Reply,
    Response,
    reply_from_dict,
    reply_to_dict,
)
from chatbot.conversations.messengers import Messengers
from chatbot.services.identity import InvalidInput
from chatbot.services.tickets import TicketError

log = logging.getLogger(__name__)


class Router:
    def __init__(self, services: Services, messengers: Messengers) -> None:
        self._services = services
        self._messengers = messengers

    def context(self, channel: str) -> Context:
        """What a dialog answering an update from `channel` works with."""
        return Context(self._services, self._messengers, channel)

    async def handle(self, inc: Incoming) -> Response:
        """Answer one Incoming; the caller runs one chat's updates one at a time."""
        try:
            return await self._dispatch(inc)
        except TicketError as refused:
            return Response(replies=[Reply(f"⚠️ {t.e(t.ticket_error(refused))}")])
        except InvalidInput as refused:
            return Response(replies=[Reply(f"⚠️ {t.e(t.invalid_input(refused))}")])

    async def _dispatch(self, inc: Incoming) -> Response:
        ctx = self.context(inc.channel)
        if inc.button is not None and inc.button.startswith("a|"):
            return await card_taps.handle_tap(ctx, inc)
        if inc.in_group:
            return await group_replies.handle_group_message(ctx, inc)
        dialogs = ctx.services.dialogs
        state = await dialogs.load(inc.channel, inc.chat_id)
        if inc.update_id and state.applied == inc.update_id:
            log.info("update %s was applied before a restart; answering it again", inc.update_id)
            return Response(replies=[reply_from_dict(r) for r in state.answered])
        if state.flow == "admin_result":
            state, response = await result_handover.handle_result_entry(ctx, state, inc)
        else:
            state, response = await requester.handle(ctx, state, inc)
        state.applied = inc.update_id
        state.answered = [reply_to_dict(r) for r in response.replies]
        await dialogs.save(inc.channel, inc.chat_id, state)
        return response
