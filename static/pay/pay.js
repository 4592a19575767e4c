/* JoPay pay page: what it shows, the deadline, the hash form (the live status
 * and the clock are status.js, the browser wallet wallet.js, the words
 * words.js, amounts and times format.js, the hash form's invalid fields
 * fields.js). No libraries. */
(function () {
  "use strict";
  var cfgEl = document.getElementById("pay-config");
  if (!cfgEl) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var $ = function (id) { return document.getElementById(id); };

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
  // Every change the page displays is remembered (status.js, and a taken hash).
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

  // The live status (status.js) polls from here: a hash taken or being checked.
  function startPolling() { if (window.JoPayStatus) window.JoPayStatus.start(); }

  // What status.js (the live status) and wallet.js (the browser-wallet
  // button) need from this page.
  window.JoPayPage = {
    cfg: cfg, live: live, phase: phase, render: render, submitProof: submitProof,
    shown: function () { return shown; }, remember: remember,
    sawExpired: function () { expiredSeen = true; }
  };

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

  // The first drawing; status.js keeps the clock and the live status from here.
  render();
})();
