/* JoPay pay page: pay with an injected EIP-1193 browser wallet (after pay.js).
 * No libraries: the ERC-20 transfer calldata is built by hand. */
(function () {
  "use strict";
  var page = window.JoPayPage, words = window.JoPayWords;
  var walletBtn = document.getElementById("pay-wallet");
  if (!page || !walletBtn) return;
  var cfg = page.cfg, WALLET = words.WALLET;
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
  // A wallet error in the customer's words, never the wallet's raw text.
  function problem(err, chain, switching) {
    var code = codeOf(err);
    if (code === 4001) return WALLET.rejected;
    if (code === -32002) return WALLET.pending;
    if (switching && (code === 4902 || /unrecognized chain|not been added|unknown chain/i.test(String(err && err.message)))) {
      // The chain is not in the wallet. wallet_addEthereumChain would need an
      // RPC URL to hand over, and Chain.rpc_urls are the operator's endpoints
      // (they may embed a provider's API key): they never reach the browser.
      // So the customer adds the network, or pays by hand (address + amount).
      return fill(WALLET.unknown_chain, { network: chain.name, chain_id: chain.chain_id });
    }
    return WALLET.failed;
  }

  walletBtn.addEventListener("click", async function () {
    var note = document.getElementById("wallet-note");
    var say = function (t) { if (note) note.textContent = t; };
    var expired = function () { return page.phase() !== "open"; };
    var eth = window.ethereum;
    if (expired()) { page.render(); return; }
    if (!eth || typeof eth.request !== "function") { say(WALLET.no_wallet); return; }
    var chain = chainById(chainSelect ? chainSelect.value : cfg.chains[0].chain_id);
    if (!chain) return;
    walletBtn.disabled = true;
    var switching = false;
    try {
      say("Connect your wallet…");
      var accounts = await eth.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) throw new Error("no account");
      var current = await eth.request({ method: "eth_chainId" });
      if (parseInt(current, 16) !== Number(chain.chain_id)) {
        say("Switch your wallet to " + chain.name + "…");
        switching = true;
        await eth.request({ method: "wallet_switchEthereumChain", params: [{ chainId: chain.hex_chain_id }] });
        switching = false;
      }
      // Connecting can take a while: never ask for a transfer the request would judge late.
      if (expired()) { say("This request has expired. Please do not send funds."); return; }
      say("Confirm the transfer of exactly " + window.JoPayFormat.groupUsdc(cfg.usdc_text) + " USDC in your wallet…");
      var txHash = await eth.request({ method: "eth_sendTransaction", params: [{
        from: accounts[0], to: chain.usdc_address, value: "0x0",
        data: transferCalldata(cfg.receiving_address, chain.amount_units)
      }] });
      say("Sent: " + txHash);
      var proofHash = document.getElementById("proof-hash"); if (proofHash) proofHash.value = txHash;
      await page.submitProof(txHash, chain.chain_id);
    } catch (err) {
      if (window.console) console.warn("wallet:", err);  // the raw error, for support
      say(problem(err, chain, switching));
    } finally {
      walletBtn.disabled = expired();
    }
  });
})();
