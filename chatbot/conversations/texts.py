"""Every sentence the bot says, in Bahasa Indonesia, in one place (HTML: b, i, code).

Over 400 lines on purpose: it is one catalog so the bot's whole voice can be read and
reviewed in one place (tone, terms, the same phrase said the same way everywhere); split by
dialog, the phrases the dialogs share would be scattered or copied.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from html import escape, unescape
from zoneinfo import ZoneInfo

from chatbot.services.enums import DocumentKind, MissingItem, RequestType, Role, TicketState
from chatbot.services.identity import InputProblem, InvalidInput, format_nip
from chatbot.services.sla import whole_minutes
from chatbot.services.tickets import Reason, TicketError
from chatbot.services.timefmt import MONTHS, clock, day_text
from chatbot.services.vocabulary import (
    BOT_NAME,
    DOCUMENT_SHORT,
    DOCUMENTS,
    MISSING,
    REQUEST_TYPE_BUTTONS,
    REQUEST_TYPES,
    ROLE_BUTTONS,
    ROLE_SHORT,
    ROLES,
    STEP_NAMES,
)

# The labels and the date format live in services (the PDFs use them too); the chat's
# callers keep reading them here. Names this module defines itself need no listing.
__all__ = [
    "BOT_NAME",
    "DOCUMENTS",
    "DOCUMENT_SHORT",
    "MISSING",
    "MONTHS",
    "REQUEST_TYPES",
    "REQUEST_TYPE_BUTTONS",
    "ROLES",
    "ROLE_BUTTONS",
    "ROLE_SHORT",
    "STEP_NAMES",
    "clock",
    "day_text",
]

_TAG = re.compile(r"<[^>]+>")

ENCRYPTED_PDF = "🔒 PDF terenkripsi"


def encrypted_pdfs(pages: list[str]) -> str:
    """The card's line for the PDFs that may ask the admin for a password."""
    return f"{ENCRYPTED_PDF} (mungkin perlu kata sandi): {', '.join(pages)}"


# The identity fields a supplement may change, as the card names them.
IDENTITY_FIELDS = {
    "name": "Nama",
    "nip": "NIP",
    "work_unit": "Unit kerja",
    "spse_user_id": "User ID SPSE",
    "email": "Email",
}
STATE_FOR_REQUESTER = {
    TicketState.SUBMITTED: "Menunggu pemeriksaan kelengkapan oleh admin",
    TicketState.SUPPLEMENTED: "Kelengkapan diterima, menunggu pemeriksaan ulang oleh admin",
    TicketState.INCOMPLETE: "Berkas belum lengkap, menunggu Anda melengkapi",
    TicketState.COMPLETE: "Berkas lengkap, menunggu pemeriksaan keabsahan data",
    TicketState.VALID: "Data valid, admin sedang memproses di SPSE",
    TicketState.DELIVERED: "Hasil sudah dikirim lewat link sekali pakai, menunggu Anda membukanya",
    TicketState.RECEIVED: "Hasil sudah Anda buka, menunggu konfirmasi bahwa Anda sudah login",
    TicketState.REJECTED: "Ditolak",
    TicketState.CANCELLED: "Dibatalkan",
    TicketState.EXPIRED: "Ditutup karena kelengkapan tidak dikirim",
    TicketState.ARCHIVED: "Selesai dan diarsipkan",
}
ENDED_FOR_REQUESTER = {
    "rejected": "Ditolak (diarsipkan)",
    "cancelled": "Dibatalkan (diarsipkan)",
    "expired": "Ditutup karena kelengkapan tidak dikirim (diarsipkan)",
}


def requester_state(state: TicketState, outcome: str | None) -> str:
    """The state as the requester reads it; an archived ticket says how it ended."""
    if state == TicketState.ARCHIVED and outcome in ENDED_FOR_REQUESTER:
        return ENDED_FOR_REQUESTER[outcome]
    return STATE_FOR_REQUESTER[state]


STATE_FOR_ADMINS = {
    TicketState.SUBMITTED: "⏳ Menunggu cek kelengkapan (langkah 2)",
    TicketState.SUPPLEMENTED: "⏳ Dilengkapi pemohon, cek kelengkapan lagi (langkah 2)",
    TicketState.INCOMPLETE: "✉️ Tidak lengkap, menunggu pemohon melengkapi (langkah 4)",
    TicketState.COMPLETE: "⏳ Lengkap, menunggu cek keabsahan (langkah 5)",
    TicketState.VALID: "🔧 Valid, menunggu reset di SPSE (langkah 6)",
    TicketState.DELIVERED: "📨 Link hasil dikirim, menunggu dibuka pemohon (langkah 8)",
    TicketState.RECEIVED: "📬 Diterima pemohon, menunggu konfirmasi login (langkah 8)",
    TicketState.REJECTED: "❌ Ditolak (langkah 7)",
    TicketState.CANCELLED: "🚫 Dibatalkan pemohon",
    TicketState.EXPIRED: "⌛ Ditutup: kelengkapan tidak dikirim pemohon (langkah 4)",
    TicketState.ARCHIVED: "🗄️ Selesai, diarsipkan (langkah 9)",
}
# An archived ticket's line says how it ended, not just that it is archived.
ENDED_FOR_ADMINS = {
    "completed": "🗄️ Selesai, diarsipkan (langkah 9)",
    "rejected": "🗄️ Ditolak, diarsipkan (langkah 9)",
    "cancelled": "🗄️ Dibatalkan pemohon, diarsipkan (langkah 9)",
    "expired": "🗄️ Kedaluwarsa: kelengkapan tidak dikirim, diarsipkan (langkah 9)",
}


def admin_state(state: TicketState, outcome: str | None) -> str:
    """The state as the admins read it (card, /cari); an archived ticket says how it ended."""
    if state == TicketState.ARCHIVED and outcome in ENDED_FOR_ADMINS:
        return ENDED_FOR_ADMINS[outcome]
    return STATE_FOR_ADMINS[state]


# A refused move is told to people: the state in words, never its code.
STATE_WORDS = {
    TicketState.SUBMITTED: "menunggu cek kelengkapan",
    TicketState.SUPPLEMENTED: "menunggu cek kelengkapan ulang",
    TicketState.INCOMPLETE: "menunggu kelengkapan dari pemohon",
    TicketState.COMPLETE: "menunggu cek keabsahan",
    TicketState.VALID: "menunggu hasil dari admin",
    TicketState.DELIVERED: "menunggu link hasil dibuka pemohon",
    TicketState.RECEIVED: "menunggu konfirmasi login pemohon",
    TicketState.REJECTED: "sudah ditolak",
    TicketState.CANCELLED: "sudah dibatalkan",
    TicketState.EXPIRED: "sudah ditutup karena kelengkapan tidak dikirim",
    TicketState.ARCHIVED: "sudah selesai dan diarsipkan",
}


def _not_now(error: TicketError) -> str:
    state = STATE_WORDS[error.state] if error.state is not None else "tidak dikenal"
    return f"Tiket {error.number} tidak dapat diproses: {state}."


