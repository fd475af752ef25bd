// Applies the saved theme before first paint; without a saved choice the OS preference rules.
(function () {
  var saved = null;
  try { saved = localStorage.getItem("prism-theme"); } catch (e) {}
  if (saved === "light" || saved === "dark") document.documentElement.dataset.theme = saved;
})();
