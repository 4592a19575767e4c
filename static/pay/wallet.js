/* JoPay pay page: pay with an injected EIP-1193 browser wallet (after pay.js).
 * No libraries: the ERC-20 transfer calldata is built by hand. */
(function () {
  "use strict";
  var page = window.JoPayPage, words = window.JoPayWords;
  var walletBtn = document.getElementById("pay-wallet");
  if (!page) return;
  var cfg = page.cfg, WALLET = words.WALLET;
  var note = document.getElementById("wallet-note");
  // The hash of the transfer the wallet sent from this page: the USDC has left,
  // so the button never asks for a second one, whatever the hash's post meets.
  var sent = null;
  function say(t) { if (note) note.textContent = t; }
  // Kept for this tab across a reload (the customer's answer to "Network
  // error"), until the page shows that hash judged or being checked.
  var SENT_KEY = "jopay.sent." + cfg.request_id;
  function store(value) {
    try {
      if (value) sessionStorage.setItem(SENT_KEY, JSON.stringify(value));
      else sessionStorage.removeItem(SENT_KEY);
    } catch (e) { /* storage off: this page still holds it */ }
  }
  function holdSent(txHash, chainId) {
    sent = txHash;
    if (walletBtn) walletBtn.disabled = true;
    say(fill(WALLET.sent, { hash: txHash }));
    // Paying by hand from here is the hash form, filled in for a post that fails.
    var proofHash = document.getElementById("proof-hash"); if (proofHash) proofHash.value = txHash;
    var proofChain = document.getElementById("proof-chain"); if (proofChain) proofChain.value = String(chainId);
  }
  (function restoreSent() {
    var prior = null;
    try { prior = JSON.parse(sessionStorage.getItem(SENT_KEY) || "null"); } catch (e) { return; }
    if (!prior || typeof prior.hash !== "string") return;
    // In the grace the send card is gone, but the hash form still takes it (D16).
    if (String(cfg.tx_hash || "") === prior.hash.toLowerCase() || page.phase() === "over") { store(null); return; }
    holdSent(prior.hash, prior.chain_id);
  })();
  if (!walletBtn) return;  // a page past expires_at: the hash form only
  walletBtn.hidden = false;  // drawn hidden: without this script it did nothing
  var chainSelect = document.getElementById("pay-chain");

  function chainById(id) {
    for (var i = 0; i < cfg.chains.length; i++) if (String(cfg.chains[i].chain_id) === String(id)) return cfg.chains[i];
    return null;
  }
  function pad64(hex) { return ("0".repeat(64) + hex).slice(-64); }
  function transferCalldata(to, amountUnits) {
    // transfer(address,uint256) selector a9059cbb, then the two 32-byte words.
    return "0xa9059cbb" + pad64(to.toLowerCase().replace(/^0x/, "")) + pad64(BigInt(amountUnits).toString(16));
  }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? String(values[k]) : m; });
  }

  // EIP-1193 / EIP-3326 codes; some mobile wallets wrap the real one in
  // data.originalError.
  function codeOf(err) {
    if (!err) return null;
    var inner = err.data && err.data.originalError;
    return inner && inner.code != null ? inner.code : err.code;
  }
  function unknownChain(err) {
    return codeOf(err) === 4902 || /unrecognized chain|not been added|unknown chain/i.test(String(err && err.message));
  }
  // A wallet error in the customer's words, never the wallet's raw text.
  function problem(err, chain, switching) {
    if (err === NO_ANSWER) return WALLET.no_answer;
    var code = codeOf(err);
    if (code === 4001) return WALLET.rejected;
    if (code === -32002) return WALLET.pending;
    if (switching && unknownChain(err)) {
      // The chain is not in the wallet, and the page has no public RPC URL to
      // hand over for it (Chain.public_rpc_url; Chain.rpc_urls are the
      // operator's endpoints and may embed a provider's API key: they never
      // reach the browser), or the wallet would not take it. So the customer
      // adds the network, or pays by hand (address + amount).
      return fill(WALLET.unknown_chain, { network: chain.name, chain_id: chain.chain_id });
    }
    return WALLET.failed;
  }

  // A wallet that never answers a connect, network or add prompt (closed
  // without an answer; some wallets never reject) held the button disabled
  // for good. Such a step is given up once the customer is back on the page
  // without an answer (the popup closed, or back from the wallet app), or
  // after NO_ANSWER_MS if the page never lost the focus (an in-page wallet);
  // its attempt ends there, and a late answer goes nowhere: it never leads to
  // a transfer beside a newer attempt's. A transfer's prompt is never given
  // up: the wallet may still send it (``sent`` then holds the button).
  var NO_ANSWER_MS = 60000, BACK_GRACE_MS = 2000;
  var NO_ANSWER = new Error("the wallet did not answer");
  function ask(eth, method, params) {
    return new Promise(function (resolve, reject) {
      // Away (the wallet's popup or app has the focus, maybe still from the
      // previous prompt): no time limit; back: a moment for an answer given
      // as the popup closed, then given up.
      var timer = document.hasFocus() && !document.hidden ? setTimeout(giveUp, NO_ANSWER_MS) : null;
      function away() { clearTimeout(timer); timer = null; }
      function back() { if (timer === null) timer = setTimeout(giveUp, BACK_GRACE_MS); }
      function seen() { if (document.hidden) away(); else back(); }
      function done() {
        clearTimeout(timer);
        window.removeEventListener("blur", away);
        window.removeEventListener("focus", back);
        document.removeEventListener("visibilitychange", seen);
      }
      function giveUp() { done(); reject(NO_ANSWER); }
      window.addEventListener("blur", away);
      window.addEventListener("focus", back);
      document.addEventListener("visibilitychange", seen);
      var answer;
      try { answer = eth.request(params ? { method: method, params: params } : { method: method }); }
      catch (e) { done(); reject(e); return; }
      Promise.resolve(answer).then(function (v) { done(); resolve(v); }, function (e) { done(); reject(e); });
    });
  }

  var addBtn = document.getElementById("pay-add-chain");
  var offer = null;  // {chain, account} while the "Add <network>" button is shown
  function expired() { return page.phase() !== "open"; }
  function busy(on) {
    walletBtn.disabled = on || expired() || sent !== null;
    if (addBtn) addBtn.disabled = on || expired();
  }
  // After a switch the wallet is asked again which chain it is on: a wallet
  // that answers the switch without making it would send on the chain it is
  // still on, to a page that looks for the transfer on the chosen one.
  async function switched(eth, chain) {
    var now = await ask(eth, "eth_chainId");
    if (parseInt(now, 16) === Number(chain.chain_id)) return true;
    say(fill(WALLET.not_switched, { network: chain.name, chain_id: chain.chain_id }));
    return false;
  }
  function switchTo(eth, chain) {
    return ask(eth, "wallet_switchEthereumChain", [{ chainId: chain.hex_chain_id }]);
  }
  // The wallet lacks the chain and the page has its public data (add_chain):
  // a button adds it. Said in the live note; focus goes to the button, the
  // next thing to press (the pay button under the focus was disabled).
  function offerAdd(chain, account) {
    offer = { chain: chain, account: account };
    addBtn.textContent = fill(WALLET.add_chain_button, { network: chain.name });
    addBtn.hidden = false;
    say(fill(WALLET.add_chain, { network: chain.name }));
    addBtn.disabled = false;
    addBtn.focus();
  }
  function withdrawOffer() {
    offer = null;
    if (!addBtn || addBtn.hidden) return;
    var hadFocus = document.activeElement === addBtn;
    addBtn.hidden = true;
    if (hadFocus) walletBtn.focus();
  }
  if (chainSelect) chainSelect.addEventListener("change", withdrawOffer);

  // On the request's chain now: ask for the transfer, then send its hash.
  async function send(eth, account, chain) {
    // Connecting can take a while: never ask for a transfer the request would judge late.
    if (expired()) { say("This request has expired. Please do not send funds."); return; }
    say("Confirm the transfer of exactly " + window.JoPayFormat.groupUsdc(cfg.usdc_text) + " USDC in your wallet…");
    var txHash = await eth.request({ method: "eth_sendTransaction", params: [{
      from: account, to: chain.usdc_address, value: "0x0",
      data: transferCalldata(cfg.receiving_address, chain.amount_units)
    }] });
    store({ hash: String(txHash), chain_id: chain.chain_id });
    holdSent(txHash, chain.chain_id);
    await page.submitProof(txHash, chain.chain_id);
  }

  walletBtn.addEventListener("click", async function () {
    var eth = window.ethereum;
    withdrawOffer();
    if (expired()) { page.render(); return; }
    if (!eth || typeof eth.request !== "function") { say(WALLET.no_wallet); return; }
    var chain = chainById(chainSelect ? chainSelect.value : cfg.chains[0].chain_id);
    if (!chain) return;
    busy(true);
    var switching = false;
    try {
      say("Connect your wallet…");
      var accounts = await ask(eth, "eth_requestAccounts");
      if (!accounts || !accounts.length) throw new Error("no account");
      var current = await ask(eth, "eth_chainId");
      if (parseInt(current, 16) !== Number(chain.chain_id)) {
        say("Switch your wallet to " + chain.name + "…");
        switching = true;
        try {
          await switchTo(eth, chain);
        } catch (err) {
          if (!(chain.add_chain && addBtn && unknownChain(err))) throw err;
          if (window.console) console.warn("wallet:", err);
          busy(false);
          offerAdd(chain, accounts[0]);
          return;
        }
        switching = false;
        if (!(await switched(eth, chain))) return;
      }
      await send(eth, accounts[0], chain);
    } catch (err) {
      if (window.console) console.warn("wallet:", err);  // the raw error, for support
      say(problem(err, chain, switching));
    } finally {
      busy(false);
      // The pressed button lost the focus to the body when it was disabled:
      // given back, it takes it back (a keyboard user tries again from here).
      if (!walletBtn.disabled && document.activeElement === document.body) walletBtn.focus();
    }
  });

  // wallet_addEthereumChain with the chain's public data only (EIP-3085), then
  // the switch again (a wallet may add without switching), then the payment.
  if (addBtn) addBtn.addEventListener("click", async function () {
    var eth = window.ethereum, o = offer;
    if (!o || !eth) return;
    if (expired()) { withdrawOffer(); page.render(); return; }
    var chain = o.chain, words = { network: chain.name, chain_id: chain.chain_id };
    busy(true);
    var step = "add";
    try {
      say(fill(WALLET.adding, words));
      await ask(eth, "wallet_addEthereumChain", [chain.add_chain]);
      step = "switch";
      say("Switch your wallet to " + chain.name + "…");
      await switchTo(eth, chain);
      step = "send";
      withdrawOffer();
      if (!(await switched(eth, chain))) return;
      await send(eth, o.account, chain);
    } catch (err) {
      if (window.console) console.warn("wallet:", err);  // the raw error, for support
      var code = codeOf(err);
      if (step === "add" && code === 4001) say(fill(WALLET.add_rejected, words));  // the button stays
      else if (step === "add" && code === -32002) say(WALLET.pending);
      else if (step === "add" && err === NO_ANSWER) say(WALLET.no_answer);  // the button stays
      else {
        withdrawOffer();
        // A wallet that would not take the network: the customer adds it by hand.
        say(step === "add" ? fill(WALLET.unknown_chain, words) : problem(err, chain, step === "switch"));
      }
    } finally {
      busy(false);
      // The button under the focus went away: the pay button is the next control.
      if (addBtn.hidden && (document.activeElement === addBtn || document.activeElement === document.body)) walletBtn.focus();
    }
  });
})();