# The sentence for each reason the ticket service refuses with (plain text: callers escape
# it for HTML). `error.number` and `error.who` are as the ticket was when it was refused.
REFUSALS: dict[Reason, Callable[[TicketError], str]] = {
    Reason.NOT_FOUND: lambda _: "Tiket tidak ditemukan.",
    Reason.NOT_YOURS: lambda _: "Tiket ini bukan milik Anda.",
    Reason.NOT_NOW: _not_now,
    Reason.ALREADY_HANDLED: lambda x: f"Tiket {x.number} sudah diproses.",
    Reason.DOCUMENTS_MISSING: lambda _: "Surat permohonan dan SK keduanya wajib dilampirkan.",
    Reason.NOTHING_PICKED: lambda _: "Pilih dulu apa yang kurang.",
    Reason.IDENTITY_NOTE_NEEDED: lambda _: (
        "Data identitas yang kurang perlu catatan: data mana yang salah."
    ),
    Reason.NOT_AWAITING_RESULT: lambda x: f"Tiket {x.number} tidak menunggu hasil.",
    Reason.CLAIMED_BY_OTHER: lambda x: f"Tiket {x.number} sedang dikerjakan {x.who}.",
    Reason.LINK_ABANDONED: lambda x: f"Link tiket {x.number} sudah dibatalkan.",
    Reason.NO_LINK: lambda _: "Link hasil tiket ini tidak ditemukan.",
    Reason.OPENED_MEANWHILE: lambda _: "Link hasil baru saja dibuka pemohon.",
    Reason.ALREADY_CLOSED: lambda x: (
        f"Tiket {x.number} sudah ditutup. Jika akun SPSE Anda disalahgunakan, "
        "segera hubungi Admin Agency dan ajukan reset baru."
    ),
    Reason.INCIDENT_OPEN: lambda x: (
        f"Tiket {x.number} sedang menangani insiden dan tidak dapat dibatalkan."
    ),
    Reason.AWAITING_CONFIRMATION: lambda x: f"Tiket {x.number} menunggu konfirmasi pemohon.",
    Reason.NOT_LATE: lambda _: "Langkah ini tidak terlambat.",
    Reason.LATE_QUESTION_FOR_OTHER: lambda x: (
        f"Pertanyaan ini untuk {x.who}, yang menyelesaikan langkahnya. "
        "Bila belum dijawab dalam 24 jam, admin lain dapat menjawabnya."
    ),
    Reason.LATE_REASON_RECORDED: lambda x: (
        f"Alasan keterlambatan tiket {x.number} sudah dicatat oleh {x.who}."
    ),
}


def ticket_error(error: TicketError) -> str:
    """What a person is told when the ticket service refused (plain text)."""
    return REFUSALS[error.reason](error)


def _file_type(error: InvalidInput) -> str:
    mime = error.details.get("mime")
    what = f" (isinya {mime})" if mime else ""
    return f"Jenis file tidak diterima{what}. Kirim PDF, atau foto/gambar JPG/PNG."


# The sentence for each way an input can be wrong (plain text: callers escape it for HTML);
# `error.details` hold what the sentence names (the field, a length, a limit, the file type).
INPUT_PROBLEMS: dict[InputProblem, Callable[[InvalidInput], str]] = {
    InputProblem.NIP_NOT_DIGITS: lambda _: "NIP hanya berisi angka (spasi boleh).",
    InputProblem.NIP_LENGTH: lambda x: (
        f"NIP harus 18 angka; yang Anda kirim {x.details['length']} angka."
    ),
    InputProblem.NIP_BIRTH_DATE: lambda _: (
        "8 angka pertama NIP harus tanggal lahir (TTTTBBHH) yang benar."
    ),
    InputProblem.NIP_APPOINTMENT_MONTH: lambda _: (
        "Angka ke-13 dan ke-14 NIP adalah bulan pengangkatan (01-12); periksa lagi."
    ),
    InputProblem.EMAIL_INVALID: lambda _: (
        "Alamat email tidak valid. Contoh: nama@magelangkota.go.id"
    ),
    InputProblem.PHONE_INVALID: lambda _: "Nomor telepon tidak valid.",
    InputProblem.INVISIBLE_CHARS: lambda x: (
        f"{x.details['field']} mengandung karakter tak terlihat atau karakter kontrol."
    ),
    InputProblem.TOO_SHORT: lambda x: f"{x.details['field']} terlalu pendek.",
    InputProblem.TOO_LONG: lambda x: (
        f"{x.details['field']} terlalu panjang (maksimal {x.details['max_len']} huruf)."
    ),
    InputProblem.FILE_EMPTY: lambda _: "File kosong. Silakan kirim ulang.",
    InputProblem.FILE_TOO_BIG: lambda x: (
        f"File terlalu besar. Batasnya {x.details['max_mb']} MB per file."
    ),
    InputProblem.FILE_TYPE: _file_type,
    InputProblem.PDF_NOT_WHOLE: lambda _: (
        "File PDF tidak utuh atau berisi data lain setelah akhir dokumen. "
        "Kirim ulang file PDF aslinya (hasil simpan/scan langsung)."
    ),
    InputProblem.IMAGE_UNREADABLE: lambda _: (
        "Gambar tidak dapat dibaca. Kirim ulang foto/gambarnya, atau kirim sebagai PDF."
    ),
    InputProblem.IMAGE_TOO_LARGE: lambda _: (
        "Resolusi gambar terlalu besar. Kirim foto dengan resolusi lebih kecil, atau sebagai PDF."
    ),
    InputProblem.TOO_MANY_PAGES: lambda x: (
        f"Maksimal {x.details['max_pages']} file per dokumen. Ketuk Selesai."
    ),
    InputProblem.SEARCH_NIP_TOO_LONG: lambda _: "NIP paling banyak 18 angka.",
    InputProblem.SEARCH_NIP_TOO_SHORT: lambda _: (
        "Untuk mencari NIP, ketik minimal 4 angka terakhirnya."
    ),
    InputProblem.SEARCH_NAME_TOO_SHORT: lambda _: "Untuk mencari nama, ketik minimal 3 huruf.",
}


def invalid_input(error: InvalidInput) -> str:
    """What a person is told when their input was refused (plain text)."""
    return INPUT_PROBLEMS[error.problem](error)


REJECTION_PRESETS = (
    "Data tidak cocok dengan data SPSE / arsip pendaftaran",
    "SK tidak sah atau sudah tidak berlaku",
    "Pemohon bukan pejabat yang tercatat di SPSE",
    "Tidak dapat dikonfirmasi kepada pemohon",
)


def e(value: object) -> str:
    return escape(str(value), quote=False)


def plain(text: str) -> str:
    """A message's HTML as plain text: tags dropped, entities unescaped (terminal, web page)."""
    return unescape(_TAG.sub("", text))


def short_clock(moment: datetime, zone: ZoneInfo, day: date) -> str:
    """A card's time: "14.05" on `day` (the day the card names once), else "24 Nov 14.05"."""
    local = moment.astimezone(zone)
    if local.date() == day:
        return f"{local:%H.%M}"
    return f"{local.day} {MONTHS[local.month - 1]} {local:%H.%M}"


DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def day_clock(moment: datetime, zone: ZoneInfo) -> str:
    """E.g. "Senin, 30 Nov 2026 pukul 10.00 WIB": a deadline that may fall on another day."""
    return f"{DAYS[moment.astimezone(zone).weekday()]}, {clock(moment, zone)}"


def duration(delta: timedelta) -> str:
    """E.g. "1 jam 5 menit", in whole minutes rounded up (`whole_minutes`, as everywhere)."""
    minutes = whole_minutes(delta.total_seconds())
    if minutes < 1:
        return "kurang dari 1 menit"
    if minutes < 60:
        return f"{minutes} menit"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} jam {minutes} menit" if minutes else f"{hours} jam"
    days, hours = divmod(hours, 24)
    return f"{days} hari {hours} jam" if hours else f"{days} hari"


