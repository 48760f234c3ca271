"""The `chatbot` command: run, db upgrade, console."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from chatbot.logs import configure_logging
from chatbot.settings import Settings, SettingsError, load_settings


async def _db_upgrade(settings: Settings) -> None:
    from chatbot.db.engine import create_engine
    from chatbot.db.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _run(settings: Settings, *, console: bool) -> None:
    from chatbot.app import create_app

    app = await create_app(settings)
    try:
        if console or settings.telegram_bot_token is None:
            from chatbot.channels.console import run_console

            await run_console(app)
        else:
            from chatbot.runner import run_telegram

            await run_telegram(app)
    finally:
        await app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chatbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run",
        help="migrate, then run the bot (Telegram polling + web app; "
        "the console channel when TELEGRAM_BOT_TOKEN is empty)",
    )
    commands.add_parser("console", help="chat with the bot in this terminal")
    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply all migrations")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"chatbot: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "db":
        asyncio.run(_db_upgrade(settings))
        print("database is up to date")
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(settings, console=args.command == "console"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
