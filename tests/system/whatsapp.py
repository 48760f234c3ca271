"""WhatsApp requesters in runs of real `chatbot` processes: the fake Graph API plays Meta.

The processes send through `WHATSAPP_API_URL` to the fake (a local HTTP server); the test
plays Meta's side of the webhook: it signs each body with the app secret and POSTs it to a
process's `/whatsapp/webhook`, and POSTs it again while the answer is not a 200 (a process
being restarted refuses the connection; Meta retries for days). Each step then waits, with a
deadline, until the requester was answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from chatbot.web.whatsapp_webhook import WHATSAPP_WEBHOOK_PATH
from tests.e2e.test_whatsapp_requester import choices, text_of
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.graph_api_models import GraphCall, SentMessage
from tests.fakes.graph_api_webhooks import InboundMessage, WebhookDelivery
from tests.system.processes import BotProcess, Kills
from tests.system.script import IN_FLIGHT, NORMALISE, STEP_TIMEOUT

GRAPH_TOKEN = "EAAsystemtestfaketoken0123"
APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "verify-token_for-the-system-tests"
API_VERSION = "v23.0"
RETRIES = [0.05 * 2**n for n in range(9)]  # Meta's redelivery, compressed: about 25 s
ACCEPTED = 200


async def fresh_graph() -> FakeGraphApi:
    graph = FakeGraphApi(token=GRAPH_TOKEN, app_secret=APP_SECRET, api_version=API_VERSION)
    await graph.start()
    return graph


def whatsapp_env(graph: FakeGraphApi) -> dict[str, str]:
    """The WHATSAPP_* settings of a process talking to the fake Graph API."""
    return {
        "WHATSAPP_TOKEN": graph.token,
        "WHATSAPP_PHONE_NUMBER_ID": graph.metadata.phone_number_id,
        "WHATSAPP_WABA_ID": graph.metadata.waba_id,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_API_URL": graph.base_url,
        "WHATSAPP_API_VERSION": API_VERSION,
    }


def webhook_url(bot: BotProcess) -> str:
    return f"http://127.0.0.1:{bot.port}{WHATSAPP_WEBHOOK_PATH}"


@dataclass
class WaRun:
    """WhatsApp users acting and waiting for the bot's answers; `urls` are the webhooks each
    body is posted to, in order (two workers: both, as Meta's retry of the same body)."""

    graph: FakeGraphApi
    http: httpx.AsyncClient
    urls: Callable[[], list[str]]
    wamids: list[str] = field(default_factory=list)  # every message the users sent
    refused: int = 0  # POSTs that found no process listening (posted while it was down)

    async def post(self, *items: InboundMessage) -> WebhookDelivery:
        """One signed body with the items, accepted (200) by every webhook in `urls`."""
        delivery = self.graph.webhook_body(*items)
        self.wamids.extend(item.wamid for item in items)
        for url in self.urls():
            await self._until_accepted(url, delivery)
        return delivery

    async def _until_accepted(self, url: str, delivery: WebhookDelivery) -> None:
        for pause in RETRIES:
            try:
                response = await self.http.post(url, content=delivery.raw, headers=delivery.headers)
            except httpx.TransportError:
                # Killed and being restarted: Meta POSTs the same bytes again a moment
                # later (a retry with backoff against a process start, not a wait for a
                # result).
                self.refused += 1
                await asyncio.sleep(pause)
                continue
            delivery.statuses.append(response.status_code)
            assert response.status_code == ACCEPTED, (response.status_code, response.text)
            return
        raise AssertionError(f"{url} never accepted the webhook body")

    # ---- what people do --------------------------------------------------------------

    def text(self, wa_id: str, text: str) -> InboundMessage:
        return self.graph.text_message(wa_id, text)

    def tap(self, wa_id: str, label: str) -> InboundMessage:
        """A tap on the reply button or list row labelled `label`, on the newest message
        that has it."""
        for message in reversed(self.graph.sent_to(wa_id)):
            for reply_id, title, is_row in choices(message):
                if label in title:
                    if is_row:
                        return self.graph.list_message(
                            wa_id, reply_id, title, to_wamid=message.wamid
                        )
                    return self.graph.button_message(wa_id, reply_id, title, to_wamid=message.wamid)
        raise AssertionError(f"no choice {label!r} was sent to {wa_id}: {self.texts(wa_id)}")

    def file(self, wa_id: str, content: bytes, name: str, mime: str) -> InboundMessage:
        if mime.startswith("image/"):
            return self.graph.image_message(wa_id, content, mime)
        return self.graph.document_message(wa_id, content, name, mime)

    async def act(self, wa_id: str, item: InboundMessage, expect: str) -> None:
        """Post one message of the user's and wait until the bot answered with `expect`."""
        before = len(self.graph.sent_to(wa_id))
        await self.post(item)
        await self.until(wa_id, expect, before)

    async def until(self, wa_id: str, expect: str, after: int) -> None:
        def answered() -> bool:
            return any(expect in shown(m) for m in self.graph.sent_to(wa_id)[after:])

        try:
            await self.graph.wait_until(answered, STEP_TIMEOUT)
        except TimeoutError:
            raise AssertionError(
                f"{wa_id} waited in vain for {expect!r}; saw {self.texts(wa_id)}"
            ) from None

    def texts(self, wa_id: str) -> list[str]:
        return [shown(m)[:80] for m in self.graph.sent_to(wa_id)]


def shown(message: SentMessage) -> str:
    """What the user sees of a message: its text, then its buttons, rows or CTA."""
    labels = [title for _, title, _ in choices(message)]
    action = message.payload.get("action", {}) if message.type == "interactive" else {}
    cta = action.get("parameters", {}).get("display_text") if isinstance(action, dict) else None
    if cta:
        labels.append(str(cta))
    return text_of(message) + (f" [{' | '.join(labels)}]" if labels else "")


@contextlib.contextmanager
def kill_at_sends(
    graph: FakeGraphApi, bots: list[BotProcess], targets: list[int]
) -> Iterator[Kills]:
    """SIGKILL the bots the moment one makes its N-th POST to the Graph API (a message, a
    receipt, an upload), for each N in `targets`; that call never reaches "Meta"."""
    counted = 0
    remaining = sorted(targets)
    killed = Kills()

    def before_call(call: GraphCall) -> bool:
        nonlocal counted
        if call.method != "POST":
            return False
        counted += 1
        if remaining and counted >= remaining[0]:
            remaining.pop(0)
            for bot in bots:
                bot.kill9()
            killed.methods.append(call.path.rsplit("/", 1)[-1])
            killed.times.append(time.time())
            return True
        return False

    graph.before_call = before_call
    try:
        yield killed
    finally:
        graph.before_call = None


def wa_transcript(
    graph: FakeGraphApi, users: list[str], kills: list[float] | None = None
) -> tuple[dict[str, list[str]], list[str]]:
    """What each WhatsApp user was sent, links and clock times blanked, with the repeats
    excused whose first copy Meta accepted in the moment before a kill (the Cloud API has no
    idempotency key either: see script.IN_FLIGHT)."""
    result: dict[str, list[str]] = {}
    excused: list[str] = []
    for user in users:
        texts: list[str] = []
        first: dict[str, float] = {}
        for message in graph.sent_to(user):
            text = shown(message)
            for pattern, replacement in NORMALISE:
                text = pattern.sub(replacement, text)
            at = first.get(text)
            if at is not None and any(0 <= k - at <= IN_FLIGHT for k in kills or []):
                excused.append(text[:60])
                continue
            first.setdefault(text, message.time)
            texts.append(text)
        result[user] = texts
    return result, excused


TICKET_NUMBER = re.compile(r"nomor tiket \*?(\d{4}-\d{4,})")