WELCOME = (
    f"Selamat datang di <b>{BOT_NAME}</b> Bagian Pengadaan Barang/Jasa "
    "Setda Kota Magelang.\n\n"
    "Layanan ini untuk <b>PPK, PP, dan anggota Pokja</b> yang lupa password SPSE "
    "atau user ID-nya.\n\n"
    "Siapkan:\n"
    "1. Surat permohonan reset password / info user ID (PDF atau foto)\n"
    "2. SK pengangkatan sebagai PPK/PP/Pokja (PDF atau foto)\n\n"
    "<b>Data pribadi.</b> NIP, nomor telepon, email, dan dokumen Anda hanya dipakai untuk "
    "memproses permohonan ini, hanya dapat dilihat admin agency, dan disimpan sebagai arsip "
    "sesuai SOP dan UU 27/2022 tentang Pelindungan Data Pribadi. Password baru tidak pernah "
    "dikirim di chat: Anda menerimanya lewat link sekali pakai.\n\n"
    "Pilih menu:"
)
HELP = (
    "<b>Bantuan</b>\n"
    "• /mulai atau /start: menu utama\n"
    "• /ajukan: ajukan permohonan baru\n"
    "• /status: lihat status tiket Anda (atau ketik nomor tiket)\n"
    "• /batal: batalkan pengisian yang sedang berjalan\n"
    "• /bantuan: pesan ini\n\n"
    "Alur: Anda kirim data dan dokumen → admin memeriksa kelengkapan (±5 menit) → "
    "memeriksa keabsahan (±10 menit) → mereset di SPSE → Anda menerima link sekali pakai "
    "berisi password baru / user ID. Segera login dan ganti password setelah menerimanya."
)
MENU_SUBMIT = "📝 Ajukan permohonan"
MENU_STATUS = "🔎 Cek status"
MENU_HELP = "❓ Bantuan"

ASK_TYPE = "Langkah 1/10. Apa yang Anda perlukan?"
ASK_ROLE = "Langkah 2/10. Anda bertugas sebagai:"
ASK_NAME = "Langkah 3/10. Ketik <b>nama lengkap</b> Anda (sesuai SK)."
ASK_NIP = "Langkah 4/10. Ketik <b>NIP</b> Anda (18 angka, boleh dengan spasi)."
ASK_UNIT = "Langkah 5/10. Ketik <b>unit kerja / perangkat daerah</b> Anda."
ASK_SPSE_ID = (
    "Langkah 6/10. Ketik <b>user ID SPSE</b> Anda jika ingat. Jika tidak ingat, ketuk Lewati."
)
ASK_EMAIL = "Langkah 7/10. Ketik <b>alamat email</b> dinas Anda."
ASK_PHONE = (
    "Langkah 8/10. Bagikan <b>nomor HP</b> Anda dengan tombol <b>📱 Bagikan nomor saya</b> "
    "di bawah (nomor dari tombol ini otomatis terverifikasi). Bisa juga diketik."
)
SHARE_CONTACT = "📱 Bagikan nomor saya"
# WhatsApp draws its own contact button under the question (its label WhatsApp's, in the
# user's language): there the question names no button.
ASK_PHONE_WHATSAPP = (
    "Langkah 8/10. Ketuk tombol di bawah untuk membagikan <b>nomor HP</b> Anda (nomor dari "
    "tombol ini otomatis terverifikasi), atau ketik nomor HP Anda."
)
CONTACT_EXPECTED_WHATSAPP = (
    "Ketuk tombol di bawah untuk membagikan nomor HP Anda, atau ketik nomor HP Anda."
)
SKIP = "Lewati"
DONE = "✅ Selesai"
CONFIRM_SEND = "✅ Kirim permohonan"
CHANGE = "✏️ Ubah data"
CANCEL = "✖️ Batal"
CONTINUE = "▶️ Lanjutkan"
RESTART = "🔄 Mulai ulang"


_STEP_NUMBER = re.compile(r"^Langkah \d+/\d+\.")


def step_numbered(question: str, number: int, total: int) -> str:
    """A step's question with its "Langkah N/M" as this person goes through the steps (a
    step their platform already answered is not counted)."""
    return _STEP_NUMBER.sub(f"Langkah {number}/{total}.", question, count=1)


def ask_document(kind: DocumentKind, number: int, total: int = 10) -> str:
    return (
        f"Langkah {number}/{total}. Kirim <b>{DOCUMENTS[kind]}</b>: file PDF, atau foto tiap "
        "halaman (boleh beberapa). Setelah semua halaman terkirim, ketuk <b>Selesai</b>."
    )


def page_received(kind: DocumentKind, pages: int) -> str:
    return (
        f"📄 {DOCUMENT_SHORT[kind]}: {pages} file diterima. Kirim halaman berikutnya, "
        "atau ketuk <b>Selesai</b>."
    )


def need_pages(kind: DocumentKind) -> str:
    return f"Belum ada file {DOCUMENT_SHORT[kind].lower()} yang diterima. Kirim dulu PDF/fotonya."


def upload_quota_reached(files: int, megabytes: float, max_files: int, max_mb: int) -> str:
    """Too much uploaded into requests not sent: what counts, and how to go on."""
    return (
        f"⚠️ File tidak diterima: batas unggahan untuk permohonan yang belum dikirim sudah "
        f"tercapai ({files} file, {megabytes:.1f} MB dalam 31 hari terakhir; batasnya "
        f"{max_files} file atau {max_mb} MB). Lanjutkan dengan file yang sudah diterima: "
        "ketuk <b>Selesai</b>, lalu <b>Kirim permohonan</b>; setelah terkirim, batas ini "
        "pulih. Jika tidak jadi mengajukan, ketik /batal; file yang tidak pernah dikirim "
        "dihapus otomatis setelah 31 hari."
    )


DOCUMENT_EXPECTED = "Di langkah ini kirim file PDF atau foto dokumen, lalu ketuk Selesai."
TEXT_EXPECTED = "Di langkah ini ketik jawabannya sebagai teks."
CHOICE_EXPECTED = "Di langkah ini pilih salah satu tombol di atas."
CONTACT_EXPECTED = "Ketuk tombol 📱 Bagikan nomor saya di bawah, atau ketik nomor HP Anda."
# The phone step's question and its hint where a channel words them otherwise.
ASK_PHONE_ON = {"whatsapp": ASK_PHONE_WHATSAPP}
CONTACT_EXPECTED_ON = {"whatsapp": CONTACT_EXPECTED_WHATSAPP}
NOT_OWN_CONTACT = (
    "Nomor itu bukan nomor akun chat Anda sendiri, jadi dicatat <b>belum terverifikasi</b>."
)
# The channels a requester may write on, as people name them.
CHANNEL_NAMES = {
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "console-wa": "WhatsApp (konsol)",  # the console's WhatsApp requester (`:pemohon-wa`)
}


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel.capitalize())


def not_own_contact(channel: str) -> str:
    """A shared number that is not the sender's own account, on their channel."""
    return NOT_OWN_CONTACT.replace("Telegram", channel_name(channel))


