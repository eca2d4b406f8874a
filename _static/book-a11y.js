// Names for what vega-embed draws in the browser (#17 item 8): each chart's action menu is a <details>
// whose <summary> holds only an icon, so a screen reader announced a nameless control (axe: summary-name).
// Every such summary, present at load or added when a chart is drawn, is named "Chart actions" and its
// icon is hidden from assistive technology. Nothing else on the page is touched.
(function () {
  "use strict";
  var SELECTOR = ".vega-embed > details > summary";
  var NAME = "Chart actions";
  var XHTML = "http://www.w3.org/1999/xhtml";
  function name(root) {
    var summaries = root.querySelectorAll ? root.querySelectorAll(SELECTOR) : [];
    Array.prototype.forEach.call(summaries, function (summary) {
      if (summary.hasAttribute("aria-label")) return;
      summary.setAttribute("aria-label", NAME);
      Array.prototype.forEach.call(summary.querySelectorAll("svg"), function (icon) {
        icon.setAttribute("aria-hidden", "true");
        icon.setAttribute("focusable", "false");
      });
    });
  }
  function start() {
    name(document);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        Array.prototype.forEach.call(change.addedNodes, function (node) {
          // a chart's marks are SVG elements, many and never a menu: skip them at once
          if (node.nodeType !== 1 || node.namespaceURI !== XHTML) return;
          if (node.tagName === "DETAILS" || node.tagName === "SUMMARY") name(node.parentNode || node);
          else if (node.firstElementChild) name(node);
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
