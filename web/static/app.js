// director web UI: progressive enhancement only. Without this script every action still works: the server
// asks for confirmation on a page, and pages show the state as of their load.
"use strict";
(function () {
  // Confirmation in a <dialog> for buttons that take traffic away (data-confirm, with the question or empty
  // for a real-server row's action), and for a weight of 0 (data-zero).
  var dialog = null;
  function ask(text) {
    return new Promise(function (resolve) {
      if (!dialog) {
        dialog = document.createElement("dialog");
        dialog.className = "confirm";
        dialog.setAttribute("aria-labelledby", "confirm-text");
        dialog.innerHTML = '<form method="dialog"><p id="confirm-text"></p><div class="buttons">' +
          '<button value="ok" class="danger">Confirm</button> <button value="cancel">Cancel</button></div></form>';
        document.body.appendChild(dialog);
      }
      dialog.querySelector("p").textContent = text;
      dialog.returnValue = "";
      dialog.onclose = function () { resolve(dialog.returnValue === "ok"); };
      dialog.showModal();
    });
  }
  var why = {
    drain: "It gets no new connections; the open ones finish.",
    disable: "It leaves the kernel table and its connections are cut.",
    delete: "It is removed on every director and its connections are cut."
  };
  // What a button of a real-server row is about: the address in the row's header cell.
  function subject(button) {
    var row = button.closest("tr"), th = row && row.querySelector("th");
    return th && th.firstChild ? th.firstChild.textContent.trim() : "";
  }
  function question(form, button) {
    if (button.hasAttribute("data-confirm")) {
      if (button.dataset.confirm) return button.dataset.confirm;
      return button.textContent.trim() + " " + subject(button) + "? " + (why[button.value] || "");
    }
    if (button.hasAttribute("data-zero")) {
      var w = form.elements.namedItem("weight");
      if (w && w.value.trim() === "0") return "Set the weight of " + subject(button) + " to 0? " + why.drain;
    }
    return null;
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target, button = ev.submitter;
    if (!button || form.dataset.confirmed) return;
    var text = question(form, button);
    if (!text) return;
    ev.preventDefault();
    ask(text).then(function (ok) {
      if (!ok) return;
      var c = document.createElement("input");
      c.type = "hidden";
      c.name = "confirm";
      c.value = "yes";
      form.appendChild(c);
      form.dataset.confirmed = "1";
      form.requestSubmit(button);
    });
  });

  // Live state: elements with data-live="URL" are refreshed from that URL every few seconds, unless the
  // user is typing in them.
  function busy(el) {
    if (el.contains(document.activeElement) && document.activeElement !== document.body) return true;
    var inputs = el.querySelectorAll("input");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      if (input.type === "checkbox" || input.type === "radio") {
        if (input.checked !== input.defaultChecked) return true;
      } else if (input.type !== "hidden" && input.value !== input.defaultValue) {
        return true;
      }
    }
    return (dialog && dialog.open);
  }
  function refresh(el) {
    if (document.hidden || busy(el)) return;
    fetch(el.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok && !r.redirected ? r.text() : Promise.reject(r.status); })
      .then(function (html) { if (!busy(el)) el.innerHTML = html; })
      .catch(function () {});
  }
  // A box in the heading of the selection column ticks every row's box (bulk actions).
  document.querySelectorAll("th.pick").forEach(function (th) {
    var all = document.createElement("input");
    all.type = "checkbox";
    all.setAttribute("aria-label", "Select every real server");
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=rs][form=bulk]").forEach(function (box) { box.checked = all.checked; });
    });
    th.appendChild(all);
  });

  document.querySelectorAll("[data-live]").forEach(function (el) {
    setInterval(function () { refresh(el); }, 5000);
  });
})();
