// Staff pages work without this file; it only adds confirmations on
// dangerous forms and stops double submissions.
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
      return;
    }
    if (form.dataset.sent) {
      ev.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    // Disable after the browser has read the form, so the button's own
    // name/value (if any) is still sent.
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  // A page restored from the back/forward cache gets its buttons back.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });
})();
