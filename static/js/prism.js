// Small behaviours for every page: theme toggle, dialogs, toasts (also from htmx events).
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
