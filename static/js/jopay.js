/* Behaviour shared by every page, kept out of the HTML so the Content-Security-Policy
 * can refuse inline script: [data-copy] copies its value, [data-print] prints. */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var print = e.target.closest("[data-print]");
    if (print) { window.print(); return; }
    var t = e.target.closest("[data-copy]");
    if (!t) return;
    // The label is kept once: a second click within the pause saved "Copied"
    // as the label and the button stayed on it. "Copied" only when it was.
    if (!t.hasAttribute("data-label")) t.setAttribute("data-label", t.textContent);
    var label = t.getAttribute("data-label");
    function say(text) {
      t.textContent = text;
      clearTimeout(t._jopayTimer);
      t._jopayTimer = setTimeout(function () { t.textContent = label; }, 1200);
    }
    if (!navigator.clipboard) { say("Copy failed"); return; }
    navigator.clipboard.writeText(t.getAttribute("data-copy")).then(
      function () { say("Copied"); }, function () { say("Copy failed"); });
  });
})();
