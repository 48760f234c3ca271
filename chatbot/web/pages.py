"""The HTML the web app serves: small, in Bahasa Indonesia, usable on a small phone screen.

No page ever carries a secret: the one-time link page gets its content by script, after a
deliberate tap, and decrypts it in the browser.
"""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="../static/style.css">
{script}</head>
<body>
<main class="card">
{body}
</main>
</body>
</html>
"""

REVEAL_BODY = """<h1>Hasil permintaan Anda</h1>
<p>Halaman ini berisi hasil permintaan reset password dan/atau informasi User ID SPSE
yang Anda ajukan ke Admin Agency.</p>
<p class="notice">Link ini hanya bisa dibuka <strong>satu kali</strong>. Setelah ditampilkan,
isinya tidak bisa dilihat lagi, jadi siapkan diri untuk mencatat atau menyalinnya.</p>
<noscript><p class="error">Aktifkan JavaScript di browser Anda untuk membuka link ini.</p>
</noscript>
<div id="ready" hidden>
<button type="button" id="reveal" class="big">Tampilkan</button>
</div>
<p id="message" class="error" role="alert" hidden></p>
<section id="result" hidden aria-live="polite">
<h2>Data login SPSE Anda</h2>
<p id="ticket" class="muted" hidden></p>
<dl id="fields"></dl>
<p class="notice"><strong>Segera login ke SPSE sekarang dan ganti password ini.</strong>
Jangan bagikan kepada siapa pun. Setelah berhasil, kembali ke chat bot dan ketuk
<em>Sudah login</em>.</p>
<p class="muted">Link ini sekarang sudah tidak berlaku. Jika Anda belum sempat mencatatnya,
minta admin mengirim ulang.</p>
</section>"""

_CLOSED_BODY = """<h1>{heading}</h1>
<p>{detail}</p>
<p class="muted">{hint}</p>"""

LINK_HINT = (
    "Jika Anda memerlukan data login SPSE, hubungi Admin Agency melalui bot untuk meminta "
    "link baru."
)
FORM_HINT = "Ketuk Kirim hasil lagi di kartu tiket pada grup admin untuk mendapat formulir baru."

_FORM_BODY = """<h1>Hasil tiket {number}</h1>
<p>{kind} untuk <strong>{name}</strong>. Isi setelah Anda memproses di SPSE. Isian ini hanya
dikirim ke pemohon lewat link sekali pakai; tidak tersimpan di chat.</p>
<p class="muted">Formulir sekali pakai, berlaku sampai {expires}.</p>
<noscript><p class="error">Aktifkan JavaScript untuk memakai formulir ini.</p></noscript>
<form id="form" autocomplete="off" novalidate hidden>
{fields}
<button type="submit" id="submit" class="big">Kirim ke pemohon</button>
</form>
<p id="message" class="error" role="alert" hidden></p>
<section id="done" hidden aria-live="polite">
<h2>Terkirim</h2>
<p id="done-text"></p>
<p class="muted">Anda boleh menutup halaman ini.</p>
</section>"""

_USER_ID_FIELD = """<div class="field">
<label for="user_id">User ID SPSE pemohon</label>
<input id="user_id" name="user_id" type="text" inputmode="text" autocapitalize="off"
 spellcheck="false" maxlength="100" required{hint}>
</div>"""

_RESET_FIELD = """<div class="field">
<label for="password">Password baru (yang Anda set di SPSE)</label>
<div class="row">
<input id="password" name="password" type="text" autocapitalize="off" spellcheck="false"
 maxlength="64" required data-lpignore="true">
<button type="button" id="copy-password" class="copy">Salin</button>
</div>
<button type="button" id="generate" class="secondary">Buat password</button>
<p class="muted">Minimal 8 karakter, huruf dan angka, tanpa spasi. "Buat password" membuat
password kuat (14 karakter: huruf besar, huruf kecil, angka, simbol). Salin, set di SPSE,
lalu kirim.</p>
</div>"""


def page(
    title: str, body: str, *, script: str | None = None, status_code: int = 200
) -> HTMLResponse:
    tag = f'<script src="../static/{script}" defer></script>\n' if script else ""
    return HTMLResponse(
        _PAGE.format(title=html.escape(title), script=tag, body=body), status_code=status_code
    )


def closed_page(heading: str, detail: str, status_code: int, hint: str = LINK_HINT) -> HTMLResponse:
    body = _CLOSED_BODY.format(
        heading=html.escape(heading), detail=html.escape(detail), hint=html.escape(hint)
    )
    return page(heading, body, status_code=status_code)


def form_page(
    *, number: str, kind: str, name: str, expires: str, need: list[str], user_id_hint: str | None
) -> HTMLResponse:
    fields = []
    if "user_id" in need:
        hint = f' placeholder="{html.escape(user_id_hint)}"' if user_id_hint else ""
        fields.append(_USER_ID_FIELD.format(hint=hint))
    if "password" in need:
        fields.append(_RESET_FIELD)
    body = _FORM_BODY.format(
        number=html.escape(number),
        kind=html.escape(kind),
        name=html.escape(name),
        expires=html.escape(expires),
        fields="\n".join(fields),
    )
    return page(f"Hasil tiket {number}", body, script="form.js")
