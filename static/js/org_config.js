// Settings > Organization: after a save, forms still open on the previous version move to the new
// one (they were opened by the same person, on the version just replaced), so only edits that
// started before someone else's save are refused as conflicts.
(function () {
  document.body.addEventListener("configSaved", function (event) {
    var detail = event.detail && event.detail.value !== undefined ? event.detail.value : event.detail;
    if (!detail || detail.version === undefined) return;
    document.querySelectorAll('input[name="base_version"]').forEach(function (input) {
      if (String(input.value) === String(detail.previous)) input.value = String(detail.version);
    });
  });
})();

// A field both editors changed shows both values; "Use theirs" puts the other value in the field.
(function () {
  document.body.addEventListener("click", function (event) {
    var button = event.target.closest("[data-use-theirs]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-use-theirs"));
    if (!input) return;
    var value = button.getAttribute("data-value") || "";
    if (input.type === "checkbox") input.checked = value === "on";
    else input.value = value;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    input.focus();
  });
})();