STALE_CHOICE = "Tombol ini sudah tidak berlaku. Lanjutkan dari pesan terakhir."
DIALOG_CANCELLED = (
    "Pengisian dibatalkan; data yang sudah diisi dihapus. Ketik /start untuk mulai lagi."
)
NOTHING_TO_CANCEL = "Tidak ada pengisian yang sedang berjalan. Ketik /start untuk menu."
UNSUPPORTED = "Maaf, bot ini hanya menerima teks, dokumen PDF, dan foto."
IDLE_HINT = "Ketik /start untuk menu, /status untuk status tiket, atau /bantuan."
NO_TICKETS = "Anda belum punya tiket. Ketik /ajukan untuk mengajukan permohonan."
TICKET_NOT_FOUND = "Tiket itu tidak ditemukan di antara tiket Anda."
IN_DIALOG = "Anda sedang mengisi permohonan. Lanjutkan dari langkah terakhir atau mulai ulang?"
PICK_FIELD = "Data mana yang ingin diubah?"
SUBMIT_FAILED = "Maaf, permohonan gagal disimpan. Coba ketuk Kirim lagi sebentar lagi."


def summary(data: dict[str, object], pages: dict[str, int]) -> str:
    phone = data.get("phone")
    verified = " (terverifikasi)" if data.get("phone_verified") else " (belum terverifikasi)"
    lines = [
        "<b>Periksa kembali permohonan Anda</b>",
        f"Jenis: {e(REQUEST_TYPES[RequestType(str(data['type']))])}",
        f"Jabatan: {e(ROLES[Role(str(data['role']))])}",
        f"Nama: {e(data['name'])}",
        f"NIP: <code>{e(format_nip(str(data['nip'])))}</code>",
        f"Unit kerja: {e(data['unit'])}",
        f"User ID SPSE: {e(data.get('spse_id') or '(tidak diisi)')}",
        f"Email: {e(data['email'])}",
        f"HP: {e(phone) + verified if phone else '(tidak diisi)'}",
        f"Surat permohonan: {pages.get('letter', 0)} file",
        f"SK: {pages.get('sk', 0)} file",
        "",
        "Sudah benar?",
    ]
    return "\n".join(lines)


def submitted(number: str, due: str, starts: str | None, standard: int) -> str:
    """The receipt, with when to expect the first answer (office hours only)."""
    when = (
        f"Permohonan masuk di luar jam kerja; pemeriksaan dimulai {e(starts)}. " if starts else ""
    )
    return (
        f"✅ Permohonan diterima dengan nomor tiket <b>{e(number)}</b>.\n\n"
        f"{when}Admin memeriksa kelengkapan paling lambat <b>{e(due)}</b> (standar {standard} "
        "menit jam kerja), lalu keabsahan data. Anda akan diberi kabar di chat ini. "
        "Ketik /status kapan saja."
    )


def same_nip_open(number: str, status: str) -> str:
    """Told at submission: this NIP already has a request in progress (not refused)."""
    return f"ℹ️ Anda masih punya permohonan terbuka <b>{e(number)}</b> ({e(status)}) untuk NIP ini."


def what_is_missing(number: str, missing: list[str], note: str | None) -> str:
    items = "\n".join(f"• {e(MISSING[MissingItem(m)])}" for m in missing)
    text = f"⚠️ Permohonan <b>{e(number)}</b> belum lengkap. Yang perlu dilengkapi:\n{items}"
    if note:
        text += f"\n\nCatatan admin: <i>{e(note)}</i>"
    return text


def incomplete_notice(number: str, missing: list[str], note: str | None) -> str:
    return (
        what_is_missing(number, missing, note)
        + "\n\nKetuk <b>Lengkapi</b> untuk mengirimnya di chat ini."
    )


SUPPLEMENT_BUTTON = "📎 Lengkapi"
SUPPLEMENT_IDENTITY = "Perbarui data identitas Anda. "
SUPPLEMENT_CONFIRM = "Kirim kelengkapan ini ke admin?"
SUPPLEMENT_SEND = "📨 Kirim kelengkapan"
KEEP_VALUE = "✅ Tetap, sudah benar"


def current_value(value: str) -> str:
    """Under an identity question of a supplement: what the ticket holds now."""
    return f"\nData sekarang: <b>{e(value)}</b>. Ketik yang benar, atau ketuk <b>Tetap</b>."


def supplement_stopped(number: str) -> str:
    """A supplement given up midway: nothing was sent, and the ticket still waits."""
    return (
        f"Pengisian kelengkapan dihentikan; yang baru Anda isi tidak dikirim. Tiket "
        f"<b>{e(number)}</b> tetap terbuka dan masih menunggu kelengkapan dari Anda: ketuk "
        "<b>Lengkapi</b> bila sudah siap."
    )


def supplemented(number: str) -> str:
    return f"✅ Kelengkapan tiket <b>{e(number)}</b> terkirim. Admin akan memeriksanya kembali."


def rejected_notice(number: str, reason: str) -> str:
    return (
        f"❌ Permohonan <b>{e(number)}</b> ditolak.\nAlasan: <i>{e(reason)}</i>\n\n"
        "Anda dapat mengajukan permohonan baru dengan data/dokumen yang benar (/ajukan), "
        "atau menghubungi Bagian Pengadaan Barang/Jasa."
    )


def result_link(number: str, url: str, expires: str) -> str:
    return (
        f"🔐 Hasil permohonan <b>{e(number)}</b> sudah siap.\n\n"
        f"Buka link ini untuk melihatnya. Link hanya bisa dibuka <b>satu kali</b> dan berlaku "
        f"sampai {e(expires)}:\n{e(url)}\n\n"
        "Setelah melihatnya, <b>segera login ke SPSE dan ganti password</b>. "
        "Jangan teruskan link ini kepada siapa pun."
    )


def result_link_short(number: str, expires: str) -> str:
    """The result message when the link sits on a Web App button instead of in the text."""
    return (
        f"🔐 Hasil permohonan <b>{e(number)}</b> sudah siap.\n\n"
        "Ketuk tombol di bawah untuk melihatnya. Hanya bisa dibuka <b>satu kali</b> "
        f"dan berlaku sampai {e(expires)}.\n\n"
        "Setelah melihatnya, <b>segera login ke SPSE dan ganti password</b>."
    )


OPEN_RESULT = "🔐 Buka hasil"
CONFIRM_LOGIN = "✅ Sudah login"
NOT_ME = "🚨 Bukan saya"


def received_receipt(number: str, opened: str, password: bool) -> str:
    then = (
        "login ke SPSE sekarang dan ganti password tersebut, lalu ketuk <b>Sudah login</b>."
        if password
        else "login ke SPSE dengan user ID tersebut, lalu ketuk <b>Sudah login</b>."
    )
    return (
        f"🧾 Hasil tiket <b>{e(number)}</b> dibuka {e(opened)}.\n\n"
        f"Silakan {then}\n\n"
        "Jika <b>bukan Anda</b> yang membukanya, ketuk <b>Bukan saya</b>: admin akan segera "
        "mereset ulang dan kejadian ini dicatat."
    )


def confirm_reminder(number: str, password: bool) -> str:
    what = "login ke SPSE dan mengganti password" if password else "login ke SPSE"
    return (
        f"⏰ Pengingat tiket <b>{e(number)}</b>: apakah Anda sudah {what}? "
        "Ketuk tombol di bawah. Jika bukan Anda yang membuka link hasil, ketuk Bukan saya."
    )


