"""A live server for the web pages and a headless Chromium to open them.

The harness (our App, python-telegram-bot and the fake Bot API) runs as in tests/e2e; its
web app is served by a real uvicorn server on 127.0.0.1 in the same event loop, and
Playwright drives Debian's Chromium (Playwright cannot download its own browser here).
Without /usr/bin/chromium the tests skip, unless REQUIRE_BROWSER=1 (CI) makes them fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright
from starlette.types import ASGIApp

from tests.e2e import conftest as e2e
from tests.e2e.harness import Harness

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
PHONE = ViewportSize(width=360, height=640)
STARTUP_POLLS = 1000  # x 10 ms: the server must listen within 10 s

# The e2e fixtures, shared: `fake` (the strict fake Bot API) and `bot` (the running harness).
fake = e2e.fake
bot = e2e.bot


@pytest.fixture(autouse=True)
def _chromium() -> None:
    """Runs before the harness starts: no browser, no test."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found: install Debian's chromium (scripts/ensure-chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: Ctrl-C stays pytest's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(frozen=True)
class LiveServer:
    base: str  # http://127.0.0.1:<port>

    def local(self, url: str) -> str:
        """A link the bot sent (https://bot.example.go.id/...) as served here, path,
        query and #fragment kept."""
        parts = urlsplit(url)
        here = urlsplit(self.base)
        return urlunsplit((here.scheme, here.netloc, parts.path, parts.query, parts.fragment))


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[LiveServer]:
    """`app` behind a real HTTP server on a free local port, in this event loop."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        log_config=None,
        access_log=False,
        lifespan="off",
        http="h11",
        ws="none",
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    with _free_socket() as sock:
        port = sock.getsockname()[1]
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            for _ in range(STARTUP_POLLS):
                if server.started or task.done():
                    break
                await asyncio.sleep(0.01)
            if not server.started:
                raise RuntimeError("the web server did not start")
            yield LiveServer(f"http://127.0.0.1:{port}")
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def live(bot: Harness) -> AsyncIterator[LiveServer]:
    """The harness's web app behind a real HTTP server on a free local port."""
    async with serve(bot.web_app) as server:
        yield server


@pytest.fixture
async def browser(live: LiveServer) -> AsyncIterator[Browser]:
    """Headless Chromium; it depends on `live` so it closes before the server stops."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def context(browser: Browser, live: LiveServer) -> AsyncIterator[BrowserContext]:
    """A small phone, allowed to use the clipboard on our pages."""
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.base)
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    page = await context.new_page()
    yield page
    await page.close()
