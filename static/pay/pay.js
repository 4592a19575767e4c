/* JoPay pay page: browser-wallet payment (EIP-1193), hash form, live status.
 * No libraries: the ERC-20 transfer calldata is built by hand. */
(function () {
  "use strict";
  var cfgEl = document.getElementById("pay-config");
  if (!cfgEl) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var $ = function (id) { return document.getElementById(id); };
  var shown = cfg.status + "/" + cfg.proof_status;

  var REASONS = {
    tx_failed: "the transaction failed on-chain",
    wrong_token: "it did not transfer USDC",
    wrong_recipient: "the USDC went to another address",
    underpaid: "the amount was lower than requested",
    late: "it was sent after the request expired",
    not_found_after_timeout: "we could not find it on-chain"
  };
  var ERRORS = {
    invalid_tx_hash: "That is not a transaction hash (0x followed by 64 hex characters).",
    unsupported_chain: "That network is not accepted for this payment.",
    proof_already_used: "That transaction already paid another request.",
    proof_not_accepted: "This request no longer accepts payments.",
    rate_limited: "Too many attempts. Please wait a little and try again.",
    not_found: "This payment link is not valid."
  };

  function setMessage(text) { var m = $("pay-message"); if (m) m.textContent = text || ""; }
  function setError(text) { var e = $("proof-error"); if (e) e.textContent = text || ""; }
  function chainById(id) {
    for (var i = 0; i < cfg.chains.length; i++) if (String(cfg.chains[i].chain_id) === String(id)) return cfg.chains[i];
    return null;
  }
  function pad64(hex) { return ("0".repeat(64) + hex).slice(-64); }
  function transferCalldata(to, amountUnits) {
    // transfer(address,uint256) selector a9059cbb, then the two 32-byte words.
    return "0xa9059cbb" + pad64(to.toLowerCase().replace(/^0x/, "")) + pad64(BigInt(amountUnits).toString(16));
  }

  function submitProof(txHash, chainId) {
    setError("");
    return fetch(cfg.proof_url, {
      method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ tx_hash: txHash, chain_id: Number(chainId) })
    }).then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); })
      .then(function (res) {
        if (res.body && res.body.ok) {
          setMessage("Transaction received. Checking it on-chain; this usually takes 10–60 seconds.");
          var s = $("pay-status"); if (s) { s.textContent = "Verifying payment…"; s.className = "badge verifying"; }
          poll();
          return true;
        }
        setError(ERRORS[res.body && res.body.error] || "Something went wrong. Please try again.");
        return false;
      })
      .catch(function () { setError("Network error. Please try again."); return false; });
  }

  // Network select: show the QR and contract of the chosen chain.
  var chainSelect = $("pay-chain");
  if (chainSelect) {
    chainSelect.addEventListener("change", function () {
      var panels = document.querySelectorAll(".chain-panel");
      for (var i = 0; i < panels.length; i++) panels[i].hidden = panels[i].getAttribute("data-chain") !== chainSelect.value;
      var proofChain = $("proof-chain"); if (proofChain) proofChain.value = chainSelect.value;
    });
  }

  // Pay with an injected EIP-1193 wallet.
  var walletBtn = $("pay-wallet");
  if (walletBtn) {
    walletBtn.addEventListener("click", async function () {
      var note = $("wallet-note");
      var say = function (t) { if (note) note.textContent = t; };
      var eth = window.ethereum;
      if (!eth || typeof eth.request !== "function") { say("No browser wallet found. Scan the QR code with your wallet app, or send the exact amount and paste the transaction hash below."); return; }
      var chain = chainById(chainSelect ? chainSelect.value : cfg.chains[0].chain_id);
      if (!chain) return;
      walletBtn.disabled = true;
      try {
        say("Connect your wallet…");
        var accounts = await eth.request({ method: "eth_requestAccounts" });
        if (!accounts || !accounts.length) throw new Error("no account");
        var current = await eth.request({ method: "eth_chainId" });
        if (parseInt(current, 16) !== Number(chain.chain_id)) {
          say("Switch your wallet to " + chain.name + "…");
          await eth.request({ method: "wallet_switchEthereumChain", params: [{ chainId: chain.hex_chain_id }] });
        }
        say("Confirm the transfer of exactly " + (Number(cfg.usdc_micro) / 1e6).toFixed(6) + " USDC in your wallet…");
        var txHash = await eth.request({ method: "eth_sendTransaction", params: [{
          from: accounts[0], to: chain.usdc_address, value: "0x0",
          data: transferCalldata(cfg.receiving_address, chain.amount_units)
        }] });
        say("Sent: " + txHash);
        var proofHash = $("proof-hash"); if (proofHash) proofHash.value = txHash;
        await submitProof(txHash, chain.chain_id);
      } catch (err) {
        say((err && err.code === 4001) ? "You rejected the request in your wallet." : "The wallet could not send the payment" + (err && err.message ? ": " + err.message : "."));
      } finally {
        walletBtn.disabled = false;
      }
    });
  }

  // Paste-a-hash form.
  var form = $("pay-proof");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      submitProof(($("proof-hash").value || "").trim(), $("proof-chain").value);
    });
  }

  // Live status every 3 s; a changed state re-renders the page from the server.
  var timer = null;
  function poll() {
    if (timer) return;
    timer = setInterval(function () {
      fetch(cfg.status_url, { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s || !s.ok) return;
          var now = s.status + "/" + s.proof_status;
          if (s.proof_status === "mismatch" && now !== shown) {
            setMessage("That transaction did not match this request: " + (REASONS[s.mismatch_reason] || s.mismatch_reason) + ". You can submit another one.");
            var badge = $("pay-status"); if (badge) { badge.textContent = "Not matched"; badge.className = "badge mismatch"; }
            shown = now;
            return;
          }
          if (now !== shown && s.proof_status !== "attached") { window.location.reload(); }
          if (s.proof_status === "verified" || s.status === "cancelled") { clearInterval(timer); }
        })
        .catch(function () { /* transient; try again on the next tick */ });
    }, 3000);
  }
  if (cfg.proof_status !== "verified" && cfg.status !== "cancelled") poll();
})();