def login_confirmed(number: str) -> str:
    return (
        f"✅ Terima kasih. Tiket <b>{e(number)}</b> selesai dan diarsipkan. "
        "Jaga kerahasiaan password Anda."
    )


def closed_unconfirmed(number: str) -> str:
    return (
        f"Tiket <b>{e(number)}</b> ditutup dan diarsipkan tanpa konfirmasi login dari Anda. "
        "Jika Anda belum bisa login ke SPSE, ajukan permohonan baru (/ajukan)."
    )


def incident_ack(number: str) -> str:
    return (
        f"🚨 Dicatat: link hasil tiket <b>{e(number)}</b> dibuka bukan oleh Anda. Admin sudah "
        "diberi tahu dan akan mereset ulang password Anda; link baru akan dikirim ke chat ini. "
        "Jangan gunakan password yang tadi."
    )


def link_expired_notice(number: str) -> str:
    return (
        f"⌛ Link hasil tiket <b>{e(number)}</b> kedaluwarsa sebelum dibuka. Tidak perlu "
        "mengajukan ulang: admin akan mengirim link baru ke chat ini."
    )


def link_revoked_notice(number: str) -> str:
    return (
        f"🚫 Link hasil tiket <b>{e(number)}</b> dibatalkan oleh admin dan tidak bisa dibuka "
        "lagi. Admin akan mengirim link baru ke chat ini."
    )


def link_lost_notice(number: str) -> str:
    return (
        f"⚠️ Link hasil tiket <b>{e(number)}</b> tidak bisa dibuka lagi karena gangguan "
        "penyimpanan di server (belum ada yang membukanya). Tidak perlu mengajukan ulang: "
        "admin akan mengirim link baru ke chat ini."
    )


# The page of a link whose sealed result the server lost (title, text).
LINK_LOST_TITLE = "Link tidak bisa dibuka lagi"
LINK_LOST_PAGE = (
    "Hasil pada link ini hilang karena gangguan penyimpanan di server; belum ada yang "
    "membukanya. Admin sudah diberi tahu dan akan mengirim link baru ke chat Anda."
)


NOT_RECEIVED = "Tiket ini tidak sedang menunggu konfirmasi Anda."
ALREADY_CONFIRMED = "Sudah dikonfirmasi. Terima kasih."
INCIDENT_ALREADY = "Sudah dicatat; admin sedang mereset ulang password Anda."


def cancelled(number: str) -> str:
    return f"Tiket <b>{e(number)}</b> dibatalkan."


def confirm_cancel(number: str) -> str:
    return f"Yakin membatalkan tiket <b>{e(number)}</b>? Permohonan tidak akan diproses."


CANCEL_YES = "Ya, batalkan"
CANCEL_NO = "« Kembali"
NOT_CANCELLED = "Tiket tidak dibatalkan."
CANCEL_TICKET = "Batalkan"
NOT_CANCELLABLE = "Tiket ini tidak dapat dibatalkan lagi."
NOT_INCOMPLETE = "Tiket ini sedang tidak menunggu kelengkapan."

# ---- admin side ----------------------------------------------------------------------------

NOT_ADMIN = "Maaf, hanya admin agency yang dapat melakukan ini."
BUTTON_BROKEN = "Tombol ini tidak dikenal."
UNKNOWN_COMMAND = "Perintah tidak dikenal. Ketik /bantuan."


def card_button(number: str) -> str:
    """The button on an /antrian or /cari line that brings the ticket's card back."""
    return f"🎫 {number}"


def card_resent(number: str) -> str:
    return f"Kartu tiket {number} dikirim ulang di bawah."


def card_moved(number: str) -> str:
    """What the old card says once the card was sent again."""
    return f"↪️ Kartu tiket <b>{e(number)}</b> sudah dikirim ulang di bawah; pakai tombol di sana."


def card_not_yet(number: str) -> str:
    return f"Kartu tiket {number} belum terkirim ke grup; tunggu sebentar."


def card_purged(number: str) -> str:
    return f"Data tiket {number} sudah dihapus (masa simpan habis); kartunya tidak ada lagi."


def other_card(number: str, toast: str | None) -> str:
    """A tap whose button belongs to another ticket than the card it sits on."""
    said = f" {toast}" if toast else ""
    return f"Tombol ini untuk tiket {number}; kartu tiket itu yang diperbarui.{said}"


LENGKAP = "✅ Lengkap"
TIDAK_LENGKAP = "⚠️ Tidak lengkap"
VALID = "✅ Valid"
TIDAK_VALID = "❌ Tidak valid"
PHONE_CONFIRMED = "📞 Sudah konfirmasi telepon"
KIRIM_HASIL = "🔑 Kirim hasil"
NOTE = "✏️ Tambah catatan"
SEND_INCOMPLETE = "📨 Kirim ke pemohon"
BACK = "« Kembali"
OTHER_REASON = "✏️ Alasan lain (ketik)"
PICK_MISSING = "Pilih yang kurang, lalu ketuk Kirim ke pemohon."
IDENTITY_NEEDS_NOTE = (
    "Data identitas ditandai kurang: ketuk Tambah catatan dan tulis data mana yang salah, "
    "lalu Kirim ke pemohon."
)
PICK_REASON = "Pilih alasan penolakan."

# The card's history: one line per finished step, by the step record's outcome code. Each
# says what happened in its own words (never the code); who did it follows the line.
HISTORY = {
    "diajukan": "Diajukan",
    "lengkap": "Cek kelengkapan: lengkap",
    "tidak_lengkap": "Cek kelengkapan: tidak lengkap",
    "diminta": "Pemohon diminta melengkapi",
    "dilengkapi": "Kelengkapan dikirim pemohon",
    "kedaluwarsa": "Kelengkapan tidak dikirim sampai batas waktu",
    "valid": "Cek keabsahan: valid",
    "tidak_valid": "Cek keabsahan: tidak valid",
    "ditolak": "Penolakan dikirim ke pemohon",
    "password_direset": "Password baru dikirim lewat link",
    "user_id_diberikan": "User ID dikirim lewat link",
    "password_direset_dan_user_id": "Password baru dan user ID dikirim lewat link",
    "diterima_pemohon": "Hasil dibuka pemohon",
    "link_kedaluwarsa": "Link kedaluwarsa tanpa dibuka",
    "link_dibatalkan": "Link dibatalkan",
    "link_hilang": "Link hilang dari penyimpanan sebelum dibuka",
    "diarsipkan": "Diarsipkan",
}
# A step still open when the requester cancelled: "<step>: dibatalkan pemohon".
HISTORY_CANCELLED = "dibatalkan pemohon"


def history_what(step: int, outcome: str | None) -> str:
    """What a finished step did, in words; an unknown code shows the step's name only."""
    if outcome == "dibatalkan_pemohon":
        return f"{STEP_NAMES[step]}: {HISTORY_CANCELLED}"
    return HISTORY.get(outcome or "", STEP_NAMES[step])


def history_title(day: date) -> str:
    """The history's heading names the submission day; its lines show the time on that day."""
    return f"<b>Riwayat</b> (diajukan {day_text(day)})"


def history_hidden(count: int) -> str:
    return f"… {count} langkah sebelumnya (lihat arsip)"


def late_mark(minutes: int, standard: int, reason: str | None) -> str:
    why = f" ({e(reason)})" if reason else " (alasan belum diisi)"
    return f" ⏱ {minutes}/{standard} mnt{why}"


