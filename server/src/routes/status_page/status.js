// The self-service page: asks POST /v1/self-status and shows the answer.
// Text is set with textContent only, never as HTML.
"use strict";
(function () {
  var form = document.getElementById("form");
  var answer = document.getElementById("answer");

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function bilingual(tag, id, en, cls) {
    var e = el(tag, id + " ", cls);
    e.appendChild(el("span", "/ " + en, "en"));
    return e;
  }

  function showError(id, en) {
    answer.replaceChildren(bilingual("p", id, en, "error"));
    answer.dataset.state = "error";
  }

  function showPrograms(body) {
    answer.replaceChildren();
    if (body.programs.length === 0) {
      answer.appendChild(bilingual("p", "Anda tidak terdaftar dalam program bantuan sosial.",
        "You are not enrolled in any social assistance program."));
      answer.dataset.state = "none";
      return;
    }
    var table = el("table");
    var head = el("tr");
    [["Program", "Program"], ["Periode", "Period"], ["Pembayaran", "Payment"]].forEach(function (h) {
      head.appendChild(bilingual("th", h[0], h[1]));
    });
    table.appendChild(head);
    body.programs.forEach(function (p) {
      var row = el("tr");
      row.className = "program";
      row.dataset.program = p.program;
      row.dataset.paid = String(p.paid);
      row.appendChild(el("td", p.name + " (" + p.program + ")"));
      row.appendChild(el("td", p.period));
      row.appendChild(p.paid
        ? bilingual("td", "Sudah dibayar", "Paid", "paid")
        : bilingual("td", "Belum dibayar", "Not yet paid", "unpaid"));
      table.appendChild(row);
    });
    answer.appendChild(table);
    answer.dataset.state = "programs";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    answer.dataset.state = "asking";
    var body = JSON.stringify({
      nik: document.getElementById("nik").value.trim(),
      birth_date: document.getElementById("birth_date").value
    });
    fetch("/v1/self-status", { method: "POST", headers: { "Content-Type": "application/json" }, body: body })
      .then(function (r) {
        return r.json().then(function (j) { return { status: r.status, body: j }; });
      })
      .then(function (r) {
        if (r.status === 200) showPrograms(r.body);
        else if (r.status === 404) showError("Data tidak ditemukan. Periksa NIK dan tanggal lahir Anda.",
          "No record found. Check your NIK and date of birth.");
        else if (r.status === 429) showError("Terlalu banyak permintaan. Coba lagi dalam satu menit.",
          "Too many requests. Try again in a minute.");
        else if (r.status === 400) showError("NIK atau tanggal lahir tidak valid.",
          "The NIK or the date of birth is not valid.");
        else showError("Layanan sedang tidak tersedia.", "The service is unavailable.");
      })
      .catch(function () {
        showError("Layanan sedang tidak tersedia.", "The service is unavailable.");
      });
  });
})();
