"""The Indonesian names of the SOP's things, in one place for the chat, cards and PDFs.

Steps, roles, request types, outcomes, document kinds and missing items each have their
labels here, once: the chat's text catalog, the admin card, the lembar kendali and the
monthly report read them from this module instead of keeping copies. It sits low (it needs
only `enums`) so that `services/` and `reports/` can use it without the chat layer.
"""

from __future__ import annotations

from chatbot.services.enums import DocumentKind, MissingItem, Outcome, RequestType, Role, Step

BOT_NAME = "Layanan Reset Password SPSE"
OFFICE = "Bagian Pengadaan Barang/Jasa Sekretariat Daerah Kota Magelang"

# ---- steps: the SOP's activity names (lembar kendali), short (report), chat (admins) -----------

STEP_ACTIVITIES = {
    Step.SUBMIT: "Pengajuan surat permohonan dan SK",
    Step.CHECK_COMPLETENESS: "Pemeriksaan kelengkapan berkas",
    Step.ASK_TO_COMPLETE: "Permintaan melengkapi berkas",
    Step.SUPPLEMENT: "Pemohon melengkapi berkas",
    Step.CHECK_VALIDITY: "Pemeriksaan keabsahan data",
    Step.RESET_IN_SPSE: "Reset password / pencarian user ID di SPSE",
    Step.NOTIFY_REJECTION: "Pemberitahuan penolakan",
    Step.DELIVER_RESULT: "Penyampaian password baru / user ID",
    Step.ARCHIVE: "Pengarsipan berkas",
}
STEP_REPORT = {
    Step.SUBMIT: "Pengajuan permohonan",
    Step.CHECK_COMPLETENESS: "Pemeriksaan kelengkapan",
    Step.ASK_TO_COMPLETE: "Permintaan melengkapi",
    Step.SUPPLEMENT: "Pemohon melengkapi",
    Step.CHECK_VALIDITY: "Pemeriksaan keabsahan",
    Step.RESET_IN_SPSE: "Reset / cari user ID di SPSE",
    Step.NOTIFY_REJECTION: "Pemberitahuan penolakan",
    Step.DELIVER_RESULT: "Penyampaian hasil",
    Step.ARCHIVE: "Pengarsipan",
}
STEP_NAMES: dict[int, str] = {  # the chat indexes it by the bare step number
    Step.SUBMIT: "Pengajuan berkas",
    Step.CHECK_COMPLETENESS: "Cek kelengkapan",
    Step.ASK_TO_COMPLETE: "Minta kelengkapan",
    Step.SUPPLEMENT: "Pemohon melengkapi",
    Step.CHECK_VALIDITY: "Cek keabsahan",
    Step.RESET_IN_SPSE: "Reset/cek di SPSE",
    Step.NOTIFY_REJECTION: "Pemberitahuan penolakan",
    Step.DELIVER_RESULT: "Penyampaian hasil",
    Step.ARCHIVE: "Pengarsipan",
}

# ---- request types and roles ----------------------------------------------------------------

REQUEST_TYPES = {
    RequestType.RESET_PASSWORD: "Reset password",
    RequestType.USER_ID: "Informasi user ID",
    RequestType.BOTH: "Reset password + informasi user ID",
}
ROLES = {Role.PPK: "PPK", Role.PP: "PP (Pejabat Pengadaan)", Role.POKJA: "Pokja Pemilihan"}
ROLE_SHORT = {Role.PPK: "PPK", Role.PP: "PP", Role.POKJA: "Pokja"}
# The intake's buttons: at most 20 characters (a WhatsApp reply button's title); the full
# names above are what the summary, the card, the PDFs and the reports show.
REQUEST_TYPE_BUTTONS = {
    RequestType.RESET_PASSWORD: "Reset password",
    RequestType.USER_ID: "Informasi user ID",
    RequestType.BOTH: "Reset + info user ID",
}
ROLE_BUTTONS = {Role.PPK: "PPK", Role.PP: "PP", Role.POKJA: "Pokja Pemilihan"}

# ---- outcomes: in full (lembar kendali), short (report) ------------------------------------------

OUTCOMES = {
    Outcome.COMPLETED: "Selesai (hasil diterima pemohon)",
    Outcome.REJECTED: "Ditolak",
    Outcome.CANCELLED: "Dibatalkan pemohon",
    Outcome.EXPIRED: "Ditutup: kelengkapan tidak dikirim pemohon",
}
OUTCOME_SHORT = {
    Outcome.COMPLETED: "Selesai",
    Outcome.REJECTED: "Ditolak",
    Outcome.CANCELLED: "Dibatalkan pemohon",
    Outcome.EXPIRED: "Ditutup: kelengkapan tidak dikirim",
}

# ---- documents and missing items ----------------------------------------------------------------

# As the requester is asked for them, as the card lists them, as the lembar kendali names them.
DOCUMENTS = {
    DocumentKind.LETTER: "surat permohonan reset password / info user ID",
    DocumentKind.SK: "SK pengangkatan",
}
DOCUMENT_SHORT = {DocumentKind.LETTER: "Surat permohonan", DocumentKind.SK: "SK"}
DOCUMENT_KINDS = {DocumentKind.LETTER: "Surat permohonan", DocumentKind.SK: "SK pengangkatan"}
# As a list item (chat, card) and inside a sentence (the lembar kendali's notes).
MISSING = {
    MissingItem.LETTER: "Surat permohonan",
    MissingItem.SK: "SK pengangkatan",
    MissingItem.IDENTITY: "Data identitas",
}
MISSING_IN_SENTENCE = {
    MissingItem.LETTER: "surat permohonan",
    MissingItem.SK: "SK pengangkatan",
    MissingItem.IDENTITY: "data identitas",
}
