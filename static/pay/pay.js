/* JoPay pay page: hash form, deadline, live status (the browser wallet is
 * wallet.js, the words words.js, amounts and times format.js, the hash form's
 * invalid fields fields.js). No libraries. */
(function () {
  "use strict";
  var cfgEl = document.getElementById("pay-config");
  if (!cfgEl) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var $ = function (id) { return document.getElementById(id); };

  var POLL_MS = 3000;          // visible tab
  var HIDDEN_POLL_MS = 15000;  // background tab: the /status limit is shared per IP (D27)
  var MAX_BACKOFF_MS = 60000;  // a lost connection is retried at most this far apart
  var FETCH_TIMEOUT_MS = 8000; // a poll that hangs is a lost connection too
  var SUBMIT_TIMEOUT_MS = 20000; // a hash post that hangs gives the button back

  var REASONS = window.JoPayWords.REASONS;
  var ERRORS = window.JoPayWords.ERRORS;
  var ANNOUNCE = window.JoPayWords.ANNOUNCE;
  var NOTES = window.JoPayWords.NOTES;
  var fields = window.JoPayFields;  // fields.js: a refused field, marked invalid
  // An underpayment reached the merchant: paying in full again pays twice.
  var UNDERPAID = "That transaction sent less than this request asks for, and that smaller " +
    "amount has reached " + (cfg.merchant_name || "the merchant") + ". Please contact them before you pay again.";
  var BEING_CHECKED = "A transaction is already being checked for this request. Please wait for the result.";

  // --- the state last shown -------------------------------------------------
  // What the page shows now: the server's render, then every change we display.
  var shown = {
    status: cfg.status, proof_status: cfg.proof_status,
    tx_hash: cfg.tx_hash || "", mismatch_reason: cfg.mismatch_reason || ""
  };
  // A new proof verdict (attached, mismatch, verified), another hash, or the
  // request cancelled or paid: the server renders the page again. A change of
  // status alone to expired is drawn here (the deadline code below does it), so
  // a hash being typed during the grace is not wiped by the expiry task's run.
  function needsReload(s) {
    if (s.proof_status !== shown.proof_status) return true;
    if ((s.tx_hash || "") !== shown.tx_hash) return true;
    if ((s.mismatch_reason || "") !== shown.mismatch_reason) return true;
    return s.status !== shown.status && (s.status === "cancelled" || s.status === "paid");
  }
  function remember(s) {
    shown = { status: s.status, proof_status: s.proof_status,
              tx_hash: s.tx_hash || "", mismatch_reason: s.mismatch_reason || "" };
  }

  // --- deadline (D16: pay until expires_at, hashes until expires_at + grace) --
  // Measured on the server's clock: the page knows the server's "now" at render
  // time and only adds the time elapsed since, so a wrong device clock is harmless.
  var loadedAt = Date.now();
  var renderedAt = Date.parse(cfg.now);
  var expiresAt = Date.parse(cfg.expires_at);
  var proofDeadline = Date.parse(cfg.proof_deadline);
  var expiredSeen = cfg.status === "expired";
  function serverNow() { return renderedAt + (Date.now() - loadedAt); }
  function phase() {
    var t = serverNow();
    if (t > proofDeadline) return "over";
    if (expiredSeen || t >= expiresAt) return "grace";
    return "open";
  }
  function duration(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60), sec = s % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (d > 0) return d + " d " + h + " h";
    if (h > 0) return h + ":" + two(m) + ":" + two(sec);
    return m + ":" + two(sec);
  }

  function setText(id, text) { var el = $(id); if (el && el.textContent !== text) el.textContent = text; }
  function setHidden(id, hidden) { var el = $(id); if (el && el.hidden !== hidden) el.hidden = hidden; }
  function setMessage(text) { setText("pay-message", text || ""); }
  function setError(text) { setText("proof-error", text || ""); }
  function announce(text) { setText("pay-announce", text); }

  function setBadge(text, cls) {
    var b = $("pay-status"); if (!b) return;
    if (b.textContent !== text) b.textContent = text;
    if (b.className !== "badge " + cls) b.className = "badge " + cls;
  }

  // Paying is possible before expires_at only; a hash of an earlier payment is
  // taken until the grace ends; nothing is offered while a hash is being checked.
  var live = cfg.state === "open" || cfg.state === "grace" || cfg.state === "verifying";
  var lastView = null, lastPhase = null;
  function render() {
    if (!live) return;  // paid, cancelled, closed: the server's page is final
    var p = phase(), t = serverNow();
    var checking = shown.proof_status === "attached";
    // The send card or the hash form goes away by itself: say so (a hash being
    // checked keeps its own message, and a page loaded expired already reads so).
    if (lastPhase !== null && p !== lastPhase && !checking) announce(ANNOUNCE[p] || "");
    lastPhase = p;
    setText("pay-countdown", p === "open" && !checking ? "· " + duration(expiresAt - t) + " left" : "");
    setText("grace-countdown", p === "grace" ? " (" + duration(proofDeadline - t) + " left)" : "");
    var view = p + "/" + checking;
    if (view === lastView) return;
    lastView = view;
    setHidden("pay-send", checking || p !== "open");
    var wallet = $("pay-wallet"); if (wallet && p !== "open") wallet.disabled = true;
    setHidden("pay-proof-card", checking || p === "over");
    setHidden("pay-closed-card", checking || p !== "over");
    setHidden("proof-grace-note", p !== "grace");
    if (checking || p !== "open") {
      // No longer a call to pay: the amount only, without its Copy button.
      setText("pay-usdc-label", "Amount:");
      setHidden("pay-usdc-copy", true);
    }
    if (p !== "open") {
      setText("pay-deadline-label", "Expired");
      setText("proof-heading", "Already paid before it expired?");
    }
    // The state's class, then the look it shares (the template's BADGE_TONES).
    if (checking) setBadge("Verifying payment…", "verifying warn");
    else if (p !== "open") setBadge("Expired", (p === "over" ? "closed" : "grace") + " bad");
    if (p === "over" && !checking) {
      setMessage(shown.proof_status !== "mismatch" ? "" :
        shown.mismatch_reason === "underpaid" ? UNDERPAID :
        "That transaction did not match this request: " + (REASONS[shown.mismatch_reason] || shown.mismatch_reason) +
        ". The time to submit another one is over.");
    }
  }

  // --- proofs -----------------------------------------------------------------
  function showChecking(txHash) {
    remember({ status: shown.status, proof_status: "attached", tx_hash: txHash, mismatch_reason: "" });
    setMessage("Transaction received. Checking it on-chain: the network must confirm it first, from a few seconds to a few minutes.");
    var active = document.activeElement;
    render();
    // The focused control went away with its card, or was the pressed button,
    // which lost the focus when it was disabled for the post (it is on the
    // body now): the focus goes to what happens now.
    if (!active || active === document.body || !active.offsetParent) { $("pay-message").tabIndex = -1; $("pay-message").focus(); }
    startPolling();
  }

  function submitProof(txHash, chainId) {
    setError("");
    fields.clear();
    // A post that hangs is a network error too (sent again, one that did arrive is "being checked").
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    var deadline = ctrl ? setTimeout(function () { ctrl.abort(); }, SUBMIT_TIMEOUT_MS) : null;
    return fetch(cfg.proof_url, {
      method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ tx_hash: txHash, chain_id: Number(chainId) }),
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (r) { return r.json().then(function (b) { clearTimeout(deadline); return { status: r.status, body: b }; }); })
      .then(function (res) {
        var body = res.body || {};
        if (body.ok) {
          showChecking(String(txHash).trim().toLowerCase());
          return true;
        }
        if (body.error === "proof_not_accepted" && body.proof_status === "attached") {
          // Another hash is being checked (this tab's, another tab's or the
          // chain watcher's): say so, and let the status poll show its verdict.
          setError(BEING_CHECKED);
          startPolling();
          return false;
        }
        // D27's wait may be up to an hour: say how long, as the no-script form does.
        var wait = body.error === "rate_limited" && body.retry_after > 0 ?
          NOTES.rate_limited_wait.replace("{wait}", window.JoPayFormat.waitInWords(body.retry_after)) : "";
        setError(wait || ERRORS[body.error] || "Something went wrong. Please try again.");
        fields.mark(body.error);
        return false;
      })
      .catch(function () { clearTimeout(deadline); setError("Network error. Please try again."); return false; });
  }

  // What wallet.js (the browser-wallet button) needs from this page.
  window.JoPayPage = { cfg: cfg, phase: phase, render: render, submitProof: submitProof };

  // Network select: show the QR and contract of the chosen chain. The server
  // draws every chain's panel and hides the select (a page without a script
  // shows them all, D22); from here on the select chooses. The value may be
  // one the browser restored on reload, so the panels follow it from the start.
  var chainSelect = $("pay-chain");
  function showChosenChain() {
    var panels = document.querySelectorAll(".chain-panel");
    for (var i = 0; i < panels.length; i++) panels[i].hidden = panels[i].getAttribute("data-chain") !== chainSelect.value;
    var proofChain = $("proof-chain"); if (proofChain) proofChain.value = chainSelect.value;
  }
  if (chainSelect) {
    showChosenChain();
    setHidden("pay-chain-choice", false);
    chainSelect.addEventListener("change", showChosenChain);
  }

  // Paste-a-hash form.
  // One post at a time: each counts against the request's 10/h (D27), and presses on a slow
  // connection used them up, locking out a corrected hash after a mismatch.
  var form = $("pay-proof");
  if (form) {
    var sending = false;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (sending) return;
      sending = true;
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      submitProof(($("proof-hash").value || "").trim(), $("proof-chain").value)
        .then(function (ok) {
          sending = false;
          if (button) button.disabled = false;
          // Refused: the pressed button had lost the focus when disabled; it
          // goes to the field the error is about, else back to the button.
          var active = document.activeElement;
          if (!ok && (!active || active === document.body)) {
            var refused = form.querySelector("[aria-invalid=true]") || button;
            if (refused) refused.focus();
          }
        });
    });
  }

  // --- live status ------------------------------------------------------------
  // One request at a time, every 3 s (15 s in a background tab). Stops when
  // nothing can change any more: verified, cancelled, an unknown link, or the
  // grace over with no hash being checked. A 429 waits out its Retry-After.
  var polling = false, timer = null, failures = 0, waiting = false;
  function finished() {
    if (shown.proof_status === "verified" || shown.status === "cancelled" || shown.status === "paid") return true;
    // Not while the connection is lost: the state it would leave on the page
    // (expired, nothing found) is one the server has not confirmed.
    return phase() === "over" && shown.proof_status !== "attached" && failures === 0;
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
    if (s.status === "expired") expiredSeen = true;
    if (needsReload(s)) {
      stopPolling();
      remember(s);
      window.location.reload();
      return;
    }
    remember(s);
    render();
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

  // The clock: countdown, expiry of the send UI, end of the grace.
  render();
  var clock = live ? setInterval(function () {
    render();
    if (finished()) { stopPolling(); clearInterval(clock); }
  }, 1000) : null;

  if (live) startPolling();
})();
