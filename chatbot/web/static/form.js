// The admin's hand-over form: user id and/or new password go to the server once, by POST,
// and from there only into a sealed one-time link for the requester. "Buat password" makes a
// strong password here in the browser (crypto.getRandomValues), by the same rules as
// chatbot/services/passwords.py.
"use strict";

(function () {
  var UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ";
  var LOWER = "abcdefghijkmnpqrstuvwxyz";
  var DIGITS = "23456789";
  var SYMBOLS = "!@#$%*-_+=?";
  var LENGTH = 14;

  var form = document.getElementById("form");
  var messageEl = document.getElementById("message");
  var submit = document.getElementById("submit");
  var userId = document.getElementById("user_id");
  var password = document.getElementById("password");
  var generate = document.getElementById("generate");
  var copy = document.getElementById("copy-password");

  function showMessage(text) {
    messageEl.textContent = text;
    messageEl.hidden = false;
  }

  function hideMessage() {
    messageEl.hidden = true;
    messageEl.textContent = "";
  }

  // A uniform random index below n, without modulo bias.
  function randomIndex(n) {
    var limit = Math.floor(0x100000000 / n) * n;
    var buffer = new Uint32Array(1);
    do {
      window.crypto.getRandomValues(buffer);
    } while (buffer[0] >= limit);
    return buffer[0] % n;
  }

  function strongPassword() {
    var classes = [UPPER, LOWER, DIGITS, SYMBOLS];
    var alphabet = classes.join("");
    for (;;) {
      var out = "";
      for (var i = 0; i < LENGTH; i++) {
        out += alphabet.charAt(randomIndex(alphabet.length));
      }
      var complete = classes.every(function (group) {
        for (var j = 0; j < out.length; j++) {
          if (group.indexOf(out.charAt(j)) >= 0) {
            return true;
          }
        }
        return false;
      });
      if (complete) {
        return out;
      }
    }
  }

  // Control, format, private-use and surrogate characters (identity.HIDDEN_CATEGORIES; Zl/Zp
  // are caught as spaces); null where the browser lacks Unicode property escapes.
  var HIDDEN = (function () {
    try {
      return new RegExp("[\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}]", "u");
    } catch (e) {
      return null;
    }
  })();

  // Same rules as the server's passwords.problem(); the server checks again.
  function passwordProblem(value) {
    if (value.length < 8) {
      return "Password minimal 8 karakter.";
    }
    if (value.length > 64) {
      return "Password maksimal 64 karakter.";
    }
    if (HIDDEN && HIDDEN.test(value)) {
      return "Password mengandung karakter tak terlihat atau karakter kontrol.";
    }
    if (/\s/.test(value)) {
      return "Password tidak boleh mengandung spasi.";
    }
    if (!/[A-Za-z]/.test(value) || !/[0-9]/.test(value)) {
      return "Password harus memuat huruf dan angka.";
    }
    return null;
  }

  // Opened as a Telegram Web App, the client appends signed init data to the #fragment.
  function initData() {
    var hash = location.hash ? location.hash.slice(1) : "";
    var query = hash.indexOf("?") >= 0 ? hash.slice(hash.indexOf("?") + 1) : hash;
    try {
      return new URLSearchParams(query).get("tgWebAppData") || "";
    } catch (e) {
      return "";
    }
  }

  function copyPassword() {
    var value = password.value;
    function done(ok) {
      copy.textContent = ok ? "Tersalin" : "Tekan lama untuk menyalin";
      setTimeout(function () {
        copy.textContent = "Salin";
      }, 2000);
    }
    if (!value) {
      return;
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(value).then(
        function () {
          done(true);
        },
        function () {
          password.select();
          done(document.execCommand("copy"));
        }
      );
    } else {
      password.select();
      done(document.execCommand("copy"));
    }
  }

  async function send(event) {
    event.preventDefault();
    hideMessage();
    var body = {};
    if (userId) {
      body.user_id = userId.value.trim();
      if (body.user_id.length < 2) {
        showMessage("Isi User ID SPSE pemohon.");
        userId.focus();
        return;
      }
    }
    if (password) {
      body.password = password.value.trim();
      var problem = passwordProblem(body.password);
      if (problem) {
        showMessage(problem);
        password.focus();
        return;
      }
    }
    var tg = initData();
    if (tg) {
      body.init_data = tg;
    }
    submit.disabled = true;
    submit.textContent = "Mengirim…";
    var response;
    try {
      response = await fetch(location.pathname, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
        referrerPolicy: "strict-origin",
      });
    } catch (e) {
      showMessage("Gagal terhubung. Periksa koneksi lalu tekan Kirim lagi.");
      submit.disabled = false;
      submit.textContent = "Kirim ke pemohon";
      return;
    }
    var data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (response.ok && data && data.ok) {
      form.hidden = true;
      // Nothing of what was typed stays on the page.
      if (password) {
        password.value = "";
      }
      document.getElementById("done-text").textContent = data.message;
      document.getElementById("done").hidden = false;
      return;
    }
    showMessage(
      data && typeof data.error === "string"
        ? data.error
        : "Terjadi kesalahan (" + response.status + "). Coba lagi."
    );
    if (response.status === 410 || response.status === 403) {
      form.hidden = true;
      return;
    }
    submit.disabled = false;
    submit.textContent = "Kirim ke pemohon";
  }

  if (!window.crypto || !window.crypto.getRandomValues || !window.fetch) {
    showMessage("Browser ini terlalu lama. Buka formulir di Chrome, Safari atau Firefox terbaru.");
    return;
  }
  form.hidden = false;
  form.addEventListener("submit", function (event) {
    send(event).catch(function () {
      submit.disabled = false;
      submit.textContent = "Kirim ke pemohon";
      showMessage("Terjadi kesalahan. Coba lagi.");
    });
  });
  if (generate) {
    generate.addEventListener("click", function () {
      password.value = strongPassword();
      hideMessage();
    });
  }
  if (copy) {
    copy.addEventListener("click", copyPassword);
  }
})();
