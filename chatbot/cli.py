"""The `chatbot` command: run, db upgrade, console, report, archive, whatsapp templates."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chatbot.logs import configure_logging
from chatbot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:  # the commands import what they use when they run
    from chatbot.db.models import Ticket
    from chatbot.services.retention import PurgeItem


async def _db_upgrade(settings: Settings) -> None:
    from chatbot.db.engine import create_engine
    from chatbot.db.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class NotMigrated(Exception):
    """The database is not at the newest migration: a wrong DATABASE_URL, or not upgraded."""


NOT_MIGRATED = (
    "chatbot: the database at DATABASE_URL is not at the newest migration; check "
    "DATABASE_URL, or run `chatbot db upgrade` first"
)


async def _require_current(engine: AsyncEngine) -> None:
    """Commands that only read or tidy never create or migrate a database themselves."""
    from chatbot.db.migrate import is_current

    if not await is_current(engine):
        raise NotMigrated


async def _report_bytes(settings: Settings, month: str, fmt: str) -> bytes:
    from chatbot.app import report_signer
    from chatbot.db.engine import create_engine, create_sessionmaker
    from chatbot.reports import month_report, to_csv, to_pdf, to_xlsx

    engine = create_engine(settings.database_url)
    try:
        await _require_current(engine)
        sessions = create_sessionmaker(engine)
        report = await month_report(sessions, month, settings.zone, settings.sla_policy())
    finally:
        await engine.dispose()
    if fmt == "pdf":
        return to_pdf(report, signer=report_signer(settings))
    return {"xlsx": to_xlsx, "csv": to_csv}[fmt](report)


def _report(settings: Settings, month: str | None, fmt: str, out: Path | None) -> int:
    """Write one month's report; the month defaults to the previous one in TIMEZONE."""
    from chatbot.reports import parse_month, previous_month

    try:
        period = parse_month(month) if month else previous_month(datetime.now(UTC), settings.zone)
    except ValueError as error:
        print(f"chatbot: {error}", file=sys.stderr)
        return 2
    path = out or Path(f"laporan-{period.key}.{fmt}")
    try:
        content = asyncio.run(_report_bytes(settings, period.key, fmt))
    except NotMigrated:
        print(NOT_MIGRATED, file=sys.stderr)
        return 2
    path.write_bytes(content)
    print(f"report for {period.key} written to {path}")
    return 0


async def _run(settings: Settings, *, console: bool, webhook: bool = False) -> None:
    from chatbot.app import create_app

    app = await create_app(settings)
    try:
        if console or settings.telegram_bot_token is None:
            from chatbot.runner import run_console

            await run_console(app)
        else:
            from chatbot.runner import run_telegram

            await run_telegram(app, webhook=webhook)
    finally:
        await app.close()


def _size(count: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def _move_out(source: Path, target: Path) -> int:
    """Move the ZIP made for this export out: no second copy stays in STORAGE_DIR (and none
    owned by whoever ran the command)."""
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, target)
    return target.stat().st_size


async def _archive(settings: Settings, args: argparse.Namespace) -> int:
    """`chatbot archive export|purge`: on the database and STORAGE_DIR of the settings."""
    from chatbot.db.engine import create_engine, create_sessionmaker

    engine = create_engine(settings.database_url)
    try:
        try:
            await _require_current(engine)
        except NotMigrated:
            print(NOT_MIGRATED, file=sys.stderr)
            return 2
        sessions = create_sessionmaker(engine)
        if args.archive_command == "export":
            return await _export(settings, sessions, args.number, Path(args.out))
        return await _purge(settings, sessions, yes=args.yes)
    finally:
        await engine.dispose()


async def _export(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], typed: str, out: Path
) -> int:
    """`chatbot archive export NOMOR`: the ticket's ZIP moved to `out`, the export audited."""
    import getpass

    from chatbot.services.archive import Archiver
    from chatbot.services.tickets import Actor, TicketService, parse_ticket_number

    number = parse_ticket_number(typed)
    if number is None:
        print(f"chatbot: {typed!r} is not a ticket number", file=sys.stderr)
        return 2
    tickets = TicketService(sessions, settings.zone, policy=settings.sla_policy())
    archiver = Archiver(tickets, settings.storage_dir, settings.zone, sessions=sessions)
    ticket = await tickets.find_by_number(number)
    bundle = await archiver.bundle(number)
    if ticket is None or bundle is None:
        print(f"chatbot: ticket {number}: {_no_bundle(ticket)}", file=sys.stderr)
        return 1
    target = out / f"arsip-{number}.zip"
    size = await asyncio.to_thread(_move_out, bundle, target)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "operator"
    await archiver.record_export(ticket, Actor(f"cli:{user}", f"CLI ({user})"), via="cli")
    print(f"{target} ({_size(size)}): contains personal data")
    return 0


