"""`/arsip` and `/cari` in the admin group, through the real Telegram messenger against the
fake Bot API: admins only, the ZIP arrives as a document, NIPs are masked, all audited."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from chatbot.conversations.context import Context
from chatbot.conversations.lookup import handle_archive, handle_search
from chatbot.conversations.messages import Incoming, Response
from chatbot.db.models import AuditEvent, Ticket
from chatbot.services.enums import DocumentKind, RequestType
from chatbot.services.tickets import Actor, NewDocument
from tests.e2e.harness import ADMIN, GROUP, NIP, STRANGER, Harness
from tests.factories import ADMIN as ADMIN_ACTOR
from tests.factories import identity, pdf_bytes, png_bytes


def ctx(bot: Harness) -> Context:
    return bot.pipeline.router.context("telegram")


def group_command(text: str, *, admin: bool = True, chat: int = GROUP) -> Incoming:
    user = ADMIN if admin else STRANGER
    return Incoming(
        channel="telegram",
        update_id="1",
        chat_id=str(chat),
        user_id=str(user),
        user_name="Sari" if admin else "Orang",
        in_group=chat == GROUP,
        text=text,
        sender_is_admin=admin,
    )


async def arsip(bot: Harness, args: str, *, admin: bool = True, chat: int = GROUP) -> Response:
    command = group_command(f"/arsip {args}", admin=admin, chat=chat)
    return await handle_archive(ctx(bot), command, args)


async def cari(bot: Harness, args: str, *, admin: bool = True) -> Response:
    return await handle_search(ctx(bot), group_command(f"/cari {args}", admin=admin), args)


def said(response: Response) -> str:
    return "\n".join(reply.text for reply in response.replies)


async def a_ticket(
    bot: Harness, *, name: str = "Budi Santoso", nip: str = NIP, n: int = 1
) -> Ticket:
    services = bot.app.services
    return await services.tickets.submit(
        channel="telegram",
        chat_id=str(1000 + n),
        actor=Actor(f"telegram:{1000 + n}", name),
        identity=identity(name=name, nip=nip),
        request_type=RequestType.RESET_PASSWORD,
        documents=[
            NewDocument(DocumentKind.LETTER, services.files.keep(pdf_bytes(f"Surat {n}"))),
            NewDocument(DocumentKind.SK, services.files.keep(png_bytes(n))),
        ],
    )


async def an_archived_ticket(bot: Harness) -> Ticket:
    services = bot.app.services
    ticket = await a_ticket(bot)
    ticket = await services.tickets.mark_complete(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN_ACTOR
    )
    ticket = await services.tickets.reject(
        ticket_id=ticket.id, version=ticket.version, actor=ADMIN_ACTOR, reason="SK kedaluwarsa"
    )
    return await services.archiver.archive(ticket.id)


async def audit(bot: Harness, action: str) -> list[AuditEvent]:
    async with bot.app.sessions() as session:
        rows = await session.execute(select(AuditEvent).where(AuditEvent.action == action))
        return list(rows.scalars())


async def test_only_admins_in_the_admin_group_may_use_them(bot: Harness) -> None:
    ticket = await an_archived_ticket(bot)
    before = len(bot.fake.chat_messages(GROUP))

    assert "hanya admin agency" in said(await arsip(bot, str(ticket.number), admin=False))
    assert "hanya admin agency" in said(await cari(bot, "budi", admin=False))
    elsewhere = await arsip(bot, str(ticket.number), chat=ADMIN)
    assert "hanya dapat dipakai di grup admin" in said(elsewhere)

    assert len(bot.fake.chat_messages(GROUP)) == before
    assert await audit(bot, "archive_exported") == []
    assert await audit(bot, "searched") == []


async def test_arsip_sends_the_zip_to_the_group_and_audits_who_took_it(bot: Harness) -> None:
    ticket = await an_archived_ticket(bot)

    response = await arsip(bot, str(ticket.number).replace("-", ""))

    assert response.replies == []
    sent = bot.fake.last_message(GROUP)
    assert sent.document is not None
    assert sent.document["file_name"] == f"arsip-{ticket.number}.zip"
    assert f"Arsip tiket {ticket.number}" in (sent.caption or "")
    content = bot.fake.files[sent.document["file_id"]].content
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = set(archive.namelist())
    assert {"lembar-kendali.pdf", "manifest.json"} < names
    assert sum(name.startswith("documents/") for name in names) == 2
    (exported,) = await audit(bot, "archive_exported")
    assert exported.ticket_id == ticket.id
    assert exported.actor_id == f"telegram:{ADMIN}" and exported.actor_name == "Sari"


async def test_arsip_explains_what_it_cannot_send(bot: Harness) -> None:
    open_ticket = await a_ticket(bot, n=2)
    purged = await an_archived_ticket(bot)
    async with bot.app.sessions.begin() as session:
        row = await session.get(Ticket, purged.id)
        assert row is not None
        row.purged_at = row.closed_at
    before = len(bot.fake.chat_messages(GROUP))

    assert "Ketik <code>/arsip NOMOR_TIKET</code>" in said(await arsip(bot, ""))
    assert "Nomor tiket tidak dikenali" in said(await arsip(bot, "abc"))
    assert "Tiket 2101-9999 tidak ditemukan" in said(await arsip(bot, "2101-9999"))
    not_yet = said(await arsip(bot, str(open_ticket.number)))
    assert f"Tiket {open_ticket.number} belum diarsipkan" in not_yet
    assert "Menunggu cek kelengkapan" in not_yet
    gone = said(await arsip(bot, str(purged.number)))
    assert "sudah dihapus" in gone and "masa retensi" in gone

    assert len(bot.fake.chat_messages(GROUP)) == before


async def test_cari_finds_by_number_nip_and_name_with_the_nip_masked(bot: Harness) -> None:
    budi = await a_ticket(bot, n=1)
    rina = await a_ticket(bot, name="Rina Wulandari", nip="199001012015032002", n=2)

    by_number = said(await cari(bot, str(rina.number)))
    assert f"1 tiket dengan nomor tiket <b>{rina.number}</b>" in by_number
    assert "Rina Wulandari" in by_number and "Budi" not in by_number
    spaced = said(await cari(bot, str(rina.number).replace("-", " ")))
    assert "Rina Wulandari" in spaced

    by_nip = said(await cari(bot, "1985 0312 2010 01 1 004"))
    assert str(budi.number) in by_nip and "NIP …1004" in by_nip
    assert NIP not in by_nip and "19850312" not in by_nip
    assert "Menunggu cek kelengkapan" in by_nip
    by_suffix = said(await cari(bot, "2002"))
    assert str(rina.number) in by_suffix and str(budi.number) not in by_suffix

    by_name = said(await cari(bot, "wulan"))
    assert str(rina.number) in by_name and "NIP …2002" in by_name

    assert "Tidak ada tiket dengan nama <b>Joko</b>" in said(await cari(bot, "Joko"))
    assert "minimal 3 huruf" in said(await cari(bot, "Bu"))
    assert "minimal 4 angka" in said(await cari(bot, "04"))
    assert "Ketik <code>/cari</code>" in said(await cari(bot, " "))

    searches = await audit(bot, "searched")
    kinds = [e.detail["kind"] for e in searches]
    assert kinds == ["number", "number", "nip", "nip", "name", "name"]
    assert all(e.actor_name == "Sari" for e in searches)
    # What was looked for is kept for a ticket number only, never a NIP or a name.
    assert searches[0].detail["number"] == rina.number
    for event in searches[2:]:
        assert "number" not in event.detail and NIP not in str(event.detail)
        assert "wulan" not in str(event.detail)
    assert searches[2].detail["shown"] == [budi.number]


async def test_cari_shows_ten_newest_and_says_how_many_more(bot: Harness) -> None:
    made = [await a_ticket(bot, name=f"Sinta Dewi {n}", n=n) for n in range(1, 13)]

    found = said(await cari(bot, "sinta"))

    assert "12 tiket dengan nama <b>sinta</b>, terbaru dulu:" in found
    lines = [line for line in found.splitlines() if line.startswith("•")]
    assert [line.split("</code>")[0].split("<code>")[1] for line in lines] == [
        t.number for t in reversed(made[2:])
    ]
    assert "… dan 2 tiket lainnya" in found
