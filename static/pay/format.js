/* JoPay pay page and receipt: how amounts and times read (loaded before pay.js).
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

  // Every time the server wrote in UTC (<time datetime="...Z">2026-04-17 17:00
  // UTC</time>, right without a script) is shown in the device's own time zone,
  // named, so the page never mixes the two; the UTC text stays as its tooltip.
  // data-seconds keeps the seconds (the receipt's verification time).
  function localizeTimes(root) {
    if (!window.Intl || !Intl.DateTimeFormat) return;
    var times = (root || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var el = times[i], at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at) || el.hasAttribute("data-utc")) continue;
      var options = { year: "numeric", month: "short", day: "numeric",
                      hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
      if (el.hasAttribute("data-seconds")) options.second = "2-digit";
      el.setAttribute("data-utc", el.textContent);
      el.title = el.textContent;
      el.textContent = new Intl.DateTimeFormat(undefined, options).format(new Date(at));
    }
  }
  localizeTimes(document);

  // A Retry-After for a customer, as jopay_project.formats.wait_in_words: "40 seconds",
  // "about 12 minutes" (rounded up: never sooner than the limiter).
  function waitInWords(seconds) {
    if (seconds < 60) return seconds + " second" + (seconds !== 1 ? "s" : "");
    var minutes = Math.ceil(seconds / 60);
    return "about " + minutes + " minute" + (minutes !== 1 ? "s" : "");
  }

  return { groupUsdc: groupUsdc, localizeTimes: localizeTimes, waitInWords: waitInWords };
})();
