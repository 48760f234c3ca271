"""Imports go down the layers of docs/architecture.md: a module that reaches up fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chatbot"

# What each layer must never import (top-level packages of `chatbot`, and `telegram`, the
# python-telegram-bot client, which only the Telegram channel may use).
FORBIDDEN: dict[str, set[str]] = {
    "services": {"conversations", "channels", "web", "reports", "app", "runner", "worker", "cli"},
    "conversations": {"channels", "web", "app", "runner", "worker", "cli"},
    "reports": {"conversations", "channels", "web", "app", "runner", "worker", "cli"},
    "db": {"conversations", "channels", "pipeline", "web", "reports", "app", "runner", "cli"},
    "store": {"conversations", "channels", "pipeline", "web", "reports", "app", "runner", "cli"},
    "web": {"channels", "pipeline", "app", "runner", "cli"},
    "pipeline": {"channels", "web", "app", "runner", "cli"},
}
PLATFORM_FREE = {"services", "conversations", "reports", "db", "store", "web", "pipeline"}


def imports_of(layer: str) -> list[tuple[str, str]]:
    """(file, imported module) for every absolute import in the layer's modules."""
    folder = PACKAGE / layer
    paths = sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{layer}.py"]
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(PACKAGE)), node.module))
            elif isinstance(node, ast.Import):
                found += [(str(path.relative_to(PACKAGE)), alias.name) for alias in node.names]
    return found


def upward(layer: str, forbidden: set[str]) -> list[str]:
    return [
        f"{where} imports {module}"
        for where, module in imports_of(layer)
        if module.startswith("chatbot.") and module.split(".")[1] in forbidden
    ]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_one_above_it(layer: str) -> None:
    assert upward(layer, FORBIDDEN[layer]) == []


@pytest.mark.parametrize("layer", sorted(PLATFORM_FREE))
def test_only_the_telegram_channel_uses_the_telegram_client(layer: str) -> None:
    where = imports_of(layer)
    assert where  # the layer was read
    assert [f"{w} imports {m}" for w, m in where if m.split(".")[0] == "telegram"] == []


def test_the_web_app_leaves_dialog_state_to_the_dialogs() -> None:
    """The admin form ends a chat hand-over through the hand-over dialog, never by editing
    the admin's dialog state itself."""
    assert [f"{w} imports {m}" for w, m in imports_of("web") if m.endswith(".state")] == []


# A channel is an adapter: it may name the pipeline's port (pipeline.ports), never build or
# drive the pipeline, the router or the app.
CHANNEL_FORBIDDEN_MODULES = (
    "chatbot.app",
    "chatbot.runner",
    "chatbot.cli",
    "chatbot.conversations.router",
    "chatbot.pipeline.assembly",
    "chatbot.pipeline.worker",
    "chatbot.pipeline.handling",
    "chatbot.pipeline.ingress",
    "chatbot.pipeline.sender",
    "chatbot.pipeline.periodic",
)


def test_channels_are_adapters_that_do_not_build_the_app_or_the_pipeline() -> None:
    assert [
        f"{where} imports {module}"
        for where, module in imports_of("channels")
        if module == "chatbot.pipeline" or module.startswith(CHANNEL_FORBIDDEN_MODULES)
    ] == []


# A channel is its own platform's, with one deliberate exception: the console plays a
# WhatsApp requester and prints what WhatsApp's renderer makes of a reply, so that what it
# shows is what Meta would get. The renderer is pure (a Reply in, Cloud API payloads out).
SIBLING_CHANNEL_IMPORTS = {("console", "chatbot.channels.whatsapp.render")}


def test_a_channel_uses_another_channel_only_for_whatsapps_pure_renderer() -> None:
    found = []
    for where, module in imports_of("channels"):
        parts = module.split(".")
        if parts[:2] != ["chatbot", "channels"] or len(parts) < 3:
            continue
        own, other = Path(where).parts[1], parts[2]
        sibling = (PACKAGE / "channels" / other).is_dir() and other != own
        if sibling and (own, module) not in SIBLING_CHANNEL_IMPORTS:
            found.append(f"{where} imports {module}")
    assert found == []
    # The renderer reaches only the dialogs' vocabulary (messages, texts): no client, no I/O.
    renderer = str(Path("channels", "whatsapp", "render.py"))
    modules = [m for w, m in imports_of("channels") if w == renderer]
    assert modules
    assert [
        m
        for m in modules
        if m.split(".")[0] in ("chatbot", "pywa", "pywa_async", "httpx")
        and m.split(".")[:2] != ["chatbot", "conversations"]
    ] == []
