"""The yardstick: a bare python-telegram-bot echo bot with PTB's default settings (no
persistence, no pacing), polling the Bot API at `BENCH_API_URL` with `BENCH_TOKEN`."""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    app = (
        Application.builder()
        .token(os.environ["BENCH_TOKEN"])
        .base_url(os.environ["BENCH_API_URL"])
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