def stale(number: str, state: TicketState, by: str | None, outcome: str | None = None) -> str:
    who = f" oleh {e(by)}" if by else ""
    return f"Tiket {e(number)} sudah ditangani{who}: {admin_state(state, outcome)}."


def mention(user_id: str, name: str) -> str:
    """A mention, so that a selective ForceReply opens the reply box for this admin only."""
    return f'<a href="tg://user?id={e(user_id)}">{e(name)}</a>'


def ask_note(user_id: str, admin: str, number: str) -> str:
    return (
        f"{mention(user_id, admin)}, balas pesan ini dengan catatan untuk pemohon tiket "
        f"<b>{e(number)}</b>."
    )


def ask_reason(user_id: str, admin: str, number: str) -> str:
    return (
        f"{mention(user_id, admin)}, balas pesan ini dengan alasan penolakan tiket "
        f"<b>{e(number)}</b>. Pemohon akan menerima alasan ini."
    )


NOTE_SAVED = "Catatan disimpan di tiket; ketuk Kirim ke pemohon bila sudah."
START_PRIVATE_FIRST = (
    "Buka chat pribadi dengan bot ini dan ketuk Start dulu, lalu ketuk Kirim hasil lagi."
)


def result_not_ready(number: str, state: TicketState, outcome: str | None) -> str:
    """A "Kirim hasil" tap on a ticket that does not wait for its result (nothing is sent)."""
    return f"Tiket {e(number)} tidak sedang menunggu hasil: {admin_state(state, outcome)}."


def result_prompt(
    number: str, request_type: RequestType, who: str, nip: str, spse_id: str | None
) -> str:
    needs = []
    if request_type.needs_user_id:
        needs.append("<b>user ID SPSE</b>")
    if request_type.needs_password:
        needs.append("<b>password baru</b> yang Anda set di SPSE")
    known = f"\nUser ID yang diisi pemohon: <code>{e(spse_id)}</code>" if spse_id else ""
    return (
        f"🔑 Tiket <b>{e(number)}</b> ({e(REQUEST_TYPES[request_type])})\n"
        f"Pemohon: {e(who)}, NIP <code>{e(nip)}</code>{known}\n\n"
        f"Setelah memproses di SPSE, kirim {' lalu '.join(needs)} di chat ini. "
        "Pesan berisi password langsung dihapus setelah dibaca dan hanya dikirim ke pemohon "
        "lewat link sekali pakai. Ketik /batal untuk berhenti."
    )


ASK_USER_ID = "Ketik <b>user ID SPSE</b> pemohon."
ASK_PASSWORD = "Ketik <b>password baru</b> (pesan Anda akan langsung dihapus)."
PASSWORD_TOO_SHORT = "Password itu terlalu pendek (minimal 8 karakter). Ketik lagi."


def result_sent(number: str, expires: str, *, password_deleted: bool = False) -> str:
    """`password_deleted`: only when a password typed in the chat was in fact deleted."""
    deleted = " Pesan password Anda sudah dihapus." if password_deleted else ""
    return (
        f"✅ Hasil tiket <b>{e(number)}</b> dikirim ke pemohon lewat link sekali pakai "
        f"(berlaku sampai {e(expires)}).{deleted}"
    )


def result_failed(reason: str) -> str:
    return (
        f"⚠️ Hasil belum terkirim: {e(reason)}. Tidak ada yang tersimpan; ketik ulang "
        "setelah masalahnya beres."
    )


# ---- ready to receive (WhatsApp: the requester's 24-hour window closed or closing) --------

READY_BUTTON = "Siap menerima"  # also the quick reply of the "hasil siap dikirim" template


def ready_asked_toast(number: str) -> str:
    """The admin's answer to Kirim hasil when the requester must first say they are ready
    (a Telegram toast: at most 200 characters)."""
    return (
        f"⏳ Jendela chat WhatsApp pemohon tiket {number} tertutup. Pemohon diminta mengetuk "
        "Siap menerima; tunggu ✅ di kartu, lalu ketuk Kirim hasil lagi."
    )


def ready_still_waiting(number: str) -> str:
    return (
        f"⏳ Pemohon tiket {number} belum mengetuk Siap menerima. Tunggu ✅ di kartu, lalu "
        "ketuk Kirim hasil lagi."
    )


def result_ready_notice(number: str) -> str:
    """To the requester: the rich form of the "hasil siap dikirim" template."""
    return (
        f"Admin siap mengirim hasil permohonan tiket <b>{e(number)}</b>. Ketuk <b>Siap "
        "menerima</b> agar link sekali pakai dikirim di chat ini."
    )


def ready_thanks(number: str) -> str:
    return (
        f"✅ Terima kasih. Admin sudah diberi tahu bahwa Anda siap menerima hasil tiket "
        f"<b>{e(number)}</b>; link sekali pakai akan dikirim di chat ini."
    )


def ready_already(number: str) -> str:
    return (
        f"Kesiapan Anda untuk tiket <b>{e(number)}</b> sudah tercatat. Link sekali pakai akan "
        "dikirim di chat ini."
    )


def ready_not_waiting(number: str) -> str:
    """A stale "Siap menerima" tap: nothing changes."""
    return (
        f"Tiket <b>{e(number)}</b> tidak sedang menunggu kesiapan Anda, jadi tidak ada yang "
        "diubah. Ketik /status untuk melihat keadaan tiket."
    )


def ready_alert(number: str) -> str:
    """To the admin group, as a reply to the card: the requester tapped Siap menerima."""
    return (
        f"✅ Pemohon tiket <b>{e(number)}</b> siap menerima hasil. Ketuk {KIRIM_HASIL} pada "
        "kartu untuk mengirimnya."
    )


def ready_waiting_line(asked: str) -> str:
    return f"⏳ Menunggu pemohon mengetuk Siap menerima (WhatsApp), diminta {e(asked)}"


def ready_line(at: str) -> str:
    return f"✅ Pemohon siap menerima ({e(at)}): ketuk {KIRIM_HASIL}"


def result_window_closed(number: str) -> str:
    """The link could not go: the requester's window closed during the hand-over."""
    return (
        f"⚠️ Hasil tiket <b>{e(number)}</b> belum terkirim: jendela chat WhatsApp pemohon "
        "sudah tertutup, link sudah dimatikan. Ketuk Kirim hasil lagi agar pemohon diminta "
        "mengetuk Siap menerima."
    )


def window_line(open_until: str | None) -> str:
    """The card's line on a WhatsApp requester's 24-hour window."""
    if open_until is None:
        return "💬 Jendela 24 jam: tertutup — hanya template"
    return f"💬 Jendela 24 jam: terbuka s.d. {e(open_until)}"


def held_line(since: str) -> str:
    """The card's line while a notice waits for want of a template (window closed)."""
    return (
        f"📵 Pemberitahuan ke pemohon tertahan sejak {e(since)}: jendela WhatsApp tertutup, "
        "tidak ada template; menunggu pemohon menulis lagi"
    )


RECEIPTS = {"sent": "terkirim", "delivered": "diterima", "read": "dibaca", "failed": "gagal"}


def receipt_line(receipt: str, at: str) -> str:
    """The card's line on the last message to the requester (WhatsApp's ticks)."""
    return f"📨 Pesan terakhir ke pemohon: {RECEIPTS.get(receipt, e(receipt))} ({e(at)})"


