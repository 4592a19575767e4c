/* JoPay pay page: the live status and the clock (after pay.js, whose state and
 * drawing it drives through window.JoPayPage). No libraries. */
(function () {
  "use strict";
  var page = window.JoPayPage;
  if (!page) return;
  var cfg = page.cfg, NOTES = window.JoPayWords.NOTES;
  var $ = function (id) { return document.getElementById(id); };

  var POLL_MS = 3000;          // visible tab
  var HIDDEN_POLL_MS = 15000;  // background tab: the /status limit is shared per IP (D27)
  var MAX_BACKOFF_MS = 60000;  // a lost connection is retried at most this far apart
  var FETCH_TIMEOUT_MS = 8000; // a poll that hangs is a lost connection too

  function setText(id, text) { var el = $(id); if (el && el.textContent !== text) el.textContent = text; }

  // A new proof verdict (attached, mismatch, verified), another hash, or the
  // request cancelled or paid: the server renders the page again. A change of
  // status alone to expired is drawn here (pay.js's deadline code does it), so
  // a hash being typed during the grace is not wiped by the expiry task's run.
  function needsReload(s) {
    var shown = page.shown();
    if (s.proof_status !== shown.proof_status) return true;
    if ((s.tx_hash || "") !== shown.tx_hash) return true;
    if ((s.mismatch_reason || "") !== shown.mismatch_reason) return true;
    return s.status !== shown.status && (s.status === "cancelled" || s.status === "paid");
  }

  // One request at a time, every 3 s (15 s in a background tab). Stops when
  // nothing can change any more: verified, cancelled, an unknown link, or the
  // grace over with no hash being checked. A 429 waits out its Retry-After.
  var polling = false, timer = null, failures = 0, waiting = false;
  function finished() {
    var shown = page.shown();
    if (shown.proof_status === "verified" || shown.status === "cancelled" || shown.status === "paid") return true;
    // Not while the connection is lost: the state it would leave on the page
    // (expired, nothing found) is one the server has not confirmed.
    return page.phase() === "over" && shown.proof_status !== "attached" && failures === 0;
  }
  function schedule(ms, wait) {
    waiting = !!wait;
    clearTimeout(timer);
    timer = setTimeout(pollOnce, ms);
  }
  function nextDelay() { return document.hidden ? HIDDEN_POLL_MS : POLL_MS; }
  // After a failure: 3, 6, 12 … s, capped, jittered so tabs behind one address
  // spread out; never faster than the normal pace, so within D27's 120/min.
  function backoffDelay() {
    var ms = Math.min(MAX_BACKOFF_MS, POLL_MS * Math.pow(2, failures - 1));
    return Math.max(ms, nextDelay()) + Math.floor(Math.random() * 1000);
  }
  function startPolling() {
    if (polling || finished()) return;
    polling = true;
    schedule(nextDelay());
  }
  function stopPolling() { polling = false; clearTimeout(timer); timer = null; }
  function retryAfterMs(r, body) {
    var s = parseInt(r.headers.get("Retry-After"), 10);
    if (!(s > 0) && body && body.retry_after > 0) s = body.retry_after;
    if (!(s > 0)) s = 60;
    return s * 1000 + Math.floor(Math.random() * 1000);  // jitter: tabs behind one NAT spread out
  }

  // While polls fail the page keeps what it showed (never a verdict from
  // anything but a good answer), says the connection is lost, and dims the
  // status it can no longer vouch for; the next good answer undoes both.
  function setConnected(ok) {
    setText("pay-connection", ok ? "" : NOTES.connection_lost);
    var badge = $("pay-status");
    if (badge && ok) badge.removeAttribute("data-stale");
    else if (badge) badge.setAttribute("data-stale", "");
  }

  function onStatus(s) {
    if (s.status === "expired") page.sawExpired();
    if (needsReload(s)) {
      stopPolling();
      page.remember(s);
      window.location.reload();
      return;
    }
    page.remember(s);
    page.render();
  }

  function pollOnce() {
    timer = null;
    if (!polling) return;
    if (finished()) { stopPolling(); return; }
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    var deadline = ctrl ? setTimeout(function () { ctrl.abort(); }, FETCH_TIMEOUT_MS) : null;
    fetch(cfg.status_url, { headers: { "Accept": "application/json" }, cache: "no-store",
                            signal: ctrl ? ctrl.signal : undefined })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) {
          clearTimeout(deadline);
          if (!polling) return;
          if (r.status === 404) { stopPolling(); return; }
          if (r.status === 429) { schedule(retryAfterMs(r, body), true); return; }
          // A 5xx, or a 200 that is not ours (a captive portal's page): lost.
          if (!r.ok || !body || body.ok !== true) throw new Error("status " + r.status);
          failures = 0;
          setConnected(true);
          onStatus(body);
          if (polling && finished()) stopPolling();
          if (polling) schedule(nextDelay());
        });
      })
      .catch(function () {
        // Transient (network, timeout, 5xx): say so, try again, backing off.
        clearTimeout(deadline);
        failures += 1;
        setConnected(false);
        if (polling) schedule(backoffDelay());
      });
  }

  // Back online: try at once rather than at the end of the backoff.
  window.addEventListener("online", function () {
    if (polling && timer && !waiting && failures > 0) schedule(500);
  });

  document.addEventListener("visibilitychange", function () {
    // Back in view: catch up soon (never inside a 429's Retry-After).
    if (!document.hidden && polling && timer && !waiting) schedule(500);  // timer: none in flight
  });

  // What pay.js starts when a hash is taken or found being checked.
  window.JoPayStatus = { start: startPolling };

  // The clock: countdown, expiry of the send UI, end of the grace.
  var clock = page.live ? setInterval(function () {
    page.render();
    if (finished()) { stopPolling(); clearInterval(clock); }
  }, 1000) : null;

  if (page.live) startPolling();
})();
