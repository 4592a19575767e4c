/* JoPay pay page and receipt: how amounts read (loaded before pay.js).
 * Money stays text from integers: nothing here parses an amount as a number. */
window.JoPayFormat = (function () {
  "use strict";
  // "1234567.891234" → "1,234,567.891234", as presenters.group_usdc renders it
  // (a test keeps the two equal). Only for reading: what is copied or given to
  // a wallet stays the exact, ungrouped text.
  function groupUsdc(text) {
    var parts = String(text).split(".");
    var sign = parts[0].charAt(0) === "-" ? "-" : "";
    var whole = sign ? parts[0].slice(1) : parts[0];
    whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + whole + (parts.length > 1 ? "." + parts[1] : "");
  }
  return { groupUsdc: groupUsdc };
})();
