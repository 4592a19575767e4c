// A fake EIP-1193 wallet for the browser test: forwards JSON-RPC to anvil,
// whose dev accounts are unlocked, so eth_sendTransaction really pays.
// __RPC__ and __ACCOUNT__ are replaced by the test.
(() => {
  const RPC = "__RPC__";
  const ACCOUNT = "__ACCOUNT__";
  let id = 0;
  async function rpc(method, params) {
    const r = await fetch(RPC, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params || [] }),
    });
    const body = await r.json();
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