def _no_bundle(ticket: Ticket | None) -> str:
    """Why a ticket has no archive to export."""
    if ticket is None:
        return "no such ticket"
    if ticket.purged_at is not None:
        return "purged by retention"
    if ticket.archive_path is None:
        return "not archived yet"
    return "its archive folder is missing"


async def _purge(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], *, yes: bool
) -> int:
    """`chatbot archive purge [--yes]`: list what retention would delete, or delete it."""
    from chatbot.services.retention import RetentionService

    retention = RetentionService(sessions, settings.storage_dir, settings.archive_retention)
    plan = await retention.plan()
    days = settings.archive_retention.days
    if not plan:
        print(f"No archived ticket closed more than {days} days ago: nothing to delete.")
        return 0
    if not yes:
        _print_plan(settings, plan)
        return 0
    result = await retention.purge(plan)
    print(
        f"Purged {len(result.purged)} ticket(s): {result.files} file(s), "
        f"{_size(result.bytes)} deleted; personal data blanked."
    )
    if result.skipped:
        print(f"Skipped (no longer due): {', '.join(result.skipped)}")
    return 0


def _print_plan(settings: Settings, plan: Sequence[PurgeItem]) -> None:
    """The dry run: each ticket due with its files, the totals, how to delete."""
    days = settings.archive_retention.days
    files = sum(len(item.files) for item in plan)
    size = sum(item.bytes for item in plan)
    print(f"{len(plan)} archived ticket(s) closed more than {days} days ago are due:")
    for item in plan:
        closed = item.closed_at.astimezone(settings.zone)
        print(
            f"  {item.number}  closed {closed:%Y-%m-%d}  "
            f"{len(item.files)} file(s), {_size(item.bytes)}"
        )
        for path in item.files:
            print(f"      {path}")
    print(
        f"Total: {files} file(s), {_size(size)} to delete; the personal data of these "
        "tickets would be blanked in the database."
    )
    print(
        "Dry run: nothing was deleted. Each ticket keeps a manifest.json without "
        "personal data, its SOP steps and document hashes."
    )
    print("To delete, run: chatbot archive purge --yes")


TEMPLATES_TIMEOUT = 30.0


