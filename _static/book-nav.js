// Phone navigation (#17): the theme stack draws two buttons for each sidebar (the site header's and the
// article header's), but pydata-sphinx-theme opens its sidebar dialog from the first one only, which is
// hidden on a narrow screen, so tapping the visible "menu" or "on this page" button did nothing. When a
// sidebar is off screen, a tap on any of its buttons is handed to the one the theme listens to.
(function () {
  "use strict";
  function offScreen(sidebar) {
    if (!sidebar) return true;
    const style = window.getComputedStyle(sidebar);
    const box = sidebar.getBoundingClientRect();
    return style.display === "none" || style.visibility === "hidden" || box.right <= 0 || box.width === 0;
  }
  function wire(kind) {
    const toggles = Array.from(document.querySelectorAll("." + kind + "-toggle"));
    const first = toggles[0];
    const sidebar = document.getElementById("pst-" + kind + "-sidebar");
    const dialog = document.getElementById("pst-" + kind + "-sidebar-modal");
    if (!first || !dialog) return;
    toggles.slice(1).forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!offScreen(sidebar) || dialog.open) return;
        event.preventDefault();
        event.stopImmediatePropagation();
        first.click();
      }, true);
    });
  }
  function start() { wire("primary"); wire("secondary"); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
