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