async def _whatsapp_templates(settings: Settings) -> int:
    """`chatbot whatsapp templates`: the account's templates, and WHATSAPP_TEMPLATES checked
    against them; 1 when a configured template is wrong, 2 when Meta cannot be asked."""
    import httpx
    from pywa_async.errors import WhatsAppError

    from chatbot.channels.whatsapp.messenger import whatsapp_client
    from chatbot.channels.whatsapp.templates import check, list_templates

    token = settings.whatsapp_token
    if not settings.whatsapp_enabled or token is None:
        print(
            "chatbot: WhatsApp is not configured: set WHATSAPP_TOKEN and "
            "WHATSAPP_PHONE_NUMBER_ID (README, WhatsApp)",
            file=sys.stderr,
        )
        return 2
    waba_id = settings.whatsapp_waba_id
    if not waba_id:
        print(
            "chatbot: set WHATSAPP_WABA_ID (the WhatsApp Business Account ID) to list the "
            "templates",
            file=sys.stderr,
        )
        return 2
    client = whatsapp_client(
        phone_id=settings.whatsapp_phone_number_id,
        token=token.get_secret_value(),
        api_version=settings.whatsapp_api_version,
        api_url=settings.whatsapp_api_url,
    )
    try:
        found = await asyncio.wait_for(list_templates(client, waba_id), TEMPLATES_TIMEOUT)
    except WhatsAppError as error:
        print(
            f"chatbot: Meta refused to list the templates ({error.code}) "
            f"{error.message or type(error).__name__}: check WHATSAPP_TOKEN (permission "
            "whatsapp_business_management) and WHATSAPP_WABA_ID",
            file=sys.stderr,
        )
        return 2
    except (httpx.HTTPError, TimeoutError) as error:
        print(
            f"chatbot: Meta could not be reached at {settings.whatsapp_api_url} "
            f"({type(error).__name__}): check the network or WHATSAPP_API_URL, then try again",
            file=sys.stderr,
        )
        return 2
    finally:
        await client.api._session.aclose()
    language = settings.whatsapp_template_language
    result = check(settings.whatsapp_template_names, language, found)
    print(f"Templates in the WhatsApp Business Account {waba_id}:")
    width = max((len(t.name) for t in found), default=0)
    for template in sorted(found, key=lambda t: (t.name, t.language)):
        buttons = ", ".join(f'"{label}"' for label in template.quick_replies) or "none"
        print(
            f"  {template.name:<{width}}  {template.language:<5}  {template.status:<8}  "
            f"{template.category:<9}  body parameters: {template.body_parameters}  "
            f"quick replies: {buttons}"
        )
    if not found:
        print("  (none)")
    print(f"\nWHATSAPP_TEMPLATES (language {language}):")
    for finding in result.findings:
        verdict = "ok     " if finding.problem is None else "WRONG  "
        print(
            f"  {verdict}{finding.kind} -> {finding.name}"
            + (f": {finding.problem}" if finding.problem else "")
        )
    if not result.findings:
        print("  (none configured)")
    if result.unconfigured:
        print(
            "\nNo template (while the 24-hour window is closed these notices wait until the "
            "requester writes again): " + ", ".join(result.unconfigured)
        )
    if result.problems:
        print(
            f"\n{len(result.problems)} configured template(s) are wrong: fix them in "
            "WhatsApp Manager, or WHATSAPP_TEMPLATES."
        )
        return 1
    print("\nEvery configured template is approved and has the expected shape.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chatbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run",
        help="migrate, then run the bot (Telegram polling + web app; "
        "the console channel when TELEGRAM_BOT_TOKEN is empty)",
    )
    commands.add_parser(
        "serve",
        help="migrate, then run one webhook worker (Telegram webhook + web app + /metrics); "
        "several may run against one PostgreSQL and Redis",
    )
    commands.add_parser("console", help="chat with the bot in this terminal")
    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply all migrations")
    report = commands.add_parser("report", help="write a month's SOP report")
    report.add_argument("--month", help="YYYY-MM in TIMEZONE (default: the previous month)")
    report.add_argument("--format", choices=("pdf", "xlsx", "csv"), default="pdf")
    report.add_argument("--out", type=Path, help="default: laporan-YYYY-MM.<format> here")
    archive = commands.add_parser("archive", help="archives of ended tickets (SOP step 9)")
    archive_commands = archive.add_subparsers(dest="archive_command", required=True)
    export = archive_commands.add_parser(
        "export", help="copy a ticket's archive ZIP (control sheet, manifest, documents) out"
    )
    export.add_argument("number", help="ticket number, e.g. 2611-0042")
    export.add_argument("--out", default=".", help="folder to write arsip-NUMBER.zip to")
    purge = archive_commands.add_parser(
        "purge",
        help="list archives past ARCHIVE_RETENTION; with --yes delete their documents and "
        "blank the personal data",
    )
    purge.add_argument("--yes", action="store_true", help="really delete (default: dry run)")
    whatsapp = commands.add_parser("whatsapp", help="WhatsApp Cloud API commands")
    whatsapp_commands = whatsapp.add_subparsers(dest="whatsapp_command", required=True)
    whatsapp_commands.add_parser(
        "templates",
        help="list the account's message templates and check WHATSAPP_TEMPLATES against them "
        "(exit 1 when a configured template is wrong)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"chatbot: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, fmt=settings.log_format)
    # Documents, archives, exports and reports hold personal data: readable by this service
    # user only, whatever the shell or unit file set (the Dockerfile sets the same).
    os.umask(0o077)
    if args.command in ("archive", "whatsapp"):
        is_archive = args.command == "archive"
        return asyncio.run(
            _archive(settings, args) if is_archive else _whatsapp_templates(settings)
        )
    if args.command == "db":
        asyncio.run(_db_upgrade(settings))
        print("database is up to date")
        return 0
    if args.command == "report":
        return _report(settings, args.month, args.format, args.out)
    if args.command == "serve":
        problem = _serve_problem(settings)
        if problem:
            print(f"chatbot: {problem}", file=sys.stderr)
            return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _run(settings, console=args.command == "console", webhook=args.command == "serve")
        )
    return 0


def _serve_problem(settings: Settings) -> str | None:
    """What keeps webhook mode from starting, in one line."""
    if settings.telegram_bot_token is None:
        return "serve needs TELEGRAM_BOT_TOKEN (use `chatbot run` for the console)"
    if settings.telegram_webhook_secret is None:
        return "serve needs TELEGRAM_WEBHOOK_SECRET (16-256 of A-Z a-z 0-9 _ -)"
    if not settings.public_url.startswith("https://"):
        return "serve needs an https:// PUBLIC_URL (Telegram delivers webhooks over TLS only)"
    return None


if __name__ == "__main__":
    sys.exit(main())
