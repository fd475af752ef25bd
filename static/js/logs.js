// The Logs page: open the request dialog once its detail has loaded, and treat an edited
// "From" or "To" as choosing the custom range (without JavaScript, pick "Custom" by hand).
(function () {
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "log-dialog-body") {
      var dialog = document.getElementById("log-dialog");
      if (dialog && !dialog.open) dialog.showModal();
    }
  });
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.form || (field.name !== "from" && field.name !== "to")) return;
    var range = field.form.elements.namedItem("range");
    if (range && field.value) range.value = "custom";
  });
})();
