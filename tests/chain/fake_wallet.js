// A fake EIP-1193 wallet for the browser test: forwards JSON-RPC to anvil,
// whose dev accounts are unlocked, so eth_sendTransaction really pays.
// __ACCOUNT__ is replaced by the test. Like a real wallet extension, it reaches
// its node outside the page (the test's ``anvilRpc`` binding), so the page's
// Content-Security-Policy (connect-src 'self') stays in force.
(() => {
  const ACCOUNT = "__ACCOUNT__";
  async function rpc(method, params) {
    const body = await window.anvilRpc(method, params || []);
    if (body.error) {
      const e = new Error(body.error.message);
      e.code = body.error.code;
      throw e;
    }
    return body.result;
  }
  // The page reloads once paid: keep the call log in the tab's sessionStorage.
  function log(method) {
    const calls = JSON.parse(sessionStorage.getItem("walletCalls") || "[]");
    calls.push(method);
    sessionStorage.setItem("walletCalls", JSON.stringify(calls));
  }
  window.ethereum = {
    async request({ method, params }) {
      log(method);
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [ACCOUNT];
      if (method === "wallet_switchEthereumChain") return null;
      return rpc(method, params);
    },
  };
})();
