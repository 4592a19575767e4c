/* Behaviour shared by every page, kept out of the HTML so the Content-Security-Policy
 * can refuse inline script: [data-copy] copies its value, [data-print] prints. */
(function () {
  "use strict";
  // Controls that only this script makes work are drawn hidden (data-script-only):
  // with scripts off a Copy that copied nothing left the clipboard's old text
  // to be pasted (a recipient address into a wallet).
  var scriptOnly = document.querySelectorAll("[data-script-only][hidden]");
  for (var i = 0; i < scriptOnly.length; i++) scriptOnly[i].hidden = false;
  document.addEventListener("click", function (e) {
    var print = e.target.closest("[data-print]");
    if (print) { window.print(); return; }
    var t = e.target.closest("[data-copy]");
    if (!t) return;
    // The label is kept once: a second click within the pause saved "Copied"
    // as the label and the button stayed on it. "Copied" only when it was.
    if (!t.hasAttribute("data-label")) t.setAttribute("data-label", t.textContent);
    // An aria-label ("Copy the amount") is the name a screen reader reads, so
    // it says "Copied" too, or the outcome was never heard.
    if (t.hasAttribute("aria-label") && !t.hasAttribute("data-aria-label")) {
      t.setAttribute("data-aria-label", t.getAttribute("aria-label"));
    }
    var label = t.getAttribute("data-label"), name = t.getAttribute("data-aria-label");
    function show(text, spoken) {
      t.textContent = text;
      if (name) t.setAttribute("aria-label", spoken);
    }
    function say(text) {
      show(text, text);
      clearTimeout(t._jopayTimer);
      t._jopayTimer = setTimeout(function () { show(label, name); }, 1200);
    }
    if (!navigator.clipboard) { say("Copy failed"); return; }
    navigator.clipboard.writeText(t.getAttribute("data-copy")).then(
      function () { say("Copied"); }, function () { say("Copy failed"); });
  });
})();
