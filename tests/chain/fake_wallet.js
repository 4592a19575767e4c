// A fake EIP-1193 wallet for the browser test: forwards JSON-RPC to anvil,
// whose dev accounts are unlocked, so eth_sendTransaction really pays.
// __ACCOUNT__ is replaced by the test. Like a real wallet extension, it reaches
// its node outside the page (the test's ``anvilRpc`` binding), so the page's
// Content-Security-Policy (connect-src 'self') stays in force.
// __OPTIONS__ (JSON, from install_wallet) makes it behave like other wallets:
//   chainId: "0x1"          eth_chainId answers this chain instead of anvil's
//   fail: {method: {code, message, data}}   that method throws, as wallets do
//   hang: [method]          that method never answers (a prompt left open)
//   hold: [method]          that method's first call answers only once the test
//                           calls window.releaseWallet(method) (a late answer)
//   unknownChains: ["0x7a69"]  wallet_switchEthereumChain to one of these
//                           answers 4902 until wallet_addEthereumChain adds it
//   ignoreSwitch: true      wallet_switchEthereumChain answers success but
//                           stays on its chain (some wallets do)
(() => {
  const ACCOUNT = "__ACCOUNT__";
  const OPTIONS = __OPTIONS__;
  async function rpc(method, params) {
    const body = await window.anvilRpc(method, params || []);
    if (body.error) {
      const e = new Error(body.error.message);
      e.code = body.error.code;
      throw e;
    }
    return body.result;
  }
  // The page reloads once paid: keep the call log in the tab's sessionStorage
  // (the methods in order, and each method's last params).
  function log(method, params) {
    const calls = JSON.parse(sessionStorage.getItem("walletCalls") || "[]");
    calls.push(method);
    sessionStorage.setItem("walletCalls", JSON.stringify(calls));
    const last = JSON.parse(sessionStorage.getItem("walletParams") || "{}");
    last[method] = params || [];
    sessionStorage.setItem("walletParams", JSON.stringify(last));
  }
  // The chain it is on after a switch (eth_chainId answers it), and the
  // chains it lacks until added.
  let current = OPTIONS.chainId;
  const unknown = new Set(OPTIONS.unknownChains || []);
  const held = new Set(OPTIONS.hold || []);
  const releases = {};
  window.releaseWallet = (method) => releases[method] && releases[method]();
  window.ethereum = {
    async request({ method, params }) {
      log(method, params);
      if (held.has(method)) {
        held.delete(method);
        await new Promise((resolve) => { releases[method] = resolve; });
      }
      const fail = (OPTIONS.fail || {})[method];
      if (fail) {
        const e = new Error(fail.message || "wallet error");
        e.code = fail.code;
        if (fail.data) e.data = fail.data;
        throw e;
      }
      if ((OPTIONS.hang || []).includes(method)) return new Promise(() => {});
      if (method === "eth_chainId" && current) return current;
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [ACCOUNT];
      if (method === "wallet_addEthereumChain") {
        unknown.delete(params[0].chainId);
        return null;
      }
      if (method === "wallet_switchEthereumChain") {
        const chainId = params[0].chainId;
        if (unknown.has(chainId)) {
          const e = new Error(
            `Unrecognized chain ID "${chainId}". Try adding the chain using wallet_addEthereumChain first.`
          );
          e.code = 4902;
          throw e;
        }
        if (current && !OPTIONS.ignoreSwitch) current = chainId;
        return null;
      }
      return rpc(method, params);
    },
  };
})();
