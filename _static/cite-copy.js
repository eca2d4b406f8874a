/* The "Copy citation" and "Copy BibTeX" buttons under each figure (analysis.book.citation): a click
   copies the text of the citation block's element the button names (only .cite-text or .cite-bibtex)
   to the clipboard. Loads nothing; works on a page opened from disk or from a local server. */
(function () {
  "use strict";
  var TARGETS = { "cite-text": ".cite-text", "cite-bibtex": ".cite-bibtex" };

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    document.body.removeChild(area);
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function say(button, word) {
    if (!button.dataset.label) { button.dataset.label = button.textContent; }
    button.textContent = word;
    window.setTimeout(function () { button.textContent = button.dataset.label; }, 1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.cite-copy") : null;
    if (!button) { return; }
    var selector = TARGETS[button.dataset.copy];
    var block = button.closest(".figure-cite");
    var source = selector && block ? block.querySelector(selector) : null;
    if (!source) { return; }
    copy(source.textContent).then(function () { say(button, "Copied"); },
                                  function () { say(button, "Select and copy"); });
  });
})();
