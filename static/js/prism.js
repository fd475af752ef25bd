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

// Page chrome: the side menu open on wide screens, row-action menus, the settings section menu.
(function () {
  // The side menu is a <details>: a "Menu" button on phones, always open from 768 px up.
  var wide = window.matchMedia("(min-width: 768px)");
  function syncDrawer() {
    document.querySelectorAll("[data-nav-drawer]").forEach(function (drawer) {
      if (wide.matches) drawer.open = true;
    });
  }
  syncDrawer();
  wide.addEventListener("change", syncDrawer);

  // Menus (<details class="menu">): one open at a time; Escape or a click elsewhere closes them.
  // A row's menu is placed with fixed coordinates so the table's scrolling wrapper cannot clip it.
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except && !menu.contains(except)) menu.open = false;
    });
  }
  function placeRowMenu(menu) {
    var items = menu.querySelector(".menu-items");
    var summary = menu.querySelector("summary");
    if (!items || !summary) return;
    var box = summary.getBoundingClientRect();
    items.classList.add("menu-fixed");
    var width = items.offsetWidth, height = items.offsetHeight;
    var left = Math.max(8, Math.min(box.right - width, window.innerWidth - width - 8));
    var top = box.bottom + 4;
    if (top + height > window.innerHeight - 8) top = Math.max(8, box.top - height - 4);
    items.style.left = left + "px";
    items.style.top = top + "px";
  }
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.classList.contains("menu") || !menu.open) return;
    closeMenus(menu);
    if (menu.hasAttribute("data-row-menu")) placeRowMenu(menu);
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest("details.menu")) closeMenus(null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = event.target.closest && event.target.closest("details.menu[open]");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });
  // An open row menu follows its button when the page or the table scrolls.
  function placeOpenRowMenus() {
    document.querySelectorAll("details[data-row-menu][open]").forEach(placeRowMenu);
  }
  window.addEventListener("resize", placeOpenRowMenus);
  document.addEventListener("scroll", placeOpenRowMenus, true);

  // Settings > Organization: mark the section in view in the section menu (aria-current).
  var sectionMenu = document.querySelector("[data-section-menu]");
  if (sectionMenu && "IntersectionObserver" in window) {
    var links = {};
    sectionMenu.querySelectorAll('a[href^="#"]').forEach(function (link) { links[link.hash.slice(1)] = link; });
    var visible = {};
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.target.isConnected) { observer.unobserve(entry.target); return; }
        visible[entry.target.id] = entry.isIntersecting;
      });
      var current = null;
      document.querySelectorAll(".settings-sections > [id]").forEach(function (section) {
        if (!current && visible[section.id] && links[section.id]) current = section.id;
      });
      if (!current) return;
      Object.keys(links).forEach(function (id) {
        if (id === current) {
          links[id].setAttribute("aria-current", "true");
          // Keep the current tab in view in the phone's sideways-scrolling row.
          if (sectionMenu.scrollWidth > sectionMenu.clientWidth) {
            sectionMenu.scrollLeft = links[id].offsetLeft - sectionMenu.clientWidth / 3;
          }
        } else links[id].removeAttribute("aria-current");
      });
    }, { rootMargin: "-120px 0px -55% 0px" });
    function observeSections() {
      document.querySelectorAll(".settings-sections > [id]").forEach(function (section) { observer.observe(section); });
    }
    observeSections();
    // A section swapped in by htmx (Edit, Save, Cancel) is a new element: watch it too.
    document.body.addEventListener("htmx:afterSwap", observeSections);
  }

  // A table wider than its card scrolls inside it: while it does, the keyboard must reach it too
  // (Tab to it, then the arrow keys), so its wrap becomes a focusable region named after the table.
  function focusableScrollers() {
    document.querySelectorAll(".table-wrap, .table-scroll, .log-table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        var table = wrap.querySelector("table");
        var caption = table && table.caption ? table.caption.textContent.trim() : "";
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", (table && table.getAttribute("aria-label")) || caption || "Table, scrolls sideways");
        wrap.dataset.scrollFocus = "true";
      } else if (!scrolls && wrap.dataset.scrollFocus) {
        ["tabindex", "role", "aria-label", "data-scroll-focus"].forEach(function (name) { wrap.removeAttribute(name); });
      }
    });
  }
  focusableScrollers();
  window.addEventListener("resize", focusableScrollers);
  document.body.addEventListener("htmx:afterSettle", focusableScrollers);
})();
