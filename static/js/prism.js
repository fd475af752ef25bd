// Small behaviours for every page: theme toggle, dialogs (the one confirmation dialog too),
// toasts (also from htmx events).
(function () {
  function toast(level, message) {
    var area = document.getElementById("toasts");
    if (!area) return;
    var item = document.createElement("div");
    item.className = "toast toast-" + (level || "info");
    item.setAttribute("role", level === "error" ? "alert" : "status");
    item.textContent = message;
    area.appendChild(item);
    setTimeout(function () { item.remove(); }, 6000);
  }
  window.prismToast = toast;

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-theme-toggle]");
    if (toggle) {
      var root = document.documentElement;
      var dark = root.dataset.theme ? root.dataset.theme === "dark"
        : window.matchMedia("(prefers-color-scheme: dark)").matches;
      root.dataset.theme = dark ? "light" : "dark";
      try { localStorage.setItem("prism-theme", root.dataset.theme); } catch (e) {}
    }
    // Browsers without invoker commands (command/commandfor) get the same behaviour here.
    var opener = event.target.closest("[data-dialog-open]");
    if (opener && !("command" in HTMLButtonElement.prototype)) {
      var dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog) dialog.showModal();
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer && !("command" in HTMLButtonElement.prototype)) {
      var parent = closer.closest("dialog");
      if (parent) parent.close();
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.dataset.copy);
      var text = source ? (source.value || source.textContent) : "";
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () { toast("success", "Copied to the clipboard."); },
          function () { toast("error", "Copy failed: select the text and copy it by hand."); });
      }
    }
  });

  // A click on the backdrop closes a dialog that allows it (data-backdrop-close on the dialog or
  // on what it shows), as Esc does; the click lands on the dialog itself, outside its box.
  document.addEventListener("click", function (event) {
    var dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement) || !dialog.open) return;
    if (!dialog.hasAttribute("data-backdrop-close") && !dialog.querySelector("[data-backdrop-close]")) return;
    var box = dialog.getBoundingClientRect();
    var inside = event.clientX >= box.left && event.clientX <= box.right &&
      event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) dialog.close();
  });

  // A dialog showing a one-time result (a new key's secret, marked data-dialog-result) takes
  // it off the page and refreshes what it changed however it closes: button, Esc and backdrop
  // all fire `close` (which does not bubble, hence the capture). The dialog's
  // data-refresh-target names the part to fetch again; without one the page reloads.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement)) return;
    var result = dialog.querySelector("[data-dialog-result]");
    if (!result) return;
    result.remove();
    var target = dialog.dataset.refreshTarget && document.querySelector(dialog.dataset.refreshTarget);
    if (target && window.htmx) {
      window.htmx.ajax("GET", window.location.pathname + window.location.search,
        { target: target, swap: "outerHTML" });
    } else {
      window.location.reload();
    }
  }, true);

  // The one confirmation dialog (templates/components/confirm_dialog.html) answers every
  // hx-confirm instead of the browser's own confirm box: the request goes out only on Confirm. Focus
  // moves into the dialog (Cancel) and returns to where it was when the dialog closes.
  document.body.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.question;
    var dialog = document.getElementById("confirm-dialog");
    if (!question || !dialog) return;
    event.preventDefault();
    var source = event.detail.elt.closest("[hx-confirm]") || event.detail.elt;
    var detail = document.getElementById("confirm-dialog-detail");
    document.getElementById("confirm-dialog-question").textContent = question;
    detail.textContent = source.dataset.confirmDetail || "";
    detail.hidden = !detail.textContent;
    document.getElementById("confirm-dialog-accept").textContent = source.dataset.confirmLabel || "Confirm";
    var opener = document.activeElement;
    dialog.returnValue = "";
    dialog.addEventListener("close", function () {
      if (opener && opener.isConnected) opener.focus();
      if (dialog.returnValue === "confirm") event.detail.issueRequest(true);
    }, { once: true });
    dialog.showModal();
  });

  document.body.addEventListener("toast", function (event) {
    var items = event.detail && event.detail.value !== undefined ? event.detail.value : event.detail;
    (Array.isArray(items) ? items : [items]).forEach(function (item) {
      if (item && item.message) toast(item.level, item.message);
    });
  });
  document.body.addEventListener("closeDialog", function () {
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr.getResponseHeader("HX-Trigger")) toast("error", "The request failed (" + xhr.status + "). Reload and try again.");
  });
  // Listeners in this file instead of hx-on attributes: those are evaluated as code, which the
  // Content-Security-Policy (no 'unsafe-eval') and htmx's allowEval=false refuse.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var opener = event.detail.elt.closest("[data-opens-dialog]");
    if (opener && event.detail.successful) {
      var dialog = document.getElementById(opener.dataset.opensDialog);
      if (dialog) dialog.showModal();
    }
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var form = event.detail.elt.closest("form[data-reset-on-error]");
    if (form) form.reset();
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("error", "The server could not be reached.");
  });
  setTimeout(function () {
    document.querySelectorAll("#toasts .toast").forEach(function (t) { t.remove(); });
  }, 6000);
})();
