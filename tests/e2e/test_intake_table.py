"""The intake table: every prompt's "Langkah N/10" is its row's place, and dialogs stored
before the table existed (plain JSON in the store) go on where they stopped."""

from __future__ import annotations

import json
from datetime import timedelta

from chatbot.conversations import intake
from chatbot.conversations.state import DialogState
from chatbot.services.enums import TicketState
from tests.e2e.harness import REQUESTER, Harness

# A draft as the dialog stored it before the intake became a table: step names, the order
# list and the data keys are the stored format and must keep loading.
_ORDER = ["type", "role", "name", "nip", "unit", "spse_id", "email", "phone", "letter", "sk"]
_OLD_DRAFT = {
    "order": [*_ORDER, "confirm"],
    "pages": {},
    "type": "reset_password",
    "role": "ppk",
    "name": "Budi Santoso",
    "nip": "198503122010011004",
    "unit": "Dinas PU",
    "spse_id": None,
}


async def _store_old_dialog(bot: Harness, step: str, data: dict[str, object]) -> None:
    raw = {"flow": "intake", "step": step, "data": data, "applied": "", "answered": []}
    await bot.app.services.store.set(
        f"dialog:telegram:{REQUESTER}", json.dumps(raw).encode(), ttl=timedelta(days=1)
    )


def test_each_request_step_asks_with_its_place_in_the_table() -> None:
    assert list(intake.INTAKE) == [*_ORDER, "confirm"]
    for number, name in enumerate(_ORDER, start=1):
        state = DialogState(flow="intake", step=name, data={"order": list(intake.INTAKE)})
        assert intake.prompt(state).text.startswith(f"Langkah {number}/10."), name


def test_ubah_data_offers_every_field_of_the_request() -> None:
    state = DialogState(flow="intake", step="field", data={"order": list(intake.INTAKE)})
    labels = [button.label for row in intake.prompt(state).buttons for button in row]
    assert labels == [
        "Jenis permohonan",
        "Jabatan",
        "Nama",
        "NIP",
        "Unit kerja",
        "User ID SPSE",
        "Email",
        "Nomor HP",
        "Surat permohonan",
        "SK",
    ]


async def test_a_draft_stored_before_the_table_goes_on_to_a_ticket(bot: Harness) -> None:
    await _store_old_dialog(bot, "email", dict(_OLD_DRAFT))
    asked = await bot.say(REQUESTER, "budi@magelangkota.go.id")
    assert "Langkah 8/10" in asked.content
    bot.fake.send_contact(REQUESTER, "081234567890", contact_user_id=REQUESTER)
    await bot.settle()
    await bot.upload_pdf(REQUESTER)
    await bot.press(REQUESTER, "Selesai")
    await bot.upload_photo(REQUESTER)
    await bot.press(REQUESTER, "Selesai")
    summary = bot.last(REQUESTER).content
    assert "Nama: Budi Santoso" in summary and "Unit kerja: Dinas PU" in summary
    assert "User ID SPSE: (tidak diisi)" in summary and "HP: +6281234567890" in summary
    await bot.press(REQUESTER, "Kirim permohonan")
    assert "nomor tiket" in bot.last(REQUESTER).content
    (ticket,) = await bot.app.services.tickets.for_requester(
        channel="telegram", chat_id=str(REQUESTER)
    )
    assert ticket.state == TicketState.SUBMITTED
    assert (ticket.full_name, ticket.email) == ("Budi Santoso", "budi@magelangkota.go.id")


async def test_a_stored_edit_of_one_field_returns_to_the_summary(bot: Harness) -> None:
    old = {
        **_OLD_DRAFT,
        "email": "budi@magelangkota.go.id",
        "phone": "+6281234567890",
        "phone_verified": True,
        "editing": True,
    }
    await _store_old_dialog(bot, "unit", old)
    summary = await bot.say(REQUESTER, "Bappeda Kota Magelang")
    assert "Periksa kembali" in summary.content
    assert "Unit kerja: Bappeda Kota Magelang" in summary.content
    assert "HP: +6281234567890 (terverifikasi)" in summary.content
