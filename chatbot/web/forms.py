"""The admin's hand-over form (SOP steps 6 to 8): the password never passes through chat.

`GET /f/{token}` shows the form (and never uses it up); `POST /f/{token}` with the user id
and/or password hands the result over exactly as the chat fallback does: seal, send the
requester the one-time link, record. The form is bound to the admin who tapped "Kirim hasil"
and to that ticket; opened as a Telegram Web App, the signed init data must be that admin's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatbot.conversations import texts as t
from chatbot.conversations.context import Services
from chatbot.conversations.handover import Handed, Handover
from chatbot.conversations.messages import DeliveryError, Reply
from chatbot.conversations.messengers import Messengers
from chatbot.conversations.result_handover import close_chat_handover
from chatbot.services import passwords
from chatbot.services.forms import TOKEN, FormGrant, token_hash
from chatbot.services.identity import InvalidInput, clean_text
from chatbot.services.tickets import Actor, TicketNotFound
from chatbot.services.webapp_auth import WebAppUser
from chatbot.web.guards import (
    CLIENT_LIMIT,
    TARGET_LIMIT,
    TEXT_BAD_REQUEST,
    TEXT_UNAVAILABLE,
    TEXT_WRONG_USER,
    Guard,
    client_address,
    error,
    read_json,
    telegram_user,
)
from chatbot.web.pages import FORM_HINT, closed_page, form_page

log = logging.getLogger(__name__)

TEXT_FORM_GONE = "Formulir ini sudah dipakai atau kedaluwarsa."
TEXT_NO_CHANNEL = "Bot sedang tidak terhubung ke Telegram. Coba lagi sebentar lagi."


class AdminFormPages:
    def __init__(
        self,
        services: Services,
        guard: Guard,
        messengers: Messengers | None,
        *,
        bot_token: str | None,
        require_webapp: bool,
    ) -> None:
        self._services = services
        self._guard = guard
        self._messengers = messengers
        self._bot_token = bot_token
        self._require_webapp = require_webapp

    def routes(self) -> list[Route]:
        return [
            Route("/f/{token}", self.page, methods=["GET"]),
            Route("/f/{token}", self.submit, methods=["POST"]),
        ]

    async def page(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        try:
            if not await self._guard.hit_page(request):
                return closed_page("Terlalu banyak permintaan", "Tunggu sebentar.", 429, FORM_HINT)
            grant = await self._services.forms.peek(token)
            ticket = await self._services.tickets.get(grant.ticket_id) if grant else None
        except TicketNotFound:
            grant = ticket = None
        except Exception as exc:
            log.error("form page: lookup failed: %s", type(exc).__name__)
            return closed_page("Layanan sedang bermasalah", TEXT_UNAVAILABLE, 503, FORM_HINT)
        if grant is None or ticket is None:
            return closed_page("Formulir tidak bisa dipakai", TEXT_FORM_GONE, 410, FORM_HINT)
        return form_page(
            number=grant.number,
            kind=t.REQUEST_TYPES[ticket.request_type],
            name=ticket.full_name,
            expires=t.clock(datetime.fromisoformat(grant.expires_at), self._services.zone),
            need=grant.need,
            user_id_hint=ticket.spse_user_id,
        )

    async def submit(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        refused = self._at_the_door(request, token)
        if refused is not None:
            return refused
        forms = self._services.forms
        try:
            secret = await self._checked_secret(request, token)
            if isinstance(secret, Response):
                return secret
            if self._messengers is None:
                return error(503, TEXT_NO_CHANNEL)
            grant = await forms.take(token)
            if grant is None:  # a second submission raced this one and won
                return error(410, TEXT_FORM_GONE)
            actor = Actor(grant.admin_id, grant.admin_name)
            handover = Handover(self._services, self._messengers, web_app=self._services.web_app)
            handed = await handover.deliver(
                ticket_id=grant.ticket_id, version=grant.version, actor=actor, secret=secret
            )
        except Exception as exc:
            log.error("form submission failed: %s", type(exc).__name__)
            return error(503, TEXT_UNAVAILABLE)
        return await self._answer(token, grant, handed)

    def _at_the_door(self, request: Request, token: str) -> Response | None:
        """A request from another site, or a token that cannot be one of ours."""
        refused = self._guard.bad_origin(request)
        if refused is None and not TOKEN.fullmatch(token):
            refused = error(410, TEXT_FORM_GONE)
        return refused

    async def _checked_secret(self, request: Request, token: str) -> Response | dict[str, str]:
        """The submitted secret, checked against the rate limits, the form and its admin;
        or the refusal. The form is only looked at, not used up."""
        limited = await self._guard.limited(
            (f"form-client:{client_address(request)}", CLIENT_LIMIT),
            (f"form:{token_hash(token)}", TARGET_LIMIT),
        )
        if limited is not None:
            return limited
        data = await read_json(request)
        if data is None:
            return error(400, TEXT_BAD_REQUEST)
        grant = await self._services.forms.peek(token)
        if grant is None:
            return error(410, TEXT_FORM_GONE)
        wrong = self._check_admin(data, grant)
        if wrong is not None:
            return wrong
        secret = _secret(data, grant)
        return error(422, secret) if isinstance(secret, str) else secret

    async def _answer(self, token: str, grant: FormGrant, handed: Handed) -> Response:
        """The form's answer; a hand-over that may be retried gives the form back."""
        if not handed.ok:
            if handed.retry:
                await self._services.forms.give_back(token, grant)
            return error(409, t.plain(handed.text))
        await self._close_chat_dialog(grant, handed.text)
        return JSONResponse({"ok": True, "message": t.plain(handed.text)})

    def _check_admin(self, data: dict[str, object], grant: FormGrant) -> Response | None:
        user = telegram_user(data, self._bot_token, required=self._require_webapp)
        if user is None:
            return None
        if not isinstance(user, WebAppUser):
            return user
        if str(user.id) != grant.admin_user_id:
            return error(403, TEXT_WRONG_USER)
        return None

    async def _close_chat_dialog(self, grant: FormGrant, text: str) -> None:
        """The chat fallback for this ticket is over: clear it and say so in the chat."""
        await close_chat_handover(self._services, grant.channel, grant.chat_id, grant.ticket_id)
        if self._messengers is not None:
            try:
                await self._messengers.of(grant.channel).send(grant.chat_id, Reply(text))
            except DeliveryError as failed:
                log.warning("hand-over confirmation not sent to the admin: %s", failed.reason)


def _secret(data: dict[str, object], grant: FormGrant) -> dict[str, str] | str:
    """The fields the ticket needs, checked; or why not (Indonesian)."""
    secret: dict[str, str] = {}
    if "user_id" in grant.need:
        raw = data.get("user_id")
        try:
            secret["user_id"] = clean_text(
                raw if isinstance(raw, str) else "", field="User ID", min_len=2, max_len=100
            )
        except InvalidInput as bad:
            return t.invalid_input(bad)
    if "password" in grant.need:
        raw = data.get("password")
        password = raw.strip() if isinstance(raw, str) else ""
        wrong = passwords.problem(password)
        if wrong is not None:
            return wrong
        secret["password"] = password
    return secret
