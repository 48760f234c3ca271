// One-time link page: the key lives only in the URL's #fragment, which the browser never
// sends to the server. We send the server only a hash of the key, get the ciphertext once,
// and decrypt it here with WebCrypto (AES-256-GCM). Nothing here is ever logged.
"use strict";

(function () {
  var KEY_CHARS = 43; // 32 bytes in base64url without padding
  var LABELS = { user_id: "User ID SPSE", password: "Password baru" };
  var ORDER = ["user_id", "password"];

  var messageEl = document.getElementById("message");
  var readyEl = document.getElementById("ready");
  var button = document.getElementById("reveal");
  var resultEl = document.getElementById("result");

  function showMessage(text) {
    messageEl.textContent = text;
    messageEl.hidden = false;
  }

  function hideMessage() {
    messageEl.hidden = true;
    messageEl.textContent = "";
  }

  function b64urlDecode(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var binary = atob(b64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  function hex(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i++) {
      out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    }
    return out;
  }

  // Where the link id and the key are, repairing a link whose "#" a chat app turned into
  // "%23" (the key then sits in the path). Trailing characters a chat app glued on (".", ")")
  // are dropped: the key is always exactly 43 base64url characters.
  function parseLocation() {
    var path = location.pathname;
    var marker = path.search(/%23|#/i);
    var fragment = location.hash ? location.hash.slice(1) : "";
    var mangled = false;
    if (marker >= 0) {
      if (!fragment) {
        fragment = decodeURIComponent(path.slice(marker).replace(/^(%23|#)/i, ""));
      }
      path = path.slice(0, marker);
      mangled = true;
    }
    var parts = path.split("/");
    var linkId = parts[parts.length - 1];
    var match = /^[A-Za-z0-9_-]{43}/.exec(fragment);
    var key = null;
    if (match) {
      try {
        key = b64urlDecode(match[0]);
      } catch (e) {
        key = null;
      }
      if (key && key.length !== 32) {
        key = null;
      }
    }
    return { linkId: linkId, path: path, key: key, keyText: match ? match[0] : "", mangled: mangled };
  }

  // Opened as a Telegram Web App, the client appends "?tgWebAppData=..." (signed init data)
  // after our key in the #fragment; the server checks it belongs to the requester.
  function initData() {
    var hash = location.hash ? location.hash.slice(1) : "";
    var at = hash.indexOf("?");
    if (at < 0) {
      at = hash.indexOf("&");
    }
    if (at < 0) {
      return "";
    }
    try {
      return new URLSearchParams(hash.slice(at + 1)).get("tgWebAppData") || "";
    } catch (e) {
      return "";
    }
  }

  function setUrl(path, fragment) {
    try {
      history.replaceState(null, "", path + (fragment ? "#" + fragment : ""));
    } catch (e) {
      // Nothing to do: the page still works.
    }
  }

  function copyText(text, valueEl, copyButton) {
    function done(ok) {
      var old = "Salin";
      copyButton.textContent = ok ? "Tersalin" : "Tekan lama untuk menyalin";
      setTimeout(function () {
        copyButton.textContent = old;
      }, 2000);
    }
    function fallback() {
      var ok = false;
      try {
        var range = document.createRange();
        range.selectNodeContents(valueEl);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      done(ok);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () {
        done(true);
      }, fallback);
    } else {
      fallback();
    }
  }

  function showSecret(secret, ticketNumber) {
    var fields = document.getElementById("fields");
    var keys = ORDER.filter(function (k) {
      return typeof secret[k] === "string";
    });
    keys.forEach(function (k) {
      var row = document.createElement("div");
      row.className = "field";
      var label = document.createElement("dt");
      label.textContent = LABELS[k];
      var value = document.createElement("dd");
      var code = document.createElement("code");
      code.className = "value";
      code.textContent = secret[k];
      var copy = document.createElement("button");
      copy.type = "button";
      copy.className = "copy";
      copy.textContent = "Salin";
      copy.setAttribute("aria-label", "Salin " + LABELS[k]);
      copy.addEventListener("click", function () {
        copyText(secret[k], code, copy);
      });
      value.appendChild(code);
      value.appendChild(copy);
      row.appendChild(label);
      row.appendChild(value);
      fields.appendChild(row);
    });
    if (ticketNumber) {
      var ticketEl = document.getElementById("ticket");
      ticketEl.textContent = "Tiket " + ticketNumber;
      ticketEl.hidden = false;
    }
    readyEl.hidden = true;
    resultEl.hidden = false;
  }

  async function reveal(where) {
    button.disabled = true;
    button.textContent = "Membuka…";
    hideMessage();
    var subtle = window.crypto && window.crypto.subtle;
    if (!subtle) {
      showMessage("Browser ini tidak bisa membuka link dengan aman. Buka link di Chrome, " +
        "Safari atau Firefox versi terbaru.");
      button.textContent = "Tampilkan";
      button.disabled = false;
      return;
    }
    var digest = new Uint8Array(await subtle.digest("SHA-256", where.key));
    var keyHash = hex(digest.slice(0, 16));
    var body = { key_hash: keyHash };
    if (where.initData) {
      body.init_data = where.initData;
    }
    var response;
    try {
      response = await fetch(encodeURIComponent(where.linkId) + "/reveal", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
        // The page says no-referrer; that would make the browser send "Origin: null".
        referrerPolicy: "strict-origin",
      });
    } catch (e) {
      showMessage("Gagal terhubung. Periksa koneksi internet Anda lalu tekan Tampilkan lagi.");
      button.textContent = "Tampilkan";
      button.disabled = false;
      return;
    }
    var data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      var text = data && typeof data.error === "string"
        ? data.error
        : "Terjadi kesalahan (" + response.status + "). Coba lagi beberapa saat lagi.";
      showMessage(text);
      if (response.status >= 500 || response.status === 429) {
        button.textContent = "Tampilkan";
        button.disabled = false;
      } else {
        readyEl.hidden = true;
      }
      return;
    }
    // The link is used up now: the key is of no more use, take it out of the address bar.
    setUrl(where.path, "");
    try {
      var cryptoKey = await subtle.importKey("raw", where.key, { name: "AES-GCM" }, false, [
        "decrypt",
      ]);
      var plain = await subtle.decrypt(
        {
          name: "AES-GCM",
          iv: b64urlDecode(data.iv),
          additionalData: new TextEncoder().encode(data.aad),
          tagLength: 128,
        },
        cryptoKey,
        b64urlDecode(data.ciphertext)
      );
      showSecret(JSON.parse(new TextDecoder().decode(plain)), data.aad);
    } catch (e) {
      readyEl.hidden = true;
      showMessage("Isi link tidak bisa dibuka. Minta admin mengirim ulang link baru.");
    }
  }

  var where = parseLocation();
  where.initData = initData();
  if (where.mangled && where.key) {
    setUrl(where.path, where.keyText);
  }
  // Pasting the full link into this tab changes only the #fragment: the browser does not
  // reload, so read the link again.
  window.addEventListener("hashchange", function () {
    location.reload();
  });
  if (!where.key) {
    showMessage("Link tidak lengkap. Salin seluruh link dari pesan, termasuk bagian " +
      "setelah tanda #, lalu buka lagi.");
    return;
  }
  readyEl.hidden = false;
  button.addEventListener("click", function () {
    reveal(where).catch(function () {
      button.textContent = "Tampilkan";
      button.disabled = false;
      showMessage("Terjadi kesalahan. Coba lagi beberapa saat lagi.");
    });
  });
})();
