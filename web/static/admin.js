// Staff pages work without this file. It adds: a confirmation dialog
// before a decision (the server asks too when the script is off), the
// keyboard shortcuts the case page lists, the photo viewer (zoom, rotate,
// contrast), the user-facing text of the picked reject reason, questions
// before other dangerous forms, and no double submissions.
(function () {
  "use strict";

  var dialog = document.getElementById("confirm-dialog");
  var pending = null; // the decision form waiting for the dialog

  function send(form) {
    if (form.dataset.sent) { return; }
    form.dataset.sent = "1";
    // Disable after the browser has read the form, so the button's own
    // name/value (if any) is still sent.
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  }

  // askDecision opens the dialog for a decision form; Enter confirms
  // (the confirm button has the focus), Esc cancels.
  function askDecision(form) {
    if (!dialog || typeof dialog.showModal !== "function") { return false; }
    pending = form;
    document.getElementById("confirm-text").textContent = form.getAttribute("data-confirm-text") || "";
    var user = document.getElementById("confirm-user");
    var select = form.querySelector("select[name=reason]");
    var opt = select && select.selectedOptions[0];
    user.textContent = opt && opt.dataset.userText ? opt.dataset.userText : "";
    dialog.returnValue = "";
    dialog.showModal();
    document.getElementById("dialog-ok").focus();
    return true;
  }

  if (dialog) {
    dialog.addEventListener("close", function () {
      var form = pending;
      pending = null;
      if (!form || dialog.returnValue !== "ok") { return; }
      form.querySelector("input[name=confirm]").value = "1";
      send(form);
      form.submit(); // submit() does not fire the submit event again
    });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.dataset.sent) {
      ev.preventDefault();
      return;
    }
    var confirmField = form.querySelector("input[name=confirm]");
    if (form.classList.contains("decision") && confirmField && confirmField.value !== "1") {
      if (!form.reportValidity()) { ev.preventDefault(); return; }
      if (askDecision(form)) { ev.preventDefault(); return; }
      // No dialog support: the server shows its confirmation step.
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
      return;
    }
    send(form);
  });

  // A page restored from the back/forward cache gets its buttons back.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });

  // What the user will read for the picked reject reason.
  var reason = document.getElementById("reject-reason");
  var userText = document.getElementById("user-text");
  if (reason && userText) {
    var hint = userText.textContent;
    reason.addEventListener("change", function () {
      var opt = reason.selectedOptions[0];
      userText.textContent = opt && opt.dataset.userText ? "→ " + opt.dataset.userText : hint;
    });
    // Enter in the list sends the rejection (to the dialog).
    reason.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && reason.value) {
        ev.preventDefault();
        reason.form.requestSubmit();
      }
    });
  }

  // The photo viewer: one zoom, rotation and contrast for both sides, so
  // the reviewer compares them the same way.
  var view = { zoom: 1, turn: 0, contrast: 1 };
  var photos = document.querySelectorAll("img[data-photo]");
  function paint() {
    photos.forEach(function (img) {
      img.style.transform = "scale(" + view.zoom + ") rotate(" + view.turn + "deg)";
      img.style.filter = "contrast(" + view.contrast + ")";
      img.closest(".frame").classList.toggle("zoomed", view.zoom > 1);
    });
  }
  var tools = {
    "zoom-in": function () { view.zoom = Math.min(4, view.zoom * 1.25); },
    "zoom-out": function () { view.zoom = Math.max(1, view.zoom / 1.25); },
    "rotate": function () { view.turn = (view.turn + 90) % 360; },
    "contrast": function () { view.contrast = view.contrast >= 2 ? 1 : view.contrast + 0.5; },
    "reset": function () { view = { zoom: 1, turn: 0, contrast: 1 }; }
  };
  document.querySelectorAll("[data-view]").forEach(function (b) {
    b.addEventListener("click", function () { tools[b.dataset.view](); paint(); });
  });
  photos.forEach(function (img) {
    // Wheel zooms; a click toggles 2x; dragging a zoomed photo pans it.
    img.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      tools[ev.deltaY < 0 ? "zoom-in" : "zoom-out"]();
      paint();
    }, { passive: false });
    img.addEventListener("dblclick", function () { view.zoom = view.zoom > 1 ? 1 : 2; paint(); });
    img.addEventListener("mousemove", function (ev) {
      if (view.zoom <= 1) { return; }
      var r = img.getBoundingClientRect();
      img.style.transformOrigin = ((ev.clientX - r.left) / r.width * 100) + "% " + ((ev.clientY - r.top) / r.height * 100) + "%";
    });
  });

  // Shortcuts: a key clicks the element with that data-key, or runs a
  // viewer tool; never while typing in a field or with a modifier held.
  var keys = { "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "o": "rotate", "k": "contrast", "0": "reset" };
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || (dialog && dialog.open)) { return; }
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) { return; }
    var key = ev.key.toLowerCase();
    if (keys[key] && photos.length) {
      ev.preventDefault();
      tools[keys[key]]();
      paint();
      return;
    }
    if (key === "r") {
      // Reject needs a reason first: focus the list (arrows pick, Enter sends).
      var list = document.getElementById("reject-reason");
      if (list) { ev.preventDefault(); list.focus(); }
      return;
    }
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) { return; }
    ev.preventDefault();
    if (target.tagName === "A") { window.location.href = target.href; return; }
    if (target.form) { target.form.requestSubmit(target); return; }
    target.click();
  });
})();