def held_alert(number: str) -> str:
    """The admins' alert that a notice to a WhatsApp requester waits: their window is closed
    and no approved template is configured for that notice."""
    return (
        f"📵 Pemberitahuan untuk pemohon tiket <b>{e(number)}</b> belum bisa dikirim: jendela "
        "chat WhatsApp pemohon (24 jam) tertutup dan belum ada template yang disetujui untuk "
        "pemberitahuan ini. Pemberitahuan menunggu sampai pemohon menulis lagi; bila mendesak, "
        "hubungi pemohon lewat telepon."
    )


ADMIN_RESULT_CANCELLED = "Pengisian hasil dihentikan. Tiket tetap menunggu hasil."
REVOKE_LINK = "🚫 Batalkan link"
REVOKE_CONFIRM = "Ya, batalkan link"
KIRIM_ULANG = "🔑 Kirim ulang hasil"
LINK_REVOKED = "Link dibatalkan; pemohon diberi tahu. Ketuk Kirim ulang hasil bila siap."
LINK_ALREADY_GONE = "Link ini sudah dibuka atau kedaluwarsa; tidak ada yang dibatalkan."
OPEN_FORM = "📝 Buka formulir hasil"

LINK_PENDING = "sedang dikirim"
LINK_NEVER_SENT = "tidak tercatat terkirim, dimatikan"


def form_offer(expires: str) -> str:
    return (
        "Isi hasilnya lewat <b>formulir aman</b> (tombol di bawah; sekali pakai, berlaku sampai "
        f"{e(expires)}). Di sana Anda juga bisa membuat password kuat sesuai aturan SPSE.\n\n"
        "Atau ketik di chat ini (pesan berisi password langsung dihapus)."
    )


def incident_alert(number: str, opened: str | None, who: str | None) -> str:
    tag = f" {who}" if who else ""
    at = f" (dibuka {e(opened)})" if opened else ""
    return (
        f"🚨 <b>INSIDEN tiket {e(number)}</b>: pemohon menyatakan bukan dia yang membuka link "
        f"hasil{at}.{tag}\nSegera <b>reset ulang password di SPSE</b>, lalu ketuk Kirim ulang "
        "hasil di kartu tiket."
    )


def link_expired_alert(number: str) -> str:
    return (
        f"⌛ Link hasil tiket <b>{e(number)}</b> kedaluwarsa tanpa dibuka. Ketuk Kirim ulang "
        "hasil di kartu tiket untuk mengirim link baru."
    )


def link_lost_alert(number: str) -> str:
    return (
        f"⚠️ Link hasil tiket <b>{e(number)}</b> hilang dari penyimpanan server "
        "(kemungkinan dimulai ulang tanpa menyimpan data) sebelum dibuka pemohon. Pemohon sudah diberi "
        "tahu. Ketuk Kirim ulang hasil di kartu tiket untuk mengirim link baru."
    )


def link_unsent_alert(number: str) -> str:
    return (
        f"⚠️ Pengiriman link hasil tiket <b>{e(number)}</b> terputus sebelum tercatat "
        "(gangguan sistem). Link itu sudah dimatikan: bila pemohon menerimanya, link tidak "
        "bisa dibuka. Ketuk Kirim ulang hasil di kartu tiket untuk mengirim link baru."
    )


def unreachable_alert(number: str, channel: str = "telegram") -> str:
    """The admins' alert that the requester's platform refused our message for good."""
    if channel == "whatsapp":
        return (
            f"📵 Pesan untuk pemohon tiket <b>{e(number)}</b> ditolak WhatsApp: nomor pemohon "
            "tidak aktif di WhatsApp atau aplikasinya perlu diperbarui. Hubungi pemohon lewat "
            "telepon."
        )
    return (
        f"📵 Pesan untuk pemohon tiket <b>{e(number)}</b> ditolak "
        f"{e(channel_name(channel))}: pemohon memblokir "
        "bot atau menghapus akunnya. Hubungi pemohon lewat telepon agar membuka blokir."
    )


def via_channel(channel: str) -> str:
    """The card's marker of a requester who does not write on Telegram, the admins' own."""
    return "" if channel == "telegram" else f" · via {e(channel_name(channel))}"


def unreachable_line(since: str) -> str:
    return f"📵 Pemohon tidak dapat dihubungi lewat bot sejak {e(since)} (memblokir bot?)"


def document_caption(number: str, kind: DocumentKind, page: int, round_: int) -> str:
    """A file sent to the group; a supplement's file says it is the correction."""
    caption = f"{number} · {DOCUMENT_SHORT[kind]} hal. {page}"
    return caption + (f" · PERBAIKAN (putaran {round_})" if round_ > 1 else "")


def correction_line(round_: int, counts: dict[DocumentKind, int]) -> str:
    files = ", ".join(f"{DOCUMENT_SHORT[kind]} {n} file" for kind, n in counts.items() if n)
    return f"📎 Perbaikan putaran {round_}: {files} (menggantikan yang sebelumnya)"


def identity_changes_lines(round_: int, changes: list[tuple[str, str, str]]) -> list[str]:
    """A supplement's identity: each changed field old -> new, or that nothing changed."""
    if not changes:
        return [f"✏️ Data identitas putaran {round_}: dikirim ulang tanpa perubahan"]
    return [
        f"✏️ Data identitas diubah pemohon (putaran {round_}):",
        *(f"  {e(label)}: {e(old)} → <b>{e(new)}</b>" for label, old, new in changes),
    ]


def same_nip_line(numbers: list[str]) -> str:
    # Recorded when the tickets overlapped; the other may have ended since (see /cari).
    return (
        f"⚠️ Permohonan lain dengan NIP ini terbuka bersamaan: {e(', '.join(numbers))} "
        "(status terkini: /cari)"
    )


def group_migrated(new_chat_id: str) -> str:
    return (
        "ℹ️ Grup ini sudah menjadi supergroup. Bot mengikuti otomatis; operator sebaiknya "
        f"memperbarui TELEGRAM_ADMIN_CHAT_ID menjadi <code>{e(new_chat_id)}</code>."
    )


SORRY = "Maaf, terjadi gangguan saat memproses pesan Anda. Silakan coba lagi sebentar lagi."


def group_id(chat_id: str) -> str:
    return f"ID grup ini: <code>{e(chat_id)}</code> (isi TELEGRAM_ADMIN_CHAT_ID dengan angka ini)."


# ---- time standards: reminders, escalation, late reasons (issue 5) ------------------------

LATE_PRESETS = (
    "Antrean / beban kerja tinggi",
    "Menunggu konfirmasi telepon pemohon",
    "SPSE / jaringan bermasalah",
    "Admin sedang rapat / dinas luar",
)
LATE_OTHER = "✏️ Alasan lain (ketik)"


def step_overdue(number: str, step: int, standard: int, since: str, holder: str | None) -> str:
    who = f", dipegang {e(holder)}" if holder else ""
    extra = (
        " Pemohon belum membuka link hasil; pertimbangkan menghubunginya."
        if step == 8
        else " Mohon segera ditindaklanjuti."
    )
    return (
        f"⏰ Tiket <b>{e(number)}</b>: langkah {step} ({STEP_NAMES[step]}{who}) melewati "
        f"standar {standard} menit jam kerja (mulai {e(since)}).{extra}"
    )


