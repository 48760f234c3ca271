"""Benchmarks: the bot and a bare python-telegram-bot echo bot under Telegram's limits."""
