/* Behaviour shared by every page, kept out of the HTML so the Content-Security-Policy
 * can refuse inline script: [data-copy] copies its value, [data-print] prints. */
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var print = e.target.closest("[data-print]");
    if (print) { window.print(); return; }
    var t = e.target.closest("[data-copy]");
    if (!t) return;
    if (navigator.clipboard) navigator.clipboard.writeText(t.getAttribute("data-copy")).catch(function () {});
    var old = t.textContent;
    t.textContent = "Copied";
    setTimeout(function () { t.textContent = old; }, 1200);
  });
})();