def escalation(number: str, step: int, standard: int, used: str, holder: str | None) -> str:
    who = f", dipegang {e(holder)}" if holder else ""
    return (
        f"🔺 <b>Eskalasi</b> tiket <b>{e(number)}</b>: langkah {step} ({STEP_NAMES[step]}"
        f"{who}) sudah berjalan {e(used)} jam kerja, standar SOP {standard} menit. "
        "Mohon arahan agar segera diselesaikan."
    )


def ask_late_reason(
    user_id: str, admin: str, number: str, step: int, minutes: int, standard: int
) -> str:
    return (
        f"⏱ {mention(user_id, admin)}, langkah {step} ({STEP_NAMES[step]}) tiket "
        f"<b>{e(number)}</b> selesai dalam {minutes} menit jam kerja, melewati standar "
        f"{standard} menit. Apa penyebabnya? Mohon pilih di bawah; jawaban dicatat sebagai "
        "penjelasan penyimpangan."
    )


def ask_late_text(user_id: str, admin: str, number: str) -> str:
    return (
        f"{mention(user_id, admin)}, balas pesan ini dengan penyebab keterlambatan tiket "
        f"<b>{e(number)}</b> (singkat)."
    )


def late_explained(number: str, step: int, reason: str, by: str) -> str:
    return (
        f"⏱ Penyebab keterlambatan langkah {step} tiket <b>{e(number)}</b> dicatat: "
        f"{e(reason)} ({e(by)})."
    )


def supplement_reminder(number: str, missing: list[str], expires: str) -> str:
    items = ", ".join(MISSING[MissingItem(m)] for m in missing) or "kelengkapan"
    return (
        f"🔔 Pengingat: tiket <b>{e(number)}</b> masih menunggu kelengkapan dari Anda "
        f"({e(items)}). Ketuk 📎 Lengkapi di bawah. Bila tidak dilengkapi sampai "
        f"{e(expires)}, tiket ditutup otomatis."
    )


def expired_notice(number: str) -> str:
    return (
        f"⌛ Tiket <b>{e(number)}</b> ditutup karena kelengkapan tidak dikirim dalam batas "
        "waktu. Bila masih memerlukan layanan, ajukan permohonan baru lewat /ajukan."
    )


def late_line(step: int, minutes: int, standard: int, reason: str | None) -> str:
    why = f": {e(reason)}" if reason else " (alasan belum diisi)"
    return f"⏱ Langkah {step} {minutes}/{standard} mnt{why}"


ADMIN_HELP = (
    "<b>Perintah admin di grup ini</b>\n"
    "/antrian: tiket terbuka, langkahnya, pemegangnya, dan sisa waktu standar SOP; "
    "tombol 🎫 memunculkan lagi kartu tiketnya di bawah\n"
    "/laporan [YYYY-MM]: laporan bulanan (tanpa bulan: bulan lalu), grafik dan PDF\n"
    "/arsip NOMOR: arsip tiket (lembar kendali, manifest, dokumen) dalam ZIP\n"
    "/cari TEKS: cari tiket menurut nomor, NIP, atau nama\n"
    "/idgrup: ID grup ini\n\n"
    "Tiket baru muncul sebagai kartu bertombol. Waktu dihitung pada jam kerja; langkah yang "
    "lewat standar diingatkan di sini, lalu dieskalasi ke atasan. Yang menyelesaikan langkah "
    "terlambat diminta alasannya."
)
QUEUE_EMPTY = "📭 Tidak ada tiket terbuka."
QUEUE_CONFIRMING = "hasil sudah dibuka, menunggu konfirmasi login"


def queue_title(count: int) -> str:
    return f"📋 <b>Antrian: {count} tiket terbuka</b> (waktu dihitung pada jam kerja)"


def queue_line(number: str, name: str, step: int, holder: str, left: str) -> str:
    what = f"L{step} {STEP_NAMES[step]}"
    return f"• <b>{e(number)}</b> {e(name)} · {what} · {e(holder)} · {e(left)}"


def queue_more(count: int) -> str:
    return f"… dan {count} tiket lainnya."


LATE_ALREADY = "Penyebab keterlambatan langkah ini sudah dicatat."


def late_not_yours(name: str) -> str:
    return (
        f"Pertanyaan ini untuk {name}, yang menyelesaikan langkahnya. Bila belum dijawab "
        "dalam 24 jam, admin lain dapat menjawabnya."
    )


REPORTS_UNAVAILABLE = "Laporan belum tersedia di bot ini."
REPORT_NOT_SENT = (
    "⚠️ Laporan sudah dibuat tetapi gagal terkirim lengkap ke grup. Coba /laporan lagi "
    "sebentar lagi, atau ambil lewat server: chatbot report."
)
REPORT_USAGE = "Contoh: /laporan 2026-11 (tanpa bulan: bulan lalu)."


def report_chart_caption(month: str) -> str:
    return f"Waktu per langkah SOP, {month}: median dan P90 terhadap standar (jam kerja)."


def report_pdf_caption(month: str) -> str:
    return f"Laporan {month} untuk Kepala Bagian (PDF)."


# ---- /arsip and /cari (admins, in the group) ------------------------------------------------

ARCHIVE_USAGE = (
    "Ketik <code>/arsip NOMOR_TIKET</code>, mis. <code>/arsip 2611-0042</code>, untuk menerima "
    "arsip tiket (lembar kendali PDF, manifest, dan dokumen asli) dalam satu file ZIP."
)
SEARCH_USAGE = (
    "Ketik <code>/cari</code> lalu nomor tiket, NIP, atau nama pemohon, mis.:\n"
    "• <code>/cari 2611-0042</code>\n"
    "• <code>/cari 19850312 201001 1 004</code> atau 4 angka terakhir NIP: "
    "<code>/cari 1004</code>\n"
    "• <code>/cari budi</code> (minimal 3 huruf)"
)
WRONG_CHAT = "Perintah ini hanya dapat dipakai di grup admin."


def archive_not_found(number: str) -> str:
    return f"Tiket {e(number)} tidak ditemukan."


def archive_not_yet(number: str, state: TicketState) -> str:
    return (
        f"Tiket {e(number)} belum diarsipkan (langkah 9): {STATE_FOR_ADMINS[state]}. "
        "Arsip dibuat otomatis setelah tiket selesai."
    )


def archive_purged(number: str, when: str) -> str:
    return (
        f"Dokumen dan data pribadi tiket {e(number)} sudah dihapus pada {when} karena masa "
        "retensi arsip berakhir (UU 27/2022). Riwayat langkah SOP-nya tetap tercatat."
    )


def archive_missing(number: str) -> str:
    return (
        f"Folder arsip tiket {e(number)} tidak ditemukan di penyimpanan. Hubungi pengelola server."
    )


def archive_too_big(number: str, size: int) -> str:
    return (
        f"Arsip tiket {e(number)} terlalu besar untuk dikirim lewat Telegram "
        f"({size / 1024 / 1024:.1f} MB; batas 50 MB). Minta pengelola server mengambilnya "
        f"dengan <code>chatbot archive export {e(number)}</code>."
    )


def archive_failed(number: str, reason: str) -> str:
    return f"Arsip tiket {e(number)} gagal dikirim: {e(reason)}"


def archive_caption(number: str) -> str:
    return (
        f"Arsip tiket {number}: lembar kendali, manifest, dan dokumen asli. "
        "Berisi data pribadi (UU 27/2022): jangan diteruskan."
    )


def admin_due(due: str) -> str:
    return f"Ditangani admin paling lambat: {e(due)} (standar SOP, jam kerja)"
